//! SY0903 (warning): an egress entry that can never win. The plan is asked, not
//! re-derived: an entry that decides no destination range in any VM's plan
//! ([`Plan::winning_entries`]) loses every address it covers, to a longer entry or,
//! at equal length, to the VM's own — so the warning cannot disagree with what is
//! rendered. A project entry that applies to no VM (its pool holds no address of
//! the project's VMs, SY0904, or the project has no VMs) is not judged: it has
//! nothing to win or lose.

use std::collections::HashSet;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::Which;
use crate::model::{Egress, EntryId, Model, PoolId, ProjectId};
use crate::plan::Plan;

pub fn check(model: &Model, plan: &Plan, out: &mut Diagnostics) {
    let winning = plan.winning_entries();
    // The pools each project's VMs hold an address in, with its family: a
    // project entry applies to the VMs with an address of its family in its pool.
    let mut pools_of_vms: Vec<HashSet<(PoolId, Which)>> =
        vec![HashSet::new(); model.projects.len()];
    for vm in &model.vms {
        let pools = (vm.public.iter())
            .filter_map(|p| Some((model.pool_of_ip(p.value)?, Which::of(p.value))));
        pools_of_vms[vm.project.0].extend(pools);
    }
    for (index, (project, pools)) in model.projects.iter().zip(&pools_of_vms).enumerate() {
        let id = ProjectId(index);
        for (index, entry) in project.egress.iter().enumerate() {
            // With a `via` list, when any of its pools applies (docs/semantics.md §10).
            let family = Which::of_net(&entry.to.value);
            let applies = (entry.via.iter()).any(|pool| pools.contains(&(pool.value, family)));
            if applies && !winning.contains(&EntryId::project_egress(id, index)) {
                report(entry, &format!("project `{}`", project.name.value), out);
            }
        }
    }
    for (id, vm) in model.vm_ids().zip(&model.vms) {
        for (index, entry) in vm.egress.iter().enumerate() {
            if !winning.contains(&EntryId::vm_egress(id, index)) {
                report(entry, &format!("VM `{}`", vm.name.value), out);
            }
        }
    }
}

fn report<V>(entry: &Egress<V>, scope: &str, out: &mut Diagnostics) {
    out.push(
        Diagnostic::new(
            Code::ShadowedEgress,
            format!("{scope}'s entry for {} can never win", entry.to.value),
            entry.to.span.clone(),
            "other entries win every address in it",
        )
        .help(
            "for every VM it applies to, a longer entry (or, at equal length, the VM's own) \
             matches each of its addresses; remove it or narrow the others",
        ),
    );
}
