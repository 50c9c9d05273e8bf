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
    let public_count = model.vms.iter().map(|vm| vm.public.len()).sum();
    let mut users = HashMap::with_capacity(public_count);
    // Reused for every VM: a VM has a few public addresses, and a map of its
    // own would be one more allocation per VM.
    let mut pools_seen = Vec::new();
    for vm in &model.vms {
        let project = &model.project(vm.project).name.value;
        let name = &vm.name.value;
        pools_seen.clear();
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
            let Some(pool) = model.pool_of(public.value) else {
                continue;
            };
            // As a map's insert would: the newest address replaces the earlier one.
            let earlier = match pools_seen.iter_mut().find(|(seen, _)| *seen == pool) {
                Some((_, span)) => Some(std::mem::replace(span, public.span.clone())),
                None => {
                    pools_seen.push((pool, public.span.clone()));
                    None
                }
            };
            if let Some(first) = earlier {
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
