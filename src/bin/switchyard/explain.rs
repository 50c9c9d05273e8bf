//! `switchyard explain`.

use std::process::ExitCode;

use switchyard::diagnostic::{self, Code};

use crate::{Failure, print_stdout};

/// Explain a diagnostic code: what it means, why it matters, how to fix it.
///
/// E.g. `switchyard explain SY0101`.
#[derive(clap::Args)]
pub struct Args {
    /// A code such as SY0101.
    code: String,
}

pub fn run(Args { code: name }: Args) -> Result<ExitCode, Failure> {
    let Some(code) = Code::parse(&name) else {
        let known = Code::ALL.iter().map(|code| code.as_str());
        let suggestion = diagnostic::closest(&name.to_ascii_uppercase(), known)
            .map(|close| format!(" (did you mean `{close}`?)"))
            .unwrap_or_default();
        return Err(Failure::Usage(format!(
            "no diagnostic code `{name}`{suggestion}; docs/topology.md lists every code"
        )));
    };
    // tests/explain.rs keeps a description for every code.
    let description = diagnostic::explanation(code).unwrap_or_default();
    print_stdout(format!(
        "{code} ({}): {}\n\n{description}",
        code.severity(),
        code.title()
    ))?;
    Ok(ExitCode::SUCCESS)
}
