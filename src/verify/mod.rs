//! `switchyard verify`: does the kernel hold what a host's build says?
//!
//! The expected state is not derived from the artifacts by parsing them here:
//! `main` loads the host's nft script and ip batch into a scratch network
//! namespace and lists it with the same `nft -j` and `ip -j` commands that list
//! the live state, so both sides are normalised by the kernel and the tools
//! themselves. This module is the pure part: it picks the host's files from the
//! manifest, turns the listings into comparable [`KernelState`]s and compares
//! them into a [`Report`]. Running the programs is `main`'s job (`src/kernel.rs`).

mod ip;
mod nft;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::plan;
use crate::render::{self, Manifest, ManifestFile};

/// The nft script and ip batch of one host in a build, as listed in its manifest.
#[derive(Debug)]
pub struct HostArtifacts<'a> {
    pub host: &'a str,
    pub nft: &'a ManifestFile,
    pub ip: &'a ManifestFile,
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

/// What the listing programs printed for one network namespace.
#[derive(Debug, Clone, Default)]
pub struct Listings {
    /// `nft -j list table inet switchyard`; `None` when the table does not exist.
    pub nft_table: Option<String>,
    /// `ip -N -j -4 rule show`.
    pub rules: String,
    /// `ip -N -j -4 route show table all`.
    pub routes: String,
    /// `ip -j -4 addr show`.
    pub addresses: String,
}

/// One namespace's switchyard state, ready to compare.
#[derive(Debug, PartialEq, Eq)]
pub struct KernelState {
    nft_table: Option<nft::Table>,
    rules: Vec<ip::Entry>,
    routes: Vec<ip::Entry>,
    /// Interface → its IPv4 addresses.
    addresses: BTreeMap<String, BTreeSet<String>>,
}

impl KernelState {
    pub fn parse(listings: &Listings) -> Result<Self, VerifyError> {
        Ok(KernelState {
            nft_table: listings
                .nft_table
                .as_deref()
                .map(nft::Table::from_json)
                .transpose()?,
            rules: ip::entries(&listings.rules, "ip -j rule")?,
            routes: ip::entries(&listings.routes, "ip -j route")?,
            addresses: ip::addresses(&listings.addresses)?,
        })
    }
}

/// The parts of the state, in the order a report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    NftTable,
    Rules,
    Routes,
    Addresses,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::NftTable => write!(f, "nft table inet {}", render::NFT_TABLE),
            Part::Rules => write!(f, "ip rules"),
            Part::Routes => write!(f, "routes in the uplink tables"),
            Part::Addresses => write!(f, "uplink addresses"),
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
    /// In both, with other properties.
    Changed {
        what: String,
        expected: String,
        live: String,
    },
}

impl Difference {
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
    add(
        Part::Rules,
        routing_difference(&expected.rules, &live.rules),
    );
    add(
        Part::Routes,
        routing_difference(&expected.routes, &live.routes),
    );

    // Only the interfaces the build gives addresses to are switchyard's (the
    // scratch namespace also lists the veth peers it made, without addresses).
    let mut addresses = Vec::new();
    let none = BTreeSet::new();
    for (interface, wanted) in expected.addresses.iter().filter(|(_, a)| !a.is_empty()) {
        let present = live.addresses.get(interface).unwrap_or(&none);
        let on = |address: &String| format!("{address} on {interface}");
        addresses.extend(
            wanted
                .difference(present)
                .map(|a| Difference::Missing(on(a))),
        );
        addresses.extend(present.difference(wanted).map(|a| Difference::Extra(on(a))));
    }
    add(Part::Addresses, addresses);
    Report { parts }
}

/// Switchyard's rules or routes: those tagged with its protocol (how the ip batch
/// finds its own), and those in the routing tables they use (how networkd's,
/// tagged `static`, are found: an uplink's table is switchyard's alone).
fn routing_difference(expected: &[ip::Entry], live: &[ip::Entry]) -> Vec<Difference> {
    let protocol = plan::ROUTE_PROTOCOL.to_string();
    let tables: BTreeSet<&str> = expected
        .iter()
        .filter(|e| e.protocol == protocol)
        .map(|e| e.table.as_str())
        .collect();
    let ours = |e: &&ip::Entry| e.protocol == protocol || tables.contains(e.table.as_str());
    let lines = |entries: &'_ [ip::Entry]| -> BTreeSet<String> {
        entries
            .iter()
            .filter(ours)
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
