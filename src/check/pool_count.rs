//! SY0204: pools are numbered into 8 bits of the packet mark (see `plan`), so a
//! topology has at most 255 of them.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::layout::MAX_POOLS;
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    if let Some(first_extra) = model.pools.get(MAX_POOLS) {
        out.push(
            Diagnostic::new(
                Code::TooManyPools,
                format!(
                    "{} pools defined; switchyard numbers at most {MAX_POOLS}",
                    model.pools.len()
                ),
                first_extra.name.span.clone(),
                "pool number 256",
            )
            .help("merge adjacent pools of the same uplink into larger prefixes"),
        );
    }
}
