//! SY0601, SY0602, SY0603: private addresses are unique per host, inside the
//! project's networks when it declares any, and never inside a public pool.

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::intervals::{self, Range};
use crate::model::Model;

/// A help text lists this many of a project's networks.
const SHOWN_NETWORKS: usize = 8;

pub fn check(model: &Model, out: &mut Diagnostics) {
    // Per project, its networks as sorted disjoint ranges: a lookup is a binary
    // search, however many networks a project lists.
    let networks: Vec<Vec<Range>> = model
        .projects
        .iter()
        .map(|p| intervals::merge(p.networks.iter().map(|n| Range::of(n)).collect()))
        .collect();
    let mut on_host = HashMap::new();
    for vm in &model.vms {
        if let Some(first) = on_host.insert((vm.host, vm.address.value), vm) {
            out.push(
                Diagnostic::new(
                    Code::DuplicatePrivateAddress,
                    format!(
                        "VMs `{}` and `{}` share {} on host `{}`",
                        first.name.value,
                        vm.name.value,
                        vm.address.value,
                        model.host(vm.host).name.value
                    ),
                    vm.address.span.clone(),
                    "duplicate private address",
                )
                .also(first.address.span.clone(), "first used here"),
            );
        }
        let project = model.project(vm.project);
        if !project.networks.is_empty()
            && !intervals::any_contains(&networks[vm.project.0], vm.address.value)
        {
            let mut networks: Vec<String> = project
                .networks
                .iter()
                .take(SHOWN_NETWORKS)
                .map(|n| n.value.to_string())
                .collect();
            if project.networks.len() > SHOWN_NETWORKS {
                networks.push(format!("… ({} in all)", project.networks.len()));
            }
            out.push(
                Diagnostic::new(
                    Code::AddressOutsideNetworks,
                    format!(
                        "VM `{}` address {} is outside project `{}`'s networks",
                        vm.name.value, vm.address.value, project.name.value
                    ),
                    vm.address.span.clone(),
                    "outside the project's networks",
                )
                .help(format!("project networks: {}", networks.join(", "))),
            );
        }
        if let Some(pool) = model.pool_of(vm.address.value) {
            out.push(inside_pool(
                model,
                pool,
                vm.address.span.clone(),
                format!(
                    "VM `{}` private address {}",
                    vm.name.value, vm.address.value
                ),
            ));
        }
    }
    for project in &model.projects {
        for network in &project.networks {
            if let Some(pool) = model
                .pools
                .iter()
                .position(|p| intervals::prefixes_overlap(&p.prefix, network))
            {
                let what = format!("project `{}` network {}", project.name.value, network.value);
                out.push(inside_pool(
                    model,
                    crate::model::PoolId(pool),
                    network.span.clone(),
                    what,
                ));
            }
        }
    }
}

fn inside_pool(
    model: &Model,
    pool: crate::model::PoolId,
    span: crate::diagnostic::Span,
    what: String,
) -> Diagnostic {
    let pool = model.pool(pool);
    Diagnostic::new(
        Code::PrivateInsidePool,
        format!(
            "{what} lies inside public pool `{}` ({})",
            pool.name.value, pool.prefix.value
        ),
        span,
        "inside a public pool",
    )
    .also(pool.prefix.span.clone(), "the pool")
}
