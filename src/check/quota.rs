//! SY0306: a project holds at most `quota[pool]` addresses of that pool.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for project in &model.projects {
        for (pool, limit) in &project.quota {
            let held: Vec<_> = project
                .addresses
                .iter()
                .filter(|a| model.pool_of(a.value) == Some(pool.value))
                .collect();
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
                    .also(limit.span.clone(), "quota set here"),
                );
            }
        }
    }
}
