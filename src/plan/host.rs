//! Planning every host: the model's VMs grouped by host, each host planned on
//! its own (side by side on all cores) in named steps.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::family::{Both, Family, V4, V6};
use crate::intervals::{self, Range};
use crate::model::{
    Attachment, CheckedModel, EntryId, Host, HostId, InterfaceName, Mac, Model, PoolId, ProjectId,
    UplinkId, Vm, VmId,
};

use super::decision::pool_number;
use super::egress::{ProjectRoutes, project_routes, vm_plan};
use super::{
    EntrySet, FailoverPlan, FamilyPlan, HostPlan, Plan, PoolPlan, ProjectEgress,
    RULE_PRIORITY_BASE, UplinkLink, UplinkNumber, UplinkPlan, VlanPlan, VmPlan, pool_mark,
    uplink_mark,
};

/// What every host shares in family `F`: the project networks (all internal)
/// and, per project, its networks when they can key its VMs' decisions.
struct Shared<F: Family> {
    project_networks: Vec<Range<F>>,
    source_networks: Vec<Option<Vec<Range<F>>>>,
}

impl<F: Family> Shared<F> {
    fn of(model: &Model) -> Shared<F> {
        Shared {
            project_networks: model
                .project_networks::<F>()
                .map(|n| Range::of(&n.value))
                .collect(),
            source_networks: source_networks(model),
        }
    }
}

/// Builds the plan of every host.
pub fn plan(model: &CheckedModel) -> Plan {
    let shared = (Shared::<V4>::of(model), Shared::<V6>::of(model));
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
            host_plan(model, id, vms, &shared)
        })
        .collect();
    Plan { hosts }
}

/// Per project, its networks merged when they can key its VMs' decisions:
/// declared, and overlapping no other project's networks.
fn source_networks<F: Family>(model: &Model) -> Vec<Option<Vec<Range<F>>>> {
    let mut networks: Vec<Option<Vec<Range<F>>>> = model
        .projects
        .iter()
        .map(|project| {
            let merged = intervals::merge(
                project
                    .networks_of::<F>()
                    .map(|n| Range::of(&n.value))
                    .collect(),
            );
            (!merged.is_empty()).then_some(merged)
        })
        .collect();
    let mut owned: Vec<(Range<F>, usize)> = networks
        .iter()
        .enumerate()
        .flat_map(|(project, ranges)| ranges.iter().flatten().map(move |r| (*r, project)))
        .collect();
    owned.sort();
    // The range reaching furthest so far meets every later one that an earlier
    // range meets.
    let mut furthest: Option<(Range<F>, usize)> = None;
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

/// One host's plan, step by step: its uplinks and pools, the addresses its
/// ruleset matches (internal ranges, the VMs' sources, MAC bindings, the DNAT
/// table), then its VMs' decisions and what follows from them (the projects
/// the dataplane looks decisions up by, the failover groups).
fn host_plan(
    model: &Model,
    id: HostId,
    vms: &[(VmId, &Vm)],
    (shared4, shared6): &(Shared<V4>, Shared<V6>),
) -> HostPlan {
    let host = model.host(id);
    // The families are planned independently too, side by side.
    let ((v4, deciding4), (v6, deciding6)) = rayon::join(
        || family_plan(model, host, vms, shared4),
        || family_plan(model, host, vms, shared6),
    );
    let mut deciding_entries = deciding4;
    deciding_entries.extend(deciding6);
    let ip = Both { v4, v6 };
    HostPlan {
        name: host.name.value.clone(),
        lan: lan_interfaces(host),
        uplinks: uplink_plans(model, host),
        failover: failover_plan(model, &ip),
        ip,
        deciding_entries,
        ha: super::ha::plan(model, host),
        member: None,
    }
}

/// The host's plan for packets of family `F`, and the entries that decide
/// some range of a VM in it.
fn family_plan<F: Family>(
    model: &Model,
    host: &Host,
    vms: &[(VmId, &Vm)],
    shared: &Shared<F>,
) -> (FamilyPlan<F>, EntrySet) {
    let sources = vm_sources::<F>(vms);
    let internal = intervals::merge([&shared.project_networks[..], &sources].concat());
    let routes = project_routes_of(model, vms, &internal, &shared.source_networks);
    let (planned, deciding) = vm_plans(model, vms, &internal, &routes);
    let plan = FamilyPlan {
        pools: pool_plans(model, host, vms),
        projects: followed_projects(&planned, &routes),
        vms: planned,
        internal,
        sources,
        mac_bindings: mac_bindings::<F>(vms),
        dnat: dnat_table::<F>(vms),
    };
    (plan, deciding)
}

/// The interfaces facing the VMs, sorted.
fn lan_interfaces(host: &Host) -> Vec<InterfaceName> {
    let mut lan: Vec<InterfaceName> = host.lan.iter().map(|l| l.value.clone()).collect();
    lan.sort_unstable();
    lan
}

/// The host's attachments, by uplink number.
fn uplink_plans(model: &Model, host: &Host) -> Vec<UplinkPlan> {
    let mut uplinks: Vec<UplinkPlan> = host
        .attachments
        .iter()
        .map(|attachment| {
            let uplink = model.uplink(attachment.uplink);
            let number = UplinkNumber(uplink.id.value);
            UplinkPlan {
                uplink: attachment.uplink,
                name: uplink.name.value.clone(),
                id: number,
                mark: uplink_mark(number),
                table: uplink.table.value,
                rule_priority: RULE_PRIORITY_BASE + u32::from(uplink.id.value),
                interface: attachment.interface.value.clone(),
                link: Both {
                    v4: uplink_link::<V4>(attachment),
                    v6: uplink_link::<V6>(attachment),
                },
                vlan: attachment.vlan.as_ref().map(|v| VlanPlan {
                    parent: v.parent.value.clone(),
                    id: v.id.value,
                    parent_unit: v.parent_unit.as_ref().map(|unit| unit.value.clone()),
                }),
            }
        })
        .collect();
    uplinks.sort_by_key(|u| u.id);
    uplinks
}

/// The attachment's link of family `F`, if it has an address of it (and so,
/// checked, a gateway).
fn uplink_link<F: Family>(attachment: &Attachment) -> Option<UplinkLink<F>> {
    let address = F::of(&attachment.address).as_ref()?.value;
    let gateway = F::of(&attachment.gateway).as_ref()?.value;
    let targets: BTreeSet<F::Addr> = attachment
        .probe
        .iter()
        .filter_map(|target| F::of_ip(target.value))
        .collect();
    // A probe list naming no target of the family probes its gateway.
    let probe = if targets.is_empty() {
        vec![gateway]
    } else {
        targets.into_iter().collect()
    };
    Some(UplinkLink {
        address,
        gateway,
        probe,
    })
}

/// The host's VM addresses of family `F`, merged.
fn vm_sources<F: Family>(vms: &[(VmId, &Vm)]) -> Vec<Range<F>> {
    intervals::merge(
        vms.iter()
            .filter_map(|(_, vm)| Some(Range::single(vm.address::<F>()?)))
            .collect(),
    )
}

/// VM address → the MAC it is bound to, for the VMs that declare one.
fn mac_bindings<F: Family>(vms: &[(VmId, &Vm)]) -> Vec<(F::Addr, Mac)> {
    let mut bindings: Vec<(F::Addr, Mac)> = vms
        .iter()
        .filter_map(|(_, vm)| Some((vm.address::<F>()?, vm.mac.as_ref()?.value)))
        .collect();
    bindings.sort_unstable_by_key(|&(address, mac)| (F::bits(address), mac));
    bindings
}

/// Public address → private address of the host's VMs.
fn dnat_table<F: Family>(vms: &[(VmId, &Vm)]) -> Vec<(F::Addr, F::Addr)> {
    let mut dnat: Vec<(F::Addr, F::Addr)> = vms
        .iter()
        .filter_map(|(_, vm)| Some((vm, vm.address::<F>()?)))
        .flat_map(|(vm, private)| {
            vm.public_of::<F>()
                .map(move |public| (public.value, private))
        })
        .collect();
    // Unstable sorts: equal pairs are indistinguishable, so the order is the
    // same. By the addresses' integers, which order as the addresses do and
    // compare faster (an IPv6 address compares its bytes).
    dnat.par_sort_unstable_by_key(|&pair| address_pair_key::<F>(pair));
    dnat
}

/// What a pair of addresses sorts by: their integers.
fn address_pair_key<F: Family>((first, second): (F::Addr, F::Addr)) -> (F::Bits, F::Bits) {
    (F::bits(first), F::bits(second))
}

/// The pools whose uplink the host is attached to, with the SNAT table of its
/// VMs' addresses in each.
fn pool_plans<F: Family>(model: &Model, host: &Host, vms: &[(VmId, &Vm)]) -> Vec<PoolPlan<F>> {
    let attached: Vec<UplinkId> = host.attachments.iter().map(|a| a.uplink).collect();
    model
        .pools
        .par_iter()
        .enumerate()
        .filter(|(_, pool)| pool.uplink.is_some_and(|u| attached.contains(&u)))
        .filter_map(|(index, pool)| Some((index, pool, *pool.prefix::<F>()?)))
        .map(|(index, pool, prefix)| {
            let uplink = model.uplink(pool.uplink.expect("filtered"));
            let number = pool_number(PoolId(index));
            let mut snat: Vec<(F::Addr, F::Addr)> = vms
                .iter()
                .filter_map(|(_, vm)| {
                    Some((
                        vm.address::<F>()?,
                        model.public_in_pool::<F>(vm, PoolId(index))?,
                    ))
                })
                .collect();
            snat.sort_unstable_by_key(|&pair| address_pair_key::<F>(pair));
            PoolPlan {
                name: pool.name.value.clone(),
                number,
                prefix,
                uplink: uplink.name.value.clone(),
                mark: uplink_mark(UplinkNumber(uplink.id.value)) | pool_mark(number),
                snat,
            }
        })
        .collect()
}

/// The decisions of each project some VM of the host belongs to, for a VM
/// that follows it.
fn project_routes_of<F: Family>(
    model: &Model,
    vms: &[(VmId, &Vm)],
    internal: &[Range<F>],
    source_networks: &[Option<Vec<Range<F>>>],
) -> BTreeMap<ProjectId, ProjectRoutes<F>> {
    let mut routes: BTreeMap<ProjectId, ProjectRoutes<F>> = BTreeMap::new();
    for (_, vm) in vms.iter().filter(|(_, vm)| vm.address::<F>().is_some()) {
        routes
            .entry(vm.project)
            .or_insert_with(|| project_routes(model, vm.project, internal, source_networks));
    }
    routes
}

/// The VMs' plans, in the VMs' order, and the entries that decide some range
/// of one of them.
fn vm_plans<F: Family>(
    model: &Model,
    vms: &[(VmId, &Vm)],
    internal: &[Range<F>],
    routes: &BTreeMap<ProjectId, ProjectRoutes<F>>,
) -> (Vec<VmPlan<F>>, EntrySet) {
    // VMs are planned independently too: on a single host this is what keeps
    // the second core busy. `unzip` keeps the VMs' order.
    let (planned, deciding): (Vec<VmPlan<F>>, Vec<Vec<EntryId>>) = vms
        .par_iter()
        .filter_map(|&(id, vm)| {
            let routes = routes.get(&vm.project)?;
            vm_plan(model, id, vm, internal, routes)
        })
        .unzip();
    (planned, deciding.into_iter().flatten().collect())
}

/// The projects some VM follows, in the model's project order (name order),
/// each with its first following VM's decisions.
fn followed_projects<F: Family>(
    planned: &[VmPlan<F>],
    routes: &BTreeMap<ProjectId, ProjectRoutes<F>>,
) -> Vec<ProjectEgress<F>> {
    let mut projects: BTreeMap<ProjectId, ProjectEgress<F>> = BTreeMap::new();
    for plan in planned.iter().filter(|plan| plan.follows_project) {
        projects
            .entry(plan.project)
            .or_insert_with(|| ProjectEgress {
                project: plan.project,
                networks: routes[&plan.project].networks.clone().unwrap_or_default(),
                default: plan.default.clone(),
                egress: plan.egress.clone(),
            });
    }
    projects.into_values().collect()
}

/// With `[failover]`, its timing and the groups of the host's decisions of
/// both families.
fn failover_plan(model: &Model, ip: &Both<super::FamilyOf>) -> Option<FailoverPlan> {
    model.failover.as_ref().map(|f| FailoverPlan {
        interval: f.interval,
        down_after: f.down_after,
        up_after: f.up_after,
        groups: FailoverPlan::groups_of(failover_uplinks(&ip.v4).chain(failover_uplinks(&ip.v6))),
    })
}

/// The uplinks each decision of the family's VMs falls back between.
fn failover_uplinks<F: Family>(
    plan: &FamilyPlan<F>,
) -> impl Iterator<Item = Vec<UplinkNumber>> + '_ {
    plan.vms
        .iter()
        .flat_map(VmPlan::decisions)
        .filter_map(|decision| decision.failover_uplinks())
}
