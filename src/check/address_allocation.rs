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
        for address in &project.addresses {
            if let Some((first_project, first_span)) =
                owners.insert(address.value, (&project.name.value, address.span.clone()))
            {
                let message = if *first_project == project.name.value {
                    format!(
                        "{} is listed twice in project `{}`",
                        address.value, project.name.value
                    )
                } else {
                    format!(
                        "{} is allocated to projects `{}` and `{}`",
                        address.value, first_project, project.name.value
                    )
                };
                out.push(
                    Diagnostic::new(
                        Code::AddressAllocatedTwice,
                        message,
                        address.span.clone(),
                        "allocated again",
                    )
                    .also(first_span, "first allocated here"),
                );
            }
            let Some(pool) = model.pool_of(address.value) else {
                out.push(
                    Diagnostic::new(
                        Code::AddressOutsidePools,
                        format!(
                            "{} (project `{}`) lies outside every pool",
                            address.value, project.name.value
                        ),
                        address.span.clone(),
                        "in no pool",
                    )
                    .help("public addresses must come from one of the [pools]"),
                );
                continue;
            };
            let pool_id = pool;
            let pool = model.pool(pool);
            if let Some(reserved) = reserved.get(&(pool_id, address.value)) {
                out.push(
                    Diagnostic::new(
                        Code::AddressReserved,
                        format!(
                            "{} is reserved in pool `{}`",
                            address.value, pool.name.value
                        ),
                        address.span.clone(),
                        "reserved address",
                    )
                    .also(reserved.span.clone(), "reserved here"),
                );
            }
            let prefix = pool.prefix.value;
            if prefix.prefix_len() < 31
                && (address.value == prefix.network() || address.value == prefix.broadcast())
            {
                let which = if address.value == prefix.network() {
                    "network"
                } else {
                    "broadcast"
                };
                out.push(Diagnostic::new(
                    Code::AddressNotUsable,
                    format!(
                        "{} is the {which} address of pool `{}` ({prefix})",
                        address.value, pool.name.value
                    ),
                    address.span.clone(),
                    format!("{which} address"),
                ));
            }
        }
    }
}
