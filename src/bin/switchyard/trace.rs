//! `switchyard trace`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use switchyard::trace::Tracer;

use crate::{EXIT_INVALID, Failure, Format, print_stdout, read_topology, report};

/// Say what the dataplane does with one packet: outbound from a VM (its name or
/// private address), or inbound from an outside address to a public address.
#[derive(clap::Args)]
pub struct Args {
    /// The topology file, or `-` for standard input.
    topology: PathBuf,
    /// A VM name, a VM's private address, or an outside address.
    #[arg(long)]
    from: String,
    /// The destination address (IPv4 or IPv6).
    #[arg(long)]
    to: std::net::IpAddr,
    /// Answer as if this uplink were down (repeatable; needs [failover]).
    #[arg(long, value_name = "UPLINK")]
    down: Vec<String>,
    /// `json` prints schema/trace-output.schema.json's object (and an invalid
    /// topology's diagnostics as `check --format json` does).
    #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
    format: TraceFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum TraceFormat {
    Human,
    Json,
}

pub fn run(
    Args {
        topology,
        from,
        to,
        down,
        format,
    }: Args,
) -> Result<ExitCode, Failure> {
    let format_of_diagnostics = match format {
        TraceFormat::Human => Format::Human,
        TraceFormat::Json => Format::Json,
    };
    let source = read_topology(&topology, format_of_diagnostics)?;
    let tracer = match Tracer::new(&source) {
        Ok(tracer) => tracer,
        Err(diagnostics) => {
            report(&source, &diagnostics, format_of_diagnostics)?;
            return Err(Failure::Reported(ExitCode::from(EXIT_INVALID)));
        }
    };
    report(&source, &tracer.warnings, Format::Human)?;
    let trace = tracer
        .trace(&from, to, &down)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    print_stdout(match format {
        TraceFormat::Human => trace.to_human(),
        TraceFormat::Json => trace.to_json(),
    })?;
    Ok(ExitCode::SUCCESS)
}
