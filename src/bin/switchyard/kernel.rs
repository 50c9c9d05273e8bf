//! The programs `switchyard verify` and `apply` run (part of the binary, like
//! all IO): the listings of the live network namespace, and the same listings
//! of a scratch namespace into which a host's ip batch and nft script were
//! loaded, so that the kernel and nft themselves normalise what the build asks
//! for; and the loads and writes `apply` makes.

use std::path::Path;
use std::process::Command;

use switchyard::family::Which;
use switchyard::render::NFT_TABLE;
use switchyard::verify::sysctl::Setting;
use switchyard::verify::{Listings, RoutingListings};

/// The listings of the namespace this process runs in, with the values of
/// `settings` and the other nft tables.
pub fn live(settings: &[Setting]) -> Result<Listings, String> {
    let mut listings = listings(None)?;
    listings.sysctls = settings
        .iter()
        .map(|setting| (setting.key.clone(), read_sysctl(setting)))
        .collect();
    let tables = run(Command::new("nft").args(["-j", "list", "tables"]))?;
    for (family, name) in switchyard::verify::other_tables(&tables).map_err(|e| e.to_string())? {
        listings.other_tables.push(run(
            Command::new("nft").args(["-j", "list", "table", &family, &name])
        )?);
    }
    Ok(listings)
}

/// The path below /proc/sys of a setting of this network namespace.
pub fn sysctl_path(setting: &Setting) -> std::path::PathBuf {
    Path::new("/proc/sys").join(setting.proc_path())
}

/// A setting's value; `None` when the kernel has no such setting (an
/// interface that does not exist).
pub fn read_sysctl(setting: &Setting) -> Option<String> {
    std::fs::read_to_string(sysctl_path(setting))
        .ok()
        .map(|value| value.trim().to_owned())
}

/// The listings of a fresh namespace holding exactly what the ip batches and
/// `nft_script` load: one veth per interface the batches name (their addresses
/// and routes need them), then the IPv4 batch, then the IPv6 one, then the
/// script. The namespace is deleted afterwards, also on error.
pub fn expected(
    nft_script: &Path,
    ip_batch: &Path,
    ip6_batch: Option<&Path>,
    interfaces: &[String],
) -> Result<Listings, String> {
    let scratch = ScratchNamespace::new()?;
    for interface in interfaces {
        // The peer gets a kernel-chosen name (veth0, …); it stays down.
        scratch.ip(&["link", "add", interface, "type", "veth"])?;
        scratch.ip(&["link", "set", interface, "up"])?;
    }
    let mut batch = Command::new("ip");
    batch.args(["-n", &scratch.name, "-batch"]).arg(ip_batch);
    run(&mut batch)?;
    if let Some(ip6_batch) = ip6_batch {
        let mut batch = Command::new("ip");
        batch
            .args(["-n", &scratch.name, "-6", "-batch"])
            .arg(ip6_batch);
        run(&mut batch)?;
    }
    let mut load = scratch.exec("nft");
    load.arg("-f").arg(nft_script);
    run(&mut load)?;
    listings(Some(&scratch))
}

fn listings(netns: Option<&ScratchNamespace>) -> Result<Listings, String> {
    let command = |program: &str| match netns {
        Some(netns) => netns.exec(program),
        None => Command::new(program),
    };
    let mut nft = command("nft");
    nft.args(["-j", "list", "table", "inet", NFT_TABLE]);
    let output = nft.output().map_err(|e| format!("cannot run nft: {e}"))?;
    let nft_table = if output.status.success() {
        Some(String::from_utf8_lossy(&output.stdout).into_owned())
    } else if String::from_utf8_lossy(&output.stderr).contains("No such file or directory") {
        None
    } else {
        return Err(failed(&nft, &output));
    };
    let routing = |family: Which| -> Result<RoutingListings, String> {
        let ip = |args: &[&str]| {
            let mut command = command("ip");
            command.arg(family_option(family)).args(args);
            run(&mut command)
        };
        Ok(RoutingListings {
            rules: ip(&["-N", "-j", "rule", "show"])?,
            routes: ip(&["-N", "-j", "route", "show", "table", "all"])?,
            addresses: ip(&["-j", "addr", "show"])?,
            neighbours: ip(&[
                "-N",
                "-j",
                "neigh",
                "show",
                "nud",
                "permanent",
                "proto",
                &switchyard::plan::ROUTE_PROTOCOL.to_string(),
            ])?,
        })
    };
    Ok(Listings {
        nft_table,
        v4: routing(Which::V4)?,
        v6: routing(Which::V6)?,
        ..Listings::default()
    })
}

/// `ip`'s option for a family: `-4` or `-6`.
fn family_option(family: Which) -> &'static str {
    match family {
        Which::V4 => "-4",
        Which::V6 => "-6",
    }
}

/// Runs `command`; its stdout, or an error naming it with its stderr.
fn run(command: &mut Command) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program(command)))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(failed(command, &output))
    }
}

fn program(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| word.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

fn failed(command: &Command, output: &std::process::Output) -> String {
    format!(
        "`{}` failed ({}): {}",
        program(command),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    )
}

/// A named network namespace that is deleted when dropped. Named (not
/// `unshare`d) so that several commands can run in it one after the other.
struct ScratchNamespace {
    name: String,
}

impl ScratchNamespace {
    fn new() -> Result<Self, String> {
        let name = format!("switchyard-verify-{}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name])).map_err(|e| {
            format!("cannot create a scratch network namespace (verify needs root): {e}")
        })?;
        Ok(ScratchNamespace { name })
    }

    fn ip(&self, args: &[&str]) -> Result<String, String> {
        run(Command::new("ip").args(["-n", &self.name]).args(args))
    }

    fn exec(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }
}

impl Drop for ScratchNamespace {
    fn drop(&mut self) {
        // Nothing to report to: a leftover namespace is visible in `ip netns`.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// `nft list table inet switchyard` as text (what `nft -f` reads back);
/// `None` when there is no such table.
pub fn table_text() -> Result<Option<String>, String> {
    let mut nft = Command::new("nft");
    nft.args(["list", "table", "inet", NFT_TABLE]);
    let output = nft.output().map_err(|e| format!("cannot run nft: {e}"))?;
    if output.status.success() {
        Ok(Some(String::from_utf8_lossy(&output.stdout).into_owned()))
    } else if String::from_utf8_lossy(&output.stderr).contains("No such file or directory") {
        Ok(None)
    } else {
        Err(failed(&nft, &output))
    }
}

/// `nft -j list set inet TABLE SET`: the set as JSON.
pub fn list_set(table: &str, set: &str) -> Result<String, String> {
    run(Command::new("nft").args(["-j", "list", "set", "inet", table, set]))
}

/// Loads an nft script (one transaction) from standard input.
pub fn load_nft(script: &str) -> Result<(), String> {
    run_with_input(Command::new("nft").args(["-f", "-"]), script)
}

/// Runs `ip -4 -batch -` or `ip -6 -batch -` with `lines`, all of `family`.
/// With `force`, ip carries on past a failing line (and still fails at the
/// end): what a restore wants.
pub fn ip_batch(family: Which, lines: &[String], force: bool) -> Result<(), String> {
    let mut ip = Command::new("ip");
    if force {
        ip.arg("-force");
    }
    ip.args([family_option(family), "-batch", "-"]);
    run_with_input(&mut ip, &(lines.join("\n") + "\n"))
}

/// Writes a setting of this network namespace.
pub fn write_sysctl(setting: &Setting) -> Result<(), String> {
    std::fs::write(sysctl_path(setting), &setting.value)
        .map_err(|e| format!("cannot set {} = {}: {e}", setting.key, setting.value))
}

fn run_with_input(command: &mut Command, input: &str) -> Result<(), String> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program(command)))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Written on a thread: the program may answer before it read everything.
    let output = std::thread::scope(|scope| {
        let writer = scope.spawn(move || stdin.write_all(input.as_bytes()));
        let output = child.wait_with_output();
        let _ = writer.join();
        output
    })
    .map_err(|e| format!("cannot run {}: {e}", program(command)))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(failed(command, &output))
    }
}
