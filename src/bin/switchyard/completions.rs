//! `switchyard completions`.

use std::process::ExitCode;

use clap::CommandFactory as _;

use crate::{Cli, Failure, print_stdout};

/// Print a shell completion script.
///
/// E.g. `switchyard completions bash > /etc/bash_completion.d/switchyard`.
#[derive(clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(Args { shell }: Args) -> Result<ExitCode, Failure> {
    // clap_complete panics when its writer fails: generate into memory.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "switchyard", &mut script);
    print_stdout(script)?;
    Ok(ExitCode::SUCCESS)
}
