//! `switchyard monitor`: uplink health and failover (docs/semantics.md §10), the
//! part without IO. [`Config`] is the `monitor.json` a build writes per host;
//! [`Monitor`] turns probe results into up/down transitions (`down_after`,
//! `up_after`) and says what the kernel must hold: the marks of set
//! `down_uplinks` and the conntrack entries to delete when an uplink dies. The
//! binary's `monitor` command (`src/bin/switchyard/monitor.rs`) sends the probes, runs `nft` and `conntrack`,
//! and feeds the results in.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Component;

use serde::{Deserialize, Serialize};

use crate::layout::{MARK_MASK, hex};
use crate::model::{INTERVAL_RANGE, ROUNDS_MAX, interface_problem, is_valid_name};

/// `out/<host>/monitor.json`: everything the monitor of one host needs, so it
/// never reads the topology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// What every artifact's first line says (JSON has no comments): the
    /// program and version that wrote the file, the host and the topology.
    pub generated_by: String,
    pub host: String,
    /// The nft table (family inet) and the set in it the monitor keeps in line.
    pub table: String,
    pub set: String,
    /// Time between two probe rounds, in milliseconds.
    pub interval_ms: u64,
    pub down_after: u32,
    pub up_after: u32,
    /// The mark bits that carry the uplink id.
    pub uplink_mark_mask: u32,
    /// The conntrack-mark bits that carry a connection's failover group.
    pub failover_mark_mask: u32,
    /// The bit of `failover_mark_mask` every group's connections carry.
    pub movable_mark: u32,
    pub uplinks: Vec<Uplink>,
    /// Who may move: a connection whose conntrack mark carries a group's
    /// `ct_mark` and is bound to one of its `uplinks` has a live alternative
    /// while another of them is up.
    pub groups: Vec<Group>,
    /// On a member of a pair: the file keepalived tracks, where the monitor
    /// writes the member's health ([`ha::health`]) at start and on every
    /// transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp_health_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uplink {
    pub name: String,
    /// The uplink's mark: what set `down_uplinks` holds for it, what its
    /// probes carry and what conntrack entries bound to it carry.
    pub mark: u32,
    pub interface: String,
    /// The host's addresses on the link, at most one per family, IPv4 first:
    /// the probes' sources. In the file one address is a string, two a list
    /// (as in the topology), so an IPv4-only host's file reads as before.
    #[serde(with = "one_or_list")]
    pub address: Vec<IpAddr>,
    /// ICMP and ICMPv6 echo targets, each sent from the address of its
    /// family; a round succeeds when any target of either family answers.
    pub probe: Vec<IpAddr>,
}

impl Uplink {
    /// The targets probed from `source`, one of [`Self::address`]: those of
    /// its family.
    pub fn targets_from(&self, source: IpAddr) -> impl Iterator<Item = IpAddr> + '_ {
        self.probe
            .iter()
            .copied()
            .filter(move |target| target.is_ipv4() == source.is_ipv4())
    }
}

/// `Uplink::address` in JSON: a string when there is one address, else a list.
mod one_or_list {
    use std::net::IpAddr;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        addresses: &[IpAddr],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match addresses {
            [one] => one.serialize(serializer),
            all => all.serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<IpAddr>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "an IP address or a list of IP addresses")]
        enum OneOrList {
            One(IpAddr),
            List(Vec<IpAddr>),
        }
        Ok(match OneOrList::deserialize(deserializer)? {
            OneOrList::One(address) => vec![address],
            OneOrList::List(addresses) => addresses,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Its uplinks, by their marks (sorted): the key the kernel knows an
    /// uplink by (the elements of set `down_uplinks`, the uplink bits of a
    /// connection's mark), so a group and the uplinks it holds cannot be
    /// matched wrongly by a name.
    pub uplink_marks: Vec<u32>,
    /// The group's bits of the conntrack mark: `movable_mark` and its number
    /// (0 when the host has more groups than the bits can number).
    pub ct_mark: u32,
}

/// Conntrack entries to delete: those whose mark, masked, is `mark`
/// (`conntrack -D --mark MARK/MASK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkFilter {
    pub mark: u32,
    pub mask: u32,
}

impl Config {
    pub fn interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.interval_ms)
    }

    /// Reads and checks `monitor.json`: every value the daemon passes to the
    /// kernel or to `nft`, or loops on, within what `build` writes (names in
    /// the topology's grammar, numbers in the topology's bounds, marks inside
    /// switchyard's mark bits), so a damaged or hostile file stops the daemon
    /// at start with the key it got wrong.
    pub fn from_json(text: &str) -> Result<Config, ConfigError> {
        let config: Config = serde_json::from_str(text).map_err(|e| ConfigError {
            key: format!("line {} column {}", e.line(), e.column()),
            problem: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, problem: String| {
            Err(ConfigError {
                key: key.to_owned(),
                problem,
            })
        };
        for (key, name) in [
            ("host", &self.host),
            ("table", &self.table),
            ("set", &self.set),
        ] {
            if !is_valid_name(name) {
                return fail(
                    key,
                    format!(
                        "{name:?} is not a name (1 to 63 ASCII letters, digits, `-`, `_` or `.`)"
                    ),
                );
            }
        }
        let (least, most) = (
            INTERVAL_RANGE.start().as_millis(),
            INTERVAL_RANGE.end().as_millis(),
        );
        if !(least..=most).contains(&u128::from(self.interval_ms)) {
            return fail(
                "interval_ms",
                format!("{} is not within {least}..={most}", self.interval_ms),
            );
        }
        for (key, rounds) in [("down_after", self.down_after), ("up_after", self.up_after)] {
            if !(1..=ROUNDS_MAX).contains(&i64::from(rounds)) {
                return fail(key, format!("{rounds} is not within 1..={ROUNDS_MAX}"));
            }
        }
        let masks = [
            ("uplink_mark_mask", self.uplink_mark_mask),
            ("failover_mark_mask", self.failover_mark_mask),
            ("movable_mark", self.movable_mark),
        ];
        for (key, mask) in masks {
            if mask == 0 || mask & !MARK_MASK != 0 {
                return fail(
                    key,
                    format!(
                        "{mask:#x} is not a nonzero part of switchyard's mark bits {MARK_MASK:#x}"
                    ),
                );
            }
        }
        if self.uplink_mark_mask & self.failover_mark_mask != 0
            || self.movable_mark & !self.failover_mark_mask != 0
        {
            return fail(
                "movable_mark",
                "the uplink, failover and movable bits do not nest".to_owned(),
            );
        }
        if self.uplinks.is_empty() {
            return fail("uplinks", "no uplink to watch".to_owned());
        }
        if let Some(path) = &self.vrrp_health_file {
            let plain = path.is_absolute()
                && path.file_name().is_some()
                && path
                    .components()
                    .all(|part| matches!(part, Component::RootDir | Component::Normal(_)));
            if !plain {
                return fail(
                    "vrrp_health_file",
                    format!("{} is not an absolute path to a file", path.display()),
                );
            }
        }
        for (index, uplink) in self.uplinks.iter().enumerate() {
            let key = |field: &str| format!("uplinks[{index}].{field}");
            if !is_valid_name(&uplink.name)
                || self.uplinks[..index].iter().any(|u| u.name == uplink.name)
            {
                return fail(
                    &key("name"),
                    format!(
                        "{:?} is not a name, or a second uplink of that name",
                        uplink.name
                    ),
                );
            }
            if uplink.mark == 0
                || uplink.mark & !self.uplink_mark_mask != 0
                || self.uplinks[..index].iter().any(|u| u.mark == uplink.mark)
            {
                return fail(
                    &key("mark"),
                    format!(
                        "{:#x} is not a nonzero mark of its own within uplink_mark_mask",
                        uplink.mark
                    ),
                );
            }
            if let Some(problem) = interface_problem(&uplink.interface) {
                return fail(
                    &key("interface"),
                    format!("{:?} is not an interface name: {problem}", uplink.interface),
                );
            }
            if !matches!(
                uplink.address.as_slice(),
                [_] | [IpAddr::V4(_), IpAddr::V6(_)]
            ) {
                return fail(
                    &key("address"),
                    "needs one address, or an IPv4 and an IPv6 one in that order".to_owned(),
                );
            }
            if let Some(address) = uplink.address.iter().find(|a| !is_host_address(**a)) {
                return fail(
                    &key("address"),
                    format!("{address} is not a unicast address"),
                );
            }
            if uplink.probe.is_empty() || uplink.probe.len() > MAX_PROBE_TARGETS {
                return fail(
                    &key("probe"),
                    format!("needs 1 to {MAX_PROBE_TARGETS} targets"),
                );
            }
            if let Some(target) = uplink.probe.iter().find(|t| !is_host_address(**t)) {
                return fail(&key("probe"), format!("{target} is not a unicast address"));
            }
            if let Some(target) = uplink
                .probe
                .iter()
                .find(|t| !uplink.address.iter().any(|a| a.is_ipv4() == t.is_ipv4()))
            {
                return fail(
                    &key("probe"),
                    format!("{target} has no source: `address` has none of its family"),
                );
            }
        }
        for (index, group) in self.groups.iter().enumerate() {
            let key = |field: &str| format!("groups[{index}].{field}");
            let marks = &group.uplink_marks;
            if marks.len() < 2 || marks.windows(2).any(|pair| pair[0] >= pair[1]) {
                return fail(
                    &key("uplink_marks"),
                    "a group holds at least two uplinks, sorted, each once".to_owned(),
                );
            }
            if let Some(mark) = marks
                .iter()
                .find(|&&mark| !self.uplinks.iter().any(|u| u.mark == mark))
            {
                return fail(
                    &key("uplink_marks"),
                    format!("{mark:#x} is not the mark of one of `uplinks`"),
                );
            }
            if group.ct_mark & self.movable_mark == 0
                || group.ct_mark & !self.failover_mark_mask != 0
            {
                return fail(
                    &key("ct_mark"),
                    format!(
                        "{:#x} lacks movable_mark or leaves failover_mark_mask",
                        group.ct_mark
                    ),
                );
            }
        }
        Ok(())
    }
}

/// More probe targets than this per uplink would make a round a flood.
pub const MAX_PROBE_TARGETS: usize = 16;

/// An address an echo can come from or go to: not unspecified, multicast,
/// loopback or (IPv4) broadcast. IPv6 link-local is one: the default target
/// of an uplink whose IPv6 gateway is link-local is that gateway, reached on
/// the uplink's interface.
fn is_host_address(address: IpAddr) -> bool {
    let broadcast = matches!(address, IpAddr::V4(v4) if v4.is_broadcast());
    !(address.is_unspecified() || address.is_multicast() || address.is_loopback() || broadcast)
}

/// A `monitor.json` the daemon refuses, and the key that made it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

/// An uplink changed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub uplink: usize,
    pub up: bool,
}

/// The health of every uplink of a config, by index. Every uplink starts up:
/// before the first measurement the monitor changes nothing.
#[derive(Debug)]
pub struct Monitor {
    config: Config,
    health: Vec<Health>,
}

#[derive(Debug, Clone, Copy)]
struct Health {
    up: bool,
    /// Consecutive rounds that disagreed with `up`.
    against: u32,
}

impl Monitor {
    pub fn new(config: Config) -> Self {
        let health = vec![
            Health {
                up: true,
                against: 0
            };
            config.uplinks.len()
        ];
        Monitor { config, health }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn is_up(&self, uplink: usize) -> bool {
        self.health[uplink].up
    }

    /// One probe round of `uplink` ended: `answered` when any target answered.
    /// An up uplink goes down after `down_after` unanswered rounds in a row, a
    /// down one comes up after `up_after` answered ones.
    pub fn observe(&mut self, uplink: usize, answered: bool) -> Option<Transition> {
        let health = &mut self.health[uplink];
        if answered == health.up {
            health.against = 0;
            return None;
        }
        health.against += 1;
        let needed = if health.up {
            self.config.down_after
        } else {
            self.config.up_after
        };
        if health.against < needed {
            return None;
        }
        *health = Health {
            up: answered,
            against: 0,
        };
        Some(Transition {
            uplink,
            up: answered,
        })
    }

    /// The text of the VRRP health file: [`ha::health`] of the uplinks up.
    pub fn vrrp_health(&self) -> String {
        ha::health_file((0..self.health.len()).filter(|&i| self.is_up(i)).count())
    }

    /// The marks set `down_uplinks` must hold.
    pub fn down_marks(&self) -> BTreeSet<u32> {
        (0..self.health.len())
            .filter(|&i| !self.is_up(i))
            .map(|i| self.config.uplinks[i].mark)
            .collect()
    }

    /// The nft script that makes the set hold exactly [`Self::down_marks`]: one
    /// transaction, so a packet never sees a half-written set.
    pub fn set_script(&self) -> String {
        let Config { table, set, .. } = &self.config;
        let mut script = format!("flush set inet {table} {set}\n");
        let marks: Vec<String> = self.down_marks().iter().map(|m| hex(*m)).collect();
        if !marks.is_empty() {
            script += &format!(
                "add element inet {table} {set} {{ {} }}\n",
                marks.join(", ")
            );
        }
        script
    }

    /// What deletes the connections bound to the down uplink `uplink` that
    /// have a live alternative: those a failover chain classified (never
    /// inbound, DNATed ones, which carry no group) in a group that holds
    /// another uplink that is up. Deleted, a connection's next packet is
    /// classified anew and takes that alternative. One filter when every group
    /// of the uplink has an alternative (the common case); otherwise one per
    /// group that has, and connections of unnumbered groups stay.
    pub fn conntrack_deletions(&self, uplink: usize) -> Vec<MarkFilter> {
        let config = &self.config;
        let down = &config.uplinks[uplink];
        let alive = |mark: &u32| {
            config
                .uplinks
                .iter()
                .position(|u| u.mark == *mark)
                .is_some_and(|i| i != uplink && self.is_up(i))
        };
        let (live, dead): (Vec<&Group>, Vec<&Group>) = config
            .groups
            .iter()
            .filter(|group| group.uplink_marks.contains(&down.mark))
            .partition(|group| group.uplink_marks.iter().any(alive));
        if live.is_empty() {
            return Vec::new();
        }
        if dead.is_empty() {
            return vec![MarkFilter {
                mark: down.mark | config.movable_mark,
                mask: config.uplink_mark_mask | config.movable_mark,
            }];
        }
        live.iter()
            .filter(|group| group.ct_mark != config.movable_mark)
            .map(|group| MarkFilter {
                mark: down.mark | group.ct_mark,
                mask: config.uplink_mark_mask | config.failover_mark_mask,
            })
            .collect()
    }
}

/// The marks in `nft -j list set` output.
pub fn parse_set(json: &str) -> Result<BTreeSet<u32>, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("nft printed no JSON: {e}"))?;
    let set = value["nftables"]
        .as_array()
        .and_then(|objects| objects.iter().find_map(|o| o.get("set")))
        .ok_or("nft printed no set")?;
    let Some(elements) = set.get("elem") else {
        return Ok(BTreeSet::new());
    };
    elements
        .as_array()
        .ok_or("the set's elements are not a list")?
        .iter()
        .map(|e| {
            e.as_u64()
                .and_then(|m| u32::try_from(m).ok())
                .ok_or_else(|| format!("not a mark: {e}"))
        })
        .collect()
}

pub mod ha;
pub mod probes;
pub mod sync;

#[cfg(test)]
mod tests;
