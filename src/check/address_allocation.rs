//! SY0301, SY0303, SY0304, SY0305, SY1004: every project address is a usable
//! address of exactly one pool and allocated once (found in the shared
//! address index, where equal addresses are neighbours). Per family: an IPv4 pool's
//! network and broadcast addresses are no host's (SY0304), nor is an IPv6
//! pool's subnet-router anycast address (SY1004).

use std::net::IpAddr;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, listing};
use crate::family::{V4, V6};
use crate::model::{Model, PoolId, Spanned};

use super::family::{self, Rules};
use super::lookup::{AddressIndex, AddressMap, FamilyIndex};

pub fn check(model: &Model, index: &AddressIndex, out: &mut Diagnostics) {
    // The first entry of each reserved address, looked up per allocated address.
    let mut reserved = AddressMap::default();
    for (i, pool) in model.pools.iter().enumerate() {
        for address in &pool.reserved {
            reserved.insert_if_absent(PoolId(i), address.value, address);
        }
    }
    let [v4, v6] = &index.families;
    allocated_twice(model, v4, out);
    allocated_twice(model, v6, out);
    check_family::<V4>(model, &reserved, out);
    check_family::<V6>(model, &reserved, out);
}

/// SY0305: an address allocated twice, in one project or two; with more, each
/// allocation after the first is told of the one before it.
fn allocated_twice(model: &Model, family: &FamilyIndex, out: &mut Diagnostics) {
    for holders in family.allocations.chunk_by(|a, b| a.address == b.address) {
        for pair in holders.windows(2) {
            let [(first_project, first), (name, allocated)] = [pair[0], pair[1]].map(|holder| {
                let project = &model.projects[holder.owner];
                (&project.name.value, &project.addresses[holder.slot])
            });
            let value = allocated.value;
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
                    allocated.span.clone(),
                    "allocated again",
                )
                .also(first.span.clone(), "first allocated here")
                .help(help),
            );
        }
    }
}

fn check_family<F: Rules>(
    model: &Model,
    reserved: &AddressMap<PoolId, &Spanned<IpAddr>>,
    out: &mut Diagnostics,
) {
    for project in &model.projects {
        let name = &project.name.value;
        for allocated in &project.addresses {
            let (value, span) = (allocated.value, &allocated.span);
            let Some(address) = F::of_ip(value) else {
                continue;
            };
            let Some(pool_id) = model.pool_of::<F>(address) else {
                let pools = listing(model.pools.iter().filter_map(|p| {
                    let prefix = p.prefix::<F>()?;
                    Some(format!("`{}` {prefix}", p.name.value))
                }));
                let pools = if pools.is_empty() {
                    format!("no pool has an {} prefix", F::NAME)
                } else {
                    format!("pools: {pools}")
                };
                out.push(
                    Diagnostic::new(
                        Code::AddressOutsidePools,
                        format!("{value} (project `{name}`) lies outside every pool"),
                        span.clone(),
                        "in no pool",
                    )
                    .help(format!(
                        "is {value} the address you meant? No pool holds it ({pools}). Only if \
                         it is yours to hand out, add a pool that holds it"
                    )),
                );
                continue;
            };
            let pool = model.pool(pool_id);
            if let Some(reserved) = reserved.get(pool_id, value) {
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
            let Some(prefix) = pool.prefix::<F>() else {
                continue;
            };
            if let Some(which) = family::edge::<F>(prefix, address) {
                let (first, last) = family::usable::<F>(prefix);
                out.push(
                    Diagnostic::new(
                        F::UNUSABLE_IN_POOL,
                        format!(
                            "{value} is the {which} address of pool `{}` ({prefix})",
                            pool.name.value
                        ),
                        span.clone(),
                        format!("{which} address"),
                    )
                    .help(format!(
                        "is {value} the address you meant? The usable addresses of `{}` are \
                         {first} to {last}",
                        pool.name.value,
                    )),
                );
            }
        }
    }
}
