//! SY0205: a pool's `reserved` addresses lie inside its prefix of their family.
//! One outside it protects nothing: it is usually a typo, and the address meant
//! stays allocatable.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::{Family, V4, V6};
use crate::model::Model;

use super::family::prefix;

pub fn check(model: &Model, out: &mut Diagnostics) {
    check_family::<V4>(model, out);
    check_family::<V6>(model, out);
}

fn check_family<F: Family>(model: &Model, out: &mut Diagnostics) {
    for pool in &model.pools {
        let prefix = prefix::<F>(pool);
        for reserved in &pool.reserved {
            let Some(address) = F::of_ip(reserved.value) else {
                continue;
            };
            let (outside, pool_span) = match prefix {
                Some(prefix) if F::contains(&prefix.value, address) => continue,
                Some(prefix) => (
                    format!("lies outside its prefix {}", prefix.value),
                    prefix.span.clone(),
                ),
                None => (
                    format!("the pool has no {} prefix", F::NAME),
                    pool.name.span.clone(),
                ),
            };
            out.push(
                Diagnostic::new(
                    Code::ReservedOutsidePool,
                    format!(
                        "{} is reserved in pool `{}` but {outside}",
                        reserved.value, pool.name.value
                    ),
                    reserved.span.clone(),
                    "outside the pool",
                )
                .also(pool_span, "the pool's prefix")
                .help(
                    "reserve an address of this pool (the one meant is not reserved \
                     now), or remove the entry",
                ),
            );
        }
    }
}
