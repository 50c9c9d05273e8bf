//! `switchyard verify`, and the listings `apply` shares with it.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::build_dir::{HostBuild, read_host_build};
use crate::{EXIT_INVALID, Failure, kernel, print_stdout};

/// Compare this network namespace's live state with a host's build; exit 1
/// and list the differences when they drifted apart.
///
/// Compares table inet switchyard (chains and their rules, sets and maps with
/// every element, but not the monitor's down_uplinks elements), the ip rules
/// and routes tagged with switchyard's protocol or in its uplink tables, the
/// uplink addresses, the MAC-bound VMs' permanent neighbour entries (tagged
/// with that protocol), each in IPv4 and IPv6, and the settings of sysctl.d/90-switchyard.conf, and
/// names what undermines them from outside: policy rules of other owners
/// ahead of switchyard's, and base chains of other nft tables that can drop
/// before switchyard's on the same hook. Exit 0 in sync, 1 drift, 2 error.
/// Needs root: the build's artifacts are loaded into a scratch network
/// namespace to list what they should give.
#[derive(clap::Args)]
pub struct Args {
    /// A build directory (with manifest.json).
    dir: PathBuf,
    /// The host to compare with; needed when the build has several.
    #[arg(long)]
    host: Option<String>,
}

pub fn run(Args { dir, host }: Args) -> Result<ExitCode, Failure> {
    let build = read_host_build(&dir, host.as_deref())?;
    let (expected, live) = list_states(&build)?;
    let report = switchyard::verify::compare(&parse_state(&expected)?, &parse_state(&live)?);
    if report.is_empty() {
        print_stdout(format!("{}: in sync with {}\n", build.host, dir.display()))?;
        Ok(ExitCode::SUCCESS)
    } else {
        print_stdout(format!(
            "{report}{}: {} difference(s) between the live state and {}\n",
            build.host,
            report.len(),
            dir.display()
        ))?;
        Ok(ExitCode::from(EXIT_INVALID))
    }
}

/// The listings of what `build` gives (loaded into a scratch namespace, with
/// its settings) and of the live namespace.
pub fn list_states(
    build: &HostBuild,
) -> Result<(switchyard::verify::Listings, switchyard::verify::Listings), Failure> {
    // Listing a 100k-VM table takes seconds: the live state is read while the
    // scratch namespace loads and lists the build.
    let (live, expected) = std::thread::scope(|scope| {
        let live = scope.spawn(|| kernel::live(&build.settings));
        let expected = kernel::expected(
            &build.nft_script,
            &build.ip_batch,
            build.ip6_batch.as_deref(),
            &build.interfaces,
        );
        let live = live.join().expect("the listing thread does not panic");
        (live, expected)
    });
    let mut expected = expected.map_err(Failure::Usage)?;
    expected.sysctls = build
        .settings
        .iter()
        .map(|s| (s.key.clone(), Some(s.value.clone())))
        .collect();
    expected.shared_addresses = build.shared_addresses.clone();
    Ok((expected, live.map_err(Failure::Usage)?))
}

/// A listing parsed, or an error (exit 2). Listings are parsed one after the
/// other: parsing a 100k-VM listing takes hundreds of MB while it lasts.
pub fn parse_state(
    listings: &switchyard::verify::Listings,
) -> Result<switchyard::verify::KernelState, Failure> {
    switchyard::verify::KernelState::parse(listings).map_err(|e| Failure::Usage(e.to_string()))
}
