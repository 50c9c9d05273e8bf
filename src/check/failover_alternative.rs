//! SY0905 (warning, with `[failover]`): a VM that has addresses on more than one
//! uplink, but one of whose decisions has candidates on only one of them. When
//! that uplink dies, the decision has nowhere to go although the VM could have
//! (docs/semantics.md §10). Reported once per cause — the entry or default list
//! where the decision is written — with the number of VMs it strands (each VM at
//! its first such decision): a project-wide default would otherwise repeat it
//! for every VM of the project.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::model::{Egress, Model, Spanned, UplinkId, Via, Vm, VmId};

/// The VMs one written decision strands on one uplink, and the other uplinks
/// they have addresses on.
#[derive(Default)]
struct Stranded {
    vms: Vec<VmId>,
    others: BTreeSet<UplinkId>,
}

pub fn check(model: &Model, out: &mut Diagnostics) {
    if model.failover.is_none() {
        return;
    }
    // By where the decision is written (start, end) and its one uplink.
    let mut causes: BTreeMap<(usize, usize, UplinkId), Stranded> = BTreeMap::new();
    for (index, vm) in model.vms.iter().enumerate() {
        let owned: BTreeSet<UplinkId> = vm
            .public
            .iter()
            .filter_map(|p| model.pool(model.pool_of(p.value)?).uplink)
            .collect();
        if owned.len() < 2 {
            continue;
        }
        // A VM counts once, at its first such decision (the default before its
        // entries): fixing that list is what the operator is asked to do first.
        let first = decisions(model, vm).find_map(|(uplinks, span)| {
            match uplinks.iter().collect::<Vec<_>>()[..] {
                [only] => Some((span, *only)),
                _ => None,
            }
        });
        if let Some((span, uplink)) = first {
            let cause = causes.entry((span.start, span.end, uplink)).or_default();
            cause.vms.push(VmId(index));
            cause.others.extend(owned.iter().filter(|u| **u != uplink));
        }
    }
    for ((start, end, uplink), stranded) in causes {
        out.push(report(model, start..end, uplink, &stranded));
    }
}

fn report(model: &Model, span: Span, uplink: UplinkId, stranded: &Stranded) -> Diagnostic {
    let first = model.vm(stranded.vms[0]);
    let uplink = &model.uplink(uplink).name.value;
    let others: Vec<String> = stranded
        .others
        .iter()
        .map(|u| format!("`{}`", model.uplink(*u).name.value))
        .collect();
    let (who, label, they, whose) = match stranded.vms.len() {
        1 => (
            format!("VM `{}`", first.name.value),
            "this VM",
            "the VM also has",
            "the VM's",
        ),
        n => (
            format!("{n} VMs (`{}`, …)", first.name.value),
            "the first of them",
            "these VMs also have",
            "their",
        ),
    };
    Diagnostic::new(
        Code::NoFailoverAlternative,
        format!("{who} cannot fail over here: every candidate leaves by uplink `{uplink}`"),
        span,
        "no candidate on another uplink",
    )
    .also(first.name.span.clone(), label)
    .help(format!(
        "{they} addresses on {}: list one of those pools in this `via` or in {whose} `default`",
        others.join(", ")
    ))
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
