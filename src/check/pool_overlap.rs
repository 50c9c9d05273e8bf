//! SY0201: pool prefixes are disjoint, so every public address belongs to exactly
//! one pool (and one uplink).

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for (i, a) in model.pools.iter().enumerate() {
        for b in &model.pools[i + 1..] {
            if crate::intervals::prefixes_overlap(&a.prefix, &b.prefix) {
                out.push(
                    Diagnostic::new(
                        Code::PoolOverlap,
                        format!(
                            "pools `{}` ({}) and `{}` ({}) overlap",
                            a.name.value, a.prefix.value, b.name.value, b.prefix.value
                        ),
                        b.prefix.span.clone(),
                        "overlaps another pool",
                    )
                    .also(a.prefix.span.clone(), "this pool"),
                );
            }
        }
    }
}
