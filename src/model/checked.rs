//! A model that passed every rule: what planning requires.

use super::Model;

/// A model that passed every rule of `check`. The field is private, and the one
/// constructor, [`CheckedModel::from_checks`], is called only by `check::run`
/// (`tests/layering.rs` holds it there), so `plan` and `trace` cannot be handed
/// a model with errors.
#[derive(Debug)]
pub struct CheckedModel(Model);

impl CheckedModel {
    /// For `check::run` alone, once every rule has passed.
    pub(crate) fn from_checks(model: Model) -> Self {
        CheckedModel(model)
    }
}

impl std::ops::Deref for CheckedModel {
    type Target = Model;
    fn deref(&self) -> &Model {
        &self.0
    }
}
