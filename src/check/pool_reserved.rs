//! SY0205: a pool's `reserved` addresses lie inside its prefix. One outside it
//! protects nothing: it is usually a typo, and the address meant stays allocatable.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for pool in &model.pools {
        for reserved in &pool.reserved {
            if !pool.prefix.contains(&reserved.value) {
                out.push(
                    Diagnostic::new(
                        Code::ReservedOutsidePool,
                        format!(
                            "{} is reserved in pool `{}` but lies outside its prefix {}",
                            reserved.value, pool.name.value, pool.prefix.value
                        ),
                        reserved.span.clone(),
                        "outside the pool",
                    )
                    .also(pool.prefix.span.clone(), "the pool's prefix")
                    .help(
                        "reserve an address of this pool (the one meant is not reserved \
                         now), or remove the entry",
                    ),
                );
            }
        }
    }
}
