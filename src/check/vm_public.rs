//! SY0401, SY0402, SY0403: a VM's public addresses are allocated to its project,
//! used by no other VM, and at most one per pool.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Model, ProjectId};

pub fn check(model: &Model, out: &mut Diagnostics) {
    // (project, address) for every allocation: one lookup per public address
    // instead of a scan of the project's addresses (hundreds in large projects).
    let allocated: HashSet<(ProjectId, std::net::Ipv4Addr)> = (model.projects.iter())
        .enumerate()
        .flat_map(|(i, p)| p.addresses.iter().map(move |a| (ProjectId(i), a.value)))
        .collect();
    let mut users = HashMap::new();
    for vm in &model.vms {
        let project = &model.project(vm.project).name.value;
        let name = &vm.name.value;
        let mut pools_seen = HashMap::new();
        for public in &vm.public {
            let address = public.value;
            if !allocated.contains(&(vm.project, address)) {
                out.push(
                    Diagnostic::new(
                        Code::PublicNotAllocated,
                        format!(
                            "VM `{name}` uses {address}, which is not allocated to project `{project}`"
                        ),
                        public.span.clone(),
                        "not in the project's addresses",
                    )
                    .help(format!("add it to projects.{project}.addresses")),
                );
            }
            if let Some((other, span)) = users.insert(address, (name, public.span.clone())) {
                out.push(
                    Diagnostic::new(
                        Code::PublicUsedTwice,
                        format!("{address} is used by VMs `{other}` and `{name}`"),
                        public.span.clone(),
                        "used again",
                    )
                    .also(span, "first used here"),
                );
            }
            if let Some(pool) = model.pool_of(public.value)
                && let Some(first) = pools_seen.insert(pool, public.span.clone())
            {
                out.push(
                    Diagnostic::new(
                        Code::SamePoolTwice,
                        format!(
                            "VM `{name}` has two addresses from pool `{}`",
                            model.pool(pool).name.value
                        ),
                        public.span.clone(),
                        "second address from this pool",
                    )
                    .also(first, "first address from this pool")
                    .help("a VM has at most one public address per pool"),
                );
            }
        }
    }
}
