//! `switchyard graph`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{Failure, Format, failure, print_stdout, read_topology, report};

/// Print the topology as a Graphviz DOT graph (render it with `dot -Tsvg`).
///
/// Hosts, uplinks, pools, projects and VMs, with attachments, ACLs, public
/// addresses and egress preferences as labelled edges.
#[derive(clap::Args)]
pub struct Args {
    /// The topology file, or `-` for standard input.
    topology: PathBuf,
    /// Show only this host and what it touches.
    #[arg(long)]
    host: Option<String>,
}

pub fn run(Args { topology, host }: Args) -> Result<ExitCode, Failure> {
    let source = read_topology(&topology, Format::Human)?;
    let (dot, warnings) =
        switchyard::graph_dot(&source, host.as_deref()).map_err(|e| failure(&source, e))?;
    report(&source, &warnings, Format::Human)?;
    print_stdout(dot)?;
    Ok(ExitCode::SUCCESS)
}
