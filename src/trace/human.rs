//! The human-readable trace: a headline, then one aligned line per fact.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::{
    Dropped, Entry, Fate, HairpinSource, LocalDelivery, PublicPath, Receiver, Trace,
    TracedDecision, VmAt,
};

impl Trace {
    /// The human-readable answer: a headline, then one aligned line per fact.
    pub fn to_human(&self) -> String {
        let (from, to) = (self.source, self.destination);
        let (headline, facts) = match &self.fate {
            Fate::Snat {
                sender,
                path,
                decision,
            } => snat_facts(sender, path, decision, to),
            Fate::Dnat { receiver, path } => dnat_facts(receiver, path, from, to),
            Fate::Internal { sender: None } => (
                format!("{from} → {to}: internal"),
                vec![(
                    "effect",
                    format!(
                        "{from} is no VM's address, but both are in internal networks: \
                         forwarded between them as is"
                    ),
                )],
            ),
            Fate::Internal {
                sender: Some(sender),
            } => (
                format!("{sender} → {to}: internal"),
                vec![(
                    "effect",
                    format!("{to} is in an internal network: not marked, not NATed"),
                )],
            ),
            Fate::Hairpin {
                sender,
                receiver,
                source,
            } => hairpin_facts(sender, receiver, source.as_ref(), to),
            Fate::StrayHairpin { host, receiver } => stray_hairpin_facts(host, receiver, from, to),
            Fate::Local(local) => local_facts(local, from, to),
            Fate::Drop(dropped) => drop_facts(dropped, from, to),
            Fate::Unhandled { sender } => (
                format!("{sender} → {to}: not handled"),
                vec![(
                    "effect",
                    format!(
                        "no egress entry contains {to} and {} has no default: not marked, \
                         not NATed (left to the host's main routing table)",
                        sender.vm
                    ),
                )],
            ),
        };
        let mut out = headline;
        out.push('\n');
        for (label, fact) in facts {
            let _ = writeln!(out, "  {label:<16}{fact}");
        }
        out
    }
}

/// A headline and its facts, label first.
type Described = (String, Vec<(&'static str, String)>);

fn snat_facts(
    sender: &VmAt,
    path: &PublicPath,
    decision: &TracedDecision,
    to: IpAddr,
) -> Described {
    let mut facts = vec![
        (
            "public address",
            format!("{} (pool {})", path.public_address, path.pool),
        ),
        ("uplink", path.describe_uplink()),
        ("mark", format!("{} (uplink and pool bits)", path.mark)),
    ];
    facts.extend(decision.describe());
    (
        format!("{sender} → {to}: SNAT to {}", path.public_address),
        facts,
    )
}

fn dnat_facts(receiver: &VmAt, path: &PublicPath, from: IpAddr, to: IpAddr) -> Described {
    (
        format!("{from} → {to}: DNAT to {receiver}"),
        vec![
            ("public address", format!("{to} (pool {})", path.pool)),
            (
                "replies",
                format!(
                    "leave by uplink {}, whatever {}'s egress preferences say",
                    path.describe_uplink(),
                    receiver.vm
                ),
            ),
            (
                "reply mark",
                format!(
                    "{} (uplink bits, restored from the connection's conntrack mark)",
                    path.mark
                ),
            ),
        ],
    )
}

fn hairpin_facts(
    sender: &VmAt,
    receiver: &Receiver,
    source: Option<&HairpinSource>,
    to: IpAddr,
) -> Described {
    let mut facts = vec![(
        "receiver",
        format!(
            "{} ({} on {}): DNATed, delivered without leaving the host",
            receiver.vm, receiver.private_address, sender.host
        ),
    )];
    let from = match source {
        Some(source) => {
            facts.push((
                "source",
                format!(
                    "{} (pool {}): what the receiver sees from {} on the Internet",
                    source.public_address, source.pool, sender.vm
                ),
            ));
            facts.push(("mark", format!("{} (pool bits only)", source.mark)));
            facts.extend(source.decision.describe());
            source.public_address.to_string()
        }
        None => {
            facts.push((
                "source",
                format!(
                    "the host's address on the LAN interface: {} has no egress decision for {to}",
                    sender.vm
                ),
            ));
            "the host's LAN address".to_owned()
        }
    };
    (
        format!("{sender} → {to}: hairpin to {}, from {from}", receiver.vm),
        facts,
    )
}

fn local_facts(local: &LocalDelivery, from: IpAddr, to: IpAddr) -> Described {
    let LocalDelivery {
        sender,
        host,
        uplink,
        interface,
    } = local;
    let from = sender
        .as_ref()
        .map_or_else(|| from.to_string(), ToString::to_string);
    (
        format!("{from} → {to}: local to {host}"),
        vec![(
            "effect",
            format!(
                "{to} is {host}'s own address on uplink {uplink} (interface {interface}): \
                 the kernel's local table, looked up before every uplink's, delivers it to \
                 the host itself: not forwarded, not NATed"
            ),
        )],
    )
}

fn stray_hairpin_facts(host: &str, receiver: &Receiver, from: IpAddr, to: IpAddr) -> Described {
    (
        format!("{from} → {to}: hairpin to {}, source kept", receiver.vm),
        vec![
            (
                "receiver",
                format!(
                    "{} ({} on {host}): DNATed, delivered over the LAN",
                    receiver.vm, receiver.private_address
                ),
            ),
            (
                "source",
                format!(
                    "{from} as it is: it is no VM's address, and the host source-NATs only \
                     its VMs' hairpins"
                ),
            ),
            (
                "replies",
                format!(
                    "go back over the LAN, never by an uplink (straight to {from} when it is \
                     on {}'s link)",
                    receiver.vm
                ),
            ),
        ],
    )
}

fn drop_facts(dropped: &Dropped, from: IpAddr, to: IpAddr) -> Described {
    let effect = match dropped {
        Dropped::SpoofedSource => format!(
            "{from} is in an internal network but is no VM's address: a host drops it before \
             it leaves by an uplink"
        ),
        Dropped::Unassigned { pool, uplink } => format!(
            "{to} is in pool {pool} (uplink {uplink}) but no VM has it: hosts attached to that \
             uplink drop it"
        ),
        Dropped::ToPrivate => format!(
            "{to} is a private address: from an uplink, a host forwards only what it DNATed to \
             a VM and replies to the VMs' connections"
        ),
    };
    let reason = dropped.reason().counter();
    (
        format!("{from} → {to}: drop ({})", reason.replace('_', " ")),
        vec![
            ("effect", effect),
            (
                "counter",
                format!("{reason} (nft list counters table inet switchyard)"),
            ),
        ],
    )
}

/// `web-1 (10.0.0.5 on net1)`.
impl std::fmt::Display for VmAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} on {})", self.vm, self.private_address, self.host)
    }
}

impl PublicPath {
    /// `isp-a (interface eth1, table 101)`.
    fn describe_uplink(&self) -> String {
        format!(
            "{} (interface {}, table {})",
            self.uplink, self.interface, self.table
        )
    }
}

impl TracedDecision {
    /// The `decided by` fact, then the candidates when there are several:
    /// `pool-b (isp-b, down), pool-a (isp-a)`.
    fn describe(&self) -> Vec<(&'static str, String)> {
        let mut facts = vec![("decided by", self.decided_by.describe())];
        if !self.candidates.is_empty() {
            let candidates: Vec<String> = self
                .candidates
                .iter()
                .map(|c| {
                    let down = if c.down { ", down" } else { "" };
                    format!("{} ({}{down})", c.pool, c.uplink)
                })
                .collect();
            facts.push(("candidates", candidates.join(", ")));
        }
        facts
    }
}

impl Entry {
    pub fn describe(&self) -> String {
        let what = match &self.prefix {
            Some(prefix) => format!("egress to {prefix}"),
            None => "default".to_owned(),
        };
        format!(
            "{} {}: {what} ({}:{}:{})",
            self.scope, self.name, self.file, self.line, self.column
        )
    }
}
