//! SY0501: one scope (a VM, or a project) names each destination prefix with one
//! `via` (or one list of them) only; two would leave the decision to file order.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Egress, Model};

use super::lookup::FastMap;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for project in &model.projects {
        let scope = || format!("project `{}`", project.name.value);
        check_scope(&project.egress, scope, out);
    }
    for vm in &model.vms {
        check_scope(&vm.egress, || format!("VM `{}`", vm.name.value), out);
    }
}

/// `scope` names the VM or project only when its entries conflict: most of
/// 100k never do.
fn check_scope<V: PartialEq>(
    entries: &[Egress<V>],
    scope: impl Fn() -> String,
    out: &mut Diagnostics,
) {
    let mut seen: FastMap<_, &Egress<V>> = FastMap::default();
    for entry in entries {
        match seen.get(&entry.to.value) {
            Some(first) if !same_vias(first, entry) => out.push(
                Diagnostic::new(
                    Code::ConflictingEgress,
                    format!("{} sends {} two different ways", scope(), entry.to.value),
                    entry.to.span.clone(),
                    "second entry for this prefix",
                )
                .also(first.to.span.clone(), "first entry")
                .help("keep one entry per prefix; to send part of it another way, add a longer prefix"),
            ),
            Some(_) => {}
            None => {
                seen.insert(entry.to.value, entry);
            }
        }
    }
}

/// The same pools or addresses in the same order.
fn same_vias<V: PartialEq>(a: &Egress<V>, b: &Egress<V>) -> bool {
    a.via
        .iter()
        .map(|v| &v.value)
        .eq(b.via.iter().map(|v| &v.value))
}
