//! The answer to one trace: what happens to the packet, each outcome with
//! exactly the facts that describe it (names, not the plan's ids).

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Serialize;

use crate::diagnostic::Source;
use crate::model::{EntryId, Model, Scope};

/// What happens to the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Outbound: marked for an uplink and source-NATed to a public address.
    Snat,
    /// Inbound: destination-NATed to a VM; replies leave by the arrival uplink.
    Dnat,
    /// Outbound to an internal network: no mark, no NAT.
    Internal,
    /// To a public address of a VM on the sender's host: DNATed to it and
    /// delivered without leaving the host; from a VM source-NATed as for the
    /// Internet, from any other LAN address left as it is.
    Hairpin,
    /// To one of the host's own addresses: delivered to the host itself, not
    /// forwarded, not NATed.
    Local,
    /// Dropped by the host, for `reason`.
    Drop,
    /// Not handled by switchyard: outbound with no matching entry and no
    /// default (left alone).
    None,
}

/// Why the host drops a packet; each reason has a named nft counter of the same
/// name in table `inet switchyard`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// From the LAN with a source that is no VM address of the host (or without
    /// the MAC the address is bound to), towards an uplink.
    SpoofedSource,
    /// From an uplink, neither DNATed to a VM nor a reply to a VM's connection.
    UnsolicitedInbound,
}

impl Reason {
    /// The counter's name, which is also the JSON spelling.
    pub fn counter(self) -> &'static str {
        match self {
            Reason::SpoofedSource => "spoofed_source",
            Reason::UnsolicitedInbound => "unsolicited_inbound",
        }
    }
}

/// The answer to one trace: the packet and what the host does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The packet's source address as it leaves the sender.
    pub source: IpAddr,
    pub destination: IpAddr,
    pub fate: Fate,
}

/// What happens to the packet; each outcome holds exactly the facts that
/// describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Outbound: marked for `path`'s uplink and source-NATed to its address.
    Snat {
        sender: VmAt,
        path: PublicPath,
        decision: TracedDecision,
    },
    /// Inbound: destination-NATed to `receiver`; replies leave by `path`'s
    /// uplink (the one the packet arrived on).
    Dnat { receiver: VmAt, path: PublicPath },
    /// To an internal network: no mark, no NAT. From a VM, or (`None`) from an
    /// address of a private network that is no VM's to another one.
    Internal { sender: Option<VmAt> },
    /// To a public address of a VM on the sender's host: DNATed to it and
    /// delivered without leaving the host. `source` is what the sender's egress
    /// decision makes the receiver see; without one, the host's LAN address.
    Hairpin {
        sender: VmAt,
        receiver: Receiver,
        source: Option<HairpinSource>,
    },
    /// From a LAN address that is no VM's to a public address of a VM on the
    /// host: DNATed to `receiver` and delivered over the LAN with its source as
    /// it is (the host source-NATs only its VMs' hairpins), so the receiver's
    /// replies go back over the LAN, never by an uplink.
    StrayHairpin { host: String, receiver: Receiver },
    /// To one of the host's own addresses.
    Local(LocalDelivery),
    /// Dropped by the host (docs/semantics.md §8).
    Drop(Dropped),
    /// Outbound with no matching entry and no default: left alone.
    Unhandled { sender: VmAt },
}

/// A packet to `host`'s own address on `uplink`: the kernel's local table,
/// looked up before every uplink's, delivers it to the host itself; not
/// forwarded, not marked for an uplink, not NATed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDelivery {
    /// The VM that sends it, or `None` for an address that is no VM's.
    pub sender: Option<VmAt>,
    pub host: String,
    pub uplink: String,
    /// That uplink's interface on the host.
    pub interface: String,
}

/// A VM, where it lives and its private address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmAt {
    pub vm: String,
    pub host: String,
    pub private_address: IpAddr,
}

/// A public address and the uplink its packets use on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicPath {
    pub public_address: IpAddr,
    pub pool: String,
    pub uplink: String,
    /// That uplink's interface on the host.
    pub interface: String,
    /// That uplink's routing table.
    pub table: u32,
    /// The packet mark (hex): uplink and pool bits on an outbound packet, the
    /// uplink bits restored from conntrack on a reply.
    pub mark: String,
}

/// The entry that decided an outbound packet's way out, and its candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedDecision {
    pub decided_by: Entry,
    /// Best first; empty without `[failover]` or with a single candidate.
    pub candidates: Vec<TraceCandidate>,
}

/// The source a hairpinned packet is NATed to: what the receiver would see
/// from the sender on the Internet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HairpinSource {
    pub public_address: IpAddr,
    pub pool: String,
    /// The pool bits only (hex): the uplink bits are cleared so the packet is
    /// routed to the receiver, not to an uplink.
    pub mark: String,
    pub decision: TracedDecision,
}

/// Why the host drops a packet, with what the addresses tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// From an address of a private network that is no VM's, towards an uplink.
    SpoofedSource,
    /// From outside to a private address.
    ToPrivate,
    /// From outside to a public address of `pool` that no VM has.
    Unassigned { pool: String, uplink: String },
}

impl Dropped {
    pub fn reason(&self) -> Reason {
        match self {
            Dropped::SpoofedSource => Reason::SpoofedSource,
            Dropped::ToPrivate | Dropped::Unassigned { .. } => Reason::UnsolicitedInbound,
        }
    }
}

impl Fate {
    pub fn action(&self) -> Action {
        match self {
            Fate::Snat { .. } => Action::Snat,
            Fate::Dnat { .. } => Action::Dnat,
            Fate::Internal { .. } => Action::Internal,
            Fate::Hairpin { .. } | Fate::StrayHairpin { .. } => Action::Hairpin,
            Fate::Local(_) => Action::Local,
            Fate::Drop(_) => Action::Drop,
            Fate::Unhandled { .. } => Action::None,
        }
    }
}

/// The VM a hairpinned packet reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Receiver {
    pub vm: String,
    pub private_address: IpAddr,
}

/// One candidate of a decision (docs/semantics.md §10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TraceCandidate {
    pub pool: String,
    pub uplink: String,
    pub public_address: IpAddr,
    /// Whether the trace takes its uplink as down (`--down`).
    pub down: bool,
}

/// A topology entry, located in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Entry {
    /// `"vm"` or `"project"`.
    pub scope: &'static str,
    /// The VM's or the project's name.
    pub name: String,
    /// `"egress"` or `"default"`.
    pub kind: &'static str,
    /// The entry's destination prefix; `None` for a default.
    pub prefix: Option<String>,
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Trace {
    pub fn action(&self) -> Action {
        self.fate.action()
    }
}

impl Entry {
    /// Entry `by`, at `(line, column)` of `source` (the topology `model` was
    /// read from).
    pub fn at(
        source: &Source,
        model: &Model,
        by: EntryId,
        (line, column): (usize, usize),
    ) -> Entry {
        Entry {
            scope: match by.scope() {
                Scope::Vm => "vm",
                Scope::Project => "project",
            },
            name: model.entry_owner(by).to_owned(),
            kind: if by.is_default() { "default" } else { "egress" },
            prefix: model.entry_prefix(by).map(|p| p.to_string()),
            file: source.name.clone(),
            line,
            column,
        }
    }
}
