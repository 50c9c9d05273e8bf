//! SY0302: a project only touches pools its `pools` list allows: its addresses, its
//! default, its egress preferences and its quota.

use std::net::IpAddr;

use crate::diagnostic::listing;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Model, PoolId, Project};

use super::family::prefixes;
use super::lookup::FastSet;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for project in &model.projects {
        // A set: the list may repeat a pool any number of times.
        let allowed: FastSet<PoolId> = project.pools.iter().map(|p| p.value).collect();
        // The pool, where and how it is used, and the address that uses it.
        let addresses = project.addresses.iter().filter_map(|a| {
            let pool = model.pool_of_ip(a.value)?;
            Some((pool, &a.span, "address", Some(a.value)))
        });
        let default = (project.default.iter()).map(|d| (d.value, &d.span, "default", None));
        let egress = (project.egress.iter())
            .flat_map(|e| &e.via)
            .map(|pool| (pool.value, &pool.span, "egress via", None));
        let quota = (project.quota.iter()).map(|(pool, _)| (pool.value, &pool.span, "quota", None));
        let uses = addresses.chain(default).chain(egress).chain(quota);
        for (pool, span, what, address) in uses {
            if !allowed.contains(&pool) {
                let name = &model.pool(pool).name.value;
                out.push(
                    Diagnostic::new(
                        Code::PoolNotAllowed,
                        format!(
                            "project `{}` may not use pool `{name}` ({what})",
                            project.name.value
                        ),
                        span.clone(),
                        format!("pool `{name}` is not in the project's ACL"),
                    )
                    .help(not_allowed_help(model, project, name, address)),
                );
            }
        }
    }
}

/// The likelier mistake first: the address or pool named, then adding the pool
/// to the project's `pools`, which widens the tenant's ACL.
fn not_allowed_help(
    model: &Model,
    project: &Project,
    pool: &str,
    address: Option<IpAddr>,
) -> String {
    let name = &project.name.value;
    let question = match address {
        Some(address) => format!("is {address} the address you meant?"),
        None => format!("is `{pool}` the pool you meant?"),
    };
    let allowed = if project.pools.is_empty() {
        "no pool".to_owned()
    } else {
        listing(project.pools.iter().map(|p| {
            let allowed = model.pool(p.value);
            format!("`{}` ({})", allowed.name.value, prefixes(allowed))
        }))
    };
    format!(
        "{question} Project `{name}` may use {allowed}. Only if `{name}` is to use pool \
         `{pool}`, add \"{pool}\" to projects.{name}.pools: that widens its ACL"
    )
}
