//! Longest-prefix resolution (docs/semantics.md §2), once: a VM's and its
//! project's egress entries painted into disjoint destination ranges, each
//! with its decision, and a project's own painting for the VMs that follow it.

use crate::family::Family;
use crate::intervals::{Painting, Range};
use crate::model::{
    Egress, EntryId, Model, PoolId, ProjectId, Scope, Spanned, UplinkId, Via, Vm, VmId,
};

use super::decision::pool_number;
use super::{
    Candidate, Decision, PublicAddress, UplinkNumber, VmPlan, Way, pool_mark, uplink_mark,
};

/// A decision without the VM's own addresses: the entry and the candidate pools
/// (number, uplink), best first. Two VMs whose decisions have the same routes
/// get the same verdicts from the dataplane.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    pools: Vec<(u8, UplinkId)>,
    decided_by: EntryId,
}

impl Route {
    fn of<F: Family>(decision: &Decision<F>) -> Route {
        Route {
            pools: decision
                .candidates()
                .map(|c| (c.pool_number, c.uplink))
                .collect(),
            decided_by: decision.decided_by,
        }
    }

    fn way(&self) -> Way {
        Way::of(self.pools.iter().copied())
    }
}

/// The decisions a project's entries and default make for a VM that has an
/// address in every pool and no entry or default of its own.
pub(super) struct ProjectRoutes<F: Family> {
    /// The project's networks, merged, when they identify its VMs: declared and
    /// overlapping no other project's. Else none of its VMs can follow it.
    pub(super) networks: Option<Vec<Range<F>>>,
    default: Option<Route>,
    egress: Vec<(Range<F>, Route)>,
}

/// A VM's plan, and the entries that decide some range of it before the ranges
/// left to the default are dropped (what SY0903 asks about).
/// `None` for a VM without a private address of the family.
pub(super) fn vm_plan<F: Family>(
    model: &Model,
    id: VmId,
    vm: &Vm,
    internal: &[Range<F>],
    project_routes: &ProjectRoutes<F>,
) -> Option<(VmPlan<F>, Vec<EntryId>)> {
    let private = vm.address::<F>()?;
    let public = vm
        .public_of::<F>()
        .filter_map(|address| {
            let pool_id = model.pool_of::<F>(address.value)?;
            Some(PublicAddress {
                address: address.value,
                pool: pool_id,
                uplink: model.pool(pool_id).uplink?,
            })
        })
        .collect();
    let default = default_decision::<F>(model, id, vm);
    let painted = flatten::<F>(model, id, vm, internal);
    let deciding = painted
        .iter()
        .map(|(_, decision)| decision.decided_by)
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
        private,
        public,
        default,
        egress,
        follows_project,
    };
    Some((plan, deciding))
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
pub(super) fn project_routes<F: Family>(
    model: &Model,
    id: ProjectId,
    internal: &[Range<F>],
    source_networks: &[Option<Vec<Range<F>>>],
) -> ProjectRoutes<F> {
    let project = model.project(id);
    let pools = |entry| -> Vec<(u8, UplinkId)> {
        model
            .project_candidates(id, entry)
            .filter(|pool| model.pool(*pool).prefix::<F>().is_some())
            .filter_map(|pool| Some((pool_number(pool), model.pool(pool).uplink?)))
            .take(kept_candidates(model))
            .collect()
    };
    let default = (!project.default.is_empty()).then(|| Route {
        pools: pools(&[]),
        decided_by: EntryId::project_default(id),
    });
    let mut entries: Vec<(usize, &Egress<PoolId>, F::Net)> = project
        .egress
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| Some((index, entry, entry.to::<F>()?)))
        .collect();
    // Stable: equal entries keep file order.
    entries.sort_by_key(|(_, _, to)| F::prefix_len(to));
    let mut painting = Painting::new();
    for (index, entry, to) in entries {
        let pools = pools(&entry.via);
        if !pools.is_empty() {
            let decided_by = EntryId::project_egress(id, index);
            painting.paint(Range::of(&to), Route { pools, decided_by });
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
fn default_decision<F: Family>(model: &Model, id: VmId, vm: &Vm) -> Option<Decision<F>> {
    let decided_by = if !vm.default.is_empty() {
        EntryId::vm_default(id)
    } else if !model.project(vm.project).default.is_empty() {
        EntryId::project_default(vm.project)
    } else {
        return None;
    };
    decision::<F, Via>(model, vm, &[], decided_by)
}

/// docs/semantics.md §2 rules 2 and 4 for every destination at once: paint the VM's and its
/// project's entries from shortest to longest prefix (at equal length the VM's
/// after the project's, so they win), then cut out the internal ranges.
fn flatten<F: Family>(
    model: &Model,
    id: VmId,
    vm: &Vm,
    internal: &[Range<F>],
) -> Vec<(Range<F>, Decision<F>)> {
    let project = model.project(vm.project);
    let project_entry = |index| EntryId::project_egress(vm.project, index);
    let vm_entry = |index| EntryId::vm_egress(id, index);
    let mut entries: Vec<_> = entry_decisions(model, vm, &project.egress, project_entry)
        .chain(entry_decisions(model, vm, &vm.egress, vm_entry))
        .collect();
    // Stable: equal entries keep file order.
    entries.sort_by_key(|(scope, to, _)| (F::prefix_len(to), *scope));
    let mut painting = Painting::new();
    for (_, to, decision) in entries {
        painting.paint(Range::of(&to), decision);
    }
    painting.cut(internal);
    painting.into_ranges()
}

/// Those of `entries` (of one scope) of family `F` that apply to the VM,
/// with their decisions. A project entry none of whose pools the VM has an
/// address of the family in does not apply to it (warning SY0904): whatever
/// is under it shows through.
fn entry_decisions<'m, F: Family, V: Copy + Into<Via>>(
    model: &'m Model,
    vm: &'m Vm,
    entries: &'m [Egress<V>],
    id: impl Fn(usize) -> EntryId + 'm,
) -> impl Iterator<Item = (Scope, F::Net, Decision<F>)> + 'm {
    let applying = entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| model.applies::<F, V>(vm, &entry.via));
    applying.filter_map(move |(index, entry)| {
        let by = id(index);
        let to = entry.to::<F>()?;
        Some((by.scope(), to, decision(model, vm, &entry.via, by)?))
    })
}

/// The decision of an entry with these `via`s (none for a default); `None` when
/// the VM has no address in any candidate pool.
fn decision<F: Family, V: Copy + Into<Via>>(
    model: &Model,
    vm: &Vm,
    via: &[Spanned<V>],
    decided_by: EntryId,
) -> Option<Decision<F>> {
    let mut candidates = model
        .candidates::<F, V>(vm, via)
        .filter_map(|pool| candidate(model, vm, pool))
        .take(kept_candidates(model));
    Some(Decision {
        first: candidates.next()?,
        fallbacks: candidates.collect(),
        decided_by,
    })
}

fn candidate<F: Family>(model: &Model, vm: &Vm, pool_id: PoolId) -> Option<Candidate<F>> {
    let public = model.public_in_pool::<F>(vm, pool_id)?;
    let pool_number = pool_number(pool_id);
    let uplink = model.pool(pool_id).uplink?;
    let uplink_number = UplinkNumber(model.uplink(uplink).id.value);
    Some(Candidate {
        public,
        pool: pool_id,
        pool_number,
        uplink,
        uplink_number,
        mark: uplink_mark(uplink_number) | pool_mark(pool_number),
    })
}
