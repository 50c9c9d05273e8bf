//! `switchyard apply` against the real kernel, in network namespaces standing
//! in for host `net2` of examples/multi-host.toml (and `net1` of
//! examples/failover.toml for the monitor's set): a failed apply puts back
//! exactly what was there, `--try` undoes itself unless confirmed, nothing to
//! do changes nothing, drift repair converges, and an outage survives a reload.
//! Host `net1` of examples/two-isps.toml (VM web-1 bound to a MAC) shows the
//! same for the permanent neighbour entries of MAC-bound VMs, and host `net1`
//! of examples/dual-stack.toml for IPv6: applied beside IPv4 (`ip -6 -batch`),
//! drift in it repaired, a failure in its batch undone in both families.
//! The decisions are unit-tested in src/apply.rs. These need root (CI runs
//! them as root) and fail, never skip, without it.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::deploy::{
    HOST, added_public_address, build_edited, host_namespace, kernel_state, table_handle,
};
use common::{Netns, describe, require_root, run_ok};

/// `switchyard apply ARGS… ` inside `netns`.
fn apply(netns: &Netns, args: &[&str]) -> Output {
    netns
        .exec(env!("CARGO_BIN_EXE_switchyard"))
        .arg("apply")
        .args(args)
        .output()
        .expect("run switchyard apply")
}

/// `switchyard apply DIR --host HOST` inside `netns`, which must succeed: its stdout.
fn applied(netns: &Netns, dir: &Path, host: &str) -> String {
    let output = apply(netns, &[&dir.to_string_lossy(), "--host", host]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// Two builds of the multi-host example in `dir`: `old` (ci-runner with another
/// public address) and `new` (the example) made `--since` it.
fn builds(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (old, new) = (dir.join("old"), dir.join("new"));
    build_edited(&added_public_address(), &old, None);
    build_edited(&common::deploy::example(), &new, Some(&old));
    (old, new)
}

/// A route in uplink isp-a's table that no build has.
fn add_route_by_hand(netns: &Netns) {
    netns.ip(&[
        "route",
        "add",
        "10.99.0.0/16",
        "via",
        "192.0.2.5",
        "dev",
        "up-a",
        "table",
        "101",
    ]);
}

/// A test's builds (see [`builds`]) in a temporary directory, kept while the
/// test runs, and a namespace standing in for `HOST` named after `test`.
struct Rig {
    _dir: tempfile::TempDir,
    old: std::path::PathBuf,
    new: std::path::PathBuf,
    netns: Netns,
}

fn rig(test: &str) -> Rig {
    require_root();
    let dir = tempfile::tempdir().expect("temporary directory");
    let (old, new) = builds(dir.path());
    Rig {
        _dir: dir,
        old,
        new,
        netns: host_namespace(test),
    }
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_failed_apply_restores_table_rules_routes_and_addresses_exactly() {
    let Rig {
        _dir,
        old,
        new,
        netns,
    } = rig("apfail");
    applied(&netns, &old, HOST);
    // Uplink isp-b's interface goes away (its routes with it, its rule stays),
    // a route is added by hand to an uplink table and forwarding is off: the
    // new build's ip batch cannot be applied on this host.
    netns.ip(&["link", "del", "up-b"]);
    add_route_by_hand(&netns);
    run_ok(netns.exec("sysctl").args(["-qw", "net.ipv4.ip_forward=0"]));
    let before = kernel_state(&netns);
    assert!(before.contains("10.99.0.0/16"), "{before}");

    let output = apply(&netns, &[&new.to_string_lossy(), "--host", HOST]);
    common::assert_exit_saying(
        &output,
        1,
        &[
            "apply failed at step routing",
            "Cannot find device \"up-b\"",
            "net2: restored the state from before the apply",
        ],
    );
    let after = kernel_state(&netns);
    assert_eq!(before, after, "the failed apply left the host changed");
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn nothing_to_change_is_unchanged_and_leaves_the_table_alone() {
    let Rig {
        _dir, new, netns, ..
    } = rig("apsame");
    let first = applied(&netns, &new, HOST);
    assert!(first.starts_with("net2: applied"), "{first}");
    let handle = table_handle(&netns);
    let second = applied(&netns, &new, HOST);
    assert_eq!(second, format!("net2: unchanged ({})\n", new.display()));
    assert_eq!(table_handle(&netns), handle, "the table was not reloaded");
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_route_added_by_hand_to_an_uplink_table_is_removed_and_the_next_apply_is_unchanged() {
    let Rig {
        _dir, new, netns, ..
    } = rig("aproute");
    applied(&netns, &new, HOST);
    add_route_by_hand(&netns);
    let repaired = applied(&netns, &new, HOST);
    assert!(
        repaired.contains("table unchanged, 1 routing change(s)"),
        "{repaired}"
    );
    assert!(
        !netns
            .ip(&["route", "show", "table", "101"])
            .contains("10.99.0.0")
    );
    let again = applied(&netns, &new, HOST);
    assert!(again.contains("unchanged"), "{again}");
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn an_update_is_used_over_its_base_and_the_full_script_over_anything_else() {
    let Rig {
        _dir,
        old,
        new,
        netns,
    } = rig("apupd");
    applied(&netns, &old, HOST);
    let handle = table_handle(&netns);
    let updated = applied(&netns, &new, HOST);
    assert!(
        updated.contains("table updated (switchyard.update.nft)"),
        "{updated}"
    );
    common::deploy::assert_deployed_by(&netns, &new, handle, common::deploy::Loaded::Updated);
    // Over a table the update was not made for: the whole script.
    run_ok(
        netns
            .exec("nft")
            .args(["delete", "table", "inet", "switchyard"]),
    );
    let replaced = applied(&netns, &new, HOST);
    assert!(
        replaced.contains("table loaded (switchyard.nft)"),
        "{replaced}"
    );
}

/// Polls `check` every 100 ms for up to `seconds`.
fn eventually(seconds: u64, check: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    check()
}

/// A rig (named after `test`) with the old build applied, then the new one
/// with `--try SECONDS`; the state before the trial.
fn trial_started(test: &str, seconds: u64) -> (Rig, String) {
    let rig = rig(test);
    applied(&rig.netns, &rig.old, HOST);
    let before = kernel_state(&rig.netns);
    let seconds = seconds.to_string();
    let output = apply(
        &rig.netns,
        &[
            &rig.new.to_string_lossy(),
            "--host",
            HOST,
            "--try",
            &seconds,
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let promised = format!("--confirm` within {seconds} s");
    assert!(String::from_utf8_lossy(&output.stdout).contains(&promised));
    (rig, before)
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn try_is_undone_without_confirm_and_kept_with_it() {
    let (
        Rig {
            _dir, new, netns, ..
        },
        before,
    ) = trial_started("aptry", 2);
    let tried = kernel_state(&netns);
    assert_ne!(tried, before, "the trial applied the new build");
    // While it is pending, another apply is refused.
    let refused = apply(&netns, &[&new.to_string_lossy(), "--host", HOST]);
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
    let undone = eventually(6, || kernel_state(&netns) == before);
    assert!(
        undone,
        "not undone after its deadline:\n{}",
        similar::TextDiff::from_lines(&before, kernel_state(&netns).as_str()).unified_diff()
    );
    let late = apply(&netns, &["--confirm"]);
    assert_eq!(late.status.code(), Some(2), "nothing left to confirm");

    let output = apply(
        &netns,
        &[&new.to_string_lossy(), "--host", HOST, "--try", "2"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let confirmed = apply(&netns, &["--confirm"]);
    assert_eq!(confirmed.status.code(), Some(0), "{}", describe(&confirmed));
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(
        kernel_state(&netns),
        tried,
        "confirmed: the new build stays"
    );
    // The log the undoing process kept for the operator.
    let log = trial_file(&netns, "log");
    let logged = std::fs::read_to_string(&log).expect("the undoing process's log");
    assert!(
        logged.contains("not confirmed in time: restored"),
        "{logged}"
    );
    std::fs::remove_file(&log).expect("log removed");
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn an_apply_during_an_outage_keeps_the_monitors_down_set() {
    require_root();
    let topology = common::example_source(Path::new("examples/failover.toml"));
    let dir = tempfile::tempdir().expect("temporary directory");
    let build = dir.path().join("out");
    build_edited(&topology, &build, None);
    let netns = Netns::with_veths(
        "apdown",
        &["lan0", "up-a", "up-b", "up-c"].map(str::to_owned),
    );
    applied(&netns, &build, "net1");
    // The monitor found isp-a (uplink id 1, mark 0x100) down; then someone
    // changed the table, which the next apply reloads as a whole.
    run_ok(netns.exec("nft").args([
        "add",
        "element",
        "inet",
        "switchyard",
        "down_uplinks",
        "{ 0x00000100 }",
    ]));
    run_ok(
        netns
            .exec("nft")
            .args(["add", "rule", "inet", "switchyard", "forward", "accept"]),
    );
    let output = applied(&netns, &build, "net1");
    assert!(output.contains("table loaded"), "{output}");
    let set = run_ok(
        netns
            .exec("nft")
            .args(["list", "set", "inet", "switchyard", "down_uplinks"]),
    );
    assert!(set.contains("elements = { 0x00000100 }"), "{set}");
    // verify leaves the monitor's set to the monitor.
    let verified = run_ok(
        netns
            .exec(env!("CARGO_BIN_EXE_switchyard"))
            .args(["verify"])
            .arg(&build)
            .args(["--host", "net1"]),
    );
    assert!(verified.contains("in sync"), "{verified}");
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn table_only_loads_the_table_before_the_uplinks_exist() {
    require_root();
    let dir = tempfile::tempdir().expect("temporary directory");
    let (_, new) = builds(dir.path());
    // Early boot: no interface yet.
    let netns = Netns::new("aptable");
    let output = apply(
        &netns,
        &[&new.to_string_lossy(), "--host", HOST, "--table-only"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("table loaded (switchyard.nft), 0 routing change(s), 0 setting(s)"),
        "{stdout}"
    );
    assert!(!netns.ip(&["rule", "show"]).contains("proto 211"));
    let again = apply(
        &netns,
        &[&new.to_string_lossy(), "--host", HOST, "--table-only"],
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("unchanged"));
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_trial_whose_waiting_process_died_is_undone_by_the_next_apply() {
    let (
        Rig {
            _dir, old, netns, ..
        },
        before,
    ) = trial_started("apkill", 1);
    // The process waiting for the deadline is killed (found by the trial's id
    // in its command line).
    let pending = trial_file(&netns, "json");
    let trial: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pending).expect("the pending trial")).expect("JSON");
    let id = trial["id"].as_str().expect("an id");
    let waiting = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let command = std::fs::read(entry.path().join("cmdline")).ok()?;
            let command = String::from_utf8_lossy(&command).replace('\0', " ");
            command
                .contains(&format!("--revert-pending {id}"))
                .then(|| entry.file_name().to_string_lossy().into_owned())
        })
        .next()
        .expect("the waiting process");
    run_ok(Command::new("kill").args(["-KILL", &waiting]));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_ne!(kernel_state(&netns), before, "nothing undid it yet");

    let output = apply(&netns, &[&old.to_string_lossy(), "--host", HOST]);
    common::assert_exit_saying(&output, 0, &["undid the trial apply whose deadline passed"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("unchanged"));
    assert_eq!(kernel_state(&netns), before);
    std::fs::remove_file(trial_file(&netns, "log")).expect("log removed");
}

/// `/run/switchyard/pending-try-netINODE.EXTENSION` of `netns`: a pending
/// trial is kept per namespace, named by its inode, as /run is shared.
fn trial_file(netns: &Netns, extension: &str) -> std::path::PathBuf {
    let namespace = run_ok(netns.exec("readlink").arg("/proc/self/ns/net"));
    let inode: String = namespace.chars().filter(char::is_ascii_digit).collect();
    Path::new("/run/switchyard").join(format!("pending-try-net{inode}.{extension}"))
}

/// examples/two-isps.toml: its host `net1` binds VM web-1 (10.0.0.5 on lan0)
/// to this MAC.
const BOUND_TOPOLOGY: &str = "examples/two-isps.toml";
const BOUND_HOST: &str = "net1";
const BOUND_MAC: &str = "52:54:00:12:34:56";
/// Another machine's MAC on the LAN (a thief's, or a typo's).
const STRANGER_MAC: &str = "02:00:00:00:00:66";

/// `ip neigh show 10.0.0.5 dev lan0` in `netns`.
fn web_1_neighbour(netns: &Netns) -> String {
    netns.ip(&["neigh", "show", "10.0.0.5", "dev", "lan0"])
}

/// `ip neigh replace 10.0.0.5 lladdr MAC dev lan0 nud NUD` in `netns`, as
/// someone on the host (or the kernel, from an ARP reply) makes it.
fn set_web_1_neighbour(netns: &Netns, mac: &str, nud: &str) {
    netns.ip(&[
        "neigh", "replace", "10.0.0.5", "lladdr", mac, "dev", "lan0", "nud", nud,
    ]);
}

/// Builds of `topology` (examples/two-isps.toml or examples/dual-stack.toml)
/// with `edits` in `dir`, and a namespace for its host `net1` (lan0, up-a,
/// up-b) named after `test`.
fn edited_rig(topology: &str, test: &str, dir: &Path, builds: &[(&str, &[(&str, &str)])]) -> Netns {
    require_root();
    let topology = common::example_source(Path::new(topology));
    for (name, edits) in builds {
        let text = common::splice(&topology.text, edits);
        let edited = switchyard::diagnostic::Source::new(topology.name.clone(), text);
        build_edited(&edited, &dir.join(name), None);
    }
    Netns::with_veths(test, &["lan0", "up-a", "up-b"].map(str::to_owned))
}

/// `switchyard verify DIR --host net1` in `netns`: its exit code and stdout.
fn verified(netns: &Netns, dir: &Path) -> (Option<i32>, String) {
    let output = netns
        .exec(env!("CARGO_BIN_EXE_switchyard"))
        .arg("verify")
        .arg(dir)
        .args(["--host", BOUND_HOST])
        .output()
        .expect("run switchyard verify");
    (
        output.status.code(),
        String::from_utf8(output.stdout).expect("UTF-8"),
    )
}

/// web-1's entry in `netns` is the build's.
fn assert_bound(netns: &Netns) {
    let entry = web_1_neighbour(netns);
    assert!(
        entry.contains(&format!("lladdr {BOUND_MAC} PERMANENT proto 211")),
        "{entry}"
    );
}

/// verify in `netns` reports `reported` among the neighbour entries (exit 1);
/// one apply repairs it, verify then is in sync and the next apply unchanged.
fn assert_drift_repaired(netns: &Netns, build: &Path, reported: &str) {
    let (code, out) = verified(netns, build);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("neighbour entries of MAC-bound VMs (nud permanent, protocol 211):")
            && out.contains(reported),
        "{out}"
    );
    let repaired = applied(netns, build, BOUND_HOST);
    assert!(
        repaired.contains("table unchanged, 1 routing change(s), 0 setting(s)"),
        "{repaired}"
    );
    assert_bound(netns);
    assert_eq!(verified(netns, build).0, Some(0));
    let again = applied(netns, build, BOUND_HOST);
    assert!(again.contains("unchanged"), "{again}");
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_mac_bound_vms_neighbour_entry_is_applied_and_drift_in_it_repaired() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let netns = edited_rig(BOUND_TOPOLOGY, "apneigh", dir.path(), &[("out", &[])]);
    let build = dir.path().join("out");
    // Before the first apply, an ARP reply from another machine made the host
    // send web-1's traffic there.
    set_web_1_neighbour(&netns, STRANGER_MAC, "reachable");
    applied(&netns, &build, BOUND_HOST);
    assert_bound(&netns);
    assert_eq!(verified(&netns, &build).0, Some(0));
    let again = applied(&netns, &build, BOUND_HOST);
    assert!(again.contains("unchanged"), "{again}");

    // Pointed at another MAC by hand (the kernel keeps the entry's protocol).
    set_web_1_neighbour(&netns, STRANGER_MAC, "permanent");
    assert_drift_repaired(
        &netns,
        &build,
        &format!(
            "changed  10.0.0.5 dev lan0\n             build: lladdr {BOUND_MAC}\n             live:  lladdr {STRANGER_MAC}"
        ),
    );
    // Deleted by hand.
    netns.ip(&["neigh", "del", "10.0.0.5", "dev", "lan0"]);
    assert_drift_repaired(
        &netns,
        &build,
        &format!("missing  10.0.0.5 dev lan0 lladdr {BOUND_MAC}"),
    );
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_failed_apply_restores_the_neighbour_entries() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // The new build binds web-1 to another MAC (a NIC replaced).
    let netns = edited_rig(
        BOUND_TOPOLOGY,
        "apnfail",
        dir.path(),
        &[("old", &[]), ("new", &[(BOUND_MAC, "52:54:00:ab:cd:ef")])],
    );
    applied(&netns, &dir.path().join("old"), BOUND_HOST);
    // Uplink isp-b's interface goes away: the new build's ip batch fails at
    // its address, after the neighbour entry was replaced.
    netns.ip(&["link", "del", "up-b"]);
    let before = kernel_state(&netns);
    assert!(
        before.contains(&format!("10.0.0.5 dev lan0 lladdr {BOUND_MAC} PERMANENT")),
        "{before}"
    );

    let new = dir.path().join("new");
    let output = apply(&netns, &[&new.to_string_lossy(), "--host", BOUND_HOST]);
    common::assert_exit_saying(
        &output,
        1,
        &[
            "apply failed at step routing",
            "net1: restored the state from before the apply",
        ],
    );
    assert_eq!(
        kernel_state(&netns),
        before,
        "the failed apply left the host changed"
    );
}

/// examples/dual-stack.toml: its host `net1` has both families on both
/// uplinks (isp-a's IPv6 gateway link-local), and binds web-1's addresses of
/// both to its MAC.
const DUAL_TOPOLOGY: &str = "examples/dual-stack.toml";
const DUAL_HOST: &str = "net1";

/// What of IPv6 switchyard owns in `netns`: the rules, the uplink tables, the
/// uplinks' global addresses, the permanent neighbour entries and the
/// settings (link-local routes and addresses come and go on their own).
fn ipv6_state(netns: &Netns) -> String {
    let mut state = netns.ip(&["-6", "rule", "show"]);
    for table in ["101", "102"] {
        state += &netns.ip(&["-6", "route", "show", "table", table]);
    }
    state += &netns.ip(&["-6", "-br", "addr", "show", "scope", "global"]);
    state += &netns.ip(&["-6", "neigh", "show", "nud", "permanent"]);
    for key in [
        "all/forwarding",
        "up-a/accept_ra",
        "up-b/accept_ra",
        "up-a/keep_addr_on_down",
    ] {
        let value = run_ok(
            netns
                .exec("cat")
                .arg(format!("/proc/sys/net/ipv6/conf/{key}")),
        );
        state += &format!("{key} = {value}");
    }
    state
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_dual_stack_host_gets_both_families_and_drift_in_ipv6_is_repaired() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let netns = edited_rig(DUAL_TOPOLOGY, "apdual", dir.path(), &[("out", &[])]);
    let build = dir.path().join("out");
    applied(&netns, &build, DUAL_HOST);
    let state = ipv6_state(&netns);
    for line in [
        "1001:\tfrom all fwmark 0x100/0xff00 lookup 101 proto 211",
        "1002:\tfrom all fwmark 0x200/0xff00 lookup 102 proto 211",
        "2001:db8:ffa::/64 dev up-a proto 211",
        "default via fe80::1 dev up-a proto 211",
        "default via 2001:db8:ffb::1 dev up-b proto 211",
        "2001:db8:ffa::2/64",
        "2001:db8:ffb::2/64",
        "2001:db8:10::5 dev lan0 lladdr 52:54:00:12:34:56 PERMANENT proto 211",
        "all/forwarding = 1\nup-a/accept_ra = 0\nup-b/accept_ra = 0\nup-a/keep_addr_on_down = 1\n",
    ] {
        assert!(state.contains(line), "no `{line}` in\n{state}");
    }
    // IPv4 beside it, loaded first: the IPv6 batch flushed none of it.
    let ipv4 = kernel_state(&netns);
    for line in [
        "1001:\tfrom all fwmark 0x100/0xff00 lookup 101 proto 211",
        "default via 198.18.0.1 dev up-b table 102 proto 211",
        "10.0.0.5 dev lan0 lladdr 52:54:00:12:34:56 PERMANENT",
    ] {
        assert!(ipv4.contains(line), "no `{line}` in\n{ipv4}");
    }
    assert_eq!(verified(&netns, &build).0, Some(0));
    let again = applied(&netns, &build, DUAL_HOST);
    assert!(again.contains("unchanged"), "{again}");

    // Behind switchyard's back: isp-b's IPv6 default route deleted, an IPv6
    // rule of its protocol added, IPv6 forwarding off.
    netns.ip(&["-6", "route", "del", "default", "table", "102"]);
    netns.ip(&[
        "-6",
        "rule",
        "add",
        "fwmark",
        "0x900/0xff00",
        "lookup",
        "109",
        "priority",
        "1009",
        "protocol",
        "211",
    ]);
    run_ok(
        netns
            .exec("sysctl")
            .args(["-qw", "net.ipv6.conf.all.forwarding=0"]),
    );
    let (code, out) = verified(&netns, &build);
    assert_eq!(code, Some(1), "{out}");
    for line in [
        "extra    table 109 priority 1009 src all fwmark 0x900 fwmask 0xff00 (IPv6)",
        "missing  table 102 dst default gateway 2001:db8:ffb::1 dev up-b metric 1024 pref medium",
        "changed  net.ipv6.conf.all.forwarding",
    ] {
        assert!(
            out.contains(line),
            "verify does not report `{line}`:\n{out}"
        );
    }
    let repaired = applied(&netns, &build, DUAL_HOST);
    assert!(
        repaired.contains("table unchanged, 2 routing change(s), 1 setting(s)"),
        "{repaired}"
    );
    assert_eq!(ipv6_state(&netns), state);
    assert_eq!(verified(&netns, &build).0, Some(0));
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_failed_ipv6_step_restores_both_families_exactly() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // The new build moves isp-a's IPv4 link and IPv6 gateway.
    let netns = edited_rig(
        DUAL_TOPOLOGY,
        "apdfail",
        dir.path(),
        &[
            ("old", &[]),
            (
                "new",
                &[
                    (
                        r#"address = ["192.0.2.2/30", "2001:db8:ffa::2/64"]"#,
                        r#"address = ["192.0.2.1/30", "2001:db8:ffa::2/64"]"#,
                    ),
                    (
                        r#"gateway = ["192.0.2.1", "fe80::1"]"#,
                        r#"gateway = ["192.0.2.2", "fe80::2"]"#,
                    ),
                ],
            ),
        ],
    );
    applied(&netns, &dir.path().join("old"), DUAL_HOST);
    // IPv6 off on up-b (its IPv6 address and routes go with it): the new
    // build's IPv4 batch applies, its IPv6 batch fails at up-b's address.
    run_ok(
        netns
            .exec("sysctl")
            .args(["-qw", "net.ipv6.conf.up-b.disable_ipv6=1"]),
    );
    let before = (kernel_state(&netns), ipv6_state(&netns));
    assert!(
        before.1.contains("default via fe80::1 dev up-a"),
        "{}",
        before.1
    );

    let new = dir.path().join("new");
    let output = apply(&netns, &[&new.to_string_lossy(), "--host", DUAL_HOST]);
    common::assert_exit_saying(
        &output,
        1,
        &[
            "apply failed at step routing",
            "IPv6 is disabled on this device",
            "net1: restored the state from before the apply",
        ],
    );
    assert_eq!(
        (kernel_state(&netns), ipv6_state(&netns)),
        before,
        "the failed apply left the host changed"
    );
}
