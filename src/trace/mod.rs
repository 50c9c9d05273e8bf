//! `switchyard trace`: what the dataplane does with one packet (docs/semantics.md §7).
//!
//! Answers come from the very [`Plan`] the renderer turns into nftables and ip
//! rules: a VM's packets through [`HostPlan::outcome`] (the host's own
//! addresses, as the kernel's local table comes first, then the lookup the nft
//! ruleset performs: internal set, egress ranges, default, then the DNAT of a
//! public address of the host), any other address's through [`Plan::arrival`]
//! (own addresses, the DNAT table, then forwarded or dropped,
//! docs/semantics.md §8); with `--down`, the candidate the failover chains choose
//! (docs/semantics.md §10, [`Decision::choose`]). Nothing here decides anything
//! on its own; it only finds the decision and describes it. Pure: no IO.
//!
//! This file finds the decision ([`Tracer`]); `answer` is the [`Trace`] it
//! builds, with names instead of the plan's ids; `json` and `human` draw the
//! two output formats from it.

mod answer;
mod human;
mod json;

use std::net::IpAddr;

use crate::Validated;
use crate::diagnostic::{Diagnostic, Source};
use crate::family::{Family, V4, V6};
use crate::layout::{self, hex};
use crate::model::{CheckedModel, EntryId, Model, PoolId, UplinkId};
use crate::plan::{Arrival, Decision, HostPlan, Outcome, Plan, Refused, UplinkPlan, VmPlan};

pub use answer::{
    Action, Dropped, Entry, Fate, HairpinSource, LocalDelivery, PublicPath, Reason, Receiver,
    Trace, TraceCandidate, TracedDecision, VmAt,
};
pub use json::TraceOutput;

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
        address: IpAddr,
        /// (VM, host) pairs.
        vms: Vec<(String, String)>,
    },
    #[error(
        "{from} is the public address of VM {vm}; to trace its outbound traffic, use `--from {vm}`"
    )]
    FromPublicAddress { from: IpAddr, vm: String },
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
        from: IpAddr,
        host: String,
        uplink: String,
    },
    #[error(
        "{from} is no VM's private address and {to} is in no public pool: for an outbound \
         trace, `--from` names a VM or its private address (e.g. `--from {example_vm}`); for \
         an inbound one, `--to` is a public address (e.g. `--to {example_public}`)"
    )]
    NeitherVmNorPublic {
        from: IpAddr,
        to: IpAddr,
        example_vm: String,
        example_public: String,
    },
    #[error("{from} is an {} address and {to} an {} one: a packet has one family", family_name(.from), family_name(.to))]
    FamiliesDiffer { from: IpAddr, to: IpAddr },
    #[error("VM {vm} has no {family} address: the host handles none of its {family} packets")]
    NoAddressOfFamily { vm: String, family: &'static str },
}

fn family_name(address: &IpAddr) -> &'static str {
    crate::family::Which::of(*address).name()
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
    pub fn trace(&self, from: &str, to: IpAddr, down: &[String]) -> Result<Trace, TraceError> {
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
        match to {
            IpAddr::V4(to) => self.trace_family::<V4>(from, to, is_down),
            IpAddr::V6(to) => self.trace_family::<V6>(from, to, is_down),
        }
    }

    /// [`Tracer::trace`] of a packet of family `F`.
    fn trace_family<F: Family>(
        &self,
        from: &str,
        to: F::Addr,
        is_down: impl Fn(UplinkId) -> bool,
    ) -> Result<Trace, TraceError> {
        let Ok(address) = from.parse::<IpAddr>() else {
            let Some(id) = self
                .model
                .vm_ids()
                .find(|&id| self.model.vm(id).name.value == from)
            else {
                return Err(TraceError::UnknownVm {
                    name: from.to_owned(),
                    suggestion: crate::diagnostic::closest(
                        from,
                        self.model.vms.iter().map(|vm| vm.name.value.as_str()),
                    )
                    .map(str::to_owned),
                });
            };
            let (host, vm) = self.vms::<F>().find(|(_, vm)| vm.vm == id).ok_or_else(|| {
                TraceError::NoAddressOfFamily {
                    vm: from.to_owned(),
                    family: F::NAME,
                }
            })?;
            return Ok(self.outbound(host, vm, to, is_down));
        };
        let Some(address) = F::of_ip(address) else {
            return Err(TraceError::FamiliesDiffer {
                from: address,
                to: to.into(),
            });
        };
        let owners: Vec<_> = self
            .vms::<F>()
            .filter(|(_, vm)| vm.private == address)
            .collect();
        match owners.as_slice() {
            [(host, vm)] => Ok(self.outbound(host, vm, to, is_down)),
            [] => self.inbound::<F>(address, to),
            many => Err(TraceError::AmbiguousAddress {
                address: address.into(),
                vms: many
                    .iter()
                    .map(|(host, vm)| (self.vm_name(vm), host.name.to_string()))
                    .collect(),
            }),
        }
    }

    /// Every VM with an address of family `F`, with its host.
    fn vms<F: Family>(&self) -> impl Iterator<Item = (&HostPlan, &VmPlan<F>)> {
        self.plan
            .hosts
            .iter()
            .flat_map(|host| host.family::<F>().vms.iter().map(move |vm| (host, vm)))
    }

    fn vm_name<F: Family>(&self, vm: &VmPlan<F>) -> String {
        self.model.vm(vm.vm).name.value.to_string()
    }

    fn outbound<F: Family>(
        &self,
        host: &HostPlan,
        vm: &VmPlan<F>,
        to: F::Addr,
        is_down: impl Fn(UplinkId) -> bool,
    ) -> Trace {
        let sender = VmAt {
            vm: self.vm_name(vm),
            host: host.name.to_string(),
            private_address: vm.private.into(),
        };
        let traced = |decision: &Decision<F>| TracedDecision {
            decided_by: self.entry(decision.decided_by),
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
                let uplink = host.attachment(chosen.uplink);
                Fate::Snat {
                    sender,
                    path: PublicPath {
                        public_address: chosen.public.into(),
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
                    private_address: receiver.private.into(),
                },
                source: source.map(|decision| {
                    let chosen = decision.choose(&is_down);
                    HairpinSource {
                        public_address: chosen.public.into(),
                        pool: pool_name(&self.model, chosen.pool),
                        mark: hex(chosen.mark & layout::POOL_MARK_MASK),
                        decision: traced(decision),
                    }
                }),
            },
        };
        Trace {
            source: vm.private.into(),
            destination: to.into(),
            fate,
        }
    }

    /// A packet from an address that is no VM's: from outside to a public or a
    /// private address, or from an undeclared address on a LAN.
    fn inbound<F: Family>(&self, from: F::Addr, to: F::Addr) -> Result<Trace, TraceError> {
        if let Some((host, uplink)) = self.plan.own_address::<F>(from) {
            return Err(TraceError::FromHostAddress {
                from: from.into(),
                host: host.name.to_string(),
                uplink: uplink.name.to_string(),
            });
        }
        let fate = match self.plan.arrival::<F>(from, to) {
            Arrival::Local { host, uplink } => local(host, uplink, None),
            Arrival::StrayHairpin { host, receiver } => Fate::StrayHairpin {
                host: host.name.to_string(),
                receiver: Receiver {
                    vm: self.vm_name(receiver),
                    private_address: receiver.private.into(),
                },
            },
            Arrival::Dnat {
                host,
                receiver,
                public,
                uplink,
            } => Fate::Dnat {
                receiver: VmAt {
                    vm: self.vm_name(receiver),
                    host: host.name.to_string(),
                    private_address: receiver.private.into(),
                },
                path: PublicPath {
                    public_address: to.into(),
                    pool: pool_name(&self.model, public.pool),
                    uplink: uplink.name.to_string(),
                    interface: uplink.interface.to_string(),
                    table: uplink.table,
                    mark: hex(uplink.mark),
                },
            },
            _ if let Some(vm) = self.vm_with_public::<F>(from) => {
                return Err(TraceError::FromPublicAddress {
                    from: from.into(),
                    vm,
                });
            }
            Arrival::Internal => Fate::Internal { sender: None },
            Arrival::Dropped(Refused::SpoofedSource) => Fate::Drop(Dropped::SpoofedSource),
            Arrival::Dropped(Refused::ToPrivate) => Fate::Drop(Dropped::ToPrivate),
            Arrival::Dropped(Refused::Unassigned { pool }) => Fate::Drop(Dropped::Unassigned {
                pool: pool.name.to_string(),
                uplink: pool.uplink.to_string(),
            }),
            Arrival::Elsewhere => {
                return Err(TraceError::NeitherVmNorPublic {
                    from: from.into(),
                    to: to.into(),
                    example_vm: self
                        .vms::<F>()
                        .next()
                        .map_or_else(|| "VM".to_owned(), |(_, vm)| self.vm_name(vm)),
                    example_public: self
                        .vms::<F>()
                        .flat_map(|(_, vm)| vm.public.first())
                        .next()
                        .map_or_else(|| "ADDRESS".to_owned(), |p| p.address.to_string()),
                });
            }
        };
        Ok(Trace {
            source: from.into(),
            destination: to.into(),
            fate,
        })
    }

    /// The VM that has `address` as a public address, by name.
    fn vm_with_public<F: Family>(&self, address: F::Addr) -> Option<String> {
        self.vms::<F>()
            .find(|(_, vm)| vm.public.iter().any(|p| p.address == address))
            .map(|(_, vm)| self.vm_name(vm))
    }

    fn entry(&self, by: EntryId) -> Entry {
        let position = self.source.line_column(self.model.entry_span(by).start);
        Entry::at(self.source, &self.model, by, position)
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

/// A decision's candidates as a trace lists them: none when it has no fallbacks.
fn trace_candidates<F: Family>(
    model: &Model,
    decision: &Decision<F>,
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
            public_address: c.public.into(),
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
