//! SY0901 (warning): a VM with public addresses but no default (its own or its
//! project's) sends unmatched traffic un-NATed (docs/semantics.md §2 rule 5).
//! A project default applies when the VM has an address of either family in
//! one of its pools.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for vm in &model.vms {
        let project = model.project(vm.project);
        let project_default_applies = project
            .default
            .iter()
            .any(|d| (vm.public.iter()).any(|p| model.pool_of_ip(p.value) == Some(d.value)));
        if !vm.public.is_empty() && vm.default.is_empty() && !project_default_applies {
            out.push(
                Diagnostic::new(
                    Code::NoDefault,
                    format!("VM `{}` has public addresses but no default egress", vm.name.value),
                    vm.name.span.clone(),
                    "no default",
                )
                .help("traffic matching no egress entry leaves un-NATed; set `default` on the VM or its project"),
            );
        }
    }
}
