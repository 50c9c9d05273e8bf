//! `switchyard changes`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;

use crate::{
    EXIT_INVALID, EXIT_USAGE, Failure, Format, print_stdout, read_topology, reads_stdin, report,
};

/// Say what NEW makes the dataplane do differently from OLD, decision by
/// decision; exit 0 when nothing changes, 1 when something does, 2 on
/// errors (an invalid topology: its diagnostics).
///
/// Per host: settings, VMs added or removed, private addresses and MAC
/// bindings, each VM's destination ranges whose outcome changes (old → new,
/// with the entry that now decides), and inbound addresses whose VM
/// changes. Read from the two plans: a reordered or re-commented file
/// changes nothing.
#[derive(clap::Args)]
pub struct Args {
    /// The topology before (`-`: standard input).
    old: PathBuf,
    /// The topology after (`-`: standard input).
    new: PathBuf,
    /// Only this host.
    #[arg(long)]
    host: Option<String>,
    /// `human`; `markdown` (a summary line, then a table per host, for a pull
    /// request); `json` (schema/changes-output.schema.json).
    #[arg(long, value_enum, default_value_t = ChangesFormat::Human)]
    format: ChangesFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum ChangesFormat {
    Human,
    Json,
    Markdown,
}

/// Both topologies are read and validated (each one's diagnostics located in
/// its own file) before anything is compared; either invalid is exit 2.
pub fn run(
    Args {
        old: old_path,
        new: new_path,
        host,
        format,
    }: Args,
) -> Result<ExitCode, Failure> {
    use switchyard::changes::{self, Side};
    if reads_stdin(&old_path) && reads_stdin(&new_path) {
        return Err(Failure::Usage(
            "OLD and NEW cannot both be standard input".to_owned(),
        ));
    }
    let invalid = |failure| match failure {
        Failure::Reported(_) => Failure::Reported(ExitCode::from(EXIT_USAGE)),
        usage => usage,
    };
    let validate = |path: &Path| -> Result<_, Failure> {
        let source = read_topology(path, Format::Human).map_err(invalid)?;
        match switchyard::validate(&source) {
            // Warnings are `check`'s to report: a review shows what changes.
            Ok(validated) => Ok((source, validated)),
            Err(diagnostics) => {
                report(&source, &diagnostics, Format::Human)?;
                Err(Failure::Reported(ExitCode::from(EXIT_USAGE)))
            }
        }
    };
    // Both are validated even when the first is invalid, so one run shows
    // every problem of both.
    let (old, new) = (validate(&old_path), validate(&new_path));
    let ((old_source, old), (new_source, new)) = (old?, new?);
    let side = |source, validated| Side { source, validated };
    let found = changes::changes(
        side(&old_source, &old),
        side(&new_source, &new),
        host.as_deref(),
    )
    .map_err(|e| Failure::Usage(e.to_string()))?;
    print_stdout(match format {
        ChangesFormat::Human => found.to_human(),
        ChangesFormat::Markdown => found.to_markdown(),
        ChangesFormat::Json => found.to_json(&old_source.name, &new_source.name),
    })?;
    Ok(if found.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}
