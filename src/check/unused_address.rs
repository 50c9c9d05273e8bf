//! SY0902 (warning): an address allocated to a project that no VM uses.

use std::collections::HashSet;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    let used: HashSet<_> = model
        .vms
        .iter()
        .flat_map(|vm| vm.public.iter().map(|p| p.value))
        .collect();
    for project in &model.projects {
        let name = &project.name.value;
        for address in project
            .addresses
            .iter()
            .filter(|a| !used.contains(&a.value))
        {
            let value = address.value;
            out.push(
                Diagnostic::new(
                    Code::UnusedAddress,
                    format!("{value} is allocated to project `{name}` but no VM uses it"),
                    address.span.clone(),
                    "unused",
                )
                .help("add it to a VM's `public`, or release it from the project's `addresses`"),
            );
        }
    }
}
