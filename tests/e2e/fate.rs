//! What happened to a probe, predicted by `trace` or observed in the rig, in one
//! comparable form. Shared by tests/e2e.rs and tests/e2e_failover.rs; each uses
//! part of it.
#![allow(dead_code)]

use std::fmt;
use std::net::IpAddr;

use switchyard::family::{Family, V4, V6};
use switchyard::model::Model;
use switchyard::plan::HostPlan;
use switchyard::trace::{self, Tracer};

use super::rig::{Observations, Record, Rig};

/// One ping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Probe {
    /// From a VM to a destination.
    Out { vm: String, to: IpAddr },
    /// From the far end (source `from`) to a public address.
    In { from: IpAddr, to: IpAddr },
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
    Left { uplink: String, source: IpAddr },
    /// Reached VM `vm` with source `source` (not NATed when it is the sender's
    /// private address).
    Internal { vm: String, source: IpAddr },
    /// Inbound: reached VM `vm`; its reply reached the far end through
    /// `reply_uplink` from `reply_source`.
    Dnat {
        vm: String,
        reply_uplink: String,
        reply_source: IpAddr,
    },
    /// A hairpin: reached VM `vm` by its public address without leaving the
    /// host, from `source` (`None`: the host's address on the LAN).
    Hairpin { vm: String, source: Option<IpAddr> },
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

/// A VM's addresses, of every family.
#[derive(Debug, Default)]
pub struct VmAddresses {
    pub private: Vec<IpAddr>,
    pub public: Vec<IpAddr>,
}

impl VmAddresses {
    /// Whether `address` is one of them.
    pub fn has(&self, address: IpAddr) -> bool {
        self.private.contains(&address) || self.public.contains(&address)
    }
}

/// Every VM of `host` by name, with its addresses of every family.
pub fn vm_addresses(
    model: &Model,
    host: &HostPlan,
) -> std::collections::BTreeMap<String, VmAddresses> {
    fn add<F: Family>(
        model: &Model,
        host: &HostPlan,
        vms: &mut std::collections::BTreeMap<String, VmAddresses>,
    ) {
        for vm in &host.family::<F>().vms {
            let addresses = vms
                .entry(model.vm(vm.vm).name.value.to_string())
                .or_default();
            addresses.private.push(vm.private.into());
            addresses
                .public
                .extend(vm.public.iter().map(|p| p.address.into()));
        }
    }
    let mut vms = std::collections::BTreeMap::new();
    add::<V4>(model, host, &mut vms);
    add::<V6>(model, host, &mut vms);
    vms
}

/// The VM of `host` whose private address is `address`.
fn vm_at(model: &Model, host: &HostPlan, address: IpAddr) -> Option<String> {
    vm_addresses(model, host)
        .into_iter()
        .find(|(_, vm)| vm.private.contains(&address))
        .map(|(name, _)| name)
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
        Probe::Out { vm, to } => tracer.trace(vm, *to, down),
        Probe::In { from, to } => tracer.trace(&from.to_string(), *to, down),
    }
    .unwrap_or_else(|e| panic!("trace {probe}: {e}"));
    let fate = match trace.fate {
        trace::Fate::Snat { path, .. } => Fate::Left {
            uplink: path.uplink,
            source: path.public_address,
        },
        trace::Fate::Internal { .. } => Fate::Internal {
            vm: vm_at(model, host, trace.destination)
                .unwrap_or_else(|| panic!("{probe}: internal probes go to VMs")),
            source: trace.source,
        },
        trace::Fate::Dnat { receiver, path } => Fate::Dnat {
            vm: receiver.vm,
            reply_uplink: path.uplink,
            reply_source: trace.destination,
        },
        trace::Fate::Hairpin {
            receiver, source, ..
        } => Fate::Hairpin {
            vm: receiver.vm,
            source: source.map(|source| source.public_address),
        },
        trace::Fate::StrayHairpin { receiver, .. } => Fate::Hairpin {
            vm: receiver.vm,
            source: Some(trace.source),
        },
        trace::Fate::Local(_) => Fate::Host,
        trace::Fate::Drop(_) | trace::Fate::Unhandled { .. } => Fate::Nothing,
    };
    // A hairpin from an address that is no VM's reaches its VM un-NATed, which
    // answers it over the LAN: from its private address, when the sender is
    // on its link, which the ping does not take for an answer.
    let answered = fate != Fate::Nothing
        && !matches!(&fate, Fate::Hairpin { source: Some(s), .. } if *s == trace.source);
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
            let vms = vm_addresses(model, host);
            let sender = &vms[vm];
            let own = |address: IpAddr| sender.has(address);
            let far: Vec<Record> = requests(&observations.far)
                .into_iter()
                .filter(|r| r.destination == *to && own(r.source))
                .collect();
            // A VM owning `to` as a public address receives a hairpinned packet
            // at its private address, from one of the sender's public addresses
            // or from the host's LAN address (probes keep that unambiguous: one
            // per sender and receiver).
            let owner = vms.values().find(|v| v.public.contains(to));
            let hairpinned = |r: &Record| {
                owner.is_some_and(|owner| owner.private.contains(&r.destination))
                    && ((own(r.source) && !sender.private.contains(&r.source))
                        || observations.lan.contains(&r.source))
            };
            // Sent to a VM's private address it arrives un-NATed (a NATed one
            // would be a hairpin's, or reach no one).
            let vms = at_vms(&|r| {
                (r.destination == *to && sender.private.contains(&r.source)) || hairpinned(r)
            });
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

/// A probe, what trace predicted, what the kernel did.
pub type Row = (Probe, Result, Result);

/// Runs every probe at once and returns (probe, predicted, observed) per probe.
pub fn round(
    rig: &Rig,
    tracer: &Tracer,
    model: &Model,
    host: &HostPlan,
    probes: &[Probe],
) -> (Vec<Row>, Observations) {
    let outbound: Vec<(String, IpAddr)> = probes
        .iter()
        .filter_map(|p| match p {
            Probe::Out { vm, to } => Some((vm.clone(), *to)),
            Probe::In { .. } => None,
        })
        .collect();
    let inbound: Vec<(IpAddr, IpAddr)> = probes
        .iter()
        .filter_map(|p| match p {
            Probe::In { from, to } => Some((*from, *to)),
            Probe::Out { .. } => None,
        })
        .collect();
    let observations = rig.probe(&outbound, &inbound);
    let results = probes
        .iter()
        .map(|probe| {
            (
                probe.clone(),
                predict(tracer, model, host, probe, &[]),
                observe(&observations, model, host, probe),
            )
        })
        .collect();
    (results, observations)
}

/// Panics with every probe whose observed fate differs from the prediction.
pub fn assert_kernel_matches_trace(label: &str, results: &[Row]) {
    let mismatches: Vec<String> = results
        .iter()
        .filter(|(_, predicted, observed)| predicted != observed)
        .map(|(probe, predicted, observed)| {
            format!("  {probe}: trace says {predicted}, kernel did {observed}")
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{label}: {} of {} probes differ from trace:\n{}",
        mismatches.len(),
        results.len(),
        mismatches.join("\n")
    );
    println!("{label}: all {} probes as trace predicts:", results.len());
    for (probe, _, observed) in results {
        println!("  {probe}: {observed}");
    }
}

/// No ISP dropped a packet as spoofed, nor one it would have had to reflect.
pub fn assert_no_spoofing(label: &str, observations: &Observations) {
    for (uplink, (packets, sources)) in &observations.spoofed {
        assert_eq!(
            *packets, 0,
            "{label}: ISP {uplink} dropped {packets} spoofed packets from {sources:?}"
        );
    }
    for (uplink, packets) in &observations.reflected {
        assert_eq!(
            *packets, 0,
            "{label}: {packets} packets for its own pools reached ISP {uplink}"
        );
    }
}

/// The observed fate of `probe`.
pub fn observed<'r>(results: &'r [Row], probe: &Probe) -> &'r Fate {
    &results
        .iter()
        .find(|(p, ..)| p == probe)
        .unwrap_or_else(|| panic!("no probe {probe}"))
        .2
        .fate
}

/// The first of `candidates` (far-end sources) for which the VM owning
/// `public` would send by another uplink than the one a ping to `public`
/// arrives by (and `true`), else the first (and `false`).
pub fn inbound_source(tracer: &Tracer, public: IpAddr, candidates: &[IpAddr]) -> (IpAddr, bool) {
    let inbound = tracer
        .trace(&candidates[0].to_string(), public, &[])
        .expect("traces");
    let trace::Fate::Dnat { receiver, path } = inbound.fate else {
        return (candidates[0], false);
    };
    let conflicting = candidates.iter().copied().find(|&source| {
        let out = tracer.trace(&receiver.vm, source, &[]).expect("traces");
        matches!(out.fate, trace::Fate::Snat { path: out, .. } if out.uplink != path.uplink)
    });
    conflicting.map_or((candidates[0], false), |source| (source, true))
}

/// 30 distinct destinations, the same for a seed: each `make(i, bits)` of
/// its index and 128 random bits (xorshift64), kept if `keep` accepts it.
pub fn random_destinations<A: Copy + PartialEq>(
    seed: u64,
    make: impl Fn(usize, u128) -> A,
    keep: impl Fn(A) -> bool,
) -> Vec<A> {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut destinations = Vec::new();
    while destinations.len() < 30 {
        let bits = u128::from(next()) << 64 | u128::from(next());
        let address = make(destinations.len(), bits);
        if keep(address) && !destinations.contains(&address) {
            destinations.push(address);
        }
    }
    destinations
}
