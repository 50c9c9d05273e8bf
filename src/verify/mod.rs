//! `switchyard verify`: does the kernel hold what a host's build says?
//!
//! The expected state is not derived from the artifacts by parsing them here:
//! the binary loads the host's nft script and ip batch into a scratch network
//! namespace and lists it with the same `nft -j` and `ip -j` commands that list
//! the live state, so both sides are normalised by the kernel and the tools
//! themselves. This module is the pure part: it picks the host's files from the
//! manifest, turns the listings into comparable [`KernelState`]s and compares
//! them into a [`Report`]. Running the programs is the binary's job (`src/bin/switchyard/kernel.rs`).

mod ip;
pub mod keepalived;
mod nft;
pub mod sysctl;

pub(crate) use ip::{Entry, Neighbours, neighbour_name};
pub use nft::other_tables;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::family::Which;
use crate::plan;
use crate::render::{self, Manifest, ManifestFile};

/// The families whose routing `verify` compares, in the order it reports them.
pub const FAMILIES: [Which; 2] = [Which::V4, Which::V6];

/// The nft script and ip batch of one host in a build, as listed in its manifest.
#[derive(Debug)]
pub struct HostArtifacts<'a> {
    pub host: &'a str,
    pub nft: &'a ManifestFile,
    pub ip: &'a ManifestFile,
    /// `switchyard6.ip`, of a host with IPv6.
    pub ip6: Option<&'a ManifestFile>,
    /// `sysctl.d/90-switchyard.conf` (builds before it existed have none).
    pub sysctl: Option<&'a ManifestFile>,
    /// `switchyard.update.nft` of a build made `--since` an earlier one.
    pub update: Option<&'a ManifestFile>,
    /// `keepalived.conf` of a member of a pair.
    pub keepalived: Option<&'a ManifestFile>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the build lists no host")]
    NoHost,
    #[error("the build has several hosts ({}); say which one with --host NAME", .0.join(", "))]
    HostRequired(Vec<String>),
    #[error("the build has no host named `{name}` (it has {}){}", known.join(", "), suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownHost {
        name: String,
        known: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("the manifest lists no {0}")]
    MissingArtifact(String),
    #[error("{0} differs from the manifest's SHA-256: the build was changed after it was made")]
    Tampered(String),
    #[error("cannot read {0}")]
    Unreadable(String),
}

impl<'a> HostArtifacts<'a> {
    /// `host`'s files; without `host`, the build's only host.
    pub fn select(manifest: &'a Manifest, host: Option<&str>) -> Result<Self, VerifyError> {
        let hosts: BTreeSet<&str> = manifest.files.iter().map(|f| f.host.as_str()).collect();
        let host = match host {
            Some(name) => *hosts.get(name).ok_or_else(|| VerifyError::UnknownHost {
                name: name.to_owned(),
                known: hosts.iter().map(|h| (*h).to_owned()).collect(),
                suggestion: crate::diagnostic::closest(name, hosts.iter().copied())
                    .map(str::to_owned),
            })?,
            None => match hosts.len() {
                0 => return Err(VerifyError::NoHost),
                1 => *hosts.first().expect("one host"),
                _ => {
                    return Err(VerifyError::HostRequired(
                        hosts.iter().map(|h| (*h).to_owned()).collect(),
                    ));
                }
            },
        };
        let file = |name: &str| {
            let path = format!("{host}/{name}");
            manifest
                .files
                .iter()
                .find(|f| f.path == path)
                .ok_or(VerifyError::MissingArtifact(path))
        };
        Ok(HostArtifacts {
            host,
            nft: file(render::NFT_SCRIPT)?,
            ip: file(render::IP_BATCH)?,
            ip6: file(render::IP6_BATCH).ok(),
            sysctl: file(render::SYSCTL_FILE).ok(),
            update: file(render::NFT_UPDATE).ok(),
            keepalived: file(render::KEEPALIVED_CONF).ok(),
        })
    }
}

/// Refuses a file whose bytes are not what the manifest says: verifying against
/// an edited build would bless whatever it now holds.
pub fn check_digest(file: &ManifestFile, bytes: &[u8]) -> Result<(), VerifyError> {
    if render::hex_digest(bytes) == file.sha256 {
        Ok(())
    } else {
        Err(VerifyError::Tampered(file.path.clone()))
    }
}

/// The interfaces an ip batch names (`… dev NAME …`): the scratch namespace
/// needs them to exist before the batch can add addresses and routes to them.
pub fn batch_interfaces(batch: &str) -> Vec<String> {
    let mut names: Vec<String> = batch
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words
                .windows(2)
                .filter(|pair| pair[0] == "dev")
                .map(|pair| pair[1].to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// What `ip` printed for one family's routing (`-4` or `-6`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoutingListings {
    /// `ip -N -j -4 rule show`.
    pub rules: String,
    /// `ip -N -j -4 route show table all`.
    pub routes: String,
    /// `ip -j -4 addr show`.
    pub addresses: String,
    /// `ip -N -j -4 neigh show nud permanent proto 211`.
    pub neighbours: String,
}

/// What the listing programs printed for one network namespace.
#[derive(Debug, Clone, Default)]
pub struct Listings {
    /// `nft -j list table inet switchyard`; `None` when the table does not exist.
    pub nft_table: Option<String>,
    /// IPv4's rules, routes, addresses and neighbour entries (`ip -4`).
    pub v4: RoutingListings,
    /// IPv6's (`ip -6`).
    pub v6: RoutingListings,
    /// Sysctl key → its value; `None` when the kernel has no such setting (an
    /// interface that does not exist). The build's side: its sysctl file.
    pub sysctls: BTreeMap<String, Option<String>>,
    /// `nft -j list table FAMILY NAME` of every other table of the families
    /// whose hooks IPv4 or IPv6 packets pass (`ip`, `ip6`, `inet`).
    pub other_tables: Vec<String>,
    /// The build's side, on a member of a pair: `(interface, ADDRESS/LEN)` of
    /// the shared addresses its keepalived.conf moves ([`keepalived::addresses`]),
    /// neither required nor removed.
    pub shared_addresses: BTreeSet<(String, String)>,
}

/// The typed model of `nft -j list table inet switchyard`'s output.
pub fn listed_table(json: &str) -> Result<crate::nft_table::Table, VerifyError> {
    nft::Table::from_json(json).map(|table| table.model)
}

/// One family's rules, routes, addresses and neighbour entries, ready to
/// compare.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Routing {
    pub(crate) rules: Vec<ip::Entry>,
    pub(crate) routes: Vec<ip::Entry>,
    /// Interface → its addresses of the family (IPv6: not link-local).
    pub(crate) addresses: BTreeMap<String, BTreeSet<String>>,
    /// The permanent neighbour entries of MAC-bound VMs.
    pub(crate) neighbours: ip::Neighbours,
}

impl Routing {
    pub(crate) fn parse(listings: &RoutingListings, family: Which) -> Result<Self, VerifyError> {
        Ok(Routing {
            rules: ip::entries(&listings.rules, ip::Kind::Rule)?,
            routes: ip::entries(&listings.routes, ip::Kind::Route)?,
            addresses: ip::addresses(&listings.addresses, family)?,
            neighbours: ip::neighbours(&listings.neighbours)?,
        })
    }
}

/// One namespace's switchyard state, ready to compare.
#[derive(Debug, PartialEq, Eq)]
pub struct KernelState {
    nft_table: Option<nft::Table>,
    pub(crate) v4: Routing,
    pub(crate) v6: Routing,
    sysctls: BTreeMap<String, Option<String>>,
    other_chains: Vec<nft::OtherChain>,
    shared_addresses: BTreeSet<(String, String)>,
}

impl KernelState {
    pub fn parse(listings: &Listings) -> Result<Self, VerifyError> {
        Ok(KernelState {
            nft_table: listings
                .nft_table
                .as_deref()
                .map(nft::Table::from_json)
                .transpose()?,
            v4: Routing::parse(&listings.v4, Which::V4)?,
            v6: Routing::parse(&listings.v6, Which::V6)?,
            sysctls: listings.sysctls.clone(),
            other_chains: listings
                .other_tables
                .iter()
                .map(|table| nft::other_chains(table))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect(),
            shared_addresses: listings.shared_addresses.clone(),
        })
    }

    /// The elements of the monitor's set `down_uplinks` (the uplinks it found
    /// down, their marks as nft writes them).
    pub fn down_uplinks(&self) -> Option<Vec<String>> {
        let table = &self.nft_table.as_ref()?.model;
        let down = table.elements(render::DOWN_UPLINKS_SET);
        Some(down.iter().map(ToString::to_string).collect())
    }

    /// The rules, routes, addresses and neighbour entries of `family`.
    pub(crate) fn routing(&self, family: Which) -> &Routing {
        match family {
            Which::V4 => &self.v4,
            Which::V6 => &self.v6,
        }
    }

    /// A setting's value (`None`: not listed, or no such setting).
    pub fn sysctl(&self, key: &str) -> Option<&str> {
        self.sysctls.get(key)?.as_deref()
    }

    /// The build id the table holds in its set `build`.
    pub fn build_id(&self) -> Option<&str> {
        self.nft_table.as_ref()?.model.build_id()
    }
}

/// The parts of the state, in the order a report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    NftTable,
    Rules,
    Routes,
    Addresses,
    Neighbours,
    Sysctls,
    RulesAhead,
    ChainsAhead,
}

impl Part {
    /// Not switchyard's objects but others' that undermine them.
    fn is_outside(&self) -> bool {
        matches!(self, Part::RulesAhead | Part::ChainsAhead)
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::NftTable => write!(f, "nft table inet {}", render::NFT_TABLE),
            Part::Rules => write!(f, "ip rules"),
            Part::Routes => write!(f, "routes in the uplink tables"),
            Part::Addresses => write!(f, "uplink addresses"),
            Part::Neighbours => write!(
                f,
                "neighbour entries of MAC-bound VMs (nud permanent, protocol {})",
                plan::ROUTE_PROTOCOL
            ),
            Part::Sysctls => write!(f, "kernel settings (sysctl.d/90-switchyard.conf)"),
            Part::RulesAhead => write!(f, "policy rules of other owners ahead of switchyard's"),
            Part::ChainsAhead => write!(
                f,
                "base chains of other nft tables that can drop before switchyard's"
            ),
        }
    }
}

/// One way the live state differs from the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// In the build, not in the kernel.
    Missing(String),
    /// In the kernel, not in the build.
    Extra(String),
    /// Not switchyard's, and in its way.
    Ahead(String),
    /// In both, with other properties.
    Changed {
        what: String,
        expected: String,
        live: String,
    },
}

impl Difference {
    /// The difference, said to be of IPv6 when it is.
    fn of_family(self, family: Which) -> Self {
        let label = |what: String| match family {
            Which::V4 => what,
            Which::V6 => format!("{what} (IPv6)"),
        };
        match self {
            Difference::Missing(what) => Difference::Missing(label(what)),
            Difference::Extra(what) => Difference::Extra(label(what)),
            Difference::Ahead(what) => Difference::Ahead(label(what)),
            Difference::Changed {
                what,
                expected,
                live,
            } => Difference::Changed {
                what: label(what),
                expected,
                live,
            },
        }
    }

    fn changed(what: String, expected: &str, live: &str) -> Self {
        Difference::Changed {
            what,
            expected: expected.to_owned(),
            live: live.to_owned(),
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing(what) => write!(f, "missing  {what}"),
            Difference::Extra(what) => write!(f, "extra    {what}"),
            Difference::Ahead(what) => write!(f, "ahead    {what}"),
            Difference::Changed {
                what,
                expected,
                live,
            } => write!(
                f,
                "changed  {what}\n             build: {expected}\n             live:  {live}"
            ),
        }
    }
}

/// Every difference, by part; empty when the kernel is in sync with the build.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub parts: BTreeMap<Part, Vec<Difference>>,
}

impl Report {
    /// The number of differences.
    pub fn len(&self) -> usize {
        self.parts.values().map(Vec::len).sum()
    }

    /// In sync: no difference at all.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Only the parts switchyard's own objects and settings are in (what
    /// `apply` sets), without what stands in their way from outside.
    pub fn own(&self) -> Report {
        self.filtered(|part| !part.is_outside())
    }

    /// Only what stands in switchyard's way from outside (what `apply` cannot
    /// change).
    pub fn outside(&self) -> Report {
        self.filtered(Part::is_outside)
    }

    fn filtered(&self, keep: impl Fn(&Part) -> bool) -> Report {
        Report {
            parts: self
                .parts
                .iter()
                .filter(|(part, _)| keep(part))
                .map(|(part, differences)| (*part, differences.clone()))
                .collect(),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (part, differences) in &self.parts {
            writeln!(f, "{part}:")?;
            for difference in differences {
                writeln!(f, "  {difference}")?;
            }
        }
        Ok(())
    }
}

/// How `live` differs from `expected`.
pub fn compare(expected: &KernelState, live: &KernelState) -> Report {
    let mut parts = BTreeMap::new();
    let mut add = |part, differences: Vec<Difference>| {
        if !differences.is_empty() {
            parts.insert(part, differences);
        }
    };

    let mut table = Vec::new();
    match (&expected.nft_table, &live.nft_table) {
        (Some(expected), Some(live)) => expected.compare(live, &mut table),
        (Some(_), None) => table.push(Difference::Missing("the whole table".to_owned())),
        (None, Some(_)) => table.push(Difference::Extra("the whole table".to_owned())),
        (None, None) => {}
    }
    add(Part::NftTable, table);
    let ours = Ownership::of(expected);
    // Each family's differences, IPv4's first, under one heading per part.
    let mut routing: BTreeMap<Part, Vec<Difference>> = BTreeMap::new();
    for family in FAMILIES {
        let (ours, expected, live) = (
            ours.family(family),
            expected.routing(family),
            live.routing(family),
        );
        // A rule names no address: `(IPv6)` tells an IPv6 one from its twin.
        let rules = |differences: Vec<Difference>| -> Vec<Difference> {
            differences
                .into_iter()
                .map(|d| d.of_family(family))
                .collect()
        };
        for (part, differences) in [
            (
                Part::Rules,
                rules(routing_difference(ours, &expected.rules, &live.rules)),
            ),
            (
                Part::Routes,
                routing_difference(ours, &expected.routes, &live.routes),
            ),
            (Part::Addresses, address_difference(ours, expected, live)),
            (
                Part::Neighbours,
                neighbour_difference(&expected.neighbours, &live.neighbours),
            ),
            (Part::RulesAhead, rules(rules_ahead(ours, expected, live))),
        ] {
            routing.entry(part).or_default().extend(differences);
        }
    }
    for (part, differences) in routing {
        add(part, differences);
    }
    add(Part::Sysctls, sysctl_difference(expected, live));
    add(Part::ChainsAhead, chains_ahead(expected, live));
    Report { parts }
}

/// Switchyard's addresses of one family missing from the interfaces the
/// build gives addresses to, and others there.
fn address_difference(
    ours: &FamilyOwnership,
    expected: &Routing,
    live: &Routing,
) -> Vec<Difference> {
    let mut addresses = Vec::new();
    for interface in ours.interfaces() {
        let wanted = ours.addresses_of(interface, &expected.addresses);
        let present = ours.addresses_of(interface, &live.addresses);
        let on = |address: &&String| format!("{address} on {interface}");
        addresses.extend(
            wanted
                .difference(&present)
                .map(|a| Difference::Missing(on(a))),
        );
        addresses.extend(
            present
                .difference(&wanted)
                .map(|a| Difference::Extra(on(a))),
        );
    }
    addresses
}

/// Entries of the build that are missing or point elsewhere, and entries of
/// switchyard's the build does not have (a binding or LAN interface removed).
fn neighbour_difference(expected: &ip::Neighbours, live: &ip::Neighbours) -> Vec<Difference> {
    let line = |key, lladdr: Option<&String>| {
        format!("{} {}", ip::neighbour_name(key), ip::lladdr_text(lladdr))
    };
    let mut differences: Vec<Difference> = expected
        .iter()
        .filter_map(|(key, wanted)| match live.get(key) {
            None => Some(Difference::Missing(line(key, wanted.as_ref()))),
            Some(present) if present != wanted => Some(Difference::changed(
                ip::neighbour_name(key),
                &ip::lladdr_text(wanted.as_ref()),
                &ip::lladdr_text(present.as_ref()),
            )),
            Some(_) => None,
        })
        .collect();
    differences.extend(
        live.iter()
            .filter(|(key, _)| !expected.contains_key(*key))
            .map(|(key, present)| Difference::Extra(line(key, present.as_ref()))),
    );
    differences
}

/// Every setting of the build's sysctl file the kernel holds otherwise.
fn sysctl_difference(expected: &KernelState, live: &KernelState) -> Vec<Difference> {
    expected
        .sysctls
        .iter()
        .filter_map(|(key, wanted)| {
            let present = live.sysctls.get(key).cloned().flatten();
            (present != *wanted).then(|| {
                Difference::changed(
                    key.clone(),
                    wanted.as_deref().unwrap_or("(absent)"),
                    present.as_deref().unwrap_or("(absent: no such setting)"),
                )
            })
        })
        .collect()
}

/// Policy rules that are not switchyard's and come before its first rule (a
/// lower priority number), so they decide first: a `lookup main` there sends
/// marked packets by the main table. The kernel's own `lookup local` at
/// priority 0 is left out: it only holds the host's own addresses.
fn rules_ahead(ours: &FamilyOwnership, expected: &Routing, live: &Routing) -> Vec<Difference> {
    let Some(first) = expected
        .rules
        .iter()
        .filter(|rule| ours.owns(rule))
        .filter_map(|rule| rule.priority)
        .min()
    else {
        return Vec::new();
    };
    live.rules
        .iter()
        .filter(|rule| !ours.owns(rule))
        .filter(|rule| rule.priority.is_some_and(|p| p < first))
        .filter(|rule| !(rule.priority == Some(0) && rule.table == LOCAL_TABLE))
        .map(|rule| Difference::Ahead(rule.line.clone()))
        .collect()
}

/// The kernel's `local` routing table (255).
const LOCAL_TABLE: &str = "255";

/// Base chains of other tables on a hook where switchyard has one, running
/// first (a lower priority number) or at the same priority (then the order is
/// the kernel's, not switchyard's), that can drop: a drop policy, or a rule
/// that drops or rejects. A chain that only accepts is no threat and left out
/// (Debian's stock /etc/nftables.conf has such a forward chain), and so is a
/// chain of an `ip6` table on a host whose build routes no IPv6.
fn chains_ahead(expected: &KernelState, live: &KernelState) -> Vec<Difference> {
    let Some(table) = &expected.nft_table else {
        return Vec::new();
    };
    let hooks = table.hooks();
    let protocol = plan::ROUTE_PROTOCOL.to_string();
    let routes_ipv6 = expected
        .v6
        .rules
        .iter()
        .any(|rule| rule.protocol == protocol);
    live.other_chains
        .iter()
        .filter(|chain| chain.drops)
        .filter(|chain| routes_ipv6 || chain.family != "ip6")
        .filter(|chain| {
            hooks
                .get(chain.hook.as_str())
                .is_some_and(|first| chain.priority <= *first)
        })
        .map(|chain| {
            Difference::Ahead(format!(
                "table {} {} chain {} (hook {} priority {}) can drop before switchyard's {} chain (priority {})",
                chain.family,
                chain.table,
                chain.name,
                chain.hook,
                chain.priority,
                chain.hook,
                hooks[chain.hook.as_str()]
            ))
        })
        .collect()
}

/// Which rules and routes are switchyard's, in each family: those tagged with
/// its protocol (how the ip batch finds its own), and those in (or looking up)
/// the routing tables the build's own entries of the family use (how
/// networkd's, tagged `static`, are found, and a route added by hand to an
/// uplink's table: that table is switchyard's alone). Its addresses are those
/// of the family on the interfaces the build gives one of it to. Its
/// neighbour entries need no ownership here: only switchyard's are kept when a
/// listing is parsed (permanent, tagged with its protocol).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ownership {
    /// IPv4's (the whole of what a trial saved before IPv6 holds).
    #[serde(flatten)]
    v4: FamilyOwnership,
    /// IPv6's: nothing in a trial saved before IPv6.
    #[serde(default)]
    v6: FamilyOwnership,
}

impl Ownership {
    pub fn of(expected: &KernelState) -> Ownership {
        let of = |routing| FamilyOwnership::of(routing, &expected.shared_addresses);
        Ownership {
            v4: of(&expected.v4),
            v6: of(&expected.v6),
        }
    }

    /// What is switchyard's in `family`.
    pub(crate) fn family(&self, family: Which) -> &FamilyOwnership {
        match family {
            Which::V4 => &self.v4,
            Which::V6 => &self.v6,
        }
    }
}

/// What is switchyard's in one family (see [`Ownership`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct FamilyOwnership {
    tables: BTreeSet<String>,
    interfaces: BTreeSet<String>,
    /// `(interface, ADDRESS/LEN)` on those interfaces that are keepalived's,
    /// not switchyard's (a pair's shared addresses).
    #[serde(default)]
    shared: BTreeSet<(String, String)>,
}

impl FamilyOwnership {
    fn of(expected: &Routing, shared: &BTreeSet<(String, String)>) -> FamilyOwnership {
        let protocol = plan::ROUTE_PROTOCOL.to_string();
        FamilyOwnership {
            tables: expected
                .rules
                .iter()
                .chain(&expected.routes)
                .filter(|e| e.protocol == protocol)
                .map(|e| e.table.clone())
                .collect(),
            // The scratch namespace also lists the veth peers it made, without
            // addresses: those are not the build's.
            interfaces: expected
                .addresses
                .iter()
                .filter(|(_, addresses)| !addresses.is_empty())
                .map(|(interface, _)| interface.clone())
                .collect(),
            shared: shared.clone(),
        }
    }

    pub(crate) fn owns(&self, entry: &ip::Entry) -> bool {
        entry.protocol == plan::ROUTE_PROTOCOL.to_string() || self.tables.contains(&entry.table)
    }

    /// The interfaces whose addresses of the family are switchyard's.
    pub(crate) fn interfaces(&self) -> impl Iterator<Item = &String> {
        self.interfaces.iter()
    }

    /// `interface`'s addresses in `addresses` that are switchyard's: all but
    /// keepalived's shared ones.
    pub(crate) fn addresses_of<'s>(
        &'s self,
        interface: &'s str,
        addresses: &'s BTreeMap<String, BTreeSet<String>>,
    ) -> BTreeSet<&'s String> {
        addresses
            .get(interface)
            .into_iter()
            .flatten()
            .filter(|address| {
                !self
                    .shared
                    .iter()
                    .any(|(device, shared)| device == interface && shared == *address)
            })
            .collect()
    }
}

/// Switchyard's rules or routes (see [`Ownership`]) that differ.
fn routing_difference(
    ours: &FamilyOwnership,
    expected: &[ip::Entry],
    live: &[ip::Entry],
) -> Vec<Difference> {
    let lines = |entries: &'_ [ip::Entry]| -> BTreeSet<String> {
        entries
            .iter()
            .filter(|e| ours.owns(e))
            .map(|e| e.line.clone())
            .collect()
    };
    let (expected, live) = (lines(expected), lines(live));
    expected
        .difference(&live)
        .cloned()
        .map(Difference::Missing)
        .chain(live.difference(&expected).cloned().map(Difference::Extra))
        .collect()
}
