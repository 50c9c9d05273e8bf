//! The boot units (`<host>/systemd/*.service`) and living next to an existing
//! nftables configuration:
//!
//! - every example's units pass `systemd-analyze verify` (the man page they
//!   point to comes with the Debian package, so `--man=no` here; .ci/run checks
//!   the installed units with it);
//! - switchyard's table and the tables of an `/etc/nftables.conf` load side by
//!   side, and reloading either leaves the other alone, unless the configuration
//!   starts with Debian's default `flush ruleset`, which docs/operations.md warns about;
//! - a dual-stack host's two ip batches load in either order, again and again,
//!   each leaving the other family alone.
//!
//! These need root, nft, ip and systemd-analyze (CI runs them as root) and fail,
//! never skip, without them.

mod common;

use std::path::Path;

use common::deploy::{HOST, TOPOLOGY, host_namespace};
use common::{Netns, describe, repo_path, require_root, run_ok};

#[test]
#[ignore = "needs systemd-analyze: sudo bash .ci/run"]
fn boot_units_pass_systemd_analyze_verify() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut checked = 0;
    for example in common::valid_examples() {
        let out = dir.path().join(common::stem(&example));
        common::build(&repo_path(&example.to_string_lossy()), &out, None);
        for host in std::fs::read_dir(&out).expect("list the build") {
            let units = host.expect("directory entry").path().join("systemd");
            if !units.is_dir() {
                continue;
            }
            let mut command = std::process::Command::new("systemd-analyze");
            command.args(["verify", "--man=no"]);
            for unit in std::fs::read_dir(&units).expect("list the units") {
                command.arg(unit.expect("directory entry").path());
                checked += 1;
            }
            let output = command.output().expect("run systemd-analyze");
            // It reports some problems on stderr with exit status 0. The units
            // run the packaged binary, which CI installs only after the tests
            // (and then verifies the installed units with it): until then, its
            // absence is the one complaint allowed.
            let packaged = Path::new("/usr/bin/switchyard").exists();
            let stderr = String::from_utf8_lossy(&output.stderr);
            let problems: Vec<&str> = stderr
                .lines()
                .filter(|line| {
                    packaged || !line.ends_with("Command /usr/bin/switchyard is not executable: No such file or directory")
                })
                .collect();
            assert!(
                (output.status.success() || !packaged) && problems.is_empty(),
                "{}: {}",
                units.display(),
                describe(&output)
            );
        }
    }
    assert!(checked >= 2, "no unit was checked");
}

/// An nftables.conf that owns table inet filter the way switchyard owns its
/// table: create, delete, define (nft 1.0.6 has no `destroy`), so reloading it
/// replaces that table only.
const NFTABLES_CONF: &str = "\
table inet filter
delete table inet filter
table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tct state established,related accept
\t}
}
";

fn load(netns: &Netns, script: &Path) {
    run_ok(netns.exec("nft").arg("-f").arg(script));
}

fn tables(netns: &Netns) -> String {
    run_ok(netns.exec("nft").args(["list", "tables"]))
}

fn table(netns: &Netns, name: &str) -> String {
    run_ok(netns.exec("nft").args(["list", "table", "inet", name]))
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn switchyard_and_nftables_conf_load_side_by_side() {
    require_root();
    let (dir, out) = common::built_in_temp(TOPOLOGY);
    let switchyard = out.join(HOST).join("switchyard.nft");
    let conf = dir.path().join("nftables.conf");
    std::fs::write(&conf, NFTABLES_CONF).expect("write nftables.conf");

    // Boot order: nftables.service, then switchyard-nftables.service.
    let netns = host_namespace("coexist");
    load(&netns, &conf);
    load(&netns, &switchyard);
    assert_eq!(tables(&netns), "table inet filter\ntable inet switchyard\n");
    let filter = table(&netns, "filter");
    let ours = table(&netns, "switchyard");

    load(&netns, &switchyard);
    assert_eq!(
        table(&netns, "filter"),
        filter,
        "reloading switchyard changed table filter"
    );
    load(&netns, &conf);
    assert_eq!(
        table(&netns, "switchyard"),
        ours,
        "reloading nftables.conf changed switchyard's table"
    );

    // Debian's default nftables.conf starts with `flush ruleset`: reloading it
    // (`systemctl reload nftables`) drops switchyard's table too.
    let flushing = dir.path().join("flushing.conf");
    std::fs::write(&flushing, format!("flush ruleset\n{NFTABLES_CONF}")).expect("write");
    load(&netns, &flushing);
    assert_eq!(tables(&netns), "table inet filter\n");
}

/// The two ip batches of a host with IPv6 (docs/semantics.md §6): IPv4's,
/// and IPv6's with `ip -6 -batch`, give the same state however often and in
/// whichever order they are loaded, each leaving the other family alone, and
/// the kernel routes a marked IPv6 packet by its uplink's table. The IPv4
/// batch of a host without IPv6 flushes as it always did, which in a plain
/// batch takes IPv6's routes and neighbour entries too: what the dual-stack
/// host's IPv4 batch avoids by naming IPv4's space.
#[test]
#[ignore = "needs root and ip: sudo bash .ci/run"]
fn the_ip_batches_of_a_dual_stack_host_load_in_either_order() {
    require_root();
    let (_dir, out) = common::built_in_temp("examples/dual-stack.toml");
    let host = out.join("net1");
    let netns = Netns::with_veths("bootv6", &["lan0", "up-a", "up-b"].map(str::to_owned));
    let batch = |family: Option<&str>, input: &str| {
        let mut ip = std::process::Command::new("ip");
        ip.args(["-n", &netns.name])
            .args(family)
            .args(["-batch", "-"]);
        common::output_with_input(&mut ip, input.as_bytes())
    };
    let load = |file: &str| {
        let family = (file == "switchyard6.ip").then_some("-6");
        let text = std::fs::read_to_string(host.join(file)).expect("read the batch");
        let output = batch(family, &text);
        assert!(output.status.success(), "{file}: {}", describe(&output));
    };
    let state = |family: &str| {
        [
            netns.ip(&[family, "rule", "show"]),
            netns.ip(&[family, "route", "show", "table", "all", "proto", "211"]),
            netns.ip(&[family, "neigh", "show", "nud", "permanent"]),
        ]
        .concat()
    };
    load("switchyard.ip");
    let ipv4 = state("-4");
    load("switchyard6.ip");
    assert_eq!(state("-4"), ipv4, "the IPv6 batch changed IPv4's state");
    let ipv6 = state("-6");
    for line in [
        "1002:\tfrom all fwmark 0x200/0xff00 lookup 102 proto 211",
        // Listed by protocol, without it.
        "default via fe80::1 dev up-a table 101 metric 1024",
        "default via 2001:db8:ffb::1 dev up-b table 102 metric 1024",
        "2001:db8:10::5 dev lan0 lladdr 52:54:00:12:34:56 PERMANENT proto 211",
    ] {
        assert!(ipv6.contains(line), "no `{line}` in\n{ipv6}");
    }
    for (mark, via) in [
        ("0x100", "via fe80::1 dev up-a table 101"),
        ("0x200", "via 2001:db8:ffb::1 dev up-b table 102"),
    ] {
        let route = netns.ip(&["-6", "route", "get", "2001:db8:100::1", "mark", mark]);
        assert!(route.contains(via), "mark {mark}: {route}");
    }
    for order in [
        ["switchyard.ip", "switchyard6.ip"],
        ["switchyard6.ip", "switchyard.ip"],
    ] {
        for file in order {
            load(file);
        }
        assert_eq!(
            (state("-4"), state("-6")),
            (ipv4.clone(), ipv6.clone()),
            "{order:?}"
        );
    }
    // The flushes of a host without IPv6, in a plain batch.
    let flushed = batch(
        None,
        "route flush table all protocol 211\nneigh flush nud permanent protocol 211\n",
    );
    assert!(flushed.status.success(), "{}", describe(&flushed));
    let left = state("-6");
    assert!(
        !left.contains("default via") && !left.contains("2001:db8:10::5"),
        "{left}"
    );
}
