//! `switchyard apply` (part of the binary, like all IO): lists the live state
//! and the build's, runs the steps the library's [`Changes`] names, verifies,
//! and on any failure puts back the [`Snapshot`] taken before the first step.
//! `--try` leaves that snapshot in /run/switchyard with a deadline and a
//! detached process that puts it back unless `apply --confirm` removes it first.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use switchyard::apply::{Changes, SavedTable, Snapshot, Step, TableLoad, carry_down_uplinks};
use switchyard::verify::{self, KernelState, Ownership};

use crate::build_dir::{HostBuild, read_host_build};
use crate::verify::{list_states, parse_state};
use crate::{EXIT_INVALID, EXIT_USAGE, Failure, kernel, print_stdout};

/// Where a pending `--try` is kept: a tmpfs, so a reboot forgets it (the boot
/// units then apply the installed build).
const RUN_DIR: &str = "/run/switchyard";

/// Make this network namespace's live state that of a host's build, or
/// change nothing.
///
/// The one loading step of the boot units and configuration management.
/// Loads table inet switchyard (the build's switchyard.update.nft when the
/// live table is the one it applies over, else switchyard.nft; one nft
/// transaction either way, keeping the uplinks the monitor found down), makes
/// the rules and routes with switchyard's protocol or in its uplink tables,
/// the uplink addresses and the MAC-bound VMs' neighbour entries those of the
/// build (adding and deleting only what differs), writes the settings of sysctl.d/90-switchyard.conf, then
/// verifies. Exit 0: applied, or "unchanged" when nothing differed (the
/// table is not touched); 1: a step failed, it is named, and everything was
/// restored as it was before the call; 2: usage or I/O error, or the restore
/// failed too. Needs root.
///
/// E.g. `switchyard apply /etc/switchyard/build --try 60`, then from a new SSH
/// session `switchyard apply --confirm`.
#[derive(clap::Args)]
pub struct Args {
    /// A build directory (with manifest.json), or the host's installed copy.
    #[arg(required_unless_present_any = ["confirm", "revert_pending"])]
    dir: Option<PathBuf>,
    /// The host to apply; needed when the build has several.
    #[arg(long)]
    host: Option<String>,
    /// Restore the state from before this apply after SECONDS unless
    /// `switchyard apply --confirm` runs meanwhile (the pending trial is kept
    /// in /run/switchyard; a new apply is refused until it ends).
    #[arg(long = "try", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    try_seconds: Option<u64>,
    /// Apply only table inet switchyard, not routing, addresses, neighbour
    /// entries or settings:
    /// what switchyard-nftables.service does at boot, before the uplinks
    /// exist.
    #[arg(long)]
    table_only: bool,
    /// Keep what the pending `--try` applied.
    #[arg(long, conflicts_with_all = ["dir", "host", "try_seconds", "table_only"])]
    confirm: bool,
    /// The process `--try` starts: waits for trial ID's deadline.
    #[arg(long, value_name = "ID", hide = true, conflicts_with_all = ["dir", "host", "try_seconds", "confirm"])]
    revert_pending: Option<String>,
}

pub fn run(
    Args {
        dir,
        host,
        try_seconds,
        table_only,
        confirm: confirming,
        revert_pending,
    }: Args,
) -> Result<ExitCode, Failure> {
    match (dir, revert_pending) {
        _ if confirming => confirm(),
        (_, Some(id)) => wait_and_revert(&id),
        (Some(dir), None) => apply(&dir, host.as_deref(), try_seconds, table_only),
        (None, None) => Err(Failure::Usage("apply needs a build directory".to_owned())),
    }
}

fn apply(
    dir: &Path,
    host: Option<&str>,
    try_seconds: Option<u64>,
    table_only: bool,
) -> Result<ExitCode, Failure> {
    let pending = Pending::here()?;
    pending.settle_overdue()?;
    let build = read_host_build(dir, host)?;
    let (expected_listings, live_listings) = list_states(&build)?;
    let expected = parse_state(&expected_listings)?;
    let live = parse_state(&live_listings)?;
    let report = verify::compare(&expected, &live);
    let outside = report.outside();
    if !outside.is_empty() {
        eprint!("warning: apply cannot change what stands in switchyard's way:\n{outside}");
    }
    let mut changes = Changes::needed(
        &report,
        &expected,
        &live,
        &build.settings,
        build.update.as_ref().map(|(_, over)| over.as_str()),
    );
    if table_only {
        changes = changes.table_only();
    }
    if changes.is_empty() {
        print_stdout(format!("{}: unchanged ({})\n", build.host, dir.display()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let table = match changes.table {
        None => SavedTable::Untouched,
        Some(_) => kernel::table_text()
            .map_err(Failure::Usage)?
            .map_or(SavedTable::Absent, SavedTable::Listed),
    };
    let snapshot = Snapshot::new(&live_listings, table, &changes, Ownership::of(&expected));
    if let Err((step, error)) = run_steps(&build, &changes, &expected, &live) {
        eprintln!("error: apply failed at step {step}: {error}");
        return match restore(&snapshot) {
            Ok(()) => {
                eprintln!("{}: restored the state from before the apply", build.host);
                Ok(ExitCode::from(EXIT_INVALID))
            }
            Err(error) => {
                eprintln!("error: restoring the state from before the apply failed too: {error}");
                Ok(ExitCode::from(EXIT_USAGE))
            }
        };
    }
    let mut message = format!("{}: applied {} ({changes})\n", build.host, dir.display());
    if let Some(seconds) = try_seconds {
        pending.start(&snapshot, seconds)?;
        message.push_str(&format!(
            "{}: run `switchyard apply --confirm` within {seconds} s to keep it, or it is undone\n",
            build.host
        ));
    }
    print_stdout(message)?;
    Ok(ExitCode::SUCCESS)
}

/// The steps, in order; the first failure ends them, named by its step.
fn run_steps(
    build: &HostBuild,
    changes: &Changes,
    expected: &KernelState,
    live: &KernelState,
) -> Result<(), (Step, String)> {
    if let Some(load) = changes.table {
        let carried = carry_down_uplinks(live, expected);
        let whole = || kernel::load_nft(&format!("{}{carried}", build.nft_text));
        let loaded = match (load, &build.update) {
            // nft refuses the update as a whole, changing nothing, when the
            // table is not quite its base (an element it deletes was removed
            // by hand): the whole script repairs that, or the next run would
            // try the same update again.
            (TableLoad::Update, Some((update, _))) => kernel::load_nft(&format!(
                "{update}{carried}"
            ))
            .or_else(|refused| {
                eprintln!(
                    "warning: nft refused switchyard.update.nft, loading switchyard.nft: {refused}"
                );
                whole()
            }),
            _ => whole(),
        };
        loaded.map_err(|e| (Step::Table, e))?;
    }
    // IPv4's first, then IPv6's, as the boot units load the batches.
    for (family, lines) in changes.routing.batches() {
        kernel::ip_batch(family, lines, false).map_err(|e| (Step::Routing, e))?;
    }
    for setting in &changes.sysctls {
        kernel::write_sysctl(setting).map_err(|e| (Step::Sysctls, e))?;
    }
    let now = kernel::live(&build.settings)
        .and_then(|listings| KernelState::parse(&listings).map_err(|e| e.to_string()))
        .map_err(|e| (Step::Verify, e))?;
    let mut left = verify::compare(expected, &now).own();
    if changes.is_table_only() {
        left.parts.retain(|part, _| *part == verify::Part::NftTable);
    }
    if left.is_empty() {
        Ok(())
    } else {
        Err((
            Step::Verify,
            format!("the state still differs from the build:\n{left}"),
        ))
    }
}

/// Puts `snapshot` back: the table, then rules, routes, addresses and
/// neighbour entries, then the settings. Every part is tried; the errors are
/// reported together.
fn restore(snapshot: &Snapshot) -> Result<(), String> {
    let mut errors = Vec::new();
    if let Some(script) = snapshot.table_script()
        && let Err(e) = kernel::load_nft(&script)
    {
        errors.push(format!("table: {e}"));
    }
    let routing = kernel::live(&[]).and_then(|listings| {
        let now = KernelState::parse(&listings).map_err(|e| e.to_string())?;
        let batches = snapshot.routing_restore(&now).map_err(|e| e.to_string())?;
        // Every family is tried; the first failure is reported.
        batches
            .batches()
            .map(|(family, lines)| kernel::ip_batch(family, lines, true))
            .fold(Ok(()), Result::and)
    });
    if let Err(e) = routing {
        errors.push(format!("routing: {e}"));
    }
    for setting in snapshot.settings() {
        if let Err(e) = kernel::write_sysctl(&setting) {
            errors.push(format!("sysctls: {e}"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// A `--try` waiting for its confirmation.
#[derive(Serialize, Deserialize)]
struct Trial {
    /// Tells a waiting process its own trial from a later one.
    id: String,
    /// Milliseconds since the Unix epoch after which the snapshot is put back.
    deadline: u64,
    snapshot: Snapshot,
}

/// The pending trial of this network namespace: one file per namespace, as
/// each has its own kernel state (and /run is shared between them).
struct Pending {
    path: PathBuf,
}

impl Pending {
    fn here() -> Result<Pending, Failure> {
        let namespace = std::fs::read_link("/proc/self/ns/net")
            .map_err(|e| Failure::Usage(format!("cannot read /proc/self/ns/net: {e}")))?;
        let id: String = namespace
            .to_string_lossy()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        Ok(Pending {
            path: Path::new(RUN_DIR).join(format!("pending-try-net{id}.json")),
        })
    }

    fn read(&self) -> Result<Option<Trial>, Failure> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Failure::Usage(format!(
                    "{} is not a pending trial: {e}",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Failure::Usage(format!(
                "cannot read {}: {e}",
                self.path.display()
            ))),
        }
    }

    /// A trial still waiting refuses a new apply (confirm it first); one past
    /// its deadline whose waiting process is gone (killed) is put back now.
    fn settle_overdue(&self) -> Result<(), Failure> {
        let Some(trial) = self.read()? else {
            return Ok(());
        };
        if now() < trial.deadline {
            return Err(Failure::Usage(format!(
                "a trial apply (--try) is pending until it is confirmed or undone: run `switchyard apply --confirm` first ({})",
                self.path.display()
            )));
        }
        if self.revert(&trial.id)? {
            eprintln!(
                "undid the trial apply whose deadline passed unconfirmed (the process waiting for it was gone)"
            );
        }
        Ok(())
    }

    /// Saves `snapshot` with its deadline and starts the process that waits for it.
    fn start(&self, snapshot: &Snapshot, seconds: u64) -> Result<(), Failure> {
        let id = format!("{}-{}", std::process::id(), now());
        let trial = Trial {
            id: id.clone(),
            deadline: now() + seconds * 1000,
            snapshot: snapshot.clone(),
        };
        let io = |e: std::io::Error| Failure::Usage(format!("{}: {e}", self.path.display()));
        std::fs::create_dir_all(RUN_DIR).map_err(io)?;
        // Written beside it and renamed: a waiting process never reads half a file.
        let staging = self.path.with_extension("new");
        std::fs::write(&staging, serde_json::to_vec(&trial).expect("serializable")).map_err(io)?;
        std::fs::rename(&staging, &self.path).map_err(io)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path.with_extension("log"))
            .map_err(io)?;
        let program = std::env::current_exe().map_err(io)?;
        // Its own process group, and SIGHUP ignored (in `wait_and_revert`):
        // the SSH session that ran `--try` may be the one the change cuts off.
        use std::os::unix::process::CommandExt;
        std::process::Command::new(program)
            .args(["apply", "--revert-pending", &id])
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().map_err(io)?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(io)?;
        Ok(())
    }

    /// Claims the trial `id` (renaming its file, so that a confirmation at the
    /// same moment either wins or finds nothing) and puts its snapshot back.
    /// `Ok(false)`: there was nothing to claim.
    fn revert(&self, id: &str) -> Result<bool, Failure> {
        let Some(trial) = self.read()? else {
            return Ok(false);
        };
        if trial.id != id {
            return Ok(false);
        }
        let claimed = self.path.with_extension("reverting");
        if std::fs::rename(&self.path, &claimed).is_err() {
            return Ok(false);
        }
        let restored = restore(&trial.snapshot);
        let _ = std::fs::remove_file(&claimed);
        restored
            .map(|()| true)
            .map_err(|e| Failure::Usage(format!("undoing the trial apply failed: {e}")))
    }
}

/// Milliseconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `apply --confirm`: keeps what the pending `--try` applied.
fn confirm() -> Result<ExitCode, Failure> {
    let pending = Pending::here()?;
    match std::fs::remove_file(&pending.path) {
        Ok(()) => {
            print_stdout("confirmed: the trial apply stays\n")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Failure::Usage(
            "no trial apply is pending (none was started, or it was undone already)".to_owned(),
        )),
        Err(e) => Err(Failure::Usage(format!(
            "cannot remove {}: {e}",
            pending.path.display()
        ))),
    }
}

/// The detached process `--try` starts: waits for the deadline of trial `id`
/// and puts its snapshot back unless it was confirmed (its file removed).
fn wait_and_revert(id: &str) -> Result<ExitCode, Failure> {
    let hangup = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hangup)
        .map_err(|e| Failure::Usage(format!("cannot ignore SIGHUP: {e}")))?;
    let pending = Pending::here()?;
    loop {
        match pending.read()? {
            Some(trial) if trial.id == id => {
                let left = trial.deadline.saturating_sub(now());
                if left == 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(left.min(200)));
            }
            // Confirmed, or replaced by a later trial.
            _ => return Ok(ExitCode::SUCCESS),
        }
    }
    if pending.revert(id)? {
        eprintln!("trial apply {id} not confirmed in time: restored the state from before it");
    }
    Ok(ExitCode::SUCCESS)
}
