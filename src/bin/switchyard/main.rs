//! The command line: `Cli`, its dispatch to one module per command (the
//! command's clap `Args` and its `run`), and what the commands share: reading a
//! topology, printing results and diagnostics, exit codes. The binary (this
//! file and the modules beside it) is the only code that touches the file
//! system, the network, other programs or the terminal; everything it calls in
//! the library is pure. Beside the commands: `build_dir.rs` (a build directory
//! read back), `output_dir.rs` (how `build` replaces its output directory) and
//! `kernel.rs` (the programs `verify`, `apply` and `monitor` run).

mod apply;
mod build;
mod build_dir;
mod changes;
mod check;
mod completions;
mod diff;
mod explain;
mod graph;
mod kernel;
mod man;
mod monitor;
mod output_dir;
mod schema;
mod trace;
mod verify;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use switchyard::BuildError;
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
    Check(check::Args),
    Build(build::Args),
    Diff(diff::Args),
    Trace(trace::Args),
    Graph(graph::Args),
    Verify(verify::Args),
    Apply(apply::Args),
    Changes(changes::Args),
    Completions(completions::Args),
    Man(man::Args),
    Monitor(monitor::Args),
    Schema(schema::Args),
    Explain(explain::Args),
}

/// How diagnostics are printed.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    /// GitHub Actions workflow commands (`::error file=…,line=…::message`).
    Github,
}

/// Exit codes (docs/semantics.md §7).
const EXIT_INVALID: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => run(|| check::run(args)),
        Command::Build(args) => run(|| build::run(args)),
        Command::Diff(args) => run(|| diff::run(args)),
        Command::Trace(args) => run(|| trace::run(args)),
        Command::Graph(args) => run(|| graph::run(args)),
        Command::Verify(args) => run(|| verify::run(args)),
        Command::Apply(args) => run(|| apply::run(args)),
        Command::Changes(args) => run(|| changes::run(args)),
        Command::Completions(args) => run(|| completions::run(args)),
        Command::Man(args) => run(|| man::run(args)),
        Command::Monitor(args) => run(|| monitor::run(args)),
        Command::Schema(args) => run(|| schema::run(args)),
        Command::Explain(args) => run(|| explain::run(args)),
    }
}

/// Writes to standard output. Every command prints its result through here, so
/// a closed or full standard output ends it with exit 2 instead of `print!`'s
/// panic. A closed pipe means the reader is gone (`| head`): nobody is left to
/// read a message, so it ends quietly; other errors (a full disk) are reported.
fn print_stdout(bytes: impl AsRef<[u8]>) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes.as_ref())
        .and_then(|()| stdout.flush())
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::BrokenPipe => Failure::Reported(ExitCode::from(EXIT_USAGE)),
            _ => Failure::Usage(format!("cannot write to standard output: {error}")),
        })
}

/// A command's failure: already reported (invalid topology) or needing no
/// message (a closed standard output), or an I/O or usage error still to print.
enum Failure {
    Reported(ExitCode),
    Usage(String),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Usage(error.to_string())
    }
}

fn run(command: impl FnOnce() -> Result<ExitCode, Failure>) -> ExitCode {
    match command() {
        Ok(code) | Err(Failure::Reported(code)) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// An invalid topology's diagnostics are reported (exit 1); anything else is a
/// usage error (exit 2).
fn failure(source: &Source, error: BuildError) -> Failure {
    match error {
        BuildError::Invalid(diagnostics) => match report(source, &diagnostics, Format::Human) {
            Ok(()) => Failure::Reported(ExitCode::from(EXIT_INVALID)),
            Err(failure) => failure,
        },
        error => Failure::Usage(error.to_string()),
    }
}

/// Human diagnostics go to stderr; JSON and GitHub ones are the result, on stdout.
fn report(source: &Source, diagnostics: &[Diagnostic], format: Format) -> Result<(), Failure> {
    match format {
        Format::Human => {
            eprint!(
                "{}",
                diagnostic::render_human(source, diagnostics, terminal_width())
            );
            Ok(())
        }
        Format::Json => print_stdout(diagnostic::render_json(source, diagnostics)),
        Format::Github => print_stdout(diagnostic::render_github(source, diagnostics)),
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

/// `-` names standard input wherever a topology is expected.
fn reads_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// Reads the topology (`-`: standard input, named `<stdin>` in diagnostics and
/// artifacts). A file that cannot be read is an I/O error (exit 2); an oversized
/// or non-UTF-8 one is reported like any other invalid topology (exit 1).
fn read_topology(path: &Path, format: Format) -> Result<Source, Failure> {
    let mut bytes = Vec::new();
    let limit = switchyard::MAX_INPUT_BYTES as u64 + 1;
    let (name, read) = if reads_stdin(path) {
        let read = std::io::stdin().lock().take(limit).read_to_end(&mut bytes);
        ("<stdin>".to_owned(), read)
    } else {
        let read =
            std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut bytes));
        (path.display().to_string(), read)
    };
    if let Err(error) = read {
        return Err(Failure::Usage(format!("cannot read {name}: {error}")));
    }
    match Source::from_bytes(name, bytes) {
        Ok(source) => Ok(source),
        Err(failure) => {
            let (source, diagnostic) = *failure;
            report(&source, &[diagnostic], format)?;
            Err(Failure::Reported(ExitCode::from(EXIT_INVALID)))
        }
    }
}
