//! SY0601, SY0602, SY0603: private addresses are unique per host, inside the
//! project's networks of their family when it declares any, and never inside a
//! public pool. Per family.

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::family::{Family, V4, V6};
use crate::intervals::{self, Range};
use crate::model::{Model, Pool, Spanned};

use super::family::{prefix, private};
use super::lookup::fast_map;

/// A help text lists this many of a project's networks.
const SHOWN_NETWORKS: usize = 8;

pub fn check(model: &Model, out: &mut Diagnostics) {
    check_family::<V4>(model, out);
    check_family::<V6>(model, out);
}

fn check_family<F: Family>(model: &Model, out: &mut Diagnostics) {
    // Per project, its networks as sorted disjoint ranges: a lookup is a binary
    // search, however many networks a project lists.
    let networks: Vec<Vec<Range<F>>> = model
        .projects
        .iter()
        .map(|p| intervals::merge(p.networks_of::<F>().map(|n| Range::of(&n.value)).collect()))
        .collect();
    let mut on_host = fast_map(model.vms.len());
    for vm in &model.vms {
        let Some(address) = private::<F>(vm) else {
            continue;
        };
        if let Some(first) = on_host.insert((vm.host, F::bits(address.value)), (vm, address)) {
            out.push(
                Diagnostic::new(
                    Code::DuplicatePrivateAddress,
                    format!(
                        "VMs `{}` and `{}` share {} on host `{}`",
                        first.0.name.value,
                        vm.name.value,
                        address.value,
                        model.host(vm.host).name.value
                    ),
                    address.span.clone(),
                    "duplicate private address",
                )
                .also(first.1.span.clone(), "first used here"),
            );
        }
        let project = model.project(vm.project);
        let project_networks = &networks[vm.project.0];
        if !project_networks.is_empty() && !intervals::any_contains(project_networks, address.value)
        {
            let mut shown: Vec<String> = project
                .networks_of::<F>()
                .take(SHOWN_NETWORKS)
                .map(|n| n.value.to_string())
                .collect();
            let count = project.networks_of::<F>().count();
            if count > SHOWN_NETWORKS {
                shown.push(format!("… ({count} in all)"));
            }
            out.push(
                Diagnostic::new(
                    Code::AddressOutsideNetworks,
                    format!(
                        "VM `{}` address {} is outside project `{}`'s networks",
                        vm.name.value, address.value, project.name.value
                    ),
                    address.span.clone(),
                    "outside the project's networks",
                )
                .help(format!("project networks: {}", shown.join(", "))),
            );
        }
        let pool = model.pool_of::<F>(address.value).map(|p| model.pool(p));
        if let Some((pool, prefix)) = pool.and_then(|p| Some((p, prefix::<F>(p)?))) {
            out.push(inside_pool::<F>(
                pool,
                prefix,
                address.span.clone(),
                format!("VM `{}` private address {}", vm.name.value, address.value),
            ));
        }
    }
    for project in &model.projects {
        for network in project.networks_of::<F>() {
            let overlapped = model.pools.iter().find_map(|pool| {
                let prefix = prefix::<F>(pool)?;
                intervals::prefixes_overlap::<F>(&prefix.value, &network).then_some((pool, prefix))
            });
            if let Some((pool, prefix)) = overlapped {
                let what = format!("project `{}` network {}", project.name.value, network.value);
                out.push(inside_pool::<F>(pool, prefix, network.span, what));
            }
        }
    }
}

fn inside_pool<F: Family>(
    pool: &Pool,
    prefix: &Spanned<F::Net>,
    span: Span,
    what: String,
) -> Diagnostic {
    Diagnostic::new(
        Code::PrivateInsidePool,
        format!(
            "{what} lies inside public pool `{}` ({})",
            pool.name.value, prefix.value
        ),
        span,
        "inside a public pool",
    )
    .also(prefix.span.clone(), "the pool")
}
