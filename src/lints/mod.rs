//! The rules that judge the plan's own decisions (one rule a file), run on the
//! plan of every host once `check` found no error. They ask the plan rather than
//! re-derive it, so a warning cannot disagree with what is rendered; rules that
//! need only the model belong in `check`.

mod failover_alternative;
mod shadowed_egress;

use crate::diagnostic::Diagnostics;
use crate::model::CheckedModel;
use crate::plan::Plan;

/// Runs every rule on `plan`, the plan of `model`.
pub fn run(model: &CheckedModel, plan: &Plan, diagnostics: &mut Diagnostics) {
    shadowed_egress::check(model, plan, diagnostics);
    failover_alternative::check(model, plan, diagnostics);
}
