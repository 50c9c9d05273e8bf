//! The systemd-networkd units against the real systemd-networkd: for every host of
//! every example (and of the end-to-end rig's topology), the real
//! /lib/systemd/systemd-networkd runs in a network namespace with the host's
//! generated units, and the policy rules, per-uplink routing tables and uplink
//! addresses it produces, of both families, must equal what `ip -batch
//! switchyard.ip` (then, on a host with IPv6, `ip -6 -batch switchyard6.ip`)
//! produces in a twin namespace; with the nft script loaded as well, `switchyard verify` then
//! finds networkd's namespace in sync with the build, but for the MAC-bound VMs'
//! neighbour entries, which networkd does not make: those alone are missing, and
//! `switchyard apply` adds just them.
//!
//! How networkd runs here: `ip netns exec` gives it its own mount namespace, in
//! which a private tmpfs replaces /run/systemd (its state directory) and
//! /usr/lib/systemd/network (so no distribution default unit applies), the units
//! are bind-mounted on /etc/systemd/network, and /sys is remounted read-only: with
//! /sys read-only networkd concludes that udev is not running and configures links
//! without waiting for udev to initialise them. It needs the `systemd-network`
//! user (it drops privileges to it), which Debian's systemd package creates.
//!
//! Normalisation before comparing: networkd tags its rules and routes `proto
//! static` while the ip batch tags them `proto 211` (so a reload can flush exactly
//! its own), so the `proto` attribute is removed; lines are sorted, as the order
//! of routes within a table follows insertion order. Nothing else is changed.
//!
//! VLAN uplinks: this kernel has no 8021q module, so the `.netdev` that would
//! create `eth1.100` cannot be instantiated (and networkd refuses to adopt a veth
//! of that name for a `Kind=vlan` netdev). The `.netdev` is left out, the VLAN
//! interface and its parent are veths of the same names, and networkd configures
//! the VLAN interface from its `.network` like any uplink. It ignores the parent's
//! `VLAN=` line, logging `FILE: eth1.100 NetDev could not be found`; that line
//! names the file the `VLAN=` line was read from, so the test checks that each
//! VLAN reached networkd from the unit it should. A parent that is itself an
//! uplink (examples/shared-port.toml) must get its own address, table and rule
//! too. The `.netdev` files are covered by snapshots only
//! (snapshots/artifact__*netdev*).
//!
//! Beside the examples: tests/fixtures/ipv6-uplink.toml, whose uplink isp-b
//! has IPv6 only.
//!
//! A VLAN parent whose administrator's unit the topology names (`parent_unit`,
//! examples/multi-host.toml's net3) gets such a unit here, with an address of its
//! own ([`ADMIN_ADDRESS`]) and no `VLAN=` line: networkd must configure the
//! parent from it (the address appears) and read the `VLAN=` line from
//! switchyard's drop-in (logged under the name of the unit it extends).
//!
//! Runs as root (CI does); fails, never skips, without it or without networkd.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Netns, run_ok};
use switchyard::family::{V4, V6};
use switchyard::plan::HostPlan;

const NETWORKD: &str = "/lib/systemd/systemd-networkd";

/// The address the administrator's own unit for a VLAN parent gives it.
const ADMIN_ADDRESS: &str = "100.127.0.1/24";

/// How long networkd gets to configure every link.
const DEADLINE: Duration = Duration::from_secs(20);

/// A running systemd-networkd, killed when dropped.
struct Networkd {
    child: Child,
    log: PathBuf,
}

impl Networkd {
    fn start(ns: &Netns, units: &Path, log: PathBuf) -> Networkd {
        let script = format!(
            "set -e
mount -t tmpfs tmpfs /run/systemd
mount -t tmpfs tmpfs /usr/lib/systemd/network
mount --bind '{}' /etc/systemd/network
mount -o remount,ro /sys
exec {NETWORKD}
",
            units.display()
        );
        let file = std::fs::File::create(&log).expect("create log");
        let child = ns
            .exec("sh")
            .arg("-c")
            .arg(script)
            .env("SYSTEMD_LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log handle"))
            .stderr(file)
            .spawn()
            .expect("start systemd-networkd");
        Networkd { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn has_exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("poll networkd")
    }
}

impl Drop for Networkd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One host: networkd in one namespace, the ip batch in its twin.
struct Case {
    // Fields drop in order: networkd dies before its namespace is deleted.
    networkd: Networkd,
    label: String,
    host: HostPlan,
    networkd_ns: Netns,
    expected: String,
    /// The build on disk, for `switchyard verify`.
    build_dir: PathBuf,
    _units: tempfile::TempDir,
}

/// The uplink interfaces (and VLAN parents) of `host`, as veths in `ns`, and
/// its LAN interfaces (the batch's neighbour entries and its sysctl file name them).
fn add_interfaces(ns: &Netns, host: &HostPlan) {
    let mut names: Vec<&str> = host.uplinks.iter().map(|u| u.interface.as_str()).collect();
    names.extend(host.lan.iter().map(|l| l.as_str()));
    names.extend(host.sync_link().map(|link| link.interface));
    names.extend(
        host.uplinks
            .iter()
            .filter_map(|u| Some(u.vlan.as_ref()?.parent.as_str())),
    );
    names.sort();
    names.dedup();
    for name in names {
        ns.veth(name);
    }
}

/// Rules, each uplink's table and each uplink's address, normalised (module
/// doc), of each family (IPv6's global addresses only: the kernel gives each
/// interface a link-local one, in its own time).
fn state(ns: &Netns, host: &HostPlan) -> String {
    ["-4", "-6"]
        .into_iter()
        .map(|family| family_state(ns, host, family))
        .collect()
}

fn family_state(ns: &Netns, host: &HostPlan, family: &str) -> String {
    let normalise = |text: String| {
        let mut lines: Vec<String> = text
            .lines()
            .map(|line| {
                let mut words: Vec<&str> = line.split_whitespace().collect();
                if let Some(i) = words.iter().position(|w| *w == "proto") {
                    words.drain(i..(i + 2).min(words.len()));
                }
                words.join(" ")
            })
            .filter(|line| !line.is_empty())
            .collect();
        lines.sort();
        lines.join("\n")
    };
    let mut out = format!(
        "# ip {family} rule\n{}\n",
        normalise(ns.ip(&[family, "rule", "show"]))
    );
    for uplink in &host.uplinks {
        let table = uplink.table.to_string();
        // `ip route show table N` fails while the table does not exist yet.
        let routes = Command::new("ip")
            .args(["-n", &ns.name, family, "route", "show", "table", &table])
            .output()
            .expect("ip runs");
        let address = ns.ip(&[
            family,
            "-br",
            "address",
            "show",
            "dev",
            &uplink.interface,
            "scope",
            "global",
        ]);
        out += &format!(
            "# table {table} ({})\n{}\n# address of {}\n{}\n",
            uplink.name,
            normalise(String::from_utf8_lossy(&routes.stdout).into_owned()),
            uplink.interface,
            normalise(address)
        );
    }
    if let Some(link) = host.sync_link().filter(|_| family == "-4") {
        let address = ns.ip(&["-4", "-br", "address", "show", "dev", link.interface]);
        out += &format!("# address of {}\n{}\n", link.interface, normalise(address));
    }
    out
}

/// The VLAN parents of `host` configured by an administrator's unit: (parent,
/// unit file name).
fn admin_units(host: &HostPlan) -> Vec<(String, String)> {
    let mut units: Vec<(String, String)> = host
        .uplinks
        .iter()
        .filter_map(|u| {
            let vlan = u.vlan.as_ref()?;
            Some((
                vlan.parent.to_string(),
                vlan.parent_unit.as_ref()?.to_string(),
            ))
        })
        .collect();
    units.sort();
    units.dedup();
    units
}

/// Waits until the administrator's unit has given `parent` its address.
fn wait_for_address(ns: &Netns, parent: &str, label: &str) {
    let started = Instant::now();
    let address = || ns.ip(&["-4", "-br", "address", "show", "dev", parent]);
    while !address().contains(ADMIN_ADDRESS) {
        assert!(
            started.elapsed() < DEADLINE,
            "{label}: {parent} never got {ADMIN_ADDRESS} from the administrator's unit: {}",
            address()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn topologies() -> Vec<(PathBuf, switchyard::diagnostic::Source)> {
    let mut sources: Vec<PathBuf> = common::valid_examples();
    sources.push(PathBuf::from("tests/e2e/topology.toml"));
    // An uplink with IPv6 only: its rule is networkd's `Family=ipv6`.
    sources.push(PathBuf::from("tests/fixtures/ipv6-uplink.toml"));
    sources
        .into_iter()
        .map(|path| {
            let source = common::example_source(&path);
            (path, source)
        })
        .collect()
}

#[test]
#[ignore = "needs root, ip and systemd-networkd: sudo bash .ci/run"]
fn networkd_configures_what_the_ip_batch_configures() {
    common::require_root();
    assert!(
        Path::new(NETWORKD).exists(),
        "{NETWORKD} is missing: install systemd (.ci/run does)"
    );
    run_ok(Command::new("id").arg("systemd-network"));
    assert!(
        Path::new("/etc/systemd/network").is_dir()
            && Path::new("/usr/lib/systemd/network").is_dir(),
        "/etc/systemd/network and /usr/lib/systemd/network must exist (mount points)"
    );

    let logs = tempfile::tempdir().expect("temporary directory");
    let builds = tempfile::tempdir().expect("temporary directory");
    let mut cases: Vec<Case> = Vec::new();
    for (path, source) in topologies() {
        let build = common::build_source(&source);
        let build_dir = builds.path().join(common::stem(&path));
        for (file, content) in build.files() {
            let file = build_dir.join(file);
            std::fs::create_dir_all(file.parent().expect("in a directory")).expect("mkdir");
            std::fs::write(file, content).expect("write the build");
        }
        for host in common::plan(&source)
            .hosts
            .iter()
            .flat_map(HostPlan::machines)
        {
            let n = cases.len();
            let label = format!("{}/{}", common::stem(&path), host.name);

            // The twin: the ip batches, IPv4's first.
            let twin = Netns::new(&format!("ndip{n}"));
            add_interfaces(&twin, &host);
            for (file, family) in [("switchyard.ip", "-4"), ("switchyard6.ip", "-6")] {
                let Some(batch) =
                    (build.artifacts.iter()).find(|a| a.path == format!("{}/{file}", host.name))
                else {
                    assert_eq!(family, "-6", "an ip batch per host");
                    continue;
                };
                let batch_file = logs.path().join(format!("{n}{family}.ip"));
                std::fs::write(&batch_file, &batch.content).expect("write batch");
                let mut load = Command::new("ip");
                load.args(["-n", &twin.name]);
                if family == "-6" {
                    load.arg(family);
                }
                run_ok(load.arg("-batch").arg(&batch_file));
            }
            let expected = state(&twin, &host);

            // networkd, with every unit but the VLAN .netdevs (module doc).
            let units = tempfile::tempdir().expect("temporary directory");
            let prefix = format!("{}/networkd/", host.name);
            let mut written = 0;
            for artifact in &build.artifacts {
                let Some(name) = artifact.path.strip_prefix(&prefix) else {
                    continue;
                };
                if !name.ends_with(".netdev") {
                    let file = units.path().join(name);
                    std::fs::create_dir_all(file.parent().expect("a directory"))
                        .expect("create drop-in directory");
                    std::fs::write(file, &artifact.content).expect("write unit");
                    written += 1;
                }
            }
            for (parent, unit) in admin_units(&host) {
                let text =
                    format!("[Match]\nName={parent}\n\n[Network]\nAddress={ADMIN_ADDRESS}\n");
                std::fs::write(units.path().join(unit), text).expect("write admin unit");
            }
            assert!(
                written >= host.uplinks.len(),
                "{label}: a .network per uplink"
            );
            let networkd_ns = Netns::new(&format!("nd{n}"));
            add_interfaces(&networkd_ns, &host);
            let networkd = Networkd::start(
                &networkd_ns,
                units.path(),
                logs.path().join(format!("{n}.log")),
            );
            cases.push(Case {
                networkd,
                label,
                host,
                networkd_ns,
                expected,
                build_dir: build_dir.clone(),
                _units: units,
            });
        }
    }
    assert!(
        cases.len() >= 6,
        "two-isps, multi-host's three hosts, shared-port, e2e"
    );

    // Every networkd runs at once; wait until each has produced the batch's state.
    let started = Instant::now();
    let mut pending: Vec<&mut Case> = cases.iter_mut().collect();
    while !pending.is_empty() {
        pending.retain_mut(|case| {
            if let Some(status) = case.networkd.has_exited() {
                panic!(
                    "{}: systemd-networkd exited ({status}):\n{}",
                    case.label,
                    case.networkd.log()
                );
            }
            state(&case.networkd_ns, &case.host) != case.expected
        });
        if let Some(case) = pending.first().filter(|_| started.elapsed() > DEADLINE) {
            let actual = state(&case.networkd_ns, &case.host);
            panic!(
                "{}: after {DEADLINE:?}, networkd's rules, routes and addresses differ from \
                 the ip batch's:\n{}\nnetworkd's log:\n{}",
                case.label,
                similar::TextDiff::from_lines(&case.expected, &actual)
                    .unified_diff()
                    .header("ip -batch", "systemd-networkd"),
                case.networkd.log()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for case in &cases {
        // networkd did it from our units, not from something else.
        let log = case.networkd.log();
        for uplink in &case.host.uplinks {
            let unit = format!(
                "{}: Configuring with /etc/systemd/network/10-switchyard-{}.network",
                uplink.interface, uplink.interface
            );
            assert!(log.contains(&unit), "{}: no `{unit}` in\n{log}", case.label);
            if let Some(vlan) = &uplink.vlan {
                // networkd names a drop-in's assignments after the unit it
                // extends; the administrator's unit here has no `VLAN=` line, so
                // one logged under its name came from switchyard's drop-in.
                let file = match &vlan.parent_unit {
                    Some(admin) => admin.to_string(),
                    None => format!("10-switchyard-{}.network", vlan.parent),
                };
                let line = format!(
                    "/etc/systemd/network/{file}: {} NetDev could not be found",
                    uplink.interface
                );
                assert!(log.contains(&line), "{}: no `{line}` in\n{log}", case.label);
            }
        }
        for (parent, unit) in admin_units(&case.host) {
            let configured = format!("{parent}: Configuring with /etc/systemd/network/{unit}");
            assert!(
                log.contains(&configured),
                "{}: no `{configured}` in\n{log}",
                case.label
            );
            wait_for_address(&case.networkd_ns, &parent, &case.label);
        }
        // `switchyard verify` takes networkd's routing (tagged `static`, not
        // 211) for switchyard's: in sync once the nft script is loaded too,
        // but for the MAC-bound VMs' neighbour entries, which networkd does not
        // make (docs/semantics.md §8) and `switchyard apply` adds, alone.
        let script = case.build_dir.join(&case.host.name).join("switchyard.nft");
        run_ok(case.networkd_ns.exec("nft").arg("-f").arg(&script));
        case.networkd_ns
            .load_sysctls(&case.build_dir.join(&case.host.name));
        let switchyard = |command: &str| {
            let mut switchyard = case.networkd_ns.exec(env!("CARGO_BIN_EXE_switchyard"));
            switchyard
                .arg(command)
                .arg(&case.build_dir)
                .args(["--host", &case.host.name]);
            switchyard
        };
        let bound = (case.host.family::<V4>().mac_bindings.len()
            + case.host.family::<V6>().mac_bindings.len())
            * case.host.lan.len();
        if bound > 0 {
            let verdict = switchyard("verify").output().expect("run verify");
            let stdout = String::from_utf8_lossy(&verdict.stdout);
            assert_eq!(verdict.status.code(), Some(1), "{}: {stdout}", case.label);
            assert!(
                stdout.starts_with(
                    "neighbour entries of MAC-bound VMs (nud permanent, protocol 211):\n"
                ) && stdout.contains(&format!(": {bound} difference(s)")),
                "{}: {stdout}",
                case.label
            );
            let applied = run_ok(&mut switchyard("apply"));
            assert!(
                applied.contains(&format!(
                    "table unchanged, {bound} routing change(s), 0 setting(s)"
                )),
                "{}: {applied}",
                case.label
            );
        }
        let verdict = run_ok(&mut switchyard("verify"));
        assert!(verdict.contains("in sync"), "{}: {verdict}", case.label);
        println!(
            "{}: networkd matches the ip batch after {:?}\n{}",
            case.label,
            started.elapsed(),
            case.expected
        );
    }
}
