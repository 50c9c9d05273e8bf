//! SY0306: a project holds at most `quota[pool]` addresses of that pool, counted
//! per family: a quota of 4 allows four IPv4 and four IPv6 addresses.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::{Family, V4, V6};
use crate::model::{Model, PoolId, Spanned};

use super::family::qualifier;
use super::lookup::FastMap;

pub fn check(model: &Model, out: &mut Diagnostics) {
    check_family::<V4>(model, out);
    check_family::<V6>(model, out);
}

fn check_family<F: Family>(model: &Model, out: &mut Diagnostics) {
    for project in &model.projects {
        if project.quota.is_empty() {
            continue;
        }
        // One pass over the addresses, not one per quota entry.
        let mut by_pool: FastMap<PoolId, Vec<&Spanned<_>>> = FastMap::default();
        for address in &project.addresses {
            if let Some(pool) = F::of_ip(address.value).and_then(|a| model.pool_of::<F>(a)) {
                by_pool.entry(pool).or_default().push(address);
            }
        }
        for (pool, limit) in &project.quota {
            let held = by_pool.get(&pool.value).map_or(&[][..], Vec::as_slice);
            if held.len() > limit.value as usize {
                let first_over = held[limit.value as usize];
                let name = &model.pool(pool.value).name.value;
                out.push(
                    Diagnostic::new(
                        Code::OverQuota,
                        format!(
                            "project `{}` holds {} {}addresses of pool `{name}`, over its quota of {}",
                            project.name.value,
                            held.len(),
                            qualifier(model.pool(pool.value), F::NAME),
                            limit.value
                        ),
                        first_over.span.clone(),
                        "over quota from here",
                    )
                    .also(limit.span.clone(), "quota set here")
                    .help(format!(
                        "are all of these addresses meant for `{0}`? Release those it does not \
                         need from projects.{0}.addresses. Only if it is to hold more, raise \
                         projects.{0}.quota.{name}",
                        project.name.value,
                    )),
                );
            }
        }
    }
}
