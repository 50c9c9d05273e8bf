//! What happened to a probe, predicted by `trace` or observed in the rig, in one
//! comparable form. Shared by tests/e2e.rs and tests/e2e_failover.rs; each uses
//! part of it.
#![allow(dead_code)]

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use switchyard::model::Model;
use switchyard::plan::HostPlan;
use switchyard::trace::{self, Tracer};

use super::rig::{Observations, Record};

/// One ping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Probe {
    /// From a VM to a destination.
    Out { vm: String, to: Ipv4Addr },
    /// From the far end (source `from`) to a public address.
    In { from: Ipv4Addr, to: Ipv4Addr },
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Out { vm, to } => write!(f, "{vm} → {to}"),
            Probe::In { from, to } => write!(f, "{from} → {to}"),
        }
    }
}

/// Where a ping went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Reached the far end through `uplink`, source-NATed to `source`.
    Left { uplink: String, source: Ipv4Addr },
    /// Reached VM `vm` with source `source` (not NATed when it is the sender's
    /// private address).
    Internal { vm: String, source: Ipv4Addr },
    /// Inbound: reached VM `vm`; its reply reached the far end through
    /// `reply_uplink` from `reply_source`.
    Dnat {
        vm: String,
        reply_uplink: String,
        reply_source: Ipv4Addr,
    },
    /// A hairpin: reached VM `vm` by its public address without leaving the
    /// host, from `source` (`None`: the host's address on the LAN).
    Hairpin {
        vm: String,
        source: Option<Ipv4Addr>,
    },
    /// Delivered to the host itself (one of its own addresses), un-NATed.
    Host,
    /// Reached no one.
    Nothing,
    /// Anything else, described.
    Other(String),
}

impl fmt::Display for Fate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fate::Left { uplink, source } => write!(f, "left by {uplink} from {source}"),
            Fate::Internal { vm, source } => write!(f, "reached {vm} from {source}"),
            Fate::Dnat {
                vm,
                reply_uplink,
                reply_source,
            } => write!(
                f,
                "reached {vm}, replied by {reply_uplink} from {reply_source}"
            ),
            Fate::Hairpin {
                vm,
                source: Some(source),
            } => write!(f, "hairpinned to {vm} from {source}"),
            Fate::Hairpin { vm, source: None } => {
                write!(f, "hairpinned to {vm} from the host's LAN address")
            }
            Fate::Host => write!(f, "delivered to the host itself"),
            Fate::Nothing => write!(f, "reached no one"),
            Fate::Other(what) => write!(f, "{what}"),
        }
    }
}

/// A fate and whether the ping got its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Result {
    pub fate: Fate,
    pub answered: bool,
}

impl fmt::Display for Result {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let answered = if self.answered {
            "answered"
        } else {
            "unanswered"
        };
        write!(f, "{} ({answered})", self.fate)
    }
}

/// An address of a trace of this IPv4 rig.
fn v4(address: IpAddr) -> Ipv4Addr {
    match address {
        IpAddr::V4(address) => address,
        IpAddr::V6(address) => panic!("{address}: the rig is IPv4"),
    }
}

/// The VM of `host` whose private address is `address`.
fn vm_at<'m>(model: &'m Model, host: &HostPlan, address: Ipv4Addr) -> Option<&'m str> {
    host.ip
        .v4
        .vms
        .iter()
        .find(|vm| vm.private == address)
        .map(|vm| model.vm(vm.vm).name.value.as_str())
}

/// What `trace` says will happen while the uplinks in `down` are down (`trace
/// --down`): a SNAT leaves by its uplink from its public address, an internal
/// destination (a VM here) is reached un-NATed, a DNAT reaches its VM and the
/// reply comes back by the uplink, a hairpin reaches its VM from the sender's
/// public address or the host's; nothing else (a drop, a packet left alone) is
/// answered.
/// `model` is the one `host` was planned from (it names the plan's VMs).
pub fn predict(
    tracer: &Tracer,
    model: &Model,
    host: &HostPlan,
    probe: &Probe,
    down: &[String],
) -> Result {
    let trace = match probe {
        Probe::Out { vm, to } => tracer.trace(vm, (*to).into(), down),
        Probe::In { from, to } => tracer.trace(&from.to_string(), (*to).into(), down),
    }
    .unwrap_or_else(|e| panic!("trace {probe}: {e}"));
    let fate = match trace.fate {
        trace::Fate::Snat { path, .. } => Fate::Left {
            uplink: path.uplink,
            source: v4(path.public_address),
        },
        trace::Fate::Internal { .. } => Fate::Internal {
            vm: vm_at(model, host, v4(trace.destination))
                .unwrap_or_else(|| panic!("{probe}: internal probes go to VMs"))
                .to_owned(),
            source: v4(trace.source),
        },
        trace::Fate::Dnat { receiver, path } => Fate::Dnat {
            vm: receiver.vm,
            reply_uplink: path.uplink,
            reply_source: v4(trace.destination),
        },
        trace::Fate::Hairpin {
            receiver, source, ..
        } => Fate::Hairpin {
            vm: receiver.vm,
            source: source.map(|source| v4(source.public_address)),
        },
        trace::Fate::StrayHairpin { receiver, .. } => Fate::Hairpin {
            vm: receiver.vm,
            source: Some(v4(trace.source)),
        },
        trace::Fate::Local(_) => Fate::Host,
        trace::Fate::Drop(_) | trace::Fate::Unhandled { .. } => Fate::Nothing,
    };
    // A hairpin from an address that is no VM's reaches its VM un-NATed, which
    // answers it over the LAN: from its private address, when the sender is
    // on its link, which the ping does not take for an answer.
    let answered = fate != Fate::Nothing
        && !matches!(&fate, Fate::Hairpin { source: Some(s), .. } if IpAddr::V4(*s) == trace.source);
    Result { fate, answered }
}

/// What the kernel did, from the records. `addresses` are the sending VM's
/// addresses (private and public): every VM's are distinct, so a record's source
/// says which VM's packet it was, even with every probe in flight at once.
pub fn observe(
    observations: &Observations,
    model: &Model,
    host: &HostPlan,
    probe: &Probe,
) -> Result {
    let requests = |records: &[Record]| -> Vec<Record> {
        records
            .iter()
            .filter(|r| r.kind == "echo-request")
            .cloned()
            .collect()
    };
    let at_vms = |keep: &dyn Fn(&Record) -> bool| -> Vec<(String, Record)> {
        observations
            .vms
            .iter()
            .flat_map(|(vm, records)| {
                requests(records)
                    .into_iter()
                    .filter(|r| keep(r))
                    .map(|r| (vm.clone(), r))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    match probe {
        Probe::Out { vm, to } => {
            let sender = host
                .ip
                .v4
                .vms
                .iter()
                .find(|v| model.vm(v.vm).name.value == *vm)
                .expect("probes come from the host's VMs");
            let own = |address: Ipv4Addr| {
                address == sender.private || sender.public.iter().any(|p| p.address == address)
            };
            let far: Vec<Record> = requests(&observations.far)
                .into_iter()
                .filter(|r| r.destination == *to && own(r.source))
                .collect();
            // A VM owning `to` as a public address receives a hairpinned packet
            // at its private address, from one of the sender's public addresses
            // or from the host's LAN address (probes keep that unambiguous: one
            // per sender and receiver).
            let owner = host
                .ip
                .v4
                .vms
                .iter()
                .find(|v| v.public.iter().any(|p| p.address == *to));
            let hairpinned = |r: &Record| {
                owner.is_some_and(|owner| r.destination == owner.private)
                    && ((own(r.source) && r.source != sender.private)
                        || observations.lan.contains(&r.source))
            };
            // Sent to a VM's private address it arrives un-NATed (a NATed one
            // would be a hairpin's, or reach no one).
            let vms =
                at_vms(&|r| (r.destination == *to && r.source == sender.private) || hairpinned(r));
            let fate = match (far.as_slice(), vms.as_slice()) {
                ([record], []) => Fate::Left {
                    uplink: record.interface.clone(),
                    source: record.source,
                },
                ([], [(vm, record)]) if record.destination != *to => Fate::Hairpin {
                    vm: vm.clone(),
                    source: Some(record.source).filter(|s| !observations.lan.contains(s)),
                },
                ([], [(vm, record)]) => Fate::Internal {
                    vm: vm.clone(),
                    source: record.source,
                },
                ([], []) => Fate::Nothing,
                _ => Fate::Other(format!("far end got {far:?}; VMs got {vms:?}")),
            };
            Result {
                fate,
                answered: observations.outbound[&(vm.clone(), *to)],
            }
        }
        Probe::In { from, to } => {
            let vms = at_vms(&|r| r.source == *from);
            let replies: Vec<Record> = observations
                .far
                .iter()
                .filter(|r| r.kind == "echo-reply" && r.destination == *from)
                .cloned()
                .collect();
            let fate = match (vms.as_slice(), replies.as_slice()) {
                ([(vm, _)], [reply]) => Fate::Dnat {
                    vm: vm.clone(),
                    reply_uplink: reply.interface.clone(),
                    reply_source: reply.source,
                },
                ([], []) => Fate::Nothing,
                ([(vm, _)], []) => {
                    Fate::Other(format!("reached {vm}; no reply reached the far end"))
                }
                _ => Fate::Other(format!("VMs got {vms:?}; far end got replies {replies:?}")),
            };
            Result {
                fate,
                answered: observations.inbound[&(*from, *to)],
            }
        }
    }
}
