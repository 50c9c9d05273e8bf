//! Failover on the real kernel (docs/semantics.md §10): the artifacts of
//! tests/e2e/failover.toml in the namespace rig of tests/e2e/rig.rs, with
//! `switchyard monitor` running in the host namespace on the build's
//! monitor.json. The ISP of isp-a then starts dropping everything (its link
//! stays up: the failure a link-state check misses), and real pings show that
//!
//! - the monitor takes isp-a down, logging it, and fills set `down_uplinks`;
//! - new connections of VMs whose candidates reach another uplink leave by it,
//!   and a running flow moves too (its conntrack entry was deleted), an IPv6
//!   one as an IPv4 one (the topology is dual stack, isp-a's IPv6 gateway
//!   link-local; the monitor probes both families, the cut ISP drops both);
//! - the VM with no alternative still sends by isp-a, and its connections'
//!   conntrack entries are kept (IPv4 and IPv6), as is an inbound (DNATed)
//!   one that arrived by isp-a;
//! - reloading the ruleset during the outage empties the set, and within a
//!   round the monitor restores it: traffic does not return to isp-a;
//! - for every probed pair, IPv4 and IPv6, `trace --down isp-a` says what the
//!   kernel did;
//! - when the ISP answers again, isp-a comes back up and traffic returns;
//! - SIGTERM stops the monitor cleanly, leaving no uplink down.
//!
//! Runs as root (CI does); fails, never skips, without it. About 20 s.

mod common;
mod e2e {
    pub mod fate;
    pub mod rig;
}

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::fate::{self, Fate, Probe};
use e2e::rig::{self, Artifacts, Rig};
use switchyard::diagnostic::Source;
use switchyard::family::{Family, V4, V6};
use switchyard::model::CheckedModel;
use switchyard::model::Model;
use switchyard::plan::{HostPlan, VmPlan};
use switchyard::trace::Tracer;

use common::monitor::{Monitor, Privileges};
use common::{Netns, run_ok};

const TOPOLOGY: &str = "tests/e2e/failover.toml";

/// 9.9.9.9, 198.18.50.1 and 2001:db8:999::9 take the defaults; 100.65.1.1 and
/// 2001:db8:165::1 m1's own entry.
const DESTINATIONS: &[&str] = &[
    "9.9.9.9",
    "100.65.1.1",
    "198.18.50.1",
    "2001:db8:999::9",
    "2001:db8:165::1",
];

/// What a cut ISP does: drop everything, remembering what it forwarded no more.
const CUT: &str = "table inet cut {
	set dropped {
		type ipv4_addr . ipv4_addr
		flags dynamic
		size 65535
	}
	set dropped6 {
		type ipv6_addr . ipv6_addr
		flags dynamic
		size 65535
	}
	chain input {
		type filter hook input priority filter - 10; policy drop;
	}
	chain forward {
		type filter hook forward priority filter - 10; policy drop;
		add @dropped { ip saddr . ip daddr }
		add @dropped6 { ip6 saddr . ip6 daddr }
	}
}
";

fn ip(text: &str) -> IpAddr {
    text.parse().expect("address")
}

/// The marks in the host's set `down_uplinks`.
fn down_set(host: &Netns) -> Vec<u64> {
    let value = rig::list_json(host, &["set", "inet", "switchyard", "down_uplinks"]);
    rig::set_elements(&value)
        .iter()
        .map(|e| e.as_u64().expect("a mark"))
        .collect()
}

/// (source, destination) pairs the cut ISP dropped.
fn dropped(isp: &Netns) -> Vec<(IpAddr, IpAddr)> {
    ["dropped", "dropped6"]
        .iter()
        .flat_map(|set| rig::set_elements(&rig::list_json(isp, &["set", "inet", "cut", set])))
        .map(|e| {
            let pair = e["concat"].as_array().expect("concatenation");
            (rig::address(&pair[0]), rig::address(&pair[1]))
        })
        .collect()
}

/// Conntrack entries in the host whose original source or destination is
/// `address`.
fn connections(host: &Netns, flag: &str, address: impl Into<IpAddr>) -> String {
    let address = address.into();
    let family = if address.is_ipv6() { "ipv6" } else { "ipv4" };
    let output = host
        .exec("conntrack")
        .args(["-L", "-f", family, flag, &address.to_string()])
        .output()
        .expect("run conntrack");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `mark=N` values of `conntrack -L` output.
fn connection_marks(listing: &str) -> Vec<u32> {
    listing
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("mark="))
        .map(|mark| mark.parse().expect("a decimal mark"))
        .collect()
}

/// A ping that keeps running (one request every 50 ms) until killed.
fn running_ping(ns: &Netns, source: Option<IpAddr>, to: impl Into<IpAddr>) -> Child {
    let mut command = ns.exec("ping");
    command.args(["-n", "-q", "-i", "0.05"]);
    if let Some(source) = source {
        command.args(["-I", &source.to_string()]);
    }
    command
        .arg(to.into().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ping")
}

/// Every VM to every destination, at once: what trace predicts with `down`
/// down, and what the kernel did. A packet sent into the cut ISP reaches no
/// far end; the cut ISP's record of it says which uplink it left by.
fn assert_trace_down_matches_kernel(
    label: &str,
    rig: &Rig,
    tracer: &Tracer,
    model: &Model,
    host: &HostPlan,
    down: &[String],
) {
    let probes: Vec<Probe> = fate::vm_addresses(model, host)
        .into_keys()
        .flat_map(|vm| {
            DESTINATIONS.iter().map(move |to| Probe::Out {
                vm: vm.clone(),
                to: ip(to),
            })
        })
        .collect();
    for uplink in down {
        run_ok(
            rig.isp(uplink)
                .exec("nft")
                .args(["flush", "set", "inet", "cut", "dropped"]),
        );
    }
    let outbound: Vec<(String, IpAddr)> = probes
        .iter()
        .map(|p| match p {
            Probe::Out { vm, to } => (vm.clone(), *to),
            Probe::In { .. } => unreachable!("outbound probes only"),
        })
        .collect();
    let observations = rig.probe(&outbound, &[]);
    let mut mismatches = Vec::new();
    for probe in &probes {
        let mut predicted = fate::predict(tracer, model, host, probe, down);
        if let Fate::Left { uplink, .. } = &predicted.fate
            && down.contains(uplink)
        {
            predicted.answered = false;
        }
        let mut observed = fate::observe(&observations, model, host, probe);
        let Probe::Out { vm, to } = probe else {
            unreachable!()
        };
        let sender = &fate::vm_addresses(model, host)[vm];
        for uplink in down {
            if observed.fate == Fate::Nothing
                && let Some((source, _)) = dropped(rig.isp(uplink))
                    .into_iter()
                    .find(|(s, d)| d == to && sender.public.contains(s))
            {
                observed.fate = Fate::Left {
                    uplink: uplink.clone(),
                    source,
                };
            }
        }
        println!("{label}: {probe}: trace says {predicted}, kernel did {observed}");
        if predicted != observed {
            mismatches.push(format!(
                "  {probe}: trace says {predicted}, kernel did {observed}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{label}: trace --down {down:?} disagrees with the kernel:\n{}",
        mismatches.join("\n")
    );
}

/// The uplinks through which the far end received echo requests from `source`.
fn arrivals(rig: &Rig, source: impl Into<IpAddr>) -> Vec<String> {
    let source = source.into();
    let mut uplinks: Vec<String> = rig
        .far_records()
        .into_iter()
        .filter(|r| r.kind == "echo-request" && r.source == source)
        .map(|r| r.interface)
        .collect();
    uplinks.dedup();
    uplinks
}

/// tests/e2e/failover.toml built, loaded into a rig, its monitor running.
struct Deployed {
    source: Source,
    /// The model the plan's ids refer to.
    model: CheckedModel,
    host: HostPlan,
    artifacts: Artifacts,
    rig: Rig,
    monitor: Monitor,
    /// The host's build directory (monitor.json).
    out: std::path::PathBuf,
    _build: tempfile::TempDir,
}

impl Deployed {
    fn new(tag: &str) -> Deployed {
        Deployed::with_privileges(tag, Privileges::Root)
    }

    fn with_privileges(tag: &str, privileges: Privileges) -> Deployed {
        common::require_root();
        let source = common::example_source(Path::new(TOPOLOGY));
        let build = tempfile::tempdir().expect("temporary directory");
        common::build(
            &common::repo_path(TOPOLOGY),
            &build.path().join("out"),
            None,
        );
        let out = build.path().join("out/net1");
        let artifacts = Artifacts::read(&out);
        let (model, mut plan, _) = switchyard::validate(&source).expect("valid").into_parts();
        let host = plan.hosts.remove(0);
        let rig = Rig::new(tag, &model, &host);
        rig.load(&artifacts);
        if privileges == Privileges::Unit {
            // Readable by the unit's user, as the unit's comment asks.
            use std::os::unix::fs::PermissionsExt;
            for path in [
                build.path(),
                &build.path().join("out"),
                &out,
                &out.join("monitor.json"),
            ] {
                let mode = if path.is_dir() { 0o755 } else { 0o644 };
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                    .expect("chmod");
            }
        }
        let monitor = Monitor::start(rig.host(), &out.join("monitor.json"), privileges);
        monitor.wait_for("watching 3 uplink(s)", Duration::from_secs(5));
        Deployed {
            source,
            model,
            host,
            artifacts,
            rig,
            monitor,
            out,
            _build: build,
        }
    }

    /// VM `vm`'s public address of family `F` in `pool`.
    fn public<F: Family>(&self, vm: &str, pool: &str) -> F::Addr {
        self.vm_named::<F>(vm)
            .public
            .iter()
            .find(|p| self.model.pool(p.pool).name.value == pool)
            .expect("the VM has an address in the pool")
            .address
    }

    fn vm_named<F: Family>(&self, name: &str) -> &VmPlan<F> {
        self.host
            .family::<F>()
            .vms
            .iter()
            .find(|v| self.model.vm(v.vm).name.value == name)
            .unwrap_or_else(|| panic!("no VM {name}"))
    }
}

#[test]
#[ignore = "needs root, nft, ip, ping and conntrack: sudo bash .ci/run"]
fn failover_moves_what_can_move_and_nothing_else() {
    let mut deployed = Deployed::new("fo");
    let (rig, host, monitor) = (&deployed.rig, &deployed.host, &deployed.monitor);
    let model = &deployed.model;
    let artifacts = &deployed.artifacts;
    let tracer = Tracer::new(&deployed.source).expect("valid");
    let isp_a = vec!["isp-a".to_owned()];
    let public = |vm: &str, pool: &str| deployed.public::<V4>(vm, pool);
    let public6 = |vm: &str, pool: &str| deployed.public::<V6>(vm, pool);
    // A few rounds with every uplink answering.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(down_set(rig.host()), Vec::<u64>::new());
    assert_trace_down_matches_kernel("all up", rig, &tracer, model, host, &[]);

    // Running flows bound to isp-a, in both families: m1 (can move) and s1
    // (cannot) to the far end, and an inbound one from the far end to m1's
    // isp-a address.
    let m1_flow = running_ping(rig.vm("m1"), None, ip("9.9.9.9"));
    let s1_flow = running_ping(rig.vm("s1"), None, ip("9.9.9.9"));
    let m1_flow6 = running_ping(rig.vm("m1"), None, ip("2001:db8:999::9"));
    let s1_flow6 = running_ping(rig.vm("s1"), None, ip("2001:db8:999::9"));
    let inbound = running_ping(rig.isp("isp-a"), None, public("m1", "pool-a"));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(arrivals(rig, public("m1", "pool-a")), ["isp-a"]);
    assert_eq!(arrivals(rig, public6("m1", "pool-a")), ["isp-a"]);
    assert_eq!(arrivals(rig, public6("s1", "pool-a")), ["isp-a"]);
    assert!(connections(rig.host(), "-d", public("m1", "pool-a")).contains("mark=256"));
    // m1's outbound connection carries isp-a and the movable bit (what the
    // monitor's one deletion by mark finds); s1's only isp-a.
    let marks = |vm: &str| {
        let v4 = connections(rig.host(), "-s", deployed.vm_named::<V4>(vm).private);
        let v6 = connections(rig.host(), "-s", deployed.vm_named::<V6>(vm).private);
        let marks = (connection_marks(&v4), connection_marks(&v6));
        assert!(!marks.0.is_empty() && !marks.1.is_empty(), "{vm}: {v4}{v6}");
        [marks.0, marks.1].concat()
    };
    assert!(
        marks("m1").iter().any(|m| m & 0x80_ff00 == 0x80_0100),
        "m1: {:?}",
        marks("m1")
    );
    assert!(
        marks("s1").iter().all(|m| m & 0x80_0000 == 0),
        "s1: {:?}",
        marks("s1")
    );

    // isp-a's ISP drops everything; its link stays up.
    let cut_at = Instant::now();
    rig::nft(rig.isp("isp-a"), CUT);
    monitor.wait_for("uplink isp-a is down", Duration::from_secs(3));
    println!("isp-a down after {:?}", cut_at.elapsed());
    monitor.wait_for("set down_uplinks now holds isp-a", Duration::from_secs(1));
    assert_eq!(down_set(rig.host()), [0x100]);

    // The running flow of m1 moved to its next candidate, isp-b.
    std::thread::sleep(Duration::from_millis(300));
    rig.flush_far_records();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        arrivals(rig, public("m1", "pool-b")),
        ["isp-b"],
        "m1's running flow"
    );
    assert_eq!(
        arrivals(rig, public6("m1", "pool-b")),
        ["isp-b"],
        "m1's running IPv6 flow"
    );
    // s1 has no alternative: its connections stay, bound to isp-a.
    for (s1_private, family) in [
        (IpAddr::from(deployed.vm_named::<V4>("s1").private), "IPv4"),
        (deployed.vm_named::<V6>("s1").private.into(), "IPv6"),
    ] {
        let s1_connections = connections(rig.host(), "-s", s1_private);
        assert!(
            s1_connections.contains("mark=256"),
            "s1's {family} connection was not kept:\n{s1_connections}"
        );
    }
    assert_eq!(arrivals(rig, public("s1", "pool-a")), Vec::<String>::new());
    assert_eq!(arrivals(rig, public6("s1", "pool-a")), Vec::<String>::new());
    // The inbound connection that arrived by isp-a is kept.
    let inbound_connections = connections(rig.host(), "-d", public("m1", "pool-a"));
    assert!(
        inbound_connections.contains("mark=256"),
        "the inbound connection was deleted:\n{inbound_connections}\n{}",
        monitor.log()
    );

    // New connections follow trace --down isp-a.
    assert_trace_down_matches_kernel("isp-a down", rig, &tracer, model, host, &isp_a);

    // A reload of the ruleset empties the set; the monitor restores it within a
    // round, so traffic does not go back to the dead uplink.
    rig.load(artifacts);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        down_set(rig.host()),
        [0x100],
        "set not restored after a reload"
    );
    assert_trace_down_matches_kernel(
        "isp-a down, after a reload",
        rig,
        &tracer,
        model,
        host,
        &isp_a,
    );

    // Connections keep the uplink they have: stop the running flows, so that
    // the far end sees only the new connections below.
    for mut flow in [m1_flow, s1_flow, m1_flow6, s1_flow6, inbound] {
        let _ = flow.kill();
        let _ = flow.wait();
    }

    // The ISP answers again.
    run_ok(
        rig.isp("isp-a")
            .exec("nft")
            .args(["delete", "table", "inet", "cut"]),
    );
    let restored_at = Instant::now();
    monitor.wait_for("uplink isp-a is up", Duration::from_secs(3));
    println!("isp-a up after {:?}", restored_at.elapsed());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(down_set(rig.host()), Vec::<u64>::new());
    assert_trace_down_matches_kernel("isp-a back", rig, &tracer, model, host, &[]);

    let log = deployed.monitor.stop();
    assert!(log.contains("switchyard monitor: stopped"), "{log}");
    assert_eq!(down_set(rig.host()), Vec::<u64>::new());
    println!("monitor log:\n{log}");
}

#[test]
#[ignore = "needs root, nft, ip, ping and conntrack: sudo bash .ci/run"]
fn an_interface_deleted_and_created_again_is_probed_again() {
    let mut deployed = Deployed::new("nr");
    let (rig, host) = (&deployed.rig, &deployed.host);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(down_set(rig.host()), Vec::<u64>::new());

    // up-a disappears: its rounds fail, isp-a goes down.
    run_ok(rig.host().exec("ip").args(["link", "del", "up-a"]));
    deployed
        .monitor
        .wait_for("uplink isp-a is down", Duration::from_secs(2));
    assert_eq!(down_set(rig.host()), [0x100]);

    // A monitor started while the interface is missing keeps running: the
    // uplink is down until the interface is back.
    let log = deployed.monitor.stop();
    assert!(log.contains("stopped"), "{log}");
    let monitor_json = deployed.out.join("monitor.json");
    deployed.monitor = Monitor::start(rig.host(), &monitor_json, Privileges::Root);
    let monitor = &deployed.monitor;
    monitor.wait_for("cannot bind to the interface", Duration::from_secs(2));
    monitor.wait_for("uplink isp-a is down", Duration::from_secs(2));
    assert_eq!(down_set(rig.host()), [0x100]);

    // The NIC comes back (a new interface of the same name), configured again.
    rig.recreate_uplink_interface(host, "isp-a");
    rig.load(&deployed.artifacts);
    let back = monitor.wait_for("uplink isp-a is up", Duration::from_secs(3));
    println!("isp-a up {back:?} after its interface was created again");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(down_set(rig.host()), Vec::<u64>::new());
    let log = deployed.monitor.stop();
    println!("monitor log:\n{log}");
}

#[test]
#[ignore = "needs root, nft, ip, ping, conntrack and setpriv: sudo bash .ci/run"]
fn with_only_the_units_user_and_capabilities_the_monitor_still_fails_over() {
    let mut deployed = Deployed::with_privileges("up", Privileges::Unit);
    let rig = &deployed.rig;
    std::thread::sleep(Duration::from_millis(600));
    let m1_flow = running_ping(rig.vm("m1"), None, ip("9.9.9.9"));
    std::thread::sleep(Duration::from_millis(300));
    rig::nft(rig.isp("isp-a"), CUT);
    let monitor = &deployed.monitor;
    monitor.wait_for("uplink isp-a is down", Duration::from_secs(3));
    monitor.wait_for("deleted", Duration::from_secs(1));
    assert_eq!(down_set(rig.host()), [0x100]);
    std::thread::sleep(Duration::from_millis(300));
    rig.flush_far_records();
    std::thread::sleep(Duration::from_millis(500));
    let public_b = deployed.public::<V4>("m1", "pool-b");
    assert_eq!(arrivals(rig, public_b), ["isp-b"], "m1's running flow");
    run_ok(
        rig.isp("isp-a")
            .exec("nft")
            .args(["delete", "table", "inet", "cut"]),
    );
    monitor.wait_for("uplink isp-a is up", Duration::from_secs(3));
    let mut m1_flow = m1_flow;
    let _ = m1_flow.kill();
    let _ = m1_flow.wait();
    let log = deployed.monitor.stop();
    assert_eq!(down_set(deployed.rig.host()), Vec::<u64>::new());
    // No step was refused: every warning is the transition's.
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| (l.starts_with("<4>") || l.starts_with("<3>")) && !l.contains(" is down "))
        .collect();
    assert!(refused.is_empty(), "{log}");
}

/// The monitor's unit built into `dir` from the rig's topology (IPv4) and
/// from examples/dual-stack.toml with `[failover]` (its unit allows IPv6
/// sockets).
fn monitor_units(dir: &Path) -> [std::path::PathBuf; 2] {
    common::build(&common::repo_path(TOPOLOGY), &dir.join("out"), None);
    let dual_stack = common::monitor::dual_stack_with_failover();
    std::fs::write(dir.join("dual-stack.toml"), dual_stack).expect("write topology");
    common::build(&dir.join("dual-stack.toml"), &dir.join("out6"), None);
    ["out", "out6"].map(|out| {
        dir.join(out)
            .join("net1/systemd/switchyard-monitor.service")
    })
}

#[test]
#[ignore = "needs systemd-analyze: sudo bash .ci/run"]
fn the_monitor_unit_passes_systemd_analyze_verify() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (built, name) in monitor_units(dir.path()).iter().zip(["ipv4", "dual-stack"]) {
        let unit = std::fs::read_to_string(built).expect("the build has the monitor's unit");
        // verify checks that ExecStart's program exists: point it at this
        // build's binary, the one thing that differs from an installed host.
        let unit = unit.replace("/usr/bin/switchyard", env!("CARGO_BIN_EXE_switchyard"));
        let path = dir.path().join(name).join("switchyard-monitor.service");
        std::fs::create_dir(path.parent().expect("a directory")).expect("mkdir");
        std::fs::write(&path, unit).expect("write unit");
        // --man=no: the man page (`switchyard man`) is not installed here.
        run_ok(
            Command::new("systemd-analyze")
                .args(["verify", "--man=no"])
                .arg(&path),
        );
    }
}

#[test]
#[ignore = "needs systemd-analyze: sudo bash .ci/run"]
fn the_monitor_unit_is_sandboxed_to_an_exposure_of_at_most_3() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for unit in monitor_units(dir.path()) {
        assert_sandboxed(&unit);
    }
}

fn assert_sandboxed(unit: &Path) {
    let output = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(unit)
        .output()
        .expect("run systemd-analyze");
    let report = String::from_utf8_lossy(&output.stdout);
    let exposure: f64 = report
        .lines()
        .find_map(|line| {
            line.split("Overall exposure level for switchyard-monitor.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{report}"));
    println!("exposure {exposure}");
    assert!(exposure <= 3.0, "exposure {exposure}:\n{report}");
    let text = std::fs::read_to_string(unit).expect("unit");
    for line in ["Type=notify", "WatchdogSec=", "StartLimitIntervalSec=0"] {
        assert!(text.contains(line), "no {line} in the unit");
    }
}

#[test]
fn a_topology_without_failover_gets_no_monitor() {
    let dir = tempfile::tempdir().expect("temporary directory");
    common::build(
        &common::repo_path("examples/two-isps.toml"),
        &dir.path().join("out"),
        None,
    );
    assert!(!dir.path().join("out/net1/monitor.json").exists());
    // The boot units are there, the monitor's is not.
    assert!(dir.path().join("out/net1/systemd").exists());
    assert!(
        !dir.path()
            .join("out/net1/systemd/switchyard-monitor.service")
            .exists()
    );
    let nft = std::fs::read_to_string(dir.path().join("out/net1/switchyard.nft")).expect("nft");
    assert!(!nft.contains("down_uplinks"));
}

/// Polls the far end's records every 10 ms until one is an echo request from
/// `source` through `uplink`; how long after `since` it arrived (at most 10 ms
/// late), or `None` after `timeout`.
fn first_arrival(
    rig: &Rig,
    source: Ipv4Addr,
    uplink: &str,
    since: Instant,
    timeout: Duration,
) -> Option<Duration> {
    while since.elapsed() < timeout {
        if rig
            .far_records()
            .iter()
            .any(|r| r.kind == "echo-request" && r.source == source && r.interface == uplink)
        {
            return Some(since.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// A VM that opens a new connection every 50 ms: a new ping (new ICMP id)
/// each time.
fn new_connections(ns: &Netns, to: IpAddr) -> Child {
    ns.exec("sh")
        .arg("-c")
        .arg(format!(
            "while :; do ping -n -q -c 1 -W 1 {to} >/dev/null 2>&1 & sleep 0.05; done"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the connection loop")
}

fn median_and_worst(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

/// bench/failover.sh: the timing docs/semantics.md §10 promises, with interval
/// 200 ms, down_after 3, up_after 5, measured over `SWITCHYARD_CUTS` (default
/// 10) cuts: how long after isp-a's ISP starts dropping everything new
/// connections of m2 arrive by isp-b and m1's running flow does, and how long
/// after it answers again new connections arrive by isp-a. Prints the table
/// docs/performance.md shows, marking a missed goal (1 s, 1 s, 1.2 s); fails
/// only past twice the goal, so a busy CI machine does not make it flaky while
/// a real regression (a lost round, a missing deletion) still fails.
#[test]
#[ignore = "benchmark; needs root, nft, ip, ping and conntrack: bench/failover.sh"]
fn failover_timing() {
    let cuts: usize = std::env::var("SWITCHYARD_CUTS").map_or(10, |n| n.parse().expect("a number"));
    let mut deployed = Deployed::new("fot");
    let rig = &deployed.rig;
    let far = ip("9.9.9.9");
    let (m1_a, m1_b) = (
        deployed.public::<V4>("m1", "pool-a"),
        deployed.public::<V4>("m1", "pool-b"),
    );
    let (m2_a, m2_b) = (
        deployed.public::<V4>("m2", "pool-a"),
        deployed.public::<V4>("m2", "pool-b"),
    );
    let mut connections = new_connections(rig.vm("m2"), far);
    let (mut new, mut running, mut back) = (Vec::new(), Vec::new(), Vec::new());
    let limit = Duration::from_secs(5);
    for cut in 1..=cuts {
        // A running flow bound to isp-a, every uplink up for a while.
        let mut flow = running_ping(rig.vm("m1"), None, far);
        std::thread::sleep(Duration::from_millis(1500));
        rig.flush_far_records();
        assert!(first_arrival(rig, m1_a, "isp-a", Instant::now(), limit).is_some());

        rig::nft(rig.isp("isp-a"), CUT);
        let cut_at = Instant::now();
        rig.flush_far_records();
        new.push(first_arrival(rig, m2_b, "isp-b", cut_at, limit).expect("new connections move"));
        running.push(
            first_arrival(rig, m1_b, "isp-b", cut_at, limit).expect("the running flow moves"),
        );
        let _ = flow.kill();
        let _ = flow.wait();
        // Let the monitor see the outage to its end (no flapping in between).
        std::thread::sleep(Duration::from_millis(500));

        run_ok(
            rig.isp("isp-a")
                .exec("nft")
                .args(["delete", "table", "inet", "cut"]),
        );
        let back_at = Instant::now();
        rig.flush_far_records();
        back.push(first_arrival(rig, m2_a, "isp-a", back_at, limit).expect("traffic returns"));
        // The monitor logs a transition once the set holds it: traffic may
        // return a moment before the line is written.
        deployed
            .monitor
            .wait_for_times("uplink isp-a is up", cut, Duration::from_secs(1));
        let ups = deployed.monitor.log().matches("uplink isp-a is up").count();
        assert_eq!(ups, cut, "{}", deployed.monitor.log());
        println!(
            "cut {cut}: new connections moved after {:?}, the running flow after {:?}, back after {:?}",
            new[cut - 1],
            running[cut - 1],
            back[cut - 1]
        );
    }
    let _ = connections.kill();
    let _ = connections.wait();
    deployed.monitor.stop();
    let rows = [
        ("new connections leave by the fallback", new, 1000),
        ("a running flow leaves by the fallback", running, 1000),
        ("new connections return", back, 1200),
    ];
    println!("| after {cuts} cuts | median | worst | goal |\n|---|---|---|---|");
    let mut regressed = Vec::new();
    for (what, times, goal_ms) in rows {
        let (median, worst) = median_and_worst(times);
        let goal = Duration::from_millis(goal_ms);
        let missed = if worst > goal { " MISSED" } else { "" };
        println!(
            "| {what} | {} ms | {} ms | {goal_ms} ms{missed} |",
            median.as_millis(),
            worst.as_millis()
        );
        if worst > 2 * goal {
            regressed.push(what);
        }
    }
    assert!(
        regressed.is_empty(),
        "more than twice the goal: {regressed:?}"
    );
}

#[test]
fn a_damaged_monitor_json_stops_the_monitor_at_start_naming_the_key() {
    let dir = tempfile::tempdir().expect("temporary directory");
    common::build(&common::repo_path(TOPOLOGY), &dir.path().join("out"), None);
    let good = std::fs::read_to_string(dir.path().join("out/net1/monitor.json")).expect("config");
    let damaged = [
        (
            "\"set\": \"down_uplinks\"",
            "\"set\": \"down_uplinks\\nflush ruleset\"",
            "`set`",
        ),
        (
            "\"interval_ms\": 200",
            "\"interval_ms\": 0",
            "`interval_ms`",
        ),
        (
            "\"interval_ms\": 200",
            "\"interval_ms\": 86400000",
            "`interval_ms`",
        ),
        (
            "\"interface\": \"up-a\"",
            "\"interface\": \"up-a x\"",
            "`uplinks[0].interface`",
        ),
    ];
    for (from, to, key) in damaged {
        assert!(good.contains(from), "{from}");
        let path = dir.path().join("monitor.json");
        std::fs::write(&path, good.replacen(from, to, 1)).expect("write config");
        let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .arg("monitor")
            .arg(&path)
            .output()
            .expect("run the monitor");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{to}: {stderr}");
        assert!(stderr.contains(key), "{to}: {stderr}");
    }
}

#[test]
#[ignore = "needs root and ip: sudo bash .ci/run"]
fn the_monitor_notifies_systemd_and_stops_within_a_second_of_sigterm_whatever_the_interval() {
    common::require_root();
    let dir = tempfile::tempdir().expect("temporary directory");
    common::build(&common::repo_path(TOPOLOGY), &dir.path().join("out"), None);
    let path = dir.path().join("out/net1/monitor.json");
    let config = std::fs::read_to_string(&path).expect("config");
    std::fs::write(
        &path,
        config.replace("\"interval_ms\": 200", "\"interval_ms\": 60000"),
    )
    .expect("write config");
    // An empty namespace: no interface, no table; the monitor keeps running.
    // systemd's side of sd_notify: a datagram socket, and a 200 ms watchdog.
    let ns = Netns::new("sigterm");
    let notify_path = dir.path().join("notify");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).expect("notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let env = [
        ("NOTIFY_SOCKET", notify_path.as_os_str()),
        ("WATCHDOG_USEC", std::ffi::OsStr::new("200000")),
    ];
    let mut monitor = Monitor::start_with_env(&ns, &path, Privileges::Root, &env);
    let said = |what: &str| {
        let mut buffer = [0u8; 64];
        let len = notify.recv(&mut buffer).expect("a notification");
        assert_eq!(&buffer[..len], what.as_bytes());
    };
    said("READY=1");
    // The main loop turns whatever the interval: the watchdog hears from it.
    said("WATCHDOG=1");
    said("WATCHDOG=1");
    monitor.wait_for("cannot bind to the interface", Duration::from_secs(5));
    let asked = Instant::now();
    let log = monitor.stop();
    let took = asked.elapsed();
    println!("stopped {took:?} after SIGTERM");
    assert!(took < Duration::from_secs(1), "{took:?}:\n{log}");
    assert!(log.contains("stopped"), "{log}");
    said("STOPPING=1");
}
