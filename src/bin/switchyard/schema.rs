//! `switchyard schema`.

use std::process::ExitCode;

use switchyard::schema;

use crate::{Failure, print_stdout};

/// Print the JSON schema of the topology file, or of another file or output
/// switchyard writes.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("of").multiple(false)))]
pub struct Args {
    /// The schema of a build's manifest.json (schema/manifest.schema.json).
    #[arg(long, group = "of")]
    manifest: bool,
    /// The schema of `check --format json` (schema/check-output.schema.json).
    #[arg(long, group = "of")]
    check_output: bool,
    /// The schema of `trace --format json` (schema/trace-output.schema.json).
    #[arg(long, group = "of")]
    trace_output: bool,
    /// The schema of `changes --format json` (schema/changes-output.schema.json).
    #[arg(long, group = "of")]
    changes_output: bool,
}

pub fn run(
    Args {
        manifest,
        check_output,
        trace_output,
        changes_output,
    }: Args,
) -> Result<ExitCode, Failure> {
    print_stdout(
        match (manifest, check_output, trace_output, changes_output) {
            (true, ..) => schema::manifest_schema(),
            (_, true, ..) => schema::check_output_schema(),
            (_, _, true, _) => schema::trace_output_schema(),
            (.., true) => schema::changes_output_schema(),
            _ => schema::topology_schema(),
        },
    )?;
    Ok(ExitCode::SUCCESS)
}
