//! SY0302: a project only touches pools its `pools` list allows: its addresses, its
//! default, its egress preferences and its quota.

use std::collections::HashSet;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::model::{Model, PoolId};

pub fn check(model: &Model, out: &mut Diagnostics) {
    for project in &model.projects {
        // A set: the list may repeat a pool any number of times.
        let allowed: HashSet<PoolId> = project.pools.iter().map(|p| p.value).collect();
        let mut uses: Vec<(PoolId, Span, &str)> = Vec::new();
        uses.extend(
            project
                .addresses
                .iter()
                .filter_map(|a| Some((model.pool_of(a.value)?, a.span.clone(), "address"))),
        );
        uses.extend(
            project
                .default
                .iter()
                .map(|d| (d.value, d.span.clone(), "default")),
        );
        uses.extend(
            project
                .egress
                .iter()
                .flat_map(|e| &e.via)
                .map(|pool| (pool.value, pool.span.clone(), "egress via")),
        );
        uses.extend(
            project
                .quota
                .iter()
                .map(|(pool, _)| (pool.value, pool.span.clone(), "quota")),
        );
        for (pool, span, what) in uses {
            if !allowed.contains(&pool) {
                let name = &model.pool(pool).name.value;
                out.push(
                    Diagnostic::new(
                        Code::PoolNotAllowed,
                        format!(
                            "project `{}` may not use pool `{name}` ({what})",
                            project.name.value
                        ),
                        span,
                        format!("pool `{name}` is not in the project's ACL"),
                    )
                    .help(format!(
                        "add \"{name}\" to projects.{}.pools",
                        project.name.value
                    )),
                );
            }
        }
    }
}
