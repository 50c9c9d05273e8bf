//! The command line. This is the only file that touches the file system or the
//! terminal; everything it calls is pure.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use switchyard::diagnostic::{self, Diagnostic, Source};

/// Compile a multi-uplink NAT topology into per-host nftables, ip-batch and
/// systemd-networkd artifacts.
#[derive(Parser)]
#[command(name = "switchyard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a topology and report every problem.
    Check {
        topology: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Treat warnings as errors (exit 1).
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Print the JSON schema of the topology file.
    Schema,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

/// Exit codes (SPEC §5).
const EXIT_INVALID: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            topology,
            format,
            deny_warnings,
        } => check(&topology, format, deny_warnings),
        Command::Schema => {
            print!("{}", switchyard::schema::topology_schema());
            ExitCode::SUCCESS
        }
    }
}

fn check(path: &Path, format: Format, deny_warnings: bool) -> ExitCode {
    let source = match read_topology(path, format) {
        Ok(source) => source,
        Err(exit) => return exit,
    };
    let (diagnostics, failed) = match switchyard::validate(&source) {
        Ok(validated) => {
            let failed = deny_warnings && !validated.warnings.is_empty();
            (validated.warnings, failed)
        }
        Err(diagnostics) => (diagnostics, true),
    };
    report(&source, &diagnostics, format);
    if failed {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    }
}

fn report(source: &Source, diagnostics: &[Diagnostic], format: Format) {
    match format {
        Format::Human => eprint!(
            "{}",
            diagnostic::render_human(source, diagnostics, terminal_width())
        ),
        Format::Json => print!("{}", diagnostic::render_json(source, diagnostics)),
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

/// Reads the topology. A file that cannot be read is an I/O error (exit 2); an
/// oversized or non-UTF-8 one is reported like any other invalid topology (exit 1).
fn read_topology(path: &Path, format: Format) -> Result<Source, ExitCode> {
    let name = path.display().to_string();
    let mut bytes = Vec::new();
    let limit = switchyard::MAX_INPUT_BYTES as u64 + 1;
    let read = std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut bytes));
    if let Err(error) = read {
        eprintln!("error: cannot read {name}: {error}");
        return Err(ExitCode::from(EXIT_USAGE));
    }
    match Source::from_bytes(name, bytes) {
        Ok(source) => Ok(source),
        Err((source, diagnostic)) => {
            report(&source, &[diagnostic], format);
            Err(ExitCode::from(EXIT_INVALID))
        }
    }
}
