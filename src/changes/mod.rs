//! `switchyard changes OLD NEW`: what NEW makes the dataplane do differently
//! from OLD (docs/semantics.md §11), decision by decision, read from the two
//! plans — never from artifact text, so a reordered or re-commented topology
//! changes nothing.
//!
//! Per host (by name): its settings (uplink attachments, LAN interfaces,
//! failover timing), its VMs added or removed, each kept VM's private address,
//! MAC binding and the destination ranges whose outcome changes, and the
//! inbound public addresses whose VM (or pool) changes. A destination's outcome
//! is what [`HostPlan::outcome`] says without the deciding entry: the host
//! itself, internal, left alone, or the candidates (public address, pool,
//! uplink) it leaves by. The
//! entry is reported, never compared, so an entry that repeats what the project
//! decides, or one a VM's own entry overrides, changes nothing. A hairpin is the
//! egress decision for a public address of the host plus that address's VM, so
//! it changes exactly when one of those does: the first is a destination range,
//! the second an inbound address. Pure: no IO.

mod render;

pub use render::ChangesOutput;

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;

use crate::Validated;
use crate::diagnostic::Source;
use crate::family::{Family, V4, V6};
use crate::intervals::{self, Range};
use crate::model::Model;
use crate::plan::{Decision, HostPlan, Outcome, UplinkLink, UplinkPlan, VmPlan};
use crate::trace::Entry;

/// One topology read and planned: what `changes` compares.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub source: &'a Source,
    pub validated: &'a Validated,
}

/// NEW's side with the line and column of every entry that decides a range or
/// a default of some VM, found in one pass over its text (a lookup per
/// changed range would read a 20 MB file once per range).
#[derive(Clone, Copy)]
struct Located<'a> {
    side: Side<'a>,
    positions: &'a HashMap<usize, (usize, usize)>,
}

impl Located<'_> {
    fn entry(&self, decision: &Decision) -> Entry {
        let by = decision.decided_by;
        let model = self.side.model();
        let position = self.positions[&model.entry_span(by).start];
        Entry::at(self.side.source, model, by, position)
    }
}

fn deciding_offsets(side: Side) -> HashMap<usize, (usize, usize)> {
    let mut offsets = HashSet::new();
    for vm in side
        .validated
        .plan()
        .hosts
        .iter()
        .flat_map(|h| &h.ip.v4.vms)
    {
        let decisions = vm.default.iter().chain(vm.egress.iter().map(|(_, d)| d));
        let model = side.model();
        offsets.extend(decisions.map(|d| model.entry_span(d.decided_by).start));
    }
    side.source.line_columns(offsets.into_iter())
}

impl<'a> Side<'a> {
    fn model(&self) -> &'a Model {
        self.validated.model()
    }

    fn host(&self, name: &str) -> Option<&'a HostPlan> {
        self.validated.plan().hosts.iter().find(|h| h.name == name)
    }

    fn vm_name(&self, vm: &VmPlan) -> &'a str {
        &self.model().vm(vm.vm).name.value
    }
}

/// Every change, host by host (by name); hosts without any are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Changes {
    pub hosts: Vec<HostChanges>,
}

/// A value before and after; `None` where it is absent (added, removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Change<T> {
    pub old: Option<T>,
    pub new: Option<T>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct HostChanges {
    pub host: String,
    /// Whether the host is new, gone or in both topologies.
    pub presence: Presence,
    /// The host's own settings that differ, by name.
    pub settings: Vec<SettingChange>,
    /// The VMs added, removed or changed on this host, by name.
    pub vms: Vec<VmChanges>,
    /// The public addresses whose inbound VM (or pool, uplink) changes, by
    /// address: added, removed (then dropped on arrival) or moved.
    pub inbound: Vec<InboundChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// Only in NEW.
    Added,
    /// Only in OLD.
    Removed,
    /// In both.
    Kept,
}

impl Presence {
    fn of<T>(old: Option<T>, new: Option<T>) -> Presence {
        match (old, new) {
            (None, _) => Presence::Added,
            (_, None) => Presence::Removed,
            _ => Presence::Kept,
        }
    }
}

/// An uplink attachment (`uplink isp-a`), the LAN interfaces (`lan`) or the
/// failover timing (`failover`), each described in one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SettingChange {
    pub setting: String,
    #[serde(flatten)]
    pub change: Change<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct VmChanges {
    pub vm: String,
    pub presence: Presence,
    /// Its private address, before and after (equal when it stays).
    pub private_address: Change<Ipv4Addr>,
    /// Present when the MAC its address is bound to changes (`None`: unbound).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<Change<String>>,
    /// For a VM in both: the destination ranges whose outcome changes, by
    /// address, adjacent ranges with the same change merged.
    pub destinations: Vec<RangeChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RangeChange {
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
    /// The range as written: one address, a prefix, or `first-last`.
    pub destination: String,
    pub old: Way,
    pub new: Way,
    /// The entry that decides in NEW (none when internal or left alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Entry>,
}

/// What the dataplane does with a VM's packet to a destination: the outcome
/// `trace` reports, without the entry that decides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Way {
    /// The host's own address on `uplink`: delivered to the host itself.
    Local { uplink: String },
    /// An internal network: no mark, no NAT.
    Internal,
    /// No entry and no default: left alone.
    None,
    /// Source-NATed and sent by the first candidate whose uplink is up (with
    /// `[failover]`; else there is one).
    Snat { candidates: Vec<Exit> },
}

/// One candidate way out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Exit {
    pub public_address: Ipv4Addr,
    pub pool: String,
    pub uplink: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct InboundChange {
    pub address: Ipv4Addr,
    #[serde(flatten)]
    pub change: Change<Inbound>,
}

/// Where traffic arriving for a public address goes (and, from a VM of the
/// same host, where it is hairpinned to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Inbound {
    pub vm: String,
    pub pool: String,
    pub uplink: String,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no host named `{0}` in either topology")]
pub struct UnknownHost(pub String);

/// What `new` does differently from `old`, for every host or only `host`.
pub fn changes(old: Side, new: Side, host: Option<&str>) -> Result<Changes, UnknownHost> {
    let mut names: Vec<&str> = [old, new]
        .iter()
        .flat_map(|side| side.validated.plan().hosts.iter().map(|h| h.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    if let Some(only) = host {
        if !names.contains(&only) {
            return Err(UnknownHost(only.to_owned()));
        }
        names.retain(|name| *name == only);
    }
    let positions = deciding_offsets(new);
    let new = Located {
        side: new,
        positions: &positions,
    };
    let hosts = names
        .into_iter()
        .map(|name| host_changes(old, new, name))
        .filter(|h| !(h.settings.is_empty() && h.vms.is_empty() && h.inbound.is_empty()))
        .collect();
    Ok(Changes { hosts })
}

fn host_changes(old: Side, located: Located, name: &str) -> HostChanges {
    let new = located.side;
    let (old_host, new_host) = (old.host(name), new.host(name));
    let delta = HostDelta::new(old_host, new_host);
    let pairs = join_by(
        old_host.map_or(&[][..], |h| &h.ip.v4.vms),
        new_host.map_or(&[][..], |h| &h.ip.v4.vms),
        |vm| old.vm_name(vm),
        |vm| new.vm_name(vm),
    );
    let vms = pairs
        .par_iter()
        .filter_map(|&(old_vm, new_vm)| {
            vm_changes(
                at(old, old_host, old_vm),
                at(new, new_host, new_vm),
                &delta,
                located,
            )
        })
        .collect();
    HostChanges {
        host: name.to_owned(),
        presence: Presence::of(old_host, new_host),
        settings: setting_changes(old_host, new_host),
        vms,
        inbound: inbound_changes(old, old_host, new, new_host),
    }
}

/// The items of two lists sorted by a key, paired by it.
fn join_by<'a, T, K: Ord>(
    old: &'a [T],
    new: &'a [T],
    old_key: impl Fn(&'a T) -> K,
    new_key: impl Fn(&'a T) -> K,
) -> Vec<(Option<&'a T>, Option<&'a T>)> {
    let (mut i, mut j) = (0, 0);
    let mut pairs = Vec::with_capacity(old.len().max(new.len()));
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => old_key(a).cmp(&new_key(b)),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        pairs.push(match order {
            Ordering::Less => (old.get(i), None),
            Ordering::Greater => (None, new.get(j)),
            Ordering::Equal => (old.get(i), new.get(j)),
        });
        i += usize::from(order != Ordering::Greater);
        j += usize::from(order != Ordering::Less);
    }
    pairs
}

type At<'a> = (Side<'a>, &'a HostPlan, &'a VmPlan);

fn at<'a>(side: Side<'a>, host: Option<&'a HostPlan>, vm: Option<&'a VmPlan>) -> Option<At<'a>> {
    Some((side, host?, vm?))
}

fn vm_changes(
    old: Option<At>,
    new: Option<At>,
    delta: &HostDelta,
    located: Located,
) -> Option<VmChanges> {
    let (side, _, vm) = new.or(old)?;
    let model = side.model();
    let mac = |at: Option<At>| {
        let (side, _, vm) = at?;
        Some(side.model().vm(vm.vm).mac.as_ref()?.value.to_string())
    };
    let (old_mac, new_mac) = (mac(old), mac(new));
    let destinations = match (old, new) {
        (Some(old), Some(new)) => destination_changes(old, new, delta, located),
        _ => Vec::new(),
    };
    let private_address = Change {
        old: old.map(|(_, _, vm)| vm.private),
        new: new.map(|(_, _, vm)| vm.private),
    };
    let presence = Presence::of(old, new);
    let unchanged = presence == Presence::Kept
        && private_address.old == private_address.new
        && old_mac == new_mac
        && destinations.is_empty();
    (!unchanged).then(|| VmChanges {
        vm: model.vm(vm.vm).name.value.to_string(),
        presence,
        private_address,
        mac: (old_mac != new_mac).then_some(Change {
            old: old_mac,
            new: new_mac,
        }),
        destinations,
    })
}

/// What differs for every VM of a host between its two plans, found once per
/// host: the addresses internal in one plan only, and the host's own addresses
/// (delivered to the host itself, before any other lookup) whose uplink differs.
struct HostDelta {
    /// Both of those, merged: where every VM's outcome may differ.
    differs: Vec<Range>,
    /// The host's own addresses in either plan, sorted: where an outcome may
    /// change along the way.
    own: Vec<Range>,
}

impl HostDelta {
    fn new(old_host: Option<&HostPlan>, new_host: Option<&HostPlan>) -> Self {
        let internal =
            |host: Option<&HostPlan>| host.map_or(Vec::new(), |h| h.ip.v4.internal.clone());
        let own = |host: Option<&HostPlan>| -> Vec<(Ipv4Addr, String)> {
            let mut own: Vec<(Ipv4Addr, String)> = host
                .iter()
                .flat_map(|h| &h.uplinks)
                .filter_map(|u| Some((u.link.v4.as_ref()?.address.addr(), u.name.to_string())))
                .collect();
            own.sort();
            own
        };
        let (old_own, new_own) = (own(old_host), own(new_host));
        let mut differs = symmetric_difference(&internal(old_host), &internal(new_host));
        differs.extend(
            old_own
                .iter()
                .filter(|o| !new_own.contains(o))
                .chain(new_own.iter().filter(|n| !old_own.contains(n)))
                .map(|(address, _)| Range::single(*address)),
        );
        let own = old_own
            .iter()
            .chain(&new_own)
            .map(|(address, _)| Range::single(*address))
            .collect();
        HostDelta {
            differs: intervals::merge(differs),
            own: intervals::merge(own),
        }
    }
}

/// The ranges where a kept VM's outcome differs. The egress decisions are
/// compared where either plan has a breakpoint; only where they differ, or
/// where the host's internal or own addresses differ, are those looked at, so
/// a VM whose decisions stay costs as many steps as it has ranges.
fn destination_changes(old: At, new: At, delta: &HostDelta, located: Located) -> Vec<RangeChange> {
    let (old_side, old_host, old_vm) = old;
    let (new_side, new_host, new_vm) = new;
    let decisions_differ = |d: u32| {
        let at = Ipv4Addr::from(d);
        !same_way(
            old_side.model(),
            old_vm.decision(at),
            new_side.model(),
            new_vm.decision(at),
        )
    };
    let mut domain: Vec<Range> = segments(
        [0].into_iter()
            .chain(breakpoints(&old_vm.egress))
            .chain(breakpoints(&new_vm.egress))
            .collect(),
        Range {
            first: 0,
            last: u32::MAX,
        },
    )
    .filter(|segment| decisions_differ(segment.first))
    .collect();
    domain.extend_from_slice(&delta.differs);
    let domain = intervals::merge(domain);
    let mut changed: Vec<RangeChange> = Vec::new();
    for piece in domain {
        let cuts: Vec<u32> = [piece.first]
            .into_iter()
            .chain(breakpoints(overlapping_egress(&old_vm.egress, piece)))
            .chain(breakpoints(overlapping_egress(&new_vm.egress, piece)))
            .chain(range_breakpoints(intervals::overlapping(
                &old_host.ip.v4.internal,
                piece,
            )))
            .chain(range_breakpoints(intervals::overlapping(
                &new_host.ip.v4.internal,
                piece,
            )))
            .chain(range_breakpoints(intervals::overlapping(&delta.own, piece)))
            .collect();
        for segment in segments(cuts, piece) {
            let at = Ipv4Addr::from(segment.first);
            let (old_way, _) = way(old_side, old_host, old_vm, at);
            let (new_way, decision) = way(new_side, new_host, new_vm, at);
            if old_way == new_way {
                continue;
            }
            let decided_by = decision.map(|d| located.entry(d));
            match changed.last_mut() {
                Some(last)
                    if u32::from(last.last).checked_add(1) == Some(segment.first)
                        && last.old == old_way
                        && last.new == new_way
                        && last.decided_by == decided_by =>
                {
                    last.last = segment.last_address();
                }
                _ => changed.push(RangeChange {
                    first: at,
                    last: segment.last_address(),
                    destination: String::new(),
                    old: old_way,
                    new: new_way,
                    decided_by,
                }),
            }
        }
    }
    for range in &mut changed {
        range.destination = written(Range {
            first: range.first.into(),
            last: range.last.into(),
        });
    }
    changed
}

/// A range as an operator writes it: one address, a prefix, or `first-last`.
fn written(range: Range) -> String {
    if range.first == range.last {
        return range.first_address().to_string();
    }
    match range.as_prefix() {
        Some(prefix) => prefix.to_string(),
        None => format!("{}-{}", range.first_address(), range.last_address()),
    }
}

/// The egress ranges that meet `range` (the list is sorted and disjoint).
fn overlapping_egress(egress: &[(Range, Decision)], range: Range) -> &[(Range, Decision)] {
    let start = egress.partition_point(|(r, _)| r.last < range.first);
    let end = egress.partition_point(|(r, _)| r.first <= range.last);
    &egress[start..end.max(start)]
}

/// Where the outcome may change along a VM's egress ranges.
fn breakpoints(egress: &[(Range, Decision)]) -> impl Iterator<Item = u32> + '_ {
    range_breakpoints_iter(egress.iter().map(|(range, _)| *range))
}

fn range_breakpoints(ranges: &[Range]) -> impl Iterator<Item = u32> + '_ {
    range_breakpoints_iter(ranges.iter().copied())
}

fn range_breakpoints_iter(ranges: impl Iterator<Item = Range>) -> impl Iterator<Item = u32> {
    ranges.flat_map(|range| std::iter::once(range.first).chain(range.last.checked_add(1)))
}

/// `within` cut at `cuts` (any order, any value): consecutive segments that
/// cover it.
fn segments(mut cuts: Vec<u32>, within: Range) -> impl Iterator<Item = Range> {
    cuts.retain(|c| (within.first..=within.last).contains(c));
    cuts.push(within.first);
    cuts.sort_unstable();
    cuts.dedup();
    let ends: Vec<u32> = cuts
        .iter()
        .skip(1)
        .map(|next| next - 1)
        .chain([within.last])
        .collect();
    cuts.into_iter()
        .zip(ends)
        .map(|(first, last)| Range { first, last })
}

/// The outcome of a packet from `vm` to `destination` as `changes` compares it
/// ([`HostPlan::outcome`]), and the decision behind it. A public address of the
/// host is compared by the decision that is its hairpin's source; whose
/// address it is, is an inbound change.
fn way<'a>(
    side: Side<'a>,
    host: &'a HostPlan,
    vm: &'a VmPlan,
    destination: Ipv4Addr,
) -> (Way, Option<&'a Decision>) {
    let decision = match host.outcome(vm, destination) {
        Outcome::Local(uplink) => {
            let uplink = uplink.name.to_string();
            return (Way::Local { uplink }, None);
        }
        Outcome::Internal => return (Way::Internal, None),
        Outcome::Egress(decision) => Some(decision),
        Outcome::Hairpin { source, .. } => source,
        Outcome::Unhandled => None,
    };
    let way = decision.map_or(Way::None, |decision| Way::Snat {
        candidates: decision
            .candidates()
            .map(|c| Exit {
                public_address: c.public,
                pool: side.model().pool(c.pool).name.value.to_string(),
                uplink: side.model().uplink(c.uplink).name.value.to_string(),
            })
            .collect(),
    });
    (way, decision)
}

/// Whether two decisions (of the two topologies) send the same way, without
/// building the names: the cheap test made at every breakpoint.
fn same_way(
    old_model: &Model,
    old: Option<&Decision>,
    new_model: &Model,
    new: Option<&Decision>,
) -> bool {
    match (old, new) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.candidates().count() == b.candidates().count()
                && a.candidates().zip(b.candidates()).all(|(a, b)| {
                    a.public == b.public
                        && old_model.pool(a.pool).name.value == new_model.pool(b.pool).name.value
                        && old_model.uplink(a.uplink).name.value
                            == new_model.uplink(b.uplink).name.value
                })
        }
        _ => false,
    }
}

/// The addresses in exactly one of two sorted, disjoint range lists, merged.
fn symmetric_difference(a: &[Range], b: &[Range]) -> Vec<Range> {
    let cuts: Vec<u32> = range_breakpoints(a).chain(range_breakpoints(b)).collect();
    let all = Range {
        first: 0,
        last: u32::MAX,
    };
    intervals::merge(
        segments(cuts, all)
            .filter(|s| {
                let at = s.first_address();
                intervals::any_contains(a, at) != intervals::any_contains(b, at)
            })
            .collect(),
    )
}

fn setting_changes(old: Option<&HostPlan>, new: Option<&HostPlan>) -> Vec<SettingChange> {
    let settings = |host: Option<&HostPlan>| -> Vec<(String, String)> {
        let Some(host) = host else {
            return Vec::new();
        };
        let mut settings: Vec<(String, String)> = host
            .uplinks
            .iter()
            .map(|u| (format!("uplink {}", u.name), describe_uplink(u)))
            .collect();
        // The artifacts do not depend on the order the file lists them in.
        let mut lan = host.lan.clone();
        lan.sort();
        settings.push(("lan".to_owned(), lan.join(", ")));
        if let Some(ha) = &host.ha {
            settings.extend(describe_pair(ha));
        }
        if let Some(f) = &host.failover {
            settings.push((
                "failover".to_owned(),
                format!(
                    "interval {}, down after {}, up after {}",
                    humantime::format_duration(f.interval),
                    f.down_after,
                    f.up_after
                ),
            ));
        }
        settings.sort();
        settings
    };
    let (old, new) = (settings(old), settings(new));
    join_by(&old, &new, |(name, _)| name, |(name, _)| name)
        .into_iter()
        .filter(|(a, b)| a.map(|(_, v)| v) != b.map(|(_, v)| v))
        .map(|(a, b)| SettingChange {
            setting: a.or(b).map(|(name, _)| name.clone()).expect("one side"),
            change: Change {
                old: a.map(|(_, v)| v.clone()),
                new: b.map(|(_, v)| v.clone()),
            },
        })
        .collect()
}

/// A pair (docs/semantics.md §12) as settings: its VRRP id, sync link and
/// shared addresses, and each member's priority and own addresses.
fn describe_pair(ha: &crate::plan::ha::HaPlan) -> Vec<(String, String)> {
    let shared: Vec<String> = ha
        .shared
        .iter()
        .map(|shared| format!("{} on {}", shared.address, shared.interface))
        .collect();
    let pair = format!(
        "vrid {} on {}, shared {}",
        ha.vrid,
        ha.sync_interface,
        shared.join(", ")
    );
    let members = ha.members.iter().map(|member| {
        let own: Vec<String> = member
            .uplink_addresses
            .iter()
            .map(|(_, address)| address.to_string())
            .collect();
        (
            format!("member {}", member.name),
            format!(
                "priority {}, sync {}, own {}",
                member.priority,
                member.sync_address,
                own.join(" ")
            ),
        )
    });
    std::iter::once(("pair".to_owned(), pair))
        .chain(members)
        .collect()
}

fn describe_uplink(uplink: &UplinkPlan) -> String {
    let vlan = uplink
        .vlan
        .as_ref()
        .map_or_else(String::new, |v| format!(" (VLAN {} on {})", v.id, v.parent));
    format!(
        "id {}, table {}, interface {}{vlan}{}{}",
        uplink.id,
        uplink.table,
        uplink.interface,
        describe_link(uplink.link::<V4>()),
        describe_link(uplink.link::<V6>()),
    )
}

/// The uplink's link in one family, if it has one: `, address …, gateway …, probe …`.
fn describe_link<F: Family>(link: Option<&UplinkLink<F>>) -> String {
    link.map_or_else(String::new, |link| {
        let probe: Vec<String> = link.probe.iter().map(|p| p.to_string()).collect();
        format!(
            ", address {}, gateway {}, probe {}",
            link.address,
            link.gateway,
            probe.join(" ")
        )
    })
}

fn inbound_changes(
    old: Side,
    old_host: Option<&HostPlan>,
    new: Side,
    new_host: Option<&HostPlan>,
) -> Vec<InboundChange> {
    let inbound = |side: Side<'_>, host: Option<&HostPlan>| -> Vec<(Ipv4Addr, Inbound)> {
        let model = side.model();
        let mut all: Vec<(Ipv4Addr, Inbound)> = host
            .iter()
            .flat_map(|h| &h.ip.v4.vms)
            .flat_map(|vm| {
                vm.public.iter().map(move |p| {
                    let inbound = Inbound {
                        vm: side.vm_name(vm).to_owned(),
                        pool: model.pool(p.pool).name.value.to_string(),
                        uplink: model.uplink(p.uplink).name.value.to_string(),
                    };
                    (p.address, inbound)
                })
            })
            .collect();
        all.par_sort_unstable_by_key(|(address, _)| *address);
        all
    };
    let (old, new) = (inbound(old, old_host), inbound(new, new_host));
    join_by(&old, &new, |(a, _)| *a, |(a, _)| *a)
        .into_iter()
        .filter(|(a, b)| a.map(|(_, v)| v) != b.map(|(_, v)| v))
        .map(|(a, b)| InboundChange {
            address: a.or(b).expect("one side").0,
            change: Change {
                old: a.map(|(_, v)| v.clone()),
                new: b.map(|(_, v)| v.clone()),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests;
