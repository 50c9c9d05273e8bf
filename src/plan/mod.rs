//! model → plan: for every host, the backend-neutral decisions its dataplane must
//! make, sorted. Longest-prefix resolution (docs/semantics.md §2) happens here, once: every VM's
//! egress entries become disjoint destination ranges, so backends emit lookups and
//! never resolve precedence themselves. `trace` answers from this same plan.
//! Marks follow [`crate::layout`].

use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;

use crate::diagnostic::Span;
use crate::intervals::{self, Painting, Range};
use crate::layout::{MAX_FAILOVER_GROUPS, MOVABLE_MARK};
use crate::model::{
    CheckedModel, Egress, HostId, InterfaceName, Mac, Model, Name, NetworkUnitName, PoolId,
    Project, ProjectId, Spanned, UplinkId, Via, Vm, VmId,
};

/// `ip rule` priority of uplink id N is RULE_PRIORITY_BASE + N.
pub const RULE_PRIORITY_BASE: u32 = 1000;
/// The routing protocol number switchyard tags its rules and routes with, so a
/// reload can flush exactly what it added (`/etc/iproute2/rt_protos`: unassigned).
pub const ROUTE_PROTOCOL: u8 = 211;

pub fn uplink_mark(id: u8) -> u32 {
    u32::from(id) << 8
}

pub fn pool_mark(number: u8) -> u32 {
    u32::from(number) << 16
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// In the model's host order.
    pub hosts: Vec<HostPlan>,
}

impl Plan {
    /// The egress entries, by the span of their prefix (what [`DecidedBy`] records),
    /// that decide at least one destination range of some VM. An entry missing
    /// here can never win (SY0903).
    pub fn winning_entries(&self) -> HashSet<Span> {
        self.hosts
            .iter()
            .flat_map(|host| host.deciding_entries.iter().cloned())
            .collect()
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
    /// Pools whose uplink this host is attached to, by number.
    pub pools: Vec<PoolPlan>,
    /// Destinations never NATed from this host (docs/semantics.md §2 rule 1): every project
    /// network and every VM address on the host, merged.
    pub internal: Vec<Range>,
    /// The only sources a packet from the LAN may have to leave by an uplink:
    /// this host's VM addresses, merged (docs/semantics.md §8).
    pub sources: Vec<Range>,
    /// VM address → the MAC every packet forwarded from the LAN with that source
    /// must carry, for the VMs that declare one; by address.
    pub mac_bindings: Vec<(Ipv4Addr, Mac)>,
    /// Public address → private address of this host's VMs, by public address:
    /// what arrives on an uplink is DNATed by it, and so is what a VM sends to
    /// another VM's public address, which then never leaves the host (hairpin).
    pub dnat: Vec<(Ipv4Addr, Ipv4Addr)>,
    /// The VMs served by this host, by name.
    pub vms: Vec<VmPlan>,
    /// The projects some VM of this host follows ([`VmPlan::follows_project`]), by
    /// name: the dataplane looks those VMs' decisions up by project, not by VM.
    pub projects: Vec<ProjectEgress>,
    /// The egress entries, by the span of their prefix, that decide at least one
    /// destination range of a VM of this host, before ranges that leave the way
    /// the default does are left to it (what SY0903 asks).
    pub deciding_entries: HashSet<Span>,
    /// Present when the topology has `[failover]`: the host runs the monitor and
    /// its ruleset falls back along each decision's candidates.
    pub failover: Option<FailoverPlan>,
}

/// The monitor's timing (docs/semantics.md §10) and the host's failover groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverPlan {
    pub interval: Duration,
    pub down_after: u32,
    pub up_after: u32,
    /// One per distinct set of uplinks the host's decisions fall back between,
    /// sorted by that set.
    pub groups: Vec<FailoverGroup>,
}

/// Connections classified by a decision whose candidates sit on exactly these
/// uplinks: bound to one of them, they have somewhere to go while another is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverGroup {
    /// Uplink ids, sorted.
    pub uplinks: Vec<u8>,
    /// What the failover chains write into the conntrack mark's
    /// [`crate::layout::FAILOVER_MARK_MASK`] bits: [`MOVABLE_MARK`] and the group's number
    /// (0 past [`MAX_FAILOVER_GROUPS`]).
    pub ct_mark: u32,
}

impl FailoverPlan {
    /// The group of a decision with [`Decision::failover_uplinks`] `uplinks`.
    pub fn group(&self, uplinks: &[u8]) -> Option<&FailoverGroup> {
        self.groups.iter().find(|g| g.uplinks == uplinks)
    }

    /// The groups of these [`Decision::failover_uplinks`], numbered in sorted
    /// order so the ruleset does not depend on which VM uses a set first.
    fn groups_of(sets: impl Iterator<Item = Vec<u8>>) -> Vec<FailoverGroup> {
        let sets: BTreeSet<Vec<u8>> = sets.collect();
        sets.into_iter()
            .enumerate()
            .map(|(index, uplinks)| {
                let number = u32::try_from(index + 1)
                    .ok()
                    .filter(|&n| n as usize <= MAX_FAILOVER_GROUPS)
                    .unwrap_or(0);
                FailoverGroup {
                    uplinks,
                    ct_mark: MOVABLE_MARK | number << 16,
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkPlan {
    pub name: Name,
    pub id: u8,
    pub mark: u32,
    pub table: u32,
    pub rule_priority: u32,
    pub interface: InterfaceName,
    /// The host's address on the link, with the link's prefix length.
    pub address: Ipv4Net,
    pub gateway: Ipv4Addr,
    pub vlan: Option<VlanPlan>,
    /// The monitor's ICMP echo targets, sorted (any one answering will do, so
    /// their order means nothing): the `probe` list, else the gateway.
    pub probe: Vec<Ipv4Addr>,
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
pub struct PoolPlan {
    pub name: Name,
    pub number: u8,
    pub prefix: Ipv4Net,
    pub uplink: Name,
    /// Uplink and pool bits together: what a packet leaving from this pool carries.
    pub mark: u32,
    /// VM private address → its public address in this pool, for this host's VMs.
    pub snat: Vec<(Ipv4Addr, Ipv4Addr)>,
}

/// The plan holds ids into the model rather than copies of its names (100k VMs
/// would be millions of small `String`s): whoever prints a name looks it up with
/// the model the plan was made from (`model.vm(plan.vm).name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmPlan {
    pub vm: VmId,
    pub project: ProjectId,
    pub private: Ipv4Addr,
    /// Public addresses with the pool and uplink inbound traffic arrives by.
    pub public: Vec<PublicAddress>,
    /// What traffic matching no egress range does.
    pub default: Option<Decision>,
    /// Disjoint, sorted destination ranges decided by egress entries, without
    /// those that leave the way the default does (the default decides them).
    pub egress: Vec<(Range, Decision)>,
    /// Every decision of this VM is its project's (the same ranges, entries and
    /// candidate pools as [`ProjectEgress`] holds), and its address lies in a
    /// network only its project declares: the dataplane finds its decisions by
    /// project network, and adding or removing it changes no egress element.
    pub follows_project: bool,
}

impl VmPlan {
    /// The default's decision, then the egress entries'.
    pub fn decisions(&self) -> impl Iterator<Item = &Decision> {
        self.default
            .iter()
            .chain(self.egress.iter().map(|(_, d)| d))
    }
}

impl VmPlan {
    /// The decision of the VM's egress range holding `destination`, else its
    /// default: what decides a packet to it that is neither internal nor
    /// hairpinned.
    pub fn decision(&self, destination: Ipv4Addr) -> Option<&Decision> {
        let d = u32::from(destination);
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
pub struct ProjectEgress {
    pub project: ProjectId,
    /// The project's networks, merged: the sources its decisions are keyed by.
    pub networks: Vec<Range>,
    /// The decisions of the project's first following VM (in name order); every
    /// following VM's are the same but for its own public addresses.
    pub default: Option<Decision>,
    pub egress: Vec<(Range, Decision)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicAddress {
    pub address: Ipv4Addr,
    pub pool: PoolId,
    pub uplink: UplinkId,
}

/// What one topology entry decides for a VM's packets: the candidates, best
/// first (docs/semantics.md §10). Failover never changes which entry decides,
/// only which of its candidates is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The preferred candidate: the one used while its uplink is up.
    pub first: Candidate,
    /// The other candidates, best first, each pool once. Always empty without
    /// `[failover]`, so a topology without it allocates nothing more per
    /// decision than before lists existed.
    pub fallbacks: Vec<Candidate>,
    pub decided_by: DecidedBy,
}

/// One way out: source-NATed to `public`, out through `uplink`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub public: Ipv4Addr,
    pub pool: PoolId,
    pub pool_number: u8,
    pub uplink: UplinkId,
    pub uplink_id: u8,
    /// Uplink and pool bits (see the module doc).
    pub mark: u32,
}

impl Decision {
    /// Every candidate, best first.
    pub fn candidates(&self) -> impl Iterator<Item = &Candidate> + Clone {
        std::iter::once(&self.first).chain(&self.fallbacks)
    }

    /// The candidate used while the uplinks for which `is_down` holds are down:
    /// the first whose uplink is up; with none up, the first (never worse than
    /// no failover).
    pub fn choose(&self, is_down: impl Fn(UplinkId) -> bool) -> &Candidate {
        self.candidates()
            .find(|candidate| !is_down(candidate.uplink))
            .unwrap_or(&self.first)
    }

    /// The uplinks, by id and sorted, a connection this decision classifies may
    /// move between: `None` when its candidates all sit on one uplink.
    pub fn failover_uplinks(&self) -> Option<Vec<u8>> {
        let mut uplinks: Vec<u8> = self.reachable().map(|c| c.uplink_id).collect();
        uplinks.sort_unstable();
        (uplinks.len() > 1).then_some(uplinks)
    }

    /// The candidates that can ever be chosen: one whose uplink an earlier
    /// candidate shares is down whenever that one is, so it never is.
    pub fn reachable(&self) -> impl Iterator<Item = &Candidate> {
        first_per_uplink(self.candidates(), |c| c.uplink_id)
    }
}

/// The items no earlier item shares an uplink with.
fn first_per_uplink<T: Copy>(
    items: impl Iterator<Item = T> + Clone,
    uplink: impl Fn(T) -> u8 + Copy,
) -> impl Iterator<Item = T> {
    items.clone().enumerate().filter_map(move |(i, item)| {
        (!items.clone().take(i).any(|e| uplink(e) == uplink(item))).then_some(item)
    })
}

/// A decision without the VM's own addresses: the entry and the candidate pools
/// (number, uplink id), best first. Two VMs whose decisions have the same routes
/// get the same verdicts from the dataplane.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    pools: Vec<(u8, u8)>,
    decided_by: DecidedBy,
}

impl Route {
    fn of(decision: &Decision) -> Route {
        Route {
            pools: decision
                .candidates()
                .map(|c| (c.pool_number, c.uplink_id))
                .collect(),
            decided_by: decision.decided_by.clone(),
        }
    }

    /// The pools the dataplane can choose between, best first: what its verdict
    /// for the decision says.
    fn way(&self) -> Vec<u8> {
        first_per_uplink(self.pools.iter().copied(), |(_, uplink)| uplink)
            .map(|(pool, _)| pool)
            .collect()
    }
}

/// The decisions a project's entries and default make for a VM that has an
/// address in every pool and no entry or default of its own.
struct ProjectRoutes {
    /// The project's networks, merged, when they identify its VMs: declared and
    /// overlapping no other project's. Else none of its VMs can follow it.
    networks: Option<Vec<Range>>,
    default: Option<Route>,
    egress: Vec<(Range, Route)>,
}

/// The topology entry a decision comes from, for comments and `trace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedBy {
    pub scope: Scope,
    /// `None` for a default.
    pub prefix: Option<Ipv4Net>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Project,
    Vm,
}

/// What the dataplane does with one packet from a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'p> {
    /// To this host's own address on `uplink`: the kernel's local table, looked
    /// up before every uplink's, delivers it to the host itself; no mark routes
    /// it and nothing NATs it (source NAT happens only on the way out).
    Local(&'p UplinkPlan),
    /// The destination is internal: no mark, no NAT.
    Internal,
    Egress(&'p Decision),
    /// To a public address of a VM on this host: DNATed to `receiver` and
    /// delivered without leaving the host, source-NATed by the sender's egress
    /// decision for that address, or with no decision to the host's LAN address.
    Hairpin {
        receiver: &'p VmPlan,
        source: Option<&'p Decision>,
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
    pub fn outcome<'p>(&'p self, vm: &'p VmPlan, destination: Ipv4Addr) -> Outcome<'p> {
        if let Some(uplink) = self.own_address(destination) {
            return Outcome::Local(uplink);
        }
        if intervals::any_contains(&self.internal, destination) {
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
    pub fn own_address(&self, address: Ipv4Addr) -> Option<&UplinkPlan> {
        self.uplinks.iter().find(|u| u.address.addr() == address)
    }

    /// Whether a packet from `source` that this host DNATs back onto its LAN
    /// (a hairpin) is source-NATed: only its VMs' are (`sources`). Any other
    /// source reaches the receiver as it is, whose replies then go back over
    /// the LAN, never by an uplink.
    pub fn hairpin_is_source_natted(&self, source: Ipv4Addr) -> bool {
        intervals::any_contains(&self.sources, source)
    }

    /// The VM of this host a packet to `public` is DNATed to, if any.
    pub fn dnat_target(&self, public: Ipv4Addr) -> Option<&VmPlan> {
        let i = self.dnat.binary_search_by_key(&public, |(p, _)| *p).ok()?;
        let private = self.dnat[i].1;
        self.vms.iter().find(|vm| vm.private == private)
    }
}

/// Builds the plan of every host.
pub fn plan(model: &CheckedModel) -> Plan {
    let project_networks: Vec<Range> = model.project_networks().map(|n| Range::of(n)).collect();
    let source_networks = source_networks(model);
    let mut vms_by_host: BTreeMap<HostId, Vec<(VmId, &Vm)>> = BTreeMap::new();
    for id in model.vm_ids() {
        let vm = model.vm(id);
        vms_by_host.entry(vm.host).or_default().push((id, vm));
    }
    // Hosts are planned independently, side by side on all cores.
    let hosts = (0..model.hosts.len())
        .into_par_iter()
        .map(HostId)
        .map(|id| {
            let vms = vms_by_host.get(&id).map_or(&[][..], Vec::as_slice);
            host_plan(model, id, vms, &project_networks, &source_networks)
        })
        .collect();
    Plan { hosts }
}

/// Per project, its networks merged when they can key its VMs' decisions:
/// declared, and overlapping no other project's networks.
fn source_networks(model: &Model) -> Vec<Option<Vec<Range>>> {
    let mut networks: Vec<Option<Vec<Range>>> = model
        .projects
        .iter()
        .map(|project| {
            let merged = intervals::merge(project.networks.iter().map(|n| Range::of(n)).collect());
            (!merged.is_empty()).then_some(merged)
        })
        .collect();
    let mut owned: Vec<(Range, usize)> = networks
        .iter()
        .enumerate()
        .flat_map(|(project, ranges)| ranges.iter().flatten().map(move |r| (*r, project)))
        .collect();
    owned.sort();
    // The range reaching furthest so far meets every later one that an earlier
    // range meets.
    let mut furthest: Option<(Range, usize)> = None;
    for (range, project) in owned {
        if let Some((reach, owner)) = furthest {
            if range.first <= reach.last && owner != project {
                networks[owner] = None;
                networks[project] = None;
            }
            if range.last <= reach.last {
                continue;
            }
        }
        furthest = Some((range, project));
    }
    networks
}

fn host_plan(
    model: &Model,
    id: HostId,
    vms: &[(VmId, &Vm)],
    project_networks: &[Range],
    source_networks: &[Option<Vec<Range>>],
) -> HostPlan {
    let host = model.host(id);
    let mut uplinks: Vec<UplinkPlan> = host
        .attachments
        .iter()
        .map(|attachment| {
            let uplink = model.uplink(attachment.uplink);
            UplinkPlan {
                name: uplink.name.value.clone(),
                id: uplink.id.value,
                mark: uplink_mark(uplink.id.value),
                table: uplink.table.value,
                rule_priority: RULE_PRIORITY_BASE + u32::from(uplink.id.value),
                interface: attachment.interface.value.clone(),
                address: attachment.address.value,
                gateway: attachment.gateway.value,
                vlan: attachment.vlan.as_ref().map(|v| VlanPlan {
                    parent: v.parent.value.clone(),
                    id: v.id.value,
                    parent_unit: v.parent_unit.as_ref().map(|unit| unit.value.clone()),
                }),
                probe: if attachment.probe.is_empty() {
                    vec![attachment.gateway.value]
                } else {
                    let targets: BTreeSet<Ipv4Addr> =
                        attachment.probe.iter().map(|target| target.value).collect();
                    targets.into_iter().collect()
                },
            }
        })
        .collect();
    uplinks.sort_by_key(|u| u.id);
    let attached: Vec<UplinkId> = host.attachments.iter().map(|a| a.uplink).collect();

    let sources = intervals::merge(
        vms.iter()
            .map(|(_, vm)| Range::single(vm.address.value))
            .collect(),
    );
    let mut internal = project_networks.to_vec();
    internal.extend_from_slice(&sources);
    let internal = intervals::merge(internal);
    let mut mac_bindings: Vec<(Ipv4Addr, Mac)> = vms
        .iter()
        .filter_map(|(_, vm)| Some((vm.address.value, vm.mac.as_ref()?.value)))
        .collect();
    mac_bindings.sort_unstable();
    let mut dnat: Vec<(Ipv4Addr, Ipv4Addr)> = vms
        .iter()
        .flat_map(|(_, vm)| {
            vm.public
                .iter()
                .map(|public| (public.value, vm.address.value))
        })
        .collect();
    // Unstable sorts: equal pairs are indistinguishable, so the order is the same.
    dnat.par_sort_unstable();

    let pools = model
        .pools
        .par_iter()
        .enumerate()
        .filter(|(_, pool)| pool.uplink.is_some_and(|u| attached.contains(&u)))
        .map(|(index, pool)| {
            let uplink = model.uplink(pool.uplink.expect("filtered"));
            let number = pool_number(PoolId(index));
            let mut snat: Vec<(Ipv4Addr, Ipv4Addr)> = vms
                .iter()
                .filter_map(|(_, vm)| {
                    Some((vm.address.value, model.public_in_pool(vm, PoolId(index))?))
                })
                .collect();
            snat.sort_unstable();
            PoolPlan {
                name: pool.name.value.clone(),
                number,
                prefix: pool.prefix.value,
                uplink: uplink.name.value.clone(),
                mark: uplink_mark(uplink.id.value) | pool_mark(number),
                snat,
            }
        })
        .collect();

    let mut routes: BTreeMap<ProjectId, ProjectRoutes> = BTreeMap::new();
    for (_, vm) in vms {
        routes
            .entry(vm.project)
            .or_insert_with(|| project_routes(model, vm.project, &internal, source_networks));
    }
    // VMs are planned independently too: on a single host this is what keeps
    // the second core busy. `unzip` keeps the VMs' order.
    let (planned, deciding): (Vec<VmPlan>, Vec<Vec<Span>>) = vms
        .par_iter()
        .map(|&(id, vm)| vm_plan(model, id, vm, &internal, &routes[&vm.project]))
        .unzip();
    let deciding_entries: HashSet<Span> = deciding.into_iter().flatten().collect();
    // In the model's project order, which is name order.
    let mut projects: BTreeMap<ProjectId, ProjectEgress> = BTreeMap::new();
    for ((_, vm), plan) in vms
        .iter()
        .zip(&planned)
        .filter(|(_, plan)| plan.follows_project)
    {
        projects.entry(vm.project).or_insert_with(|| ProjectEgress {
            project: vm.project,
            networks: routes[&vm.project].networks.clone().unwrap_or_default(),
            default: plan.default.clone(),
            egress: plan.egress.clone(),
        });
    }
    let failover = model.failover.as_ref().map(|f| FailoverPlan {
        interval: f.interval,
        down_after: f.down_after,
        up_after: f.up_after,
        groups: FailoverPlan::groups_of(
            planned
                .iter()
                .flat_map(VmPlan::decisions)
                .filter_map(Decision::failover_uplinks),
        ),
    });
    HostPlan {
        name: host.name.value.clone(),
        lan: {
            let mut lan: Vec<InterfaceName> = host.lan.iter().map(|l| l.value.clone()).collect();
            lan.sort_unstable();
            lan
        },
        uplinks,
        pools,
        vms: planned,
        projects: projects.into_values().collect(),
        deciding_entries,
        internal,
        sources,
        mac_bindings,
        dnat,
        failover,
    }
}

fn pool_number(pool: PoolId) -> u8 {
    u8::try_from(pool.0 + 1).expect("check limits pools to MAX_POOLS")
}

/// A VM's plan, and the entries that decide some range of it before the ranges
/// left to the default are dropped (what SY0903 asks about).
fn vm_plan(
    model: &Model,
    id: VmId,
    vm: &Vm,
    internal: &[Range],
    project_routes: &ProjectRoutes,
) -> (VmPlan, Vec<Span>) {
    let project = model.project(vm.project);
    let public = vm
        .public
        .iter()
        .filter_map(|address| {
            let pool_id = model.pool_of(address.value)?;
            Some(PublicAddress {
                address: address.value,
                pool: pool_id,
                uplink: model.pool(pool_id).uplink?,
            })
        })
        .collect();
    let default = default_decision(model, vm, project);
    let painted = flatten(model, vm, project, internal);
    let deciding = painted
        .iter()
        .map(|(_, decision)| decision.decided_by.span.clone())
        .collect();
    let default_route = default.as_ref().map(Route::of);
    let (routes, egress): (Vec<_>, Vec<_>) = left_to_default(
        painted
            .into_iter()
            .map(|(range, decision)| ((range, Route::of(&decision)), (range, decision))),
        default_route.as_ref(),
        |((_, route), _)| route,
    )
    .unzip();
    let follows_project = project_routes.networks.is_some()
        && default_route == project_routes.default
        && routes == project_routes.egress;
    let plan = VmPlan {
        vm: id,
        project: vm.project,
        private: vm.address.value,
        public,
        default,
        egress,
        follows_project,
    };
    (plan, deciding)
}

/// Leaves out the ranges whose decision leaves the way the default does: the
/// default decides them, and the dataplane needs no element for them.
fn left_to_default<T>(
    ranges: impl Iterator<Item = T>,
    default: Option<&Route>,
    route: impl Fn(&T) -> &Route,
) -> impl Iterator<Item = T> {
    let default_way = default.map(Route::way);
    ranges.filter(move |item| default_way.as_ref() != Some(&route(item).way()))
}

/// The project's decisions for a VM that follows it: its entries painted as
/// [`flatten`] paints a VM's, each with the pools of its `via` then of the
/// project's default (every pool, as the VM has an address in each).
fn project_routes(
    model: &Model,
    id: ProjectId,
    internal: &[Range],
    source_networks: &[Option<Vec<Range>>],
) -> ProjectRoutes {
    let project = model.project(id);
    let kept = kept_candidates(model);
    let pools = |vias: &mut dyn Iterator<Item = PoolId>| -> Vec<(u8, u8)> {
        let mut seen = Vec::new();
        for pool in vias {
            if !seen.contains(&pool) {
                seen.push(pool);
            }
        }
        seen.into_iter()
            .filter_map(|pool| {
                let uplink = model.uplink(model.pool(pool).uplink?);
                Some((pool_number(pool), uplink.id.value))
            })
            .take(kept)
            .collect()
    };
    let project_default = || project.default.iter().map(|pool| pool.value);
    let default = project.default.first().map(|first| Route {
        pools: pools(&mut project_default()),
        decided_by: DecidedBy {
            scope: Scope::Project,
            prefix: None,
            span: first.span.clone(),
        },
    });
    let mut entries: Vec<&Egress<PoolId>> = project.egress.iter().collect();
    // Stable: equal entries keep file order.
    entries.sort_by_key(|entry| entry.to.prefix_len());
    let mut painting = Painting::new();
    for entry in entries {
        let pools = pools(
            &mut entry
                .via
                .iter()
                .map(|via| via.value)
                .chain(project_default()),
        );
        if !pools.is_empty() {
            let decided_by = DecidedBy {
                scope: Scope::Project,
                prefix: Some(entry.to.value),
                span: entry.to.span.clone(),
            };
            painting.paint(Range::of(&entry.to), Route { pools, decided_by });
        }
    }
    painting.cut(internal);
    let egress = left_to_default(
        painting.into_ranges().into_iter(),
        default.as_ref(),
        |(_, route)| route,
    )
    .collect();
    ProjectRoutes {
        networks: source_networks[id.index()].clone(),
        default,
        egress,
    }
}

/// How many candidates a decision keeps: without `[failover]` no uplink is ever
/// down, so only the first, and a topology without it plans (and costs) exactly
/// what it did before lists existed.
fn kept_candidates(model: &Model) -> usize {
    if model.failover.is_some() {
        usize::MAX
    } else {
        1
    }
}

/// The VM's default decides when it has one, else its project's (if it
/// applies to the VM); the other default's pools are fallbacks either way.
fn default_decision(model: &Model, vm: &Vm, project: &Project) -> Option<Decision> {
    let (scope, span) = match (vm.default.first(), project.default.first()) {
        (Some(own), _) => (Scope::Vm, own.span.clone()),
        (None, Some(projects)) => (Scope::Project, projects.span.clone()),
        (None, None) => return None,
    };
    decision::<Via>(
        model,
        vm,
        &[],
        DecidedBy {
            scope,
            prefix: None,
            span,
        },
    )
}

/// docs/semantics.md §2 rules 2 and 4 for every destination at once: paint the VM's and its
/// project's entries from shortest to longest prefix (at equal length the VM's
/// after the project's, so they win), then cut out the internal ranges.
fn flatten(
    model: &Model,
    vm: &Vm,
    project: &Project,
    internal: &[Range],
) -> Vec<(Range, Decision)> {
    let mut entries: Vec<_> = entry_decisions(model, vm, Scope::Project, &project.egress)
        .chain(entry_decisions(model, vm, Scope::Vm, &vm.egress))
        .collect();
    // Stable: equal entries keep file order.
    entries.sort_by_key(|(scope, to, _)| (to.prefix_len(), *scope));
    let mut painting = Painting::new();
    for (_, to, decision) in entries {
        painting.paint(Range::of(to), decision);
    }
    painting.cut(internal);
    painting.into_ranges()
}

/// Those of `entries` (of one scope) that apply to the VM, with their decisions.
/// A project entry none of whose pools the VM has an address in does not apply
/// to it (warning SY0904): whatever is under it shows through.
fn entry_decisions<'m, V: Copy + Into<Via>>(
    model: &'m Model,
    vm: &'m Vm,
    scope: Scope,
    entries: &'m [Egress<V>],
) -> impl Iterator<Item = (Scope, &'m Spanned<Ipv4Net>, Decision)> + 'm {
    let applying = entries.iter().filter(|entry| model.applies(vm, &entry.via));
    applying.filter_map(move |entry| {
        let by = DecidedBy {
            scope,
            prefix: Some(entry.to.value),
            span: entry.to.span.clone(),
        };
        Some((scope, &entry.to, decision(model, vm, &entry.via, by)?))
    })
}

/// The decision of an entry with these `via`s (none for a default); `None` when
/// the VM has no address in any candidate pool.
fn decision<V: Copy + Into<Via>>(
    model: &Model,
    vm: &Vm,
    via: &[Spanned<V>],
    decided_by: DecidedBy,
) -> Option<Decision> {
    let mut candidates = model
        .candidates(vm, via)
        .filter_map(|pool| candidate(model, vm, pool))
        .take(kept_candidates(model));
    Some(Decision {
        first: candidates.next()?,
        fallbacks: candidates.collect(),
        decided_by,
    })
}

fn candidate(model: &Model, vm: &Vm, pool_id: PoolId) -> Option<Candidate> {
    let public = model.public_in_pool(vm, pool_id)?;
    let pool_number = pool_number(pool_id);
    let uplink_id = model.pool(pool_id).uplink?;
    let uplink = model.uplink(uplink_id);
    Some(Candidate {
        public,
        pool: pool_id,
        pool_number,
        uplink: uplink_id,
        uplink_id: uplink.id.value,
        mark: uplink_mark(uplink.id.value) | pool_mark(pool_number),
    })
}

#[cfg(test)]
mod tests;
