//! SY0301, SY0303, SY0304, SY0305: every project address is a usable address of
//! exactly one pool and allocated once.

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Model, PoolId};

pub fn check(model: &Model, out: &mut Diagnostics) {
    let mut owners = HashMap::new();
    // The first entry of each reserved address, looked up per allocated address.
    let mut reserved = HashMap::new();
    for (i, pool) in model.pools.iter().enumerate() {
        for address in &pool.reserved {
            reserved
                .entry((PoolId(i), address.value))
                .or_insert(address);
        }
    }
    for project in &model.projects {
        let name = &project.name.value;
        for address in &project.addresses {
            let (value, span) = (address.value, &address.span);
            if let Some((first_project, first_span)) = owners.insert(value, (name, span.clone())) {
                let message = if first_project == name {
                    format!("{value} is listed twice in project `{name}`")
                } else {
                    format!("{value} is allocated to projects `{first_project}` and `{name}`")
                };
                out.push(
                    Diagnostic::new(
                        Code::AddressAllocatedTwice,
                        message,
                        span.clone(),
                        "allocated again",
                    )
                    .also(first_span, "first allocated here"),
                );
            }
            let Some(pool) = model.pool_of(value) else {
                out.push(
                    Diagnostic::new(
                        Code::AddressOutsidePools,
                        format!("{value} (project `{name}`) lies outside every pool"),
                        span.clone(),
                        "in no pool",
                    )
                    .help("public addresses must come from one of the [pools]"),
                );
                continue;
            };
            let pool_id = pool;
            let pool = model.pool(pool);
            if let Some(reserved) = reserved.get(&(pool_id, value)) {
                out.push(
                    Diagnostic::new(
                        Code::AddressReserved,
                        format!("{value} is reserved in pool `{}`", pool.name.value),
                        span.clone(),
                        "reserved address",
                    )
                    .also(reserved.span.clone(), "reserved here"),
                );
            }
            let prefix = pool.prefix.value;
            if prefix.prefix_len() < 31
                && (value == prefix.network() || value == prefix.broadcast())
            {
                let which = if value == prefix.network() {
                    "network"
                } else {
                    "broadcast"
                };
                out.push(Diagnostic::new(
                    Code::AddressNotUsable,
                    format!(
                        "{value} is the {which} address of pool `{}` ({prefix})",
                        pool.name.value
                    ),
                    span.clone(),
                    format!("{which} address"),
                ));
            }
        }
    }
}
