//! `switchyard trace`: what the dataplane does with one packet (docs/semantics.md §7).
//!
//! Answers come from the very [`Plan`] the renderer turns into nftables and ip
//! rules — outbound and hairpin through [`HostPlan::outcome`], the host's own
//! addresses (the kernel's local table) and then the lookup the nft ruleset
//! performs (internal set, egress ranges, default, then the DNAT of a public
//! address of the host), inbound through the host's own addresses and DNAT
//! table (the `dnat_addresses` map), from a LAN address that is no VM's through
//! the DNAT table and [`HostPlan::hairpin_is_source_natted`], drops (docs/semantics.md §8) through the internal
//! ranges and the DNAT table; with `--down`, the candidate the failover chains
//! choose (docs/semantics.md §10). Nothing here decides anything on its own; it only
//! finds the decision and describes it. Pure: no IO.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use schemars::JsonSchema;
use serde::Serialize;

use crate::Validated;
use crate::diagnostic::{Diagnostic, Source};
use crate::intervals;
use crate::layout::{self, hex};
use crate::model::{CheckedModel, Model, PoolId, UplinkId};
use crate::plan::{DecidedBy, Decision, HostPlan, Outcome, Plan, Scope, UplinkPlan, VmPlan};

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
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
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
    pub private_address: Ipv4Addr,
}

/// A public address and the uplink its packets use on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicPath {
    pub public_address: Ipv4Addr,
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
    pub public_address: Ipv4Addr,
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
    pub private_address: Ipv4Addr,
}

/// Bumped when a key changes meaning or goes away; new keys keep the version.
const TRACE_OUTPUT_VERSION: u32 = 1;

/// What `trace --format json` prints: the trace and the version of its format
/// (schema/trace-output.schema.json).
#[derive(Serialize, JsonSchema)]
pub struct TraceOutput<'a> {
    /// The version of this format (1).
    #[schemars(extend("const" = 1))]
    version: u32,
    #[serde(flatten)]
    trace: TraceFields<'a>,
}

/// A [`Trace`] as `--format json` prints it (schema/trace-output.schema.json):
/// every fact a key of its own, `None` (JSON `null`) where it does not apply.
#[derive(Serialize, JsonSchema)]
struct TraceFields<'a> {
    /// The VM that sends (outbound) or receives (inbound) the packet.
    vm: Option<&'a str>,
    /// That VM's host; without a VM, the host that delivers the packet (to
    /// itself or, for a hairpin, to the receiver).
    host: Option<&'a str>,
    /// The packet's source address as it leaves the sender.
    source: Ipv4Addr,
    destination: Ipv4Addr,
    action: Action,
    /// Why a dropped packet is dropped.
    reason: Option<Reason>,
    /// The VM's private address.
    private_address: Option<Ipv4Addr>,
    /// Outbound and hairpin: the SNAT address; inbound: the address the packet
    /// was sent to.
    public_address: Option<Ipv4Addr>,
    pool: Option<&'a str>,
    /// Outbound: the uplink the packet leaves by; inbound: the uplink the replies
    /// leave by (the pool's uplink, which the packet arrived on); local: the
    /// uplink whose address on the host the packet is sent to.
    uplink: Option<&'a str>,
    /// That uplink's interface on the host.
    interface: Option<&'a str>,
    /// That uplink's routing table.
    table: Option<u32>,
    /// The packet mark (hex, within `layout::MARK_MASK`): uplink and pool bits on an
    /// outbound packet, the uplink bits restored from conntrack on a reply.
    mark: Option<&'a str>,
    /// The topology entry that decided an outbound SNAT (or a hairpin's source).
    decided_by: Option<&'a Entry>,
    /// Hairpin: the VM the packet is delivered to.
    receiver: Option<&'a Receiver>,
    /// Outbound or hairpin with `[failover]`: that entry's candidates, best first; the
    /// first whose uplink is up is the one above. Empty (left out of JSON)
    /// without `[failover]` or for a decision with a single candidate.
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    candidates: &'a [TraceCandidate],
}

impl<'a> TraceFields<'a> {
    /// The packet and its action, every other fact `None`.
    fn new(trace: &Trace) -> Self {
        TraceFields {
            vm: None,
            host: None,
            source: trace.source,
            destination: trace.destination,
            action: trace.action(),
            reason: None,
            private_address: None,
            public_address: None,
            pool: None,
            uplink: None,
            interface: None,
            table: None,
            mark: None,
            decided_by: None,
            receiver: None,
            candidates: &[],
        }
    }

    fn vm_at(&mut self, at: &'a VmAt) {
        self.vm = Some(&at.vm);
        self.host = Some(&at.host);
        self.private_address = Some(at.private_address);
    }

    fn path(&mut self, path: &'a PublicPath) {
        self.public_address = Some(path.public_address);
        self.pool = Some(&path.pool);
        self.uplink = Some(&path.uplink);
        self.interface = Some(&path.interface);
        self.table = Some(path.table);
        self.mark = Some(&path.mark);
    }

    fn decision(&mut self, decision: &'a TracedDecision) {
        self.decided_by = Some(&decision.decided_by);
        self.candidates = &decision.candidates;
    }
}

/// A decision's candidates as a trace lists them: none when it has no fallbacks.
fn trace_candidates(
    model: &Model,
    decision: &Decision,
    is_down: impl Fn(UplinkId) -> bool,
) -> Vec<TraceCandidate> {
    if decision.fallbacks.is_empty() {
        return Vec::new();
    }
    decision
        .candidates()
        .map(|c| TraceCandidate {
            pool: pool_name(model, c.pool),
            uplink: uplink_name(model, c.uplink),
            public_address: c.public,
            down: is_down(c.uplink),
        })
        .collect()
}

fn pool_name(model: &Model, pool: PoolId) -> String {
    model.pool(pool).name.value.to_string()
}

fn uplink_name(model: &Model, uplink: UplinkId) -> String {
    model.uplink(uplink).name.value.to_string()
}

/// One candidate of a decision (docs/semantics.md §10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TraceCandidate {
    pub pool: String,
    pub uplink: String,
    pub public_address: Ipv4Addr,
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    #[error("no VM named `{name}` in the topology{}", did_you_mean(suggestion))]
    UnknownVm {
        name: String,
        suggestion: Option<String>,
    },
    #[error(
        "{address} is the private address of {}: name the VM instead",
        .vms.iter().map(|(vm, host)| format!("{vm} on {host}")).collect::<Vec<_>>().join(" and ")
    )]
    AmbiguousAddress {
        address: Ipv4Addr,
        /// (VM, host) pairs.
        vms: Vec<(String, String)>,
    },
    #[error(
        "{from} is the public address of VM {vm}; to trace its outbound traffic, use `--from {vm}`"
    )]
    FromPublicAddress { from: Ipv4Addr, vm: String },
    #[error(
        "--down: no uplink named `{name}` in the topology{}",
        did_you_mean(suggestion)
    )]
    UnknownUplink {
        name: String,
        suggestion: Option<String>,
    },
    #[error("--down: the topology has no [failover], so no uplink is ever taken down")]
    NoFailover,
    #[error(
        "{from} is host {host}'s own address on uplink {uplink}: trace follows the packets a \
         host forwards, not those it sends itself"
    )]
    FromHostAddress {
        from: Ipv4Addr,
        host: String,
        uplink: String,
    },
    #[error(
        "{from} is no VM's private address and {to} is in no public pool: for an outbound \
         trace, `--from` names a VM or its private address (e.g. `--from {example_vm}`); for \
         an inbound one, `--to` is a public address (e.g. `--to {example_public}`)"
    )]
    NeitherVmNorPublic {
        from: Ipv4Addr,
        to: Ipv4Addr,
        example_vm: String,
        example_public: String,
    },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// A validated topology and its plan, ready to answer traces.
pub struct Tracer<'s> {
    source: &'s Source,
    model: CheckedModel,
    plan: Plan,
    /// The topology's warnings (it has no errors).
    pub warnings: Vec<Diagnostic>,
}

impl<'s> Tracer<'s> {
    /// Validates and plans every host, as `build` does. `Err` holds the diagnostics
    /// of an invalid topology.
    pub fn new(source: &'s Source) -> Result<Self, Vec<Diagnostic>> {
        let Validated {
            model,
            plan,
            warnings,
        } = crate::validate(source)?;
        Ok(Tracer {
            source,
            model,
            plan,
            warnings,
        })
    }

    /// Traces a packet from `from` (a VM name, a VM's private address, or an
    /// outside address) to `to`, as if the uplinks named in `down` were down.
    pub fn trace(&self, from: &str, to: Ipv4Addr, down: &[String]) -> Result<Trace, TraceError> {
        if !down.is_empty() && self.model.failover.is_none() {
            return Err(TraceError::NoFailover);
        }
        let uplink_names = || self.model.uplinks.iter().map(|u| u.name.value.as_str());
        if let Some(unknown) = down
            .iter()
            .find(|name| !uplink_names().any(|u| u == name.as_str()))
        {
            return Err(TraceError::UnknownUplink {
                name: unknown.clone(),
                suggestion: crate::diagnostic::closest(unknown, uplink_names()).map(str::to_owned),
            });
        }
        let is_down = |uplink: UplinkId| {
            down.iter()
                .any(|name| self.model.uplink(uplink).name.value == name.as_str())
        };
        let Ok(address) = from.parse::<Ipv4Addr>() else {
            let (host, vm) = self.vm_named(from).ok_or_else(|| TraceError::UnknownVm {
                name: from.to_owned(),
                suggestion: crate::diagnostic::closest(
                    from,
                    self.vms()
                        .map(|(_, vm)| self.model.vm(vm.vm).name.value.as_str()),
                )
                .map(str::to_owned),
            })?;
            return Ok(self.outbound(host, vm, to, is_down));
        };
        let owners: Vec<_> = self.vms().filter(|(_, vm)| vm.private == address).collect();
        match owners.as_slice() {
            [(host, vm)] => Ok(self.outbound(host, vm, to, is_down)),
            [] => self.inbound(address, to),
            many => Err(TraceError::AmbiguousAddress {
                address,
                vms: many
                    .iter()
                    .map(|(host, vm)| (self.vm_name(vm), host.name.to_string()))
                    .collect(),
            }),
        }
    }

    fn vms(&self) -> impl Iterator<Item = (&HostPlan, &VmPlan)> {
        self.plan
            .hosts
            .iter()
            .flat_map(|host| host.vms.iter().map(move |vm| (host, vm)))
    }

    fn vm_named(&self, name: &str) -> Option<(&HostPlan, &VmPlan)> {
        self.vms()
            .find(|(_, vm)| self.model.vm(vm.vm).name.value == name)
    }

    fn vm_name(&self, vm: &VmPlan) -> String {
        self.model.vm(vm.vm).name.value.to_string()
    }

    fn outbound(
        &self,
        host: &HostPlan,
        vm: &VmPlan,
        to: Ipv4Addr,
        is_down: impl Fn(UplinkId) -> bool,
    ) -> Trace {
        let sender = VmAt {
            vm: self.vm_name(vm),
            host: host.name.to_string(),
            private_address: vm.private,
        };
        let traced = |decision: &Decision| TracedDecision {
            decided_by: self.entry(vm, &decision.decided_by),
            candidates: trace_candidates(&self.model, decision, &is_down),
        };
        let fate = match host.outcome(vm, to) {
            Outcome::Local(uplink) => local(host, uplink, Some(sender)),
            Outcome::Internal => Fate::Internal {
                sender: Some(sender),
            },
            Outcome::Unhandled => Fate::Unhandled { sender },
            Outcome::Egress(decision) => {
                let chosen = decision.choose(&is_down);
                let uplink = attachment(host, chosen.uplink_id);
                Fate::Snat {
                    sender,
                    path: PublicPath {
                        public_address: chosen.public,
                        pool: pool_name(&self.model, chosen.pool),
                        uplink: uplink_name(&self.model, chosen.uplink),
                        interface: uplink.interface.to_string(),
                        table: uplink.table,
                        mark: hex(chosen.mark),
                    },
                    decision: traced(decision),
                }
            }
            // The failover chain picks the candidate (and with it the source)
            // before the hairpin rule clears the uplink bits.
            Outcome::Hairpin { receiver, source } => Fate::Hairpin {
                sender,
                receiver: Receiver {
                    vm: self.vm_name(receiver),
                    private_address: receiver.private,
                },
                source: source.map(|decision| {
                    let chosen = decision.choose(&is_down);
                    HairpinSource {
                        public_address: chosen.public,
                        pool: pool_name(&self.model, chosen.pool),
                        mark: hex(chosen.mark & layout::POOL_MARK_MASK),
                        decision: traced(decision),
                    }
                }),
            },
        };
        Trace {
            source: vm.private,
            destination: to,
            fate,
        }
    }

    /// A packet from an address that is no VM's: from outside to a public or a
    /// private address, or from an undeclared address on a LAN.
    fn inbound(&self, from: Ipv4Addr, to: Ipv4Addr) -> Result<Trace, TraceError> {
        let trace = |fate| Trace {
            source: from,
            destination: to,
            fate,
        };
        let own = |address| {
            self.plan
                .hosts
                .iter()
                .find_map(|host| Some((host, host.own_address(address)?)))
        };
        if let Some((host, uplink)) = own(from) {
            return Err(TraceError::FromHostAddress {
                from,
                host: host.name.to_string(),
                uplink: uplink.name.to_string(),
            });
        }
        if let Some((host, uplink)) = own(to) {
            return Ok(trace(local(host, uplink, None)));
        }
        let internal = |address| {
            self.plan
                .hosts
                .iter()
                .any(|host| intervals::any_contains(&host.internal, address))
        };
        let receiver = self
            .plan
            .hosts
            .iter()
            .find_map(|host| Some((host, host.dnat_target(to)?)));
        // From a private network's address that is no VM's, the packet comes
        // from a LAN: DNATed there, not source-NATed.
        if let Some((host, vm)) = receiver
            && internal(from)
            && !host.hairpin_is_source_natted(from)
        {
            return Ok(trace(Fate::StrayHairpin {
                host: host.name.to_string(),
                receiver: Receiver {
                    vm: self.vm_name(vm),
                    private_address: vm.private,
                },
            }));
        }
        if let Some((host, vm)) = receiver {
            let public = vm
                .public
                .iter()
                .find(|p| p.address == to)
                .expect("the DNAT table holds the VMs' public addresses");
            let uplink = attachment(host, self.model.uplink(public.uplink).id.value);
            return Ok(trace(Fate::Dnat {
                receiver: VmAt {
                    vm: self.vm_name(vm),
                    host: host.name.to_string(),
                    private_address: vm.private,
                },
                path: PublicPath {
                    public_address: to,
                    pool: pool_name(&self.model, public.pool),
                    uplink: uplink_name(&self.model, public.uplink),
                    interface: uplink.interface.to_string(),
                    table: uplink.table,
                    mark: hex(uplink.mark),
                },
            }));
        }
        if let Some(vm) = self
            .vms()
            .find(|(_, vm)| vm.public.iter().any(|p| p.address == from))
            .map(|(_, vm)| self.vm_name(vm))
        {
            return Err(TraceError::FromPublicAddress { from, vm });
        }
        // A private network's address that is no VM's comes from a LAN: between
        // private networks it is forwarded as is, towards an uplink it is dropped.
        if internal(from) {
            return Ok(trace(if internal(to) {
                Fate::Internal { sender: None }
            } else {
                Fate::Drop(Dropped::SpoofedSource)
            }));
        }
        if internal(to) {
            return Ok(trace(Fate::Drop(Dropped::ToPrivate)));
        }
        let Some(pool) = self.model.pool_of(to).map(|id| self.model.pool(id)) else {
            return Err(TraceError::NeitherVmNorPublic {
                from,
                to,
                example_vm: self
                    .vms()
                    .next()
                    .map_or_else(|| "VM".to_owned(), |(_, vm)| self.vm_name(vm)),
                example_public: self
                    .vms()
                    .flat_map(|(_, vm)| vm.public.first())
                    .next()
                    .map_or_else(|| "ADDRESS".to_owned(), |p| p.address.to_string()),
            });
        };
        // A public address no VM of a host has: every host attached to the
        // pool's uplink drops it.
        let uplink = pool
            .uplink
            .expect("a checked model's pools name a known uplink (SY0101)");
        Ok(trace(Fate::Drop(Dropped::Unassigned {
            pool: pool.name.value.to_string(),
            uplink: self.model.uplink(uplink).name.value.to_string(),
        })))
    }

    fn entry(&self, vm: &VmPlan, by: &DecidedBy) -> Entry {
        let position = self.source.line_column(by.span.start);
        Entry::at(self.source, &self.model, vm, by, position)
    }
}

/// A packet to `host`'s own address on `uplink`.
fn local(host: &HostPlan, uplink: &UplinkPlan, sender: Option<VmAt>) -> Fate {
    Fate::Local(LocalDelivery {
        sender,
        host: host.name.to_string(),
        uplink: uplink.name.to_string(),
        interface: uplink.interface.to_string(),
    })
}

/// The host's attachment to `uplink`. A VM's pools' uplinks are attached to its
/// host (check SY0406), so a decision or public address always finds one.
/// The host's attachment to the uplink with the topology's `id`.
fn attachment(host: &HostPlan, id: u8) -> &UplinkPlan {
    host.uplinks
        .iter()
        .find(|u| u.id == id)
        .expect("a VM's host is attached to the uplinks of its pools (SY0406)")
}

impl Trace {
    pub fn action(&self) -> Action {
        self.fate.action()
    }

    /// One JSON object (pretty-printed, with a final newline).
    pub fn to_json(&self) -> String {
        let output = TraceOutput {
            version: TRACE_OUTPUT_VERSION,
            trace: self.fields(),
        };
        let mut json = serde_json::to_string_pretty(&output).expect("a trace serializes");
        json.push('\n');
        json
    }

    /// Every fact under its JSON key.
    fn fields(&self) -> TraceFields<'_> {
        let mut fields = TraceFields::new(self);
        match &self.fate {
            Fate::Snat {
                sender,
                path,
                decision,
            } => {
                fields.vm_at(sender);
                fields.path(path);
                fields.decision(decision);
            }
            Fate::Dnat { receiver, path } => {
                fields.vm_at(receiver);
                fields.path(path);
            }
            Fate::Internal { sender } => {
                if let Some(sender) = sender {
                    fields.vm_at(sender);
                }
            }
            Fate::Hairpin {
                sender,
                receiver,
                source,
            } => {
                fields.vm_at(sender);
                fields.receiver = Some(receiver);
                if let Some(source) = source {
                    fields.public_address = Some(source.public_address);
                    fields.pool = Some(&source.pool);
                    fields.mark = Some(&source.mark);
                    fields.decision(&source.decision);
                }
            }
            Fate::StrayHairpin { host, receiver } => {
                fields.host = Some(host);
                fields.receiver = Some(receiver);
            }
            Fate::Local(local) => {
                if let Some(sender) = &local.sender {
                    fields.vm_at(sender);
                }
                fields.host = Some(&local.host);
                fields.uplink = Some(&local.uplink);
                fields.interface = Some(&local.interface);
            }
            Fate::Drop(dropped) => {
                fields.reason = Some(dropped.reason());
                if let Dropped::Unassigned { pool, uplink } = dropped {
                    fields.public_address = Some(self.destination);
                    fields.pool = Some(pool);
                    fields.uplink = Some(uplink);
                }
            }
            Fate::Unhandled { sender } => fields.vm_at(sender),
        }
        fields
    }

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
    to: Ipv4Addr,
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

fn dnat_facts(receiver: &VmAt, path: &PublicPath, from: Ipv4Addr, to: Ipv4Addr) -> Described {
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
    to: Ipv4Addr,
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

fn local_facts(local: &LocalDelivery, from: Ipv4Addr, to: Ipv4Addr) -> Described {
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

fn stray_hairpin_facts(host: &str, receiver: &Receiver, from: Ipv4Addr, to: Ipv4Addr) -> Described {
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

fn drop_facts(dropped: &Dropped, from: Ipv4Addr, to: Ipv4Addr) -> Described {
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
    /// The entry that made `by` for `vm`, at `(line, column)` of `source` (the
    /// topology `model` was read from).
    pub fn at(
        source: &Source,
        model: &Model,
        vm: &VmPlan,
        by: &DecidedBy,
        (line, column): (usize, usize),
    ) -> Entry {
        let (scope, name) = match by.scope {
            Scope::Vm => ("vm", model.vm(vm.vm).name.value.to_string()),
            Scope::Project => ("project", model.project(vm.project).name.value.to_string()),
        };
        Entry {
            scope,
            name,
            kind: if by.prefix.is_some() {
                "egress"
            } else {
                "default"
            },
            prefix: by.prefix.map(|p| p.to_string()),
            file: source.name.clone(),
            line,
            column,
        }
    }

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
