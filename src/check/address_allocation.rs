//! SY0301, SY0303, SY0304, SY0305: every project address is a usable address of
//! exactly one pool and allocated once.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, listing};
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
                let (message, help) = if first_project == name {
                    (
                        format!("{value} is listed twice in project `{name}`"),
                        format!(
                            "is {value} the address you meant here? It is in \
                             projects.{name}.addresses already: remove one of the two"
                        ),
                    )
                } else {
                    (
                        format!("{value} is allocated to projects `{first_project}` and `{name}`"),
                        format!(
                            "is {value} the address you meant for `{name}`? An address belongs \
                             to one project. Only if `{first_project}` no longer uses it, \
                             release it from projects.{first_project}.addresses"
                        ),
                    )
                };
                out.push(
                    Diagnostic::new(
                        Code::AddressAllocatedTwice,
                        message,
                        span.clone(),
                        "allocated again",
                    )
                    .also(first_span, "first allocated here")
                    .help(help),
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
                    .help(format!(
                        "is {value} the address you meant? No pool holds it (pools: {}). Only if \
                         it is yours to hand out, add a pool that holds it",
                        listing(
                            model
                                .pools
                                .iter()
                                .map(|p| format!("`{}` {}", p.name.value, p.prefix.value))
                        )
                    )),
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
                    .also(reserved.span.clone(), "reserved here")
                    .help(format!(
                        "is {value} the address you meant? Pool `{0}` keeps it out of \
                         allocation. Only if nothing uses it any more, remove it from \
                         pools.{0}.reserved",
                        pool.name.value
                    )),
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
                out.push(
                    Diagnostic::new(
                        Code::AddressNotUsable,
                        format!(
                            "{value} is the {which} address of pool `{}` ({prefix})",
                            pool.name.value
                        ),
                        span.clone(),
                        format!("{which} address"),
                    )
                    .help(format!(
                        "is {value} the address you meant? The usable addresses of `{}` are \
                         {} to {}",
                        pool.name.value,
                        Ipv4Addr::from(u32::from(prefix.network()) + 1),
                        Ipv4Addr::from(u32::from(prefix.broadcast()) - 1)
                    )),
                );
            }
        }
    }
}
