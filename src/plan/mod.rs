//! model → plan: for every host, the backend-neutral decisions its dataplane must
//! make, sorted. Longest-prefix resolution (docs/semantics.md §2) happens here, once: every VM's
//! egress entries become disjoint destination ranges, so backends emit lookups and
//! never resolve precedence themselves. `trace` answers from this same plan.
//! Marks follow [`crate::layout`].
//!
//! This file holds the plan's data; `host` plans every host in named steps,
//! `egress` paints the entries into ranges, `decision` is what one entry
//! decides (its candidates and the pools the dataplane can choose between),
//! `outcome` answers what happens to one packet, and `failover` holds the
//! monitor's timing and groups.

mod decision;
mod egress;
mod failover;
pub mod ha;
mod host;
mod outcome;

use std::collections::HashSet;

use crate::family::{Both, Family, PerFamily, V4};
use crate::intervals::Range;
use crate::model::{
    EntryId, InterfaceName, Mac, Name, NetworkUnitName, PoolId, ProjectId, UplinkId, VmId,
};

pub use decision::{Candidate, Decision, UplinkNumber, Way, pool_mark, uplink_mark};
pub use failover::{FailoverGroup, FailoverPlan};
pub use host::plan;
pub use outcome::{Arrival, Outcome, Refused};

/// `ip rule` priority of uplink id N is RULE_PRIORITY_BASE + N.
pub const RULE_PRIORITY_BASE: u32 = 1000;
/// A set of egress entries. Hashed by foldhash, not std's SipHash: a large
/// host's plan collects about a million entry ids into one, and ids the model
/// made need no defence against hash flooding.
pub type EntrySet = HashSet<EntryId, foldhash::fast::FixedState>;

/// The routing protocol number switchyard tags its rules and routes with, so a
/// reload can flush exactly what it added (`/etc/iproute2/rt_protos`: unassigned).
pub const ROUTE_PROTOCOL: u8 = 211;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// In the model's host order.
    pub hosts: Vec<HostPlan>,
}

impl Plan {
    /// The egress entries that decide at least one destination range of some
    /// VM. An entry missing here can never win (SY0903).
    pub fn winning_entries(&self) -> EntrySet {
        // The first host's set copied whole, not hashed entry by entry again.
        let mut hosts = self.hosts.iter();
        let mut winning =
            (hosts.next()).map_or_else(EntrySet::default, |h| h.deciding_entries.clone());
        for host in hosts {
            winning.extend(host.deciding_entries.iter().copied());
        }
        winning
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPlan {
    pub name: Name,
    /// Interfaces facing the VMs, sorted (the topology's order is not the
    /// artifacts').
    pub lan: Vec<InterfaceName>,
    /// This host's uplink attachments, by uplink id.
    pub uplinks: Vec<UplinkPlan>,
    /// What the host does with each family's packets.
    pub ip: Both<FamilyOf>,
    /// The egress entries that decide at least one destination range of a VM
    /// of this host, before ranges that leave the way the default does are
    /// left to it (what SY0903 asks).
    pub deciding_entries: EntrySet,
    /// Present when the topology has `[failover]`: the host runs the monitor and
    /// its ruleset falls back along each decision's candidates.
    pub failover: Option<FailoverPlan>,
    /// Present when two machines serve the host as a pair.
    pub ha: Option<ha::HaPlan>,
    /// Which member of the pair this plan configures ([`HostPlan::for_member`]);
    /// `None` for the host itself.
    pub member: Option<crate::model::Member>,
}

/// What a host does with the packets of one family: every decision, address
/// and range its dataplane matches, all of family `F`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyPlan<F: Family = V4> {
    /// Pools with a prefix of the family whose uplink this host is attached
    /// to, by number.
    pub pools: Vec<PoolPlan<F>>,
    /// Destinations never NATed from this host (docs/semantics.md §2 rule 1): every project
    /// network and every VM address on the host, merged.
    pub internal: Vec<Range<F>>,
    /// The only sources a packet from the LAN may have to leave by an uplink:
    /// this host's VM addresses, merged (docs/semantics.md §8).
    pub sources: Vec<Range<F>>,
    /// VM address → the MAC every packet forwarded from the LAN with that source
    /// must carry, for the VMs that declare one; by address.
    pub mac_bindings: Vec<(F::Addr, Mac)>,
    /// Public address → private address of this host's VMs, by public address:
    /// what arrives on an uplink is DNATed by it, and so is what a VM sends to
    /// another VM's public address, which then never leaves the host (hairpin).
    pub dnat: Vec<(F::Addr, F::Addr)>,
    /// The VMs served by this host that have a private address of the
    /// family, by name.
    pub vms: Vec<VmPlan<F>>,
    /// The projects some VM of this host follows ([`VmPlan::follows_project`]), by
    /// name: the dataplane looks those VMs' decisions up by project, not by VM.
    pub projects: Vec<ProjectEgress<F>>,
}

impl<F: Family> FamilyPlan<F> {
    /// Whether the host handles any packet of the family: it has a VM or a
    /// pool of it.
    pub fn is_used(&self) -> bool {
        !self.vms.is_empty() || !self.pools.is_empty()
    }
}

/// [`HostPlan::ip`]'s value for a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyOf;
impl PerFamily for FamilyOf {
    type Of<F: Family> = FamilyPlan<F>;
}

impl HostPlan {
    /// What the host does with packets of family `F`.
    pub fn family<F: Family>(&self) -> &FamilyPlan<F> {
        F::of(&self.ip)
    }

    /// Whether the host forwards packets of family `F` at all: it has a VM
    /// or pool of the family, or an uplink address of it. A host the
    /// topology gives no IPv6 drops forwarded IPv6, as it always did.
    pub fn forwards<F: Family>(&self) -> bool {
        self.family::<F>().is_used() || self.uplinks.iter().any(|u| u.link::<F>().is_some())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkPlan {
    /// The model's uplink.
    pub uplink: UplinkId,
    pub name: Name,
    /// Its `id` in the topology.
    pub id: UplinkNumber,
    pub mark: u32,
    pub table: u32,
    pub rule_priority: u32,
    pub interface: InterfaceName,
    /// The host's address, gateway and probe targets on the link, per family
    /// it has an address of.
    pub link: Both<LinkOf>,
    pub vlan: Option<VlanPlan>,
}

impl UplinkPlan {
    /// The link of family `F`, if the host has an address of it there.
    pub fn link<F: Family>(&self) -> Option<&UplinkLink<F>> {
        F::of(&self.link).as_ref()
    }
}

/// An uplink's link in one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkLink<F: Family = V4> {
    /// The host's address on the link, with the link's prefix length.
    pub address: F::Net,
    pub gateway: F::Addr,
    /// The monitor's echo targets, sorted (any one answering will do, so
    /// their order means nothing): the `probe` list's of the family, else the
    /// gateway.
    pub probe: Vec<F::Addr>,
}

/// [`UplinkPlan::link`]'s value for a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOf;
impl PerFamily for LinkOf {
    type Of<F: Family> = Option<UplinkLink<F>>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanPlan {
    pub parent: InterfaceName,
    pub id: u16,
    /// The administrator's own .network file for the parent: the `VLAN=` lines
    /// go into a drop-in for it instead of a unit of switchyard's.
    pub parent_unit: Option<NetworkUnitName>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolPlan<F: Family = V4> {
    pub name: Name,
    pub number: u8,
    pub prefix: F::Net,
    pub uplink: Name,
    /// Uplink and pool bits together: what a packet leaving from this pool carries.
    pub mark: u32,
    /// VM private address → its public address in this pool, for this host's VMs.
    pub snat: Vec<(F::Addr, F::Addr)>,
}

/// The plan holds ids into the model rather than copies of its names (100k VMs
/// would be millions of small `String`s): whoever prints a name looks it up with
/// the model the plan was made from (`model.vm(plan.vm).name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmPlan<F: Family = V4> {
    pub vm: VmId,
    pub project: ProjectId,
    pub private: F::Addr,
    /// Public addresses of the family with the pool and uplink inbound
    /// traffic arrives by.
    pub public: Vec<PublicAddress<F>>,
    /// What traffic matching no egress range does.
    pub default: Option<Decision<F>>,
    /// Disjoint, sorted destination ranges decided by egress entries, without
    /// those that leave the way the default does (the default decides them).
    pub egress: Vec<(Range<F>, Decision<F>)>,
    /// Every decision of this VM is its project's (the same ranges, entries and
    /// candidate pools as [`ProjectEgress`] holds), and its address lies in a
    /// network only its project declares: the dataplane finds its ranges by
    /// project network, and adding or removing it changes no range element
    /// (only its default's, which every VM has by address).
    pub follows_project: bool,
}

impl<F: Family> VmPlan<F> {
    /// The default's decision, then the egress entries'.
    pub fn decisions(&self) -> impl Iterator<Item = &Decision<F>> {
        self.default
            .iter()
            .chain(self.egress.iter().map(|(_, d)| d))
    }

    /// The decision of the VM's egress range holding `destination`, else its
    /// default: what decides a packet to it that is neither internal nor
    /// hairpinned.
    pub fn decision(&self, destination: F::Addr) -> Option<&Decision<F>> {
        let d = F::bits(destination);
        let i = self.egress.partition_point(|(range, _)| range.last < d);
        match self.egress.get(i).filter(|(range, _)| range.first <= d) {
            Some((_, decision)) => Some(decision),
            None => self.default.as_ref(),
        }
    }
}

/// The decisions a project's entries and default make for every VM that follows
/// it: its VMs that have an address in every pool those name and no entry or
/// default of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectEgress<F: Family = V4> {
    pub project: ProjectId,
    /// The project's networks, merged: the sources its decisions are keyed by.
    pub networks: Vec<Range<F>>,
    /// The decisions of the project's first following VM (in name order); every
    /// following VM's are the same but for its own public addresses.
    pub default: Option<Decision<F>>,
    pub egress: Vec<(Range<F>, Decision<F>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicAddress<F: Family = V4> {
    pub address: F::Addr,
    pub pool: PoolId,
    pub uplink: UplinkId,
}

#[cfg(test)]
mod tests;
