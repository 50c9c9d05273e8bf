//! Planning every host: the model's VMs grouped by host, each host planned on
//! its own (side by side on all cores) in named steps.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::Ipv4Addr;

use rayon::prelude::*;

use crate::intervals::{self, Range};
use crate::model::{
    CheckedModel, EntryId, Host, HostId, InterfaceName, Mac, Model, PoolId, ProjectId, UplinkId,
    Vm, VmId,
};

use super::decision::pool_number;
use super::egress::{ProjectRoutes, project_routes, vm_plan};
use super::{
    Decision, FailoverPlan, HostPlan, Plan, PoolPlan, ProjectEgress, RULE_PRIORITY_BASE,
    UplinkNumber, UplinkPlan, VlanPlan, VmPlan, pool_mark, uplink_mark,
};

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

/// One host's plan, step by step: its uplinks and pools, the addresses its
/// ruleset matches (internal ranges, the VMs' sources, MAC bindings, the DNAT
/// table), then its VMs' decisions and what follows from them (the projects
/// the dataplane looks decisions up by, the failover groups).
fn host_plan(
    model: &Model,
    id: HostId,
    vms: &[(VmId, &Vm)],
    project_networks: &[Range],
    source_networks: &[Option<Vec<Range>>],
) -> HostPlan {
    let host = model.host(id);
    let sources = vm_sources(vms);
    let internal = intervals::merge([project_networks, &sources].concat());
    let routes = project_routes_of(model, vms, &internal, source_networks);
    let (planned, deciding_entries) = vm_plans(model, vms, &internal, &routes);
    HostPlan {
        name: host.name.value.clone(),
        lan: lan_interfaces(host),
        uplinks: uplink_plans(model, host),
        pools: pool_plans(model, host, vms),
        projects: followed_projects(vms, &planned, &routes),
        failover: failover_plan(model, &planned),
        vms: planned,
        deciding_entries,
        internal,
        sources,
        mac_bindings: mac_bindings(vms),
        dnat: dnat_table(vms),
        ha: super::ha::plan(model, host),
        member: None,
    }
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
    uplinks
}

/// The host's VM addresses, merged.
fn vm_sources(vms: &[(VmId, &Vm)]) -> Vec<Range> {
    intervals::merge(
        vms.iter()
            .map(|(_, vm)| Range::single(vm.address.value))
            .collect(),
    )
}

/// VM address → the MAC it is bound to, for the VMs that declare one.
fn mac_bindings(vms: &[(VmId, &Vm)]) -> Vec<(Ipv4Addr, Mac)> {
    let mut bindings: Vec<(Ipv4Addr, Mac)> = vms
        .iter()
        .filter_map(|(_, vm)| Some((vm.address.value, vm.mac.as_ref()?.value)))
        .collect();
    bindings.sort_unstable();
    bindings
}

/// Public address → private address of the host's VMs.
fn dnat_table(vms: &[(VmId, &Vm)]) -> Vec<(Ipv4Addr, Ipv4Addr)> {
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
    dnat
}

/// The pools whose uplink the host is attached to, with the SNAT table of its
/// VMs' addresses in each.
fn pool_plans(model: &Model, host: &Host, vms: &[(VmId, &Vm)]) -> Vec<PoolPlan> {
    let attached: Vec<UplinkId> = host.attachments.iter().map(|a| a.uplink).collect();
    model
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
                mark: uplink_mark(UplinkNumber(uplink.id.value)) | pool_mark(number),
                snat,
            }
        })
        .collect()
}

/// The decisions of each project some VM of the host belongs to, for a VM
/// that follows it.
fn project_routes_of(
    model: &Model,
    vms: &[(VmId, &Vm)],
    internal: &[Range],
    source_networks: &[Option<Vec<Range>>],
) -> BTreeMap<ProjectId, ProjectRoutes> {
    let mut routes: BTreeMap<ProjectId, ProjectRoutes> = BTreeMap::new();
    for (_, vm) in vms {
        routes
            .entry(vm.project)
            .or_insert_with(|| project_routes(model, vm.project, internal, source_networks));
    }
    routes
}

/// The VMs' plans, in the VMs' order, and the entries that decide some range
/// of one of them.
fn vm_plans(
    model: &Model,
    vms: &[(VmId, &Vm)],
    internal: &[Range],
    routes: &BTreeMap<ProjectId, ProjectRoutes>,
) -> (Vec<VmPlan>, HashSet<EntryId>) {
    // VMs are planned independently too: on a single host this is what keeps
    // the second core busy. `unzip` keeps the VMs' order.
    let (planned, deciding): (Vec<VmPlan>, Vec<Vec<EntryId>>) = vms
        .par_iter()
        .map(|&(id, vm)| vm_plan(model, id, vm, internal, &routes[&vm.project]))
        .unzip();
    (planned, deciding.into_iter().flatten().collect())
}

/// The projects some VM follows, in the model's project order (name order),
/// each with its first following VM's decisions.
fn followed_projects(
    vms: &[(VmId, &Vm)],
    planned: &[VmPlan],
    routes: &BTreeMap<ProjectId, ProjectRoutes>,
) -> Vec<ProjectEgress> {
    let mut projects: BTreeMap<ProjectId, ProjectEgress> = BTreeMap::new();
    for ((_, vm), plan) in vms
        .iter()
        .zip(planned)
        .filter(|(_, plan)| plan.follows_project)
    {
        projects.entry(vm.project).or_insert_with(|| ProjectEgress {
            project: vm.project,
            networks: routes[&vm.project].networks.clone().unwrap_or_default(),
            default: plan.default.clone(),
            egress: plan.egress.clone(),
        });
    }
    projects.into_values().collect()
}

/// With `[failover]`, its timing and the groups of the host's decisions.
fn failover_plan(model: &Model, planned: &[VmPlan]) -> Option<FailoverPlan> {
    model.failover.as_ref().map(|f| FailoverPlan {
        interval: f.interval,
        down_after: f.down_after,
        up_after: f.up_after,
        groups: FailoverPlan::groups_of(
            planned
                .iter()
                .flat_map(VmPlan::decisions)
                .filter_map(Decision::failover_uplinks),
        ),
    })
}
