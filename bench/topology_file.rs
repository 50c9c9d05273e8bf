//! The topology file a benchmark program is given, read whole: shared by the
//! programs of `bench/` (each includes it with `#[path]`).

use std::process::ExitCode;

/// The text of `path`, or the exit code (2, an IO problem) after saying why
/// `tool` cannot read it.
pub fn read(tool: &str, path: &str) -> Result<String, ExitCode> {
    std::fs::read_to_string(path).map_err(|error| {
        eprintln!("{tool}: cannot read {path}: {error}");
        ExitCode::from(2)
    })
}
