//! SY0306: a project holds at most `quota[pool]` addresses of that pool.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Model, PoolId, Spanned};

pub fn check(model: &Model, out: &mut Diagnostics) {
    for project in &model.projects {
        if project.quota.is_empty() {
            continue;
        }
        // One pass over the addresses, not one per quota entry.
        let mut by_pool: HashMap<PoolId, Vec<&Spanned<Ipv4Addr>>> = HashMap::new();
        for address in &project.addresses {
            if let Some(pool) = model.pool_of(address.value) {
                by_pool.entry(pool).or_default().push(address);
            }
        }
        for (pool, limit) in &project.quota {
            let held = by_pool.get(&pool.value).map_or(&[][..], Vec::as_slice);
            if held.len() > limit.value as usize {
                let first_over = held[limit.value as usize];
                out.push(
                    Diagnostic::new(
                        Code::OverQuota,
                        format!(
                            "project `{}` holds {} addresses of pool `{}`, over its quota of {}",
                            project.name.value,
                            held.len(),
                            model.pool(pool.value).name.value,
                            limit.value
                        ),
                        first_over.span.clone(),
                        "over quota from here",
                    )
                    .also(limit.span.clone(), "quota set here")
                    .help(format!(
                        "are all of these addresses meant for `{0}`? Release those it does not \
                         need from projects.{0}.addresses. Only if it is to hold more, raise \
                         projects.{0}.quota.{1}",
                        project.name.value,
                        model.pool(pool.value).name.value
                    )),
                );
            }
        }
    }
}
