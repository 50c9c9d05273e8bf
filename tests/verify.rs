//! `switchyard verify` against the real kernel: a namespace standing in for host
//! `net2` of examples/multi-host.toml gets that host's ip batch and nft script,
//! then is changed behind switchyard's back (a rule, an element, an ip rule, the
//! whole table) and loaded again; a member of a pair's shared addresses are
//! not drift; on examples/dual-stack.toml's host, drift in IPv6 is named too. The pure comparison is unit-tested in
//! src/verify/tests.rs; these need root (CI runs them as root) and fail, never
//! skip, without it. The usage errors at the end need neither.

mod common;

use std::path::Path;

use common::deploy::{HOST, TOPOLOGY, host_namespace};
use common::{Netns, describe, repo_path, require_root, run_ok, switchyard};
use switchyard::nft_table::{BaseChain, Table};

/// A build of the multi-host example in a temporary directory.
fn build() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    common::build(&repo_path(TOPOLOGY), &dir.path().join("out"), None);
    dir
}

/// Applies `HOST`'s build in `netns` with `switchyard apply`, as the boot
/// units and the deployment examples do.
fn apply(netns: &Netns, build: &Path) {
    run_ok(
        netns
            .exec(env!("CARGO_BIN_EXE_switchyard"))
            .arg("apply")
            .arg(build.join("out"))
            .args(["--host", HOST]),
    );
}

/// `switchyard verify` run inside `netns`: its exit code and stdout.
fn verify(netns: &Netns, build: &Path) -> (i32, String) {
    let output = netns
        .exec(env!("CARGO_BIN_EXE_switchyard"))
        .arg("verify")
        .arg(build.join("out"))
        .args(["--host", HOST])
        .output()
        .expect("run switchyard verify");
    let code = output.status.code().expect("exited");
    assert!(
        code == 0 || code == 1,
        "verify failed: {}",
        describe(&output)
    );
    (code, String::from_utf8(output.stdout).expect("UTF-8"))
}

fn nft(netns: &Netns, command: &str) {
    run_ok(netns.exec("nft").arg(command));
}

/// The kernel's listing of every example's script, loaded, reads into the
/// typed model `build --since` reads the script itself into: the same sets
/// and maps with the same elements, counters and chains (the rules are
/// written differently: JSON against nft's syntax).
#[test]
#[ignore = "needs root and nft: sudo .ci/run"]
fn every_scripts_listing_reads_into_the_model_of_the_script() {
    require_root();
    let netns = Netns::new("vmodel");
    for example in common::valid_examples() {
        let build = common::build_source(&common::example_source(&example));
        for artifact in (build.artifacts.iter()).filter(|a| a.path.ends_with("/switchyard.nft")) {
            let what = format!("{}: {}", example.display(), artifact.path);
            let loaded = netns.nft_load(&artifact.content);
            assert!(loaded.status.success(), "{what}: {}", describe(&loaded));
            let listing =
                run_ok(
                    netns
                        .exec("nft")
                        .args(["-j", "list", "table", "inet", "switchyard"]),
                );
            let listed = switchyard::verify::listed_table(&listing).expect("the listing reads");
            let script = Table::parse(&artifact.content).expect("the script reads");
            assert_eq!(listed.sets, script.sets, "{what}");
            assert_eq!(listed.counters, script.counters, "{what}");
            let bases = |table: &Table| -> Vec<(String, Option<BaseChain>)> {
                (table.chains.iter())
                    .map(|(name, chain)| (name.clone(), chain.base.clone()))
                    .collect()
            };
            assert_eq!(bases(&listed), bases(&script), "{what}");
            let rules = |table: &Table| -> Vec<usize> {
                table
                    .chains
                    .values()
                    .map(|chain| chain.rules.len())
                    .collect()
            };
            assert_eq!(rules(&listed), rules(&script), "{what}");
        }
    }
}

/// A namespace for `HOST` with its build applied, verified in sync.
fn applied(test: &str) -> (Netns, tempfile::TempDir) {
    require_root();
    let build = build();
    let netns = host_namespace(test);
    apply(&netns, build.path());
    let (code, out) = verify(&netns, build.path());
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            format!(
                "{HOST}: in sync with {}\n",
                build.path().join("out").display()
            )
            .as_str()
        )
    );
    (netns, build)
}

/// Asserts verify finds drift naming every one of `lines`, then re-applies the
/// build and asserts verify is satisfied again.
fn assert_drift_then_repaired(netns: &Netns, build: &Path, lines: &[&str]) {
    assert_reported_then_gone(netns, build, lines, || apply(netns, build));
}

/// Asserts verify exits 1 naming every one of `lines`, then that it is
/// satisfied again once `fix` ran.
fn assert_reported_then_gone(netns: &Netns, build: &Path, lines: &[&str], fix: impl FnOnce()) {
    let (code, out) = verify(netns, build);
    assert_eq!(code, 1, "exit 1:\n{out}");
    for line in lines {
        assert!(
            out.contains(line),
            "verify does not report `{line}`:\n{out}"
        );
    }
    fix();
    let (code, out) = verify(netns, build);
    assert_eq!(code, 0, "in sync once fixed:\n{out}");
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_deleted_rule_is_drift() {
    let (netns, build) = applied("vrule");
    let listing =
        run_ok(
            netns
                .exec("nft")
                .args(["-a", "list", "chain", "inet", "switchyard", "dstnat"]),
        );
    let handle = listing
        .lines()
        .find(|line| line.contains("dnat ip to"))
        .and_then(|line| line.rsplit("# handle ").next())
        .expect("the dstnat rule and its handle")
        .trim()
        .to_owned();
    nft(
        &netns,
        &format!("delete rule inet switchyard dstnat handle {handle}"),
    );
    assert_drift_then_repaired(
        &netns,
        build.path(),
        &[
            "nft table inet switchyard:",
            "missing  chain dstnat rule 1: meta iifname @uplink_interfaces dnat ip to ip daddr map @dnat_addresses",
        ],
    );
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_deleted_element_is_drift() {
    let (netns, build) = applied("velem");
    let (public, private) = dnat_element(&netns);
    nft(
        &netns,
        &format!("delete element inet switchyard dnat_addresses {{ {public} }}"),
    );
    assert_drift_then_repaired(
        &netns,
        build.path(),
        &[&format!(
            "missing  map dnat_addresses element {public} : {private}"
        )],
    );
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn an_extra_element_is_drift() {
    let (netns, build) = applied("vextra");
    // Not in dnat_addresses: its size is its element count, so it is full.
    nft(
        &netns,
        "add element inet switchyard internal { 172.31.0.0/16 }",
    );
    assert_drift_then_repaired(
        &netns,
        build.path(),
        &["extra    set internal element 172.31.0.0/16"],
    );
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_deleted_table_and_ip_rule_are_drift() {
    let (netns, build) = applied("vtable");
    common::deploy::delete_table_and_rules(&netns);
    assert_drift_then_repaired(
        &netns,
        build.path(),
        &["missing  the whole table", "ip rules:\n  missing  table "],
    );
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn forwarding_off_is_drift() {
    let (netns, build) = applied("vfwd");
    run_ok(netns.exec("sysctl").args(["-qw", "net.ipv4.ip_forward=0"]));
    assert_drift_then_repaired(
        &netns,
        build.path(),
        &[
            "kernel settings (sysctl.d/90-switchyard.conf):",
            "changed  net.ipv4.ip_forward\n             build: 1\n             live:  0",
        ],
    );
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_foreign_rule_ahead_of_switchyards_is_named() {
    // apply cannot remove what is not switchyard's: it is undone by hand.
    let (netns, build) = applied("vahead");
    netns.ip(&["rule", "add", "priority", "100", "lookup", "main"]);
    assert_reported_then_gone(
        &netns,
        build.path(),
        &[
            "policy rules of other owners ahead of switchyard's:",
            "ahead    table 254 priority 100 src all",
        ],
        || {
            netns.ip(&["rule", "del", "priority", "100"]);
        },
    );
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn another_tables_forward_chain_dropping_everything_first_is_named() {
    let (netns, build) = applied("vchain");
    let output = netns.nft_load(
        "table ip guard {\n\tchain fw {\n\t\ttype filter hook forward priority -10; policy drop;\n\t}\n}\n",
    );
    assert!(output.status.success(), "{}", describe(&output));
    assert_reported_then_gone(
        &netns,
        build.path(),
        &[
            "ahead    table ip guard chain fw (hook forward priority -10) can drop before switchyard's forward chain (priority 0)",
        ],
        || {
            nft(&netns, "delete table ip guard");
        },
    );
}

/// One `public : private` element of the live DNAT map.
fn dnat_element(netns: &Netns) -> (String, String) {
    let listing =
        run_ok(
            netns
                .exec("nft")
                .args(["list", "map", "inet", "switchyard", "dnat_addresses"]),
        );
    let (_, elements) = listing
        .split_once("elements = {")
        .expect("the map has elements");
    let element = elements
        .split([',', '}'])
        .find(|part| part.contains(" : "))
        .expect("a DNAT element");
    let (public, private) = element.split_once(" : ").expect("key : value");
    (public.trim().to_owned(), private.trim().to_owned())
}

#[test]
fn several_hosts_need_host() {
    let build = build();
    let output = switchyard()
        .arg("verify")
        .arg(build.path().join("out"))
        .output()
        .expect("run switchyard");
    common::assert_exit_saying(
        &output,
        2,
        &["several hosts (net1, net2, net3); say which one with --host NAME"],
    );
}

#[test]
fn a_changed_artifact_is_refused() {
    let build = build();
    let script = build.path().join("out").join(HOST).join("switchyard.nft");
    let mut text = std::fs::read_to_string(&script).expect("read script");
    text.push_str("# edited\n");
    std::fs::write(&script, text).expect("write script");
    let output = switchyard()
        .arg("verify")
        .arg(build.path().join("out"))
        .args(["--host", HOST])
        .output()
        .expect("run switchyard");
    common::assert_exit_saying(
        &output,
        2,
        &["net2/switchyard.nft differs from the manifest"],
    );
}

/// A member of a pair (examples/ha-pair.toml's net1a): the shared addresses
/// its keepalived.conf moves are keepalived's. On the active member they sit
/// beside the member's own; `verify` calls that in sync and `apply` keeps
/// them, while a stranger's address beside them is still drift and removed.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_members_shared_addresses_are_keepalived_s_not_drift() {
    require_root();
    let (_dir, out) = common::built_in_temp("examples/ha-pair.toml");
    let netns = Netns::with_veths(
        "ha-member",
        &["lan0", "up-a", "up-b", "ha0"].map(String::from),
    );
    let run = |command: &str| {
        let output = netns
            .exec(env!("CARGO_BIN_EXE_switchyard"))
            .arg(command)
            .arg(&out)
            .args(["--host", "net1a"])
            .output()
            .expect("run switchyard");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    assert_eq!(run("apply").0, Some(0));
    assert_eq!(
        run("verify").0,
        Some(0),
        "the backup, without the shared addresses"
    );
    // net1a becomes active: keepalived adds the shared addresses.
    for (address, interface) in [
        ("10.0.0.1/24", "lan0"),
        ("192.0.2.2/29", "up-a"),
        ("198.18.0.2/29", "up-b"),
    ] {
        run_ok(
            netns
                .exec("ip")
                .args(["address", "add", address, "dev", interface]),
        );
    }
    assert_eq!(run("verify").0, Some(0), "the active member");
    run_ok(
        netns
            .exec("ip")
            .args(["address", "add", "192.0.2.5/29", "dev", "up-a"]),
    );
    let (code, report) = run("verify");
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("extra    192.0.2.5/29 on up-a"), "{report}");
    assert!(!report.contains("192.0.2.2"), "{report}");
    assert_eq!(run("apply").0, Some(0));
    let addresses = run_ok(
        netns
            .exec("ip")
            .args(["-br", "-4", "address", "show", "dev", "up-a"]),
    );
    assert!(
        addresses.contains("192.0.2.3/29 192.0.2.2/29") && !addresses.contains("192.0.2.5"),
        "apply keeps the member's own and the shared address, removes the stranger's: {addresses}"
    );
    assert_eq!(run("verify").0, Some(0));
}

/// Host `net1` of examples/dual-stack.toml, both families applied: drift in
/// IPv6's address, neighbour entry, rule and settings is named, IPv4's state
/// standing, and one apply repairs it.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn drift_in_ipv6_is_named_beside_ipv4s() {
    require_root();
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("out");
    common::build(&repo_path("examples/dual-stack.toml"), &out, None);
    let netns = Netns::with_veths("vdual", &["lan0", "up-a", "up-b"].map(str::to_owned));
    let run = |command: &str| {
        netns
            .exec(env!("CARGO_BIN_EXE_switchyard"))
            .arg(command)
            .arg(&out)
            .args(["--host", "net1"])
            .output()
            .expect("run switchyard")
    };
    let applied = run("apply");
    assert!(applied.status.success(), "{}", describe(&applied));
    let in_sync = run("verify");
    assert!(in_sync.status.success(), "{}", describe(&in_sync));

    netns.ip(&["-6", "addr", "del", "2001:db8:ffa::2/64", "dev", "up-a"]);
    netns.ip(&["-6", "neigh", "del", "2001:db8:10::5", "dev", "lan0"]);
    netns.ip(&["-6", "rule", "del", "priority", "1002"]);
    run_ok(
        netns
            .exec("sysctl")
            .args(["-qw", "net.ipv6.conf.up-a.accept_ra=1"]),
    );
    let drift = run("verify");
    let out_text = String::from_utf8_lossy(&drift.stdout);
    assert_eq!(drift.status.code(), Some(1), "{}", describe(&drift));
    for line in [
        "ip rules:\n  missing  table 102 priority 1002 src all fwmark 0x200 fwmask 0xff00 (IPv6)\n",
        "uplink addresses:\n  missing  2001:db8:ffa::2/64 on up-a\n",
        "missing  2001:db8:10::5 dev lan0 lladdr 52:54:00:12:34:56",
        "changed  net.ipv6.conf.up-a.accept_ra\n             build: 0\n             live:  1",
        "net1: 4 difference(s)",
    ] {
        assert!(
            out_text.contains(line),
            "verify does not report `{line}`:\n{out_text}"
        );
    }
    let repaired = run("apply");
    assert!(
        String::from_utf8_lossy(&repaired.stdout)
            .contains("table unchanged, 3 routing change(s), 1 setting(s)"),
        "{}",
        describe(&repaired)
    );
    let in_sync = run("verify");
    assert!(in_sync.status.success(), "{}", describe(&in_sync));

    // An ip6 table's forward chain dropping before switchyard's.
    let output = netns.nft_load(
        "table ip6 guard {\n\tchain fw {\n\t\ttype filter hook forward priority -10; policy drop;\n\t}\n}\n",
    );
    assert!(output.status.success(), "{}", describe(&output));
    let ahead = run("verify");
    assert_eq!(ahead.status.code(), Some(1), "{}", describe(&ahead));
    assert!(
        String::from_utf8_lossy(&ahead.stdout).contains(
            "ahead    table ip6 guard chain fw (hook forward priority -10) can drop before switchyard's forward chain"
        ),
        "{}",
        describe(&ahead)
    );
}
