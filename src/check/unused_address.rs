//! SY0902 (warning): an address allocated to a project that no VM uses.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

use super::lookup::AddressMap;

pub fn check(model: &Model, out: &mut Diagnostics) {
    let public_count = model.vms.iter().map(|vm| vm.public.len()).sum();
    let mut used = AddressMap::with_capacity(public_count);
    for vm in &model.vms {
        for public in &vm.public {
            used.insert_if_absent((), public.value, ());
        }
    }
    for project in &model.projects {
        let name = &project.name.value;
        for address in project
            .addresses
            .iter()
            .filter(|a| !used.contains((), a.value))
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
