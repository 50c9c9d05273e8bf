//! SY0905 (warning, with `[failover]`): a VM that has addresses on more than one
//! uplink, but one of whose decisions has candidates on only one of them. When
//! that uplink dies, the decision has nowhere to go although the VM could have
//! (docs/semantics.md §10).

use std::collections::BTreeSet;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::model::{Egress, Model, Spanned, UplinkId, Via, Vm};

pub fn check(model: &Model, out: &mut Diagnostics) {
    if model.failover.is_none() {
        return;
    }
    for vm in &model.vms {
        let owned: BTreeSet<UplinkId> = vm
            .public
            .iter()
            .filter_map(|p| model.pool(model.pool_of(p.value)?).uplink)
            .collect();
        if owned.len() < 2 {
            continue;
        }
        // One warning per VM, at its first such decision: a project-wide entry
        // would otherwise repeat it for every entry.
        if let Some((span, uplink)) = decisions(model, vm).find_map(|(uplinks, span)| match uplinks
            .iter()
            .collect::<Vec<_>>()[..]
        {
            [only] => Some((span, *only)),
            _ => None,
        }) {
            let others: Vec<String> = owned
                .iter()
                .filter(|u| **u != uplink)
                .map(|u| format!("`{}`", model.uplink(*u).name.value))
                .collect();
            out.push(
                Diagnostic::new(
                    Code::NoFailoverAlternative,
                    format!(
                        "VM `{}` cannot fail over here: every candidate leaves by uplink `{}`",
                        vm.name.value,
                        model.uplink(uplink).name.value
                    ),
                    span,
                    "no candidate on another uplink",
                )
                .also(vm.name.span.clone(), "this VM")
                .help(format!(
                    "the VM also has addresses on {}: list one of those pools in this `via` or \
                     in the VM's `default`",
                    others.join(", ")
                )),
            );
        }
    }
}

/// Every decision the VM can make, as the uplinks of its candidates and where
/// it is written: the default, its own entries, and the project's entries that
/// apply to it.
fn decisions<'m>(
    model: &'m Model,
    vm: &'m Vm,
) -> impl Iterator<Item = (BTreeSet<UplinkId>, Span)> + 'm {
    let project = model.project(vm.project);
    let default_span = vm
        .default
        .first()
        .map(|d| d.span.clone())
        .or_else(|| project.default.first().map(|d| d.span.clone()));
    let default = default_span.map(|span| (candidate_uplinks::<Via>(model, vm, &[]), span));
    default
        .into_iter()
        .chain(entry_decisions(model, vm, &vm.egress))
        .chain(entry_decisions(model, vm, &project.egress))
}

/// The decisions of those of `entries` that apply to the VM.
fn entry_decisions<'m, V: Copy + Into<Via>>(
    model: &'m Model,
    vm: &'m Vm,
    entries: &'m [Egress<V>],
) -> impl Iterator<Item = (BTreeSet<UplinkId>, Span)> + 'm {
    entries
        .iter()
        .filter(|entry| model.applies(vm, &entry.via))
        .map(|entry| {
            (
                candidate_uplinks(model, vm, &entry.via),
                entry.to.span.clone(),
            )
        })
}

/// The uplinks of a decision's candidates (an entry's, or none for the default).
fn candidate_uplinks<V: Copy + Into<Via>>(
    model: &Model,
    vm: &Vm,
    vias: &[Spanned<V>],
) -> BTreeSet<UplinkId> {
    model
        .candidates(vm, vias)
        .filter_map(|pool| model.pool(pool).uplink)
        .collect()
}
