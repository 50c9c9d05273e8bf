//! SY0201: pool prefixes of one family are disjoint, so every public address
//! belongs to exactly one pool (and one uplink).

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::{Family, V4, V6};
use crate::model::Model;

use super::family::prefix;

pub fn check(model: &Model, out: &mut Diagnostics) {
    check_family::<V4>(model, out);
    check_family::<V6>(model, out);
}

fn check_family<F: Family>(model: &Model, out: &mut Diagnostics) {
    let pools: Vec<_> = (model.pools.iter())
        .filter_map(|pool| Some((pool, prefix::<F>(pool)?)))
        .collect();
    for (i, (a, a_prefix)) in pools.iter().enumerate() {
        for (b, b_prefix) in &pools[i + 1..] {
            if crate::intervals::prefixes_overlap::<F>(&a_prefix.value, &b_prefix.value) {
                out.push(
                    Diagnostic::new(
                        Code::PoolOverlap,
                        format!(
                            "pools `{}` ({}) and `{}` ({}) overlap",
                            a.name.value, a_prefix.value, b.name.value, b_prefix.value
                        ),
                        b_prefix.span.clone(),
                        "overlaps another pool",
                    )
                    .also(a_prefix.span.clone(), "this pool"),
                );
            }
        }
    }
}
