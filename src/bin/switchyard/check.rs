//! `switchyard check`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{EXIT_INVALID, Failure, Format, read_topology, report};

/// Validate a topology and report every problem.
#[derive(clap::Args)]
pub struct Args {
    /// The topology file, or `-` for standard input.
    topology: PathBuf,
    /// `human` on stderr; `json` (schema/check-output.schema.json) or
    /// `github` (GitHub Actions annotations) on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Treat warnings as errors (exit 1).
    #[arg(long)]
    deny_warnings: bool,
}

pub fn run(
    Args {
        topology,
        format,
        deny_warnings,
    }: Args,
) -> Result<ExitCode, Failure> {
    let source = read_topology(&topology, format)?;
    let (diagnostics, failed) = match switchyard::validate(&source) {
        Ok(validated) => {
            let failed = deny_warnings && !validated.warnings().is_empty();
            (validated.warnings().to_vec(), failed)
        }
        Err(diagnostics) => (diagnostics, true),
    };
    report(&source, &diagnostics, format)?;
    Ok(if failed {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}
