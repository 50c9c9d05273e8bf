//! What the dataplane does with one packet, asked of a host's plan: from a VM
//! ([`HostPlan::outcome`]) or from any other address ([`Plan::arrival`]). One
//! implementation of the lookup order, which `trace`, `changes` and the tests
//! read.

use crate::family::{Family, V4};
use crate::intervals::{self};
use crate::model::UplinkId;

use super::{Decision, HostPlan, Plan, PoolPlan, PublicAddress, UplinkPlan, VmPlan};

/// What the dataplane does with one packet from a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'p, F: Family = V4> {
    /// To this host's own address on `uplink`: the kernel's local table, looked
    /// up before every uplink's, delivers it to the host itself; no mark routes
    /// it and nothing NATs it (source NAT happens only on the way out).
    Local(&'p UplinkPlan),
    /// The destination is internal: no mark, no NAT.
    Internal,
    Egress(&'p Decision<F>),
    /// To a public address of a VM on this host: DNATed to `receiver` and
    /// delivered without leaving the host, source-NATed by the sender's egress
    /// decision for that address, or with no decision to the host's LAN address.
    Hairpin {
        receiver: &'p VmPlan<F>,
        source: Option<&'p Decision<F>>,
    },
    /// No entry and no default: left alone.
    Unhandled,
}

impl HostPlan {
    /// The decision for a packet from `vm` to `destination` — the host's own
    /// addresses first, as the kernel's local routing table comes first, then
    /// the lookup order the nft ruleset uses: internal, egress ranges, default (for a VM
    /// that follows its project the ruleset finds both in its project's
    /// painting, which equals the VM's), then the DNAT of a public address of
    /// this host's VMs, which keeps the packet home.
    pub fn outcome<'p, F: Family>(
        &'p self,
        vm: &'p VmPlan<F>,
        destination: F::Addr,
    ) -> Outcome<'p, F> {
        if let Some(uplink) = self.own_address::<F>(destination) {
            return Outcome::Local(uplink);
        }
        if intervals::any_contains(&self.family::<F>().internal, destination) {
            return Outcome::Internal;
        }
        let decision = vm.decision(destination);
        if let Some(receiver) = self.dnat_target(destination) {
            return Outcome::Hairpin {
                receiver,
                source: decision,
            };
        }
        decision.map_or(Outcome::Unhandled, Outcome::Egress)
    }

    /// The uplink on which `address` is this host's own: a packet to it is
    /// delivered to the host itself, from a VM, a LAN or an uplink alike.
    pub fn own_address<F: Family>(&self, address: F::Addr) -> Option<&UplinkPlan> {
        self.uplinks.iter().find(|u| {
            u.link::<F>()
                .is_some_and(|l| F::net_address(&l.address) == address)
        })
    }

    /// Whether a packet from `source` that this host DNATs back onto its LAN
    /// (a hairpin) is source-NATed: only its VMs' are (`sources`). Any other
    /// source reaches the receiver as it is, whose replies then go back over
    /// the LAN, never by an uplink.
    pub fn hairpin_is_source_natted<F: Family>(&self, source: F::Addr) -> bool {
        intervals::any_contains(&self.family::<F>().sources, source)
    }

    /// The host's attachment to the uplink with the topology's `id`. A VM's
    /// pools' uplinks are attached to its host (check SY0406), so a decision
    /// or public address of the host's VMs always finds one.
    pub fn attachment(&self, uplink: UplinkId) -> &UplinkPlan {
        self.uplinks
            .iter()
            .find(|u| u.uplink == uplink)
            .expect("a VM's host is attached to the uplinks of its pools (SY0406)")
    }

    /// The VM of this host a packet to `public` is DNATed to, if any.
    pub fn dnat_target<F: Family>(&self, public: F::Addr) -> Option<&VmPlan<F>> {
        let family = self.family::<F>();
        let i = family
            .dnat
            .binary_search_by_key(&public, |(p, _)| *p)
            .ok()?;
        let private = family.dnat[i].1;
        family.vms.iter().find(|vm| vm.private == private)
    }
}

/// What the dataplane does with a packet from an address that is no VM's:
/// one arriving by an uplink, or one sent from a LAN address no VM has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival<'p, F: Family = V4> {
    /// To a host's own address on `uplink`: delivered to the host itself.
    Local {
        host: &'p HostPlan,
        uplink: &'p UplinkPlan,
    },
    /// From a private network's address that is no VM's (so from a LAN) to a
    /// public address of a VM: DNATed to `receiver` and delivered over the
    /// LAN with its source as it is (only the VMs' hairpins are source-NATed).
    StrayHairpin {
        host: &'p HostPlan,
        receiver: &'p VmPlan<F>,
    },
    /// From outside to a public address of a VM: DNATed to `receiver`; its
    /// replies leave by `uplink`, the public address's.
    Dnat {
        host: &'p HostPlan,
        receiver: &'p VmPlan<F>,
        public: &'p PublicAddress<F>,
        uplink: &'p UplinkPlan,
    },
    /// From a private network's address that is no VM's to another private
    /// address: forwarded between the LANs as it is.
    Internal,
    Dropped(Refused<'p, F>),
    /// To an address that is neither internal nor in a pool of an uplink some
    /// host is attached to: no host of the topology receives it.
    Elsewhere,
}

/// Why a host drops a packet that is no VM's (docs/semantics.md §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused<'p, F: Family = V4> {
    /// From a private network's address that is no VM's, towards an uplink.
    SpoofedSource,
    /// From outside to a private address.
    ToPrivate,
    /// From outside to a public address of `pool` that no VM has: every host
    /// attached to its uplink drops it.
    Unassigned { pool: &'p PoolPlan<F> },
}

impl Plan {
    /// The fate of a packet from `from`, which is no VM's private address, to
    /// `to`, in the order the hosts' rulesets (and the kernel's local table
    /// before them) decide it: a host's own address, the DNAT table (from a LAN
    /// address kept as it is, from outside with the public address's uplink),
    /// then what the internal ranges and the pools tell.
    pub fn arrival<F: Family>(&self, from: F::Addr, to: F::Addr) -> Arrival<'_, F> {
        if let Some((host, uplink)) = self.own_address::<F>(to) {
            return Arrival::Local { host, uplink };
        }
        let internal = |address| {
            self.hosts
                .iter()
                .any(|host| intervals::any_contains(&host.family::<F>().internal, address))
        };
        let receiver = self
            .hosts
            .iter()
            .find_map(|host| Some((host, host.dnat_target::<F>(to)?)));
        if let Some((host, receiver)) = receiver {
            if internal(from) && !host.hairpin_is_source_natted::<F>(from) {
                return Arrival::StrayHairpin { host, receiver };
            }
            if let Some(public) = receiver.public.iter().find(|p| p.address == to) {
                let uplink = host.attachment(public.uplink);
                return Arrival::Dnat {
                    host,
                    receiver,
                    public,
                    uplink,
                };
            }
        }
        if internal(from) {
            return if internal(to) {
                Arrival::Internal
            } else {
                Arrival::Dropped(Refused::SpoofedSource)
            };
        }
        if internal(to) {
            return Arrival::Dropped(Refused::ToPrivate);
        }
        self.hosts
            .iter()
            .flat_map(|host| &host.family::<F>().pools)
            .find(|pool| F::contains(&pool.prefix, to))
            .map_or(Arrival::Elsewhere, |pool| {
                Arrival::Dropped(Refused::Unassigned { pool })
            })
    }

    /// The host whose own address `address` is, and the uplink it is on.
    pub fn own_address<F: Family>(&self, address: F::Addr) -> Option<(&HostPlan, &UplinkPlan)> {
        self.hosts
            .iter()
            .find_map(|host| Some((host, host.own_address::<F>(address)?)))
    }
}
