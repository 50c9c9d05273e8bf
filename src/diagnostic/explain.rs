//! The long description of each code (`switchyard explain SY0101`): what it means,
//! why it matters, how to fix it, with an example. Kept as data in
//! `docs/codes/SYnnnn.md`, compiled in by `build.rs`.

use super::Code;

/// (code, text) of every file in docs/codes/, sorted by code.
const EXPLANATIONS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/explanations.rs"));

/// The long description of `code`; tests keep one for every code.
pub fn explanation(code: Code) -> Option<&'static str> {
    EXPLANATIONS
        .iter()
        .find(|(name, _)| *name == code.as_str())
        .map(|(_, text)| *text)
}

/// The codes docs/codes/ describes, whether or not they exist.
pub fn explained_codes() -> impl Iterator<Item = &'static str> {
    EXPLANATIONS.iter().map(|(name, _)| *name)
}
