//! SY0202, SY0203: uplink ids (and so marks) and routing tables are unique, and no
//! table collides with the kernel's own (0, 253 default, 254 main, 255 local).

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Model, Uplink};

const KERNEL_TABLES: &[u32] = &[0, 253, 254, 255];

pub fn check(model: &Model, out: &mut Diagnostics) {
    let mut ids = BTreeMap::new();
    let mut tables = BTreeMap::new();
    for uplink in &model.uplinks {
        if let Some(first) = ids.insert(uplink.id.value, uplink) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateUplinkId,
                    sharing(first, uplink, format!("id {}", uplink.id.value)),
                    uplink.id.span.clone(),
                    "duplicate id",
                )
                .also(first.id.span.clone(), "first used here")
                .help("the id selects the uplink's fwmark; give every uplink its own stable id"),
            );
        }
        if KERNEL_TABLES.contains(&uplink.table.value) {
            out.push(Diagnostic::new(
                Code::DuplicateTable,
                format!(
                    "uplink `{}` would use routing table {}, which the kernel reserves",
                    uplink.name.value, uplink.table.value
                ),
                uplink.table.span.clone(),
                "reserved table",
            ));
        } else if let Some(first) = tables.insert(uplink.table.value, uplink) {
            if derived(first) && derived(uplink) {
                // Both tables are 100 + the same id: SY0202 already says so.
                continue;
            }
            let first_label = if derived(first) {
                format!("uses table {} (100 + id)", first.table.value)
            } else {
                "first used here".to_owned()
            };
            out.push(
                Diagnostic::new(
                    Code::DuplicateTable,
                    sharing(
                        first,
                        uplink,
                        format!("routing table {}", uplink.table.value),
                    ),
                    uplink.table.span.clone(),
                    "duplicate table",
                )
                .also(first.table.span.clone(), first_label)
                .help("tables default to 100 + id; set `table` explicitly to move one"),
            );
        }
    }
}

/// SY0202's and SY0203's message: two uplinks share `what`.
fn sharing(first: &Uplink, second: &Uplink, what: String) -> String {
    format!(
        "uplinks `{}` and `{}` share {what}",
        first.name.value, second.name.value
    )
}

/// The table was not set explicitly: the model then gives it the id's span.
fn derived(uplink: &Uplink) -> bool {
    uplink.table.span == uplink.id.span
}
