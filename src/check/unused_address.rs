//! SY0902 (warning): an address allocated to a project that no VM uses.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

use super::lookup::{AddressIndex, pair_by_address};

pub fn check(model: &Model, index: &AddressIndex, out: &mut Diagnostics) {
    // (project, place in its `addresses`) of each address no VM uses.
    let mut unused = Vec::new();
    for family in &index.families {
        pair_by_address(&family.publics, &family.allocations, |users, holders| {
            if users.is_empty() {
                unused.extend(holders.iter().map(|holder| (holder.owner, holder.slot)));
            }
        });
    }
    // In the order of the model, as the rule reads it.
    unused.sort_unstable();
    for (project, slot) in unused {
        let project = &model.projects[project];
        let name = &project.name.value;
        let address = &project.addresses[slot];
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
