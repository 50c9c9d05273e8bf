//! SY0905 (warning, with `[failover]`): a VM that has addresses on more than one
//! uplink, but one of whose decisions has candidates on only one of them. When
//! that uplink dies, the decision has nowhere to go although the VM could have
//! (docs/semantics.md §10). The plan's decisions are asked, as SY0903 asks them:
//! an entry that decides nothing for a VM (overridden by the VM's own, say)
//! strands nothing. Reported once per cause — the entry or default list where
//! the decision is written — with the number of VMs it strands (each VM at its
//! first such decision): a project-wide default would otherwise repeat it for
//! every VM of the project. Per family: a decision falls back only to
//! candidates of its packets' family, so the uplinks a VM could use are those
//! it has addresses of that family on; a cause stranding VMs in both families
//! is reported once.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::family::{Family, V4, V6};
use crate::model::{EntryId, Model, Scope, UplinkId, VmId};
use crate::plan::{Plan, VmPlan};

/// The VMs one written decision strands on one uplink, and the other uplinks
/// they have addresses on.
#[derive(Default)]
struct Stranded {
    vms: Vec<VmId>,
    others: BTreeSet<UplinkId>,
}

pub fn check(model: &Model, plan: &Plan, out: &mut Diagnostics) {
    if model.failover.is_none() {
        return;
    }
    let mut causes: BTreeMap<(EntryId, UplinkId), Stranded> = BTreeMap::new();
    find_stranded::<V4>(plan, &mut causes);
    find_stranded::<V6>(plan, &mut causes);
    for ((entry, uplink), mut stranded) in causes {
        stranded.vms.sort_unstable();
        stranded.vms.dedup();
        let span = model.entry_span(entry).clone();
        out.push(report(model, span, uplink, &stranded));
    }
}

/// Adds to `causes` every VM of family `F` one of whose decisions is stranded.
fn find_stranded<F: Family>(plan: &Plan, causes: &mut BTreeMap<(EntryId, UplinkId), Stranded>) {
    let vms = plan.hosts.iter().flat_map(|host| &host.family::<F>().vms);
    for vm in vms {
        let owned: BTreeSet<UplinkId> = vm.public.iter().map(|p| p.uplink).collect();
        if owned.len() < 2 {
            continue;
        }
        if let Some((entry, uplink)) = first_stranded(vm) {
            let cause = causes.entry((entry, uplink)).or_default();
            cause.vms.push(vm.vm);
            cause.others.extend(owned.iter().filter(|u| **u != uplink));
        }
    }
}

/// The VM's first decision whose candidates all leave by one uplink, with that
/// uplink. A VM counts once: at its default, else its own entries, else its
/// project's, each in file order — fixing that list is what the operator is
/// asked to do first.
fn first_stranded<F: Family>(vm: &VmPlan<F>) -> Option<(EntryId, UplinkId)> {
    vm.decisions()
        .filter_map(|decision| {
            let mut uplinks = decision.candidates().map(|c| c.uplink);
            let only = uplinks.next()?;
            uplinks
                .all(|u| u == only)
                .then_some((decision.decided_by, only))
        })
        .min_by_key(|(entry, _)| (!entry.is_default(), entry.scope() == Scope::Project, *entry))
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
