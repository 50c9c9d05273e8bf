//! SY0401, SY0402, SY0403: a VM's public addresses are allocated to its project,
//! used by no other VM, and at most one per pool and family.

use std::net::IpAddr;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::Which;
use crate::model::{Model, ProjectId};

use super::family::qualifier;
use super::lookup::{AddressIndex, AddressMap, pair_by_address};
use super::{found, found_indexed};

pub fn check(model: &Model, index: &AddressIndex, out: &mut Diagnostics) {
    // At 100k VMs each of the three looks at half a million addresses: they
    // run side by side, each into its own list (the output is sorted later).
    let ((not_allocated, used_twice), same_pool_twice) = rayon::join(
        || {
            rayon::join(
                || found_indexed(model, index, not_allocated),
                || found_indexed(model, index, used_twice),
            )
        },
        || found(model, same_pool_twice),
    );
    out.append(not_allocated);
    out.append(used_twice);
    out.append(same_pool_twice);
}

/// SY0401: a VM's public address not allocated to its project.
fn not_allocated(model: &Model, index: &AddressIndex, out: &mut Diagnostics) {
    // (VM, place in its `public`) of each address its project does not hold.
    let mut strays = Vec::new();
    for family in &index.families {
        pair_by_address(&family.publics, &family.allocations, |users, holders| {
            strays.extend(
                (users.iter())
                    .filter(|user| {
                        let project = model.vms[user.owner].project.0;
                        !holders.iter().any(|holder| holder.owner == project)
                    })
                    .map(|user| (user.owner, user.slot)),
            );
        });
    }
    // In the order of the model, as the rule reads it.
    strays.sort_unstable();
    // Made for the first help that needs it.
    let mut allocations = None;
    for (vm, slot) in strays {
        let vm = &model.vms[vm];
        let public = &vm.public[slot];
        let address = public.value;
        let project = &model.project(vm.project).name.value;
        let name = &vm.name.value;
        out.push(
            Diagnostic::new(
                Code::PublicNotAllocated,
                format!(
                    "VM `{name}` uses {address}, which is not allocated to project `{project}`"
                ),
                public.span.clone(),
                "not in the project's addresses",
            )
            .help(
                allocations
                    .get_or_insert_with(|| Allocations::new(model))
                    .not_allocated_help(model, vm.project, address),
            ),
        );
    }
}

/// SY0402: a public address used by two VMs; with more, each VM after the
/// first is told of the one before it.
fn used_twice(model: &Model, index: &AddressIndex, out: &mut Diagnostics) {
    // (VM, place in its `public`) of each later user, then of the one before.
    let mut again = Vec::new();
    for family in &index.families {
        for users in family.publics.chunk_by(|a, b| a.address == b.address) {
            again.extend(
                (users.windows(2))
                    .map(|pair| ((pair[1].owner, pair[1].slot), (pair[0].owner, pair[0].slot))),
            );
        }
    }
    // In the order of the model, as the rule reads it.
    again.sort_unstable();
    for ((vm, slot), (other_vm, other_slot)) in again {
        let vm = &model.vms[vm];
        let name = &vm.name.value;
        let public = &vm.public[slot];
        let address = public.value;
        let other = &model.vms[other_vm];
        out.push(
            Diagnostic::used_again(
                Code::PublicUsedTwice,
                format!(
                    "{address} is used by VMs `{}` and `{name}`",
                    other.name.value
                ),
                public.span.clone(),
                other.public[other_slot].span.clone(),
            )
            .help(format!(
                "is {address} the address you meant for `{name}`? A public address \
                 serves one VM, and `{}` has it",
                other.name.value
            )),
        );
    }
}

/// SY0403: a VM with two public addresses of one family from one pool.
fn same_pool_twice(model: &Model, out: &mut Diagnostics) {
    // Reused for every VM: a VM has a few public addresses, and a map of its
    // own would be one more allocation per VM.
    let mut pools_seen = Vec::new();
    for vm in &model.vms {
        let name = &vm.name.value;
        pools_seen.clear();
        for public in &vm.public {
            let address = public.value;
            let Some(pool) = model.pool_of_ip(address) else {
                continue;
            };
            let family = Which::of(address);
            // As a map's insert would: the newest address replaces the earlier one.
            let earlier = match pools_seen
                .iter_mut()
                .find(|(seen, _)| *seen == (pool, family))
            {
                Some((_, span)) => Some(std::mem::replace(span, public.span.clone())),
                None => {
                    pools_seen.push(((pool, family), public.span.clone()));
                    None
                }
            };
            if let Some(first) = earlier {
                out.push(
                    Diagnostic::new(
                        Code::SamePoolTwice,
                        format!(
                            "VM `{name}` has two {}addresses from pool `{}`",
                            qualifier(model.pool(pool), family.name()),
                            model.pool(pool).name.value
                        ),
                        public.span.clone(),
                        "second address from this pool",
                    )
                    .also(first, "first address from this pool")
                    .help(format!(
                        "is {address} the address you meant? A VM has at most one public \
                         {}address per pool: keep one of the two",
                        qualifier(model.pool(pool), family.name())
                    )),
                );
            }
        }
    }
}

/// How many of a project's addresses on each side of a wrong one are looked at
/// for one no VM uses.
const NEARBY: usize = 16;

/// Who holds each address, for the help of a VM that uses one its project
/// does not hold.
struct Allocations {
    owners: AddressMap<(), ProjectId>,
    /// Each project's addresses, sorted.
    held: Vec<Vec<IpAddr>>,
    /// Every VM's public addresses.
    used: AddressMap<(), ()>,
}

impl Allocations {
    fn new(model: &Model) -> Self {
        let held: Vec<Vec<IpAddr>> = (model.projects.iter())
            .map(|project| {
                let mut held: Vec<IpAddr> = project.addresses.iter().map(|a| a.value).collect();
                held.sort_unstable();
                held
            })
            .collect();
        let owners = held
            .iter()
            .enumerate()
            .flat_map(|(i, held)| held.iter().map(move |&a| ((), a, ProjectId(i))))
            .collect();
        let used = (model.vms.iter())
            .flat_map(|vm| vm.public.iter().map(|p| ((), p.value, ())))
            .collect();
        Allocations { owners, held, used }
    }

    /// The likelier mistake first: the address (the project's nearest one in
    /// the same pool is named), then allocating it to the project, which widens
    /// what the tenant holds.
    fn not_allocated_help(&self, model: &Model, project: ProjectId, address: IpAddr) -> String {
        let name = &model.project(project).name.value;
        let held = &self.held[project.0];
        let after = held.partition_point(|a| *a < address);
        // A pool is a range of addresses: the project's nearest unused ones in
        // it are next to where `address` would be (a few are looked at).
        let pool = model.pool_of_ip(address);
        let nearby = |addresses: &mut dyn Iterator<Item = &IpAddr>| {
            addresses
                .take(NEARBY)
                .take_while(|a| model.pool_of_ip(**a) == pool)
                .find(|a| !self.used.contains((), **a))
                .copied()
        };
        let nearest = [
            nearby(&mut held[..after].iter().rev()),
            nearby(&mut held[after..].iter()),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|a| bits(*a).abs_diff(bits(address)));
        let question = match nearest {
            Some(nearest) => {
                format!("is {nearest} the address you meant? `{name}` holds it and no VM uses it")
            }
            None => format!(
                "is {address} the address you meant? `{name}` holds no unused address near it"
            ),
        };
        match self.owners.get((), address) {
            Some(owner) => {
                let owner = &model.project(*owner).name.value;
                format!(
                    "{question}; {address} is allocated to project `{owner}`. Only if it is to \
                     move to `{name}`, release it from projects.{owner}.addresses and add it to \
                     projects.{name}.addresses"
                )
            }
            None => format!(
                "{question}. Only if project `{name}` is to hold {address}, add it to \
                 projects.{name}.addresses"
            ),
        }
    }
}

/// An address as an integer; only addresses of one family are compared.
fn bits(address: IpAddr) -> u128 {
    match address {
        IpAddr::V4(a) => u32::from(a).into(),
        IpAddr::V6(a) => a.into(),
    }
}
