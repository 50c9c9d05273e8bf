//! The three forms of [`Changes`]: human text, markdown for a pull request and
//! versioned JSON (schema/changes-output.schema.json). The human and markdown
//! forms print the same rows, host by host, in the order the changes hold them.

use std::fmt::Write as _;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Serialize;

use super::{Change, Changes, HostChanges, Inbound, Presence, Way};
use crate::diagnostic::count;

/// Bumped when a key changes meaning or goes away; new keys keep the version.
const CHANGES_OUTPUT_VERSION: u32 = 1;

/// What `changes --format json` prints (schema/changes-output.schema.json).
#[derive(Serialize, JsonSchema)]
pub struct ChangesOutput<'a> {
    /// The version of this format (1).
    #[schemars(extend("const" = 1))]
    version: u32,
    /// The topologies compared, as given.
    old: &'a str,
    new: &'a str,
    /// Whether anything changes for the dataplane (the exit status is 1 then).
    changed: bool,
    /// The summary line of the human and markdown forms.
    summary: String,
    /// The hosts with changes, by name.
    hosts: &'a [HostChanges],
}

/// One line of a host's changes: what changes, before, after, and the entry
/// that now decides.
struct Row {
    subject: String,
    old: String,
    new: String,
    decided_by: String,
}

impl Changes {
    /// One line: what changes, counted by kind, or that nothing does.
    pub fn summary(&self) -> String {
        if self.is_empty() {
            return "no change to the dataplane".to_owned();
        }
        let vms = self.hosts.iter().flat_map(|h| &h.vms);
        let presence = |p: Presence| vms.clone().filter(|vm| vm.presence == p).count();
        let kinds = [
            (
                self.hosts
                    .iter()
                    .filter(|h| h.presence == Presence::Added)
                    .count(),
                "host added",
                "hosts added",
            ),
            (
                self.hosts
                    .iter()
                    .filter(|h| h.presence == Presence::Removed)
                    .count(),
                "host removed",
                "hosts removed",
            ),
            (
                self.hosts.iter().map(|h| h.settings.len()).sum(),
                "host setting",
                "host settings",
            ),
            (presence(Presence::Added), "VM added", "VMs added"),
            (presence(Presence::Removed), "VM removed", "VMs removed"),
            (
                vms.clone()
                    .filter(|vm| vm.presence == Presence::Kept)
                    .flat_map(|vm| vm.private_addresses())
                    .filter(|address| address.old != address.new)
                    .count(),
                "private address",
                "private addresses",
            ),
            (
                vms.clone().filter(|vm| vm.mac.is_some()).count(),
                "MAC binding",
                "MAC bindings",
            ),
            (
                vms.clone().map(|vm| vm.destinations.len()).sum(),
                "destination range",
                "destination ranges",
            ),
            (
                self.hosts.iter().map(|h| h.inbound.len()).sum(),
                "inbound address",
                "inbound addresses",
            ),
        ];
        let parts: Vec<String> = kinds
            .iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
            .collect();
        format!(
            "changes on {}: {}",
            count(self.hosts.len(), "host"),
            parts.join(", ")
        )
    }

    pub fn to_human(&self) -> String {
        let mut out = String::new();
        for host in &self.hosts {
            let _ = writeln!(out, "host {}{}", host.host, presence_note(host.presence));
            for row in rows(host) {
                let by = if row.decided_by.is_empty() {
                    String::new()
                } else {
                    format!("; decided by {}", row.decided_by)
                };
                let _ = writeln!(out, "  {}: {} → {}{by}", row.subject, row.old, row.new);
            }
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }

    /// A summary line, then a table per host: made to be posted on a pull
    /// request.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("**switchyard changes**: {}\n", self.summary());
        for host in &self.hosts {
            let _ = write!(
                out,
                "\n### `{}`{}\n\n| Change | Old | New | Decided by |\n|---|---|---|---|\n",
                cell(&host.host),
                presence_note(host.presence)
            );
            for row in rows(host) {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    cell(&row.subject),
                    cell(&row.old),
                    cell(&row.new),
                    cell(&row.decided_by)
                );
            }
        }
        out
    }

    pub fn to_json(&self, old: &str, new: &str) -> String {
        let output = ChangesOutput {
            version: CHANGES_OUTPUT_VERSION,
            old,
            new,
            changed: !self.is_empty(),
            summary: self.summary(),
            hosts: &self.hosts,
        };
        let mut json = serde_json::to_string_pretty(&output).expect("changes serialize");
        json.push('\n');
        json
    }
}

fn presence_note(presence: Presence) -> &'static str {
    match presence {
        Presence::Added => " (added)",
        Presence::Removed => " (removed)",
        Presence::Kept => "",
    }
}

/// A table cell: pipes escaped, so no name or file name breaks the table.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn rows(host: &HostChanges) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut row = |subject: String, old: String, new: String, decided_by: String| {
        rows.push(Row {
            subject,
            old,
            new,
            decided_by,
        })
    };
    for setting in &host.settings {
        let (old, new) = either(&setting.change, Clone::clone, "none");
        row(setting.setting.clone(), old, new, String::new());
    }
    for vm in &host.vms {
        let subject = format!("vm {}", vm.vm);
        match vm.presence {
            Presence::Kept => {
                for address in vm.private_addresses().filter(|a| a.old != a.new) {
                    let (old, new) = either(address, ToString::to_string, "none");
                    row(format!("{subject} address"), old, new, String::new());
                }
            }
            Presence::Added | Presence::Removed => {
                // Its addresses of every family, IPv4 first.
                let side = |address: fn(&Change<IpAddr>) -> Option<IpAddr>| {
                    let all: Vec<String> = vm
                        .private_addresses()
                        .filter_map(address)
                        .map(|a| a.to_string())
                        .collect();
                    (!all.is_empty()).then(|| all.join(", "))
                };
                let addresses = Change {
                    old: side(|a| a.old),
                    new: side(|a| a.new),
                };
                let (old, new) = either(&addresses, Clone::clone, "absent");
                row(subject.clone(), old, new, String::new());
            }
        }
        if let Some(mac) = &vm.mac {
            let (old, new) = either(mac, Clone::clone, "unbound");
            row(format!("{subject} MAC"), old, new, String::new());
        }
        for range in &vm.destinations {
            row(
                format!("{subject} to {}", range.destination),
                describe_way(&range.old),
                describe_way(&range.new),
                range
                    .decided_by
                    .as_ref()
                    .map_or_else(String::new, |e| e.describe()),
            );
        }
    }
    for inbound in &host.inbound {
        let (old, new) = either(&inbound.change, describe_inbound, "dropped (no VM)");
        row(
            format!("inbound {}", inbound.address),
            old,
            new,
            String::new(),
        );
    }
    rows
}

fn either<T>(change: &Change<T>, show: impl Fn(&T) -> String, absent: &str) -> (String, String) {
    let side = |value: &Option<T>| value.as_ref().map_or_else(|| absent.to_owned(), &show);
    (side(&change.old), side(&change.new))
}

fn describe_way(way: &Way) -> String {
    match way {
        Way::Local { uplink } => format!("the host itself (its address on {uplink})"),
        Way::Internal => "internal".to_owned(),
        Way::None => "left alone".to_owned(),
        Way::Snat { candidates } => candidates
            .iter()
            .map(|c| format!("{} ({}, {})", c.public_address, c.pool, c.uplink))
            .collect::<Vec<_>>()
            .join(", then "),
    }
}

fn describe_inbound(inbound: &Inbound) -> String {
    format!("{} ({}, {})", inbound.vm, inbound.pool, inbound.uplink)
}
