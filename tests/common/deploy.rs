//! Deploying one host's artifacts with a configuration-management tool into a
//! network namespace, and checking the live state it leaves (tests/ansible.rs,
//! tests/salt.rs). Everything happens in the namespace and in temporary
//! directories; [`MachineNetwork`] proves the machine's own network is untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use switchyard::diagnostic::Source;
use switchyard::family::V4;
use switchyard::model::CheckedModel;
use switchyard::model::Model;

use super::{Netns, example_source, run_ok, switchyard};

/// The topology deployed: three hosts; `HOST` has two LAN bridges and two uplinks
/// (no VLAN, which the test kernel cannot create).
pub const TOPOLOGY: &str = "examples/multi-host.toml";
pub const HOST: &str = "net2";

/// `TOPOLOGY` as read, for tests that change it.
pub fn example() -> Source {
    example_source(Path::new(TOPOLOGY))
}

/// The example with `from` replaced by `to` (each must occur once).
fn edited(source: &Source, edits: &[(&str, &str)]) -> Source {
    let mut text = source.text.clone();
    for (from, to) in edits {
        assert_eq!(text.matches(from).count(), 1, "{from}");
        text = text.replace(from, to);
    }
    Source::new(source.name.clone(), text)
}

/// web-2 (on net2) sends 100.64.0.0/11 instead of 100.64.0.0/12 via pool-a.
pub fn changed_egress_entry() -> Source {
    edited(
        &example(),
        &[(
            r#"  { to = "100.64.0.0/12", via = "pool-a" },
]"#,
            r#"  { to = "100.64.0.0/11", via = "pool-a" },
]"#,
        )],
    )
}

/// ci-runner (on net2) gets a public address of pool-a and a default.
pub fn added_public_address() -> Source {
    edited(
        &example(),
        &[
            (
                r#"addresses = ["198.51.100.30", "192.0.2.66"]"#,
                r#"addresses = ["198.51.100.30", "198.51.100.31", "192.0.2.66"]"#,
            ),
            (
                "quota = { pool-a = 1, pool-d = 1 }",
                "quota = { pool-a = 2, pool-d = 1 }",
            ),
            (
                r#"address = "172.16.1.20""#,
                "address = \"172.16.1.20\"\npublic = [\"198.51.100.31\"]\ndefault = \"pool-a\"",
            ),
        ],
    )
}

/// `switchyard build` of `topology` (written to `output` + `.toml`) into
/// `output`, with `--since` an earlier build when given (it may be `output`).
pub fn build_edited(topology: &Source, output: &Path, since: Option<&Path>) {
    let file = output.with_extension("toml");
    std::fs::write(&file, &topology.text).expect("write topology");
    let mut build = switchyard();
    build.arg("build").arg(&file).arg("-o").arg(output);
    if let Some(earlier) = since {
        build.arg("--since").arg(earlier);
    }
    run_ok(&mut build);
}

pub fn model() -> CheckedModel {
    switchyard::validate(&example())
        .unwrap_or_else(|_| panic!("{TOPOLOGY} is valid"))
        .into_parts()
        .0
}

/// The interfaces `host`'s artifacts name: its LAN interfaces and uplinks, and
/// the sync link of a pair.
pub fn interfaces(model: &Model, host: &str) -> Vec<String> {
    let host = model.host(model.host_named(host).expect("host in the topology"));
    host.lan
        .iter()
        .map(|lan| lan.value.to_string())
        .chain(
            host.attachments
                .iter()
                .map(|a| a.interface.value.to_string()),
        )
        .chain(host.ha.iter().map(|ha| ha.sync_interface.value.to_string()))
        .collect()
}

/// The settings naming where the role (`switchyard_` + key) and the state
/// (pillar key) write on the target, all below `root`.
pub fn destinations(root: &Path) -> [(&'static str, PathBuf); 5] {
    [
        ("dest", root.join("etc/switchyard")),
        ("networkd_dest", root.join("etc/systemd/network")),
        ("systemd_dest", root.join("etc/systemd/system")),
        ("sysctl_dest", root.join("etc/sysctl.d")),
        ("state_dir", root.join("var/lib/switchyard")),
    ]
}

/// A namespace standing in for `HOST`: a veth for each of its interfaces.
pub fn host_namespace(test: &str) -> Netns {
    Netns::with_veths(test, &interfaces(&model(), HOST))
}

/// `nft list table inet switchyard` in `netns`.
pub fn live_table(netns: &Netns) -> String {
    run_ok(
        netns
            .exec("nft")
            .args(["list", "table", "inet", "switchyard"]),
    )
}

/// The kernel's handle of table inet switchyard in `netns`: loading a whole
/// script makes the table anew (a new handle), an update of its elements keeps it.
pub fn table_handle(netns: &Netns) -> u64 {
    let listing = run_ok(
        netns
            .exec("nft")
            .args(["-j", "list", "table", "inet", "switchyard"]),
    );
    let listing: serde_json::Value = serde_json::from_str(&listing).expect("nft -j is JSON");
    listing["nftables"]
        .as_array()
        .expect("a list of objects")
        .iter()
        .find_map(|object| object["table"]["handle"].as_u64())
        .unwrap_or_else(|| panic!("no table handle in {listing}"))
}

/// Loads into `netns` `HOST`'s table of another build than the example's (built
/// into `dir`), as if the host ran it.
pub fn load_another_build(netns: &Netns, dir: &Path) {
    build_edited(&added_public_address(), dir, None);
    run_ok(
        netns
            .exec("nft")
            .arg("-f")
            .arg(dir.join(HOST).join("switchyard.nft")),
    );
}

/// How a deployment changed the nft table it found.
pub enum Loaded {
    /// By the update: elements of the same table changed.
    Updated,
    /// By the full script: a new table.
    Replaced,
}

impl Loaded {
    /// What `switchyard apply` prints when it loads the table this way.
    fn said_by_apply(&self) -> &'static str {
        match self {
            Loaded::Updated => "table updated (switchyard.update.nft)",
            Loaded::Replaced => "table loaded (switchyard.nft)",
        }
    }
}

/// Asserts that apply's output `apply` says it loaded the table as `how` says,
/// and not the other way.
pub fn assert_apply_loaded(apply: &str, how: Loaded) {
    let other = match how {
        Loaded::Updated => Loaded::Replaced,
        Loaded::Replaced => Loaded::Updated,
    };
    let taken = how.said_by_apply();
    assert!(
        apply.contains(taken) && !apply.contains(other.said_by_apply()),
        "`{taken}`:\n{apply}"
    );
}

/// `HOST` of `build` is deployed in `netns`, and the table whose handle was
/// `handle` before was updated in place or replaced, as `how` says.
pub fn assert_deployed_by(netns: &Netns, build: &Path, handle: u64, how: Loaded) {
    let now = table_handle(netns);
    match how {
        Loaded::Updated => assert_eq!(
            now, handle,
            "the update changed elements of the old table, it did not replace it"
        ),
        Loaded::Replaced => assert_ne!(now, handle, "the table was replaced"),
    }
    assert_host_deployed(netns, build);
}

/// systemd cannot run in a test namespace: a `systemctl` stand-in in `dir`
/// that appends its arguments to a log, and fails `restart` while
/// [`FAIL_RESTART`] exists in `dir`. Returns the stand-in and the log.
pub fn systemctl_stand_in(dir: &Path) -> (PathBuf, PathBuf) {
    let calls = dir.join("systemctl.log");
    let systemctl = dir.join("systemctl");
    std::fs::write(
        &systemctl,
        format!(
            "#!/bin/sh\necho \"$*\" >> {}\n\
             if [ \"$1\" = restart ] && [ -e {} ]; then echo 'restart failed' >&2; exit 1; fi\n",
            calls.display(),
            dir.join(FAIL_RESTART).display()
        ),
    )
    .expect("stand-in written");
    run_ok(Command::new("chmod").arg("+x").arg(&systemctl));
    (systemctl, calls)
}

/// While a file of this name is in the stand-in's directory, `systemctl
/// restart` fails (a monitor that cannot start, or systemd refusing).
pub const FAIL_RESTART: &str = "systemctl-restart-fails";

/// The monitor of `build` (one host's directory) is installed under `root` as
/// built, enabled and restarted through the systemctl stand-in that logged to
/// `calls`, and the set it keeps is in the table loaded in `netns`.
pub fn assert_monitor_installed(netns: &Netns, root: &Path, build: &Path, calls: &Path) {
    for (installed, built) in [
        ("etc/switchyard/monitor.json", "monitor.json"),
        (
            "etc/systemd/system/switchyard-monitor.service",
            "systemd/switchyard-monitor.service",
        ),
    ] {
        assert_eq!(
            std::fs::read(root.join(installed)).expect("installed"),
            std::fs::read(build.join(built)).expect("built"),
            "{installed} installed as built"
        );
    }
    assert_eq!(
        std::fs::read_to_string(calls).expect("systemctl was called"),
        "daemon-reload\nenable switchyard-monitor.service\nrestart switchyard-monitor.service\n"
    );
    assert!(live_table(netns).contains("set down_uplinks"));
}

/// Undoes a deployment by hand, in `netns`: deletes switchyard's nft table and
/// flushes its policy rules, leaving the installed files as they were, so only
/// `verify` can notice.
pub fn delete_table_and_rules(netns: &Netns) {
    run_ok(
        netns
            .exec("nft")
            .args(["delete", "table", "inet", "switchyard"]),
    );
    netns.ip(&[
        "rule",
        "flush",
        "protocol",
        &switchyard::plan::ROUTE_PROTOCOL.to_string(),
    ]);
}

/// Deletes by hand, in `netns`, one element that `HOST`'s update in `build`
/// deletes: the table keeps the build id the update applies over, but nft
/// refuses the update (it cannot delete what is not there).
pub fn delete_an_element_the_update_deletes(netns: &Netns, build: &Path) {
    let update =
        std::fs::read_to_string(build.join(HOST).join("switchyard.update.nft")).expect("update");
    let (header, block) = update
        .split("\ndelete element ")
        .skip(1)
        .find(|block| !block.starts_with("inet switchyard build "))
        .and_then(|block| block.split_once('\n'))
        .unwrap_or_else(|| panic!("the update deletes no element:\n{update}"));
    let element = block.lines().next().expect("an element");
    let output = netns.nft_load(&format!("delete element {header}\n{element}\n}}\n"));
    assert!(output.status.success(), "{}", super::describe(&output));
}

/// Asserts that `netns` holds what loading `HOST`'s artifacts from `build` gives:
/// the same nft table (elements in any order) as a fresh namespace that loads
/// the script directly, every VM's public address DNATed to it, one fwmark rule
/// and one routing table per uplink (from the topology, so the check cannot pass
/// on an empty state), and forwarding on.
pub fn assert_host_deployed(netns: &Netns, build: &Path) {
    let model = model();
    let live = live_table(netns);

    let reference = host_namespace("ref");
    let script = build.join(HOST).join("switchyard.nft");
    run_ok(reference.exec("nft").arg("-f").arg(&script));
    // Sorted: a table an update made lists elements in another order.
    assert_eq!(
        netns.nft_table_sorted(),
        reference.nft_table_sorted(),
        "the deployed table differs from loading {} directly",
        script.display()
    );

    let host_id = model.host_named(HOST).expect("host");
    let mut public = 0;
    for vm in model.vms.iter().filter(|vm| vm.host == host_id) {
        let private = vm.address::<V4>().expect("the deployed examples are IPv4");
        for address in vm.public_of::<V4>() {
            public += 1;
            let element = format!("{} : {private}", address.value);
            assert!(
                live.contains(&element),
                "live table lacks DNAT `{element}` ({}):\n{live}",
                vm.name.value
            );
        }
    }
    assert!(public > 0, "{HOST} has no public address to check");

    let rules = netns.ip(&["rule", "show"]);
    let host = model.host(host_id);
    assert!(!host.attachments.is_empty());
    for attachment in &host.attachments {
        let uplink = model.uplink(attachment.uplink);
        let table = uplink.table.value;
        let rule = format!(
            "fwmark {:#x}/0xff00 lookup {table} proto 211",
            u32::from(uplink.id.value) << 8
        );
        assert!(rules.contains(&rule), "no rule `{rule}`:\n{rules}");
        let routes = netns.ip(&["route", "show", "table", &table.to_string()]);
        let default = format!(
            "default via {} dev {}",
            attachment.gateway.v4.as_ref().expect("IPv4").value,
            attachment.interface.value
        );
        assert!(
            routes.contains(&default),
            "table {table} lacks `{default}`:\n{routes}"
        );
    }
    let forwarding = run_ok(netns.exec("cat").arg("/proc/sys/net/ipv4/ip_forward"));
    assert_eq!(forwarding.trim(), "1", "forwarding is on in the namespace");
}

/// Everything `switchyard apply` may change in `netns`, comparable: the table (handles
/// dropped, elements sorted), every rule, every route, every IPv4 address,
/// the permanent neighbour entries and the settings of the build's sysctl file.
/// After a failed deployment: the host's kernel state is `before`, and the
/// files under `etc` are `installed` (build, units and settings as they were).
pub fn assert_left_as_it_was(
    netns: &Netns,
    before: &str,
    etc: &Path,
    installed: &BTreeMap<String, Vec<u8>>,
) {
    assert_eq!(kernel_state(netns), before, "the host's state as it was");
    assert_eq!(
        super::tree(etc),
        *installed,
        "the installed build, units and settings as they were"
    );
}

pub fn kernel_state(netns: &Netns) -> String {
    let table = Command::new("ip")
        .args(["netns", "exec", &netns.name, "nft", "list", "tables"])
        .output()
        .expect("nft runs");
    let table = if String::from_utf8_lossy(&table.stdout).contains("inet switchyard") {
        netns.nft_table_sorted()
    } else {
        "(no table)".to_owned()
    };
    let mut settings = String::new();
    for key in [
        "ip_forward",
        "conf/all/rp_filter",
        "conf/up-a/rp_filter",
        "conf/all/send_redirects",
    ] {
        let value = run_ok(netns.exec("cat").arg(format!("/proc/sys/net/ipv4/{key}")));
        settings.push_str(&format!("{key} = {value}"));
    }
    format!(
        "{table}\n{}\n{}\n{}\n{}\n{settings}",
        netns.ip(&["-4", "rule", "show"]),
        // IPv4 only: IPv6 link-local routes appear on their own, in time.
        netns.ip(&["-4", "route", "show", "table", "all"]),
        netns.ip(&["-br", "-4", "addr", "show"]),
        netns.ip(&["-4", "neigh", "show", "nud", "permanent"]),
    )
}

/// The machine's own policy rules and forwarding switch, to show a deployment
/// into a namespace left them alone.
#[derive(Debug, PartialEq, Eq)]
pub struct MachineNetwork {
    rules: String,
    forwarding: String,
    switchyard_table: bool,
}

impl MachineNetwork {
    pub fn read() -> Self {
        let table = Command::new("nft")
            .args(["list", "table", "inet", "switchyard"])
            .output()
            .expect("nft runs");
        MachineNetwork {
            rules: run_ok(Command::new("ip").args(["rule", "show"])),
            forwarding: std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                .expect("readable /proc"),
            switchyard_table: table.status.success(),
        }
    }
}

/// Edits `HOST`'s nft script and ip batch in `build` after its manifest was
/// written, in ways nft and ip would accept; see [`assert_tampering_not_loaded`].
pub fn tamper(build: &Path) {
    for (file, line) in [
        ("switchyard.nft", "table inet tampered {\n}\n"),
        (
            "switchyard.ip",
            "rule add fwmark 0x9900 lookup main priority 99 protocol 211\n",
        ),
    ] {
        let path = build.join(HOST).join(file);
        let mut text = std::fs::read_to_string(&path).expect("built");
        text.push_str(line);
        std::fs::write(&path, text).expect("tampered");
    }
}

/// Nothing [`tamper`] added, nor anything else of switchyard's, is live in `netns`.
pub fn assert_tampering_not_loaded(netns: &Netns) {
    let tables = run_ok(netns.exec("nft").args(["list", "tables"]));
    assert!(
        !tables.contains("tampered") && !tables.contains("switchyard"),
        "no table loaded: {tables}"
    );
    assert!(!netns.ip(&["rule", "show"]).contains("0x9900"));
}

/// Two machines serve host `PAIR_HOST`, members net1a and net1b, each with
/// its directory in the build.
pub const PAIR_TOPOLOGY: &str = "examples/ha-pair.toml";
pub const PAIR_HOST: &str = "net1";

/// One machine of the pair: a namespace with veths named like its interfaces
/// (the host's and the sync link), its destinations below `root` (see
/// [`destinations`]) and its own systemctl stand-in logging to `calls`.
pub struct PairMember {
    pub name: String,
    pub netns: Netns,
    pub root: PathBuf,
    pub systemctl: PathBuf,
    pub calls: PathBuf,
}

/// The pair's machines, the preferred member first, each below `temp/MEMBER`.
pub fn pair_members(test: &str, temp: &Path) -> Vec<PairMember> {
    let source = example_source(Path::new(PAIR_TOPOLOGY));
    let (model, _, _) = switchyard::validate(&source)
        .unwrap_or_else(|_| panic!("{PAIR_TOPOLOGY} is valid"))
        .into_parts();
    let host = model.host(model.host_named(PAIR_HOST).expect("the pair's host"));
    let ha = host.ha.as_ref().expect("the host is a pair");
    let interfaces = interfaces(&model, PAIR_HOST);
    ha.members
        .iter()
        .map(|member| {
            let root = temp.join(&member.value);
            std::fs::create_dir_all(&root).expect("member directory");
            let (systemctl, calls) = systemctl_stand_in(&root);
            PairMember {
                name: member.value.to_string(),
                netns: Netns::with_veths(test, &interfaces),
                root,
                systemctl,
                calls,
            }
        })
        .collect()
}

impl PairMember {
    /// What the systemctl stand-in was asked since the last call, then forgets it.
    pub fn take_calls(&self) -> String {
        let calls = std::fs::read_to_string(&self.calls).unwrap_or_default();
        let _ = std::fs::remove_file(&self.calls);
        calls
    }

    /// Asserts that the member's own part of `build` is deployed: `switchyard
    /// verify --host MEMBER` of the installed build passes in its namespace
    /// (`verify BUILD --host PEER` there finds differences: each member has
    /// its own addresses), keepalived's
    /// and conntrackd's configuration, the notify script and their units are
    /// installed as built, and every daemon of the build was (re)started once
    /// through the systemctl stand-in, as [`first_start_calls`] lists.
    pub fn assert_deployed(&self, build: &Path, peer: &str) {
        let verify = |build: &Path, host: &str| {
            self.netns
                .exec(env!("CARGO_BIN_EXE_switchyard"))
                .arg("verify")
                .arg(build)
                .args(["--host", host])
                .output()
                .expect("switchyard verify runs")
        };
        let own = verify(&self.root.join("etc/switchyard/build"), &self.name);
        assert!(
            own.status.success(),
            "{}: {}",
            self.name,
            super::describe(&own)
        );
        let other = verify(build, peer);
        assert_eq!(other.status.code(), Some(1), "{}", super::describe(&other));
        for (installed, built) in [
            ("etc/switchyard/keepalived.conf", "keepalived.conf"),
            ("etc/switchyard/conntrackd.conf", "conntrackd.conf"),
            ("etc/switchyard/ha-notify.sh", "ha-notify.sh"),
            (
                "etc/systemd/system/switchyard-keepalived.service",
                "systemd/switchyard-keepalived.service",
            ),
            (
                "etc/systemd/system/switchyard-conntrackd.service",
                "systemd/switchyard-conntrackd.service",
            ),
        ] {
            assert_eq!(
                std::fs::read(self.root.join(installed)).expect("installed"),
                std::fs::read(build.join(&self.name).join(built)).expect("built"),
                "{}: {installed} installed as built",
                self.name
            );
        }
        assert_eq!(self.take_calls(), first_start_calls(), "{}", self.name);
    }
}

/// What the systemctl stand-in of a member is asked on its first deployment:
/// each daemon restarted in order, the monitor, conntrackd, then keepalived,
/// the distribution's unit of the latter two masked.
pub fn first_start_calls() -> String {
    format!(
        "daemon-reload\nenable switchyard-monitor.service\nrestart switchyard-monitor.service\n\
         {}{}",
        restart_calls("conntrackd"),
        restart_calls("keepalived")
    )
}

/// What the systemctl stand-in is asked when `daemon` (conntrackd or
/// keepalived) restarts with a new configuration.
pub fn restart_calls(daemon: &str) -> String {
    format!(
        "daemon-reload\nmask --now {daemon}.service\nenable switchyard-{daemon}.service\n\
         restart switchyard-{daemon}.service\n"
    )
}

/// The pair with another VRRP router id: only keepalived.conf changes, on
/// both members.
pub fn pair_with_other_vrid() -> Source {
    edited(
        &example_source(Path::new(PAIR_TOPOLOGY)),
        &[("vrid = 51 ", "vrid = 52 ")],
    )
}

/// `switchyard build` of `topology` into `output` from a file of the example's
/// name: every file's header names it, so only what the edit changes differs
/// from the example's build.
pub fn build_as_example(topology: &Source, output: &Path) {
    let dir = output.with_extension("edited");
    std::fs::create_dir_all(&dir).expect("edited topology directory");
    let file = dir.join(Path::new(&topology.name).file_name().expect("a file name"));
    std::fs::write(&file, &topology.text).expect("write topology");
    run_ok(switchyard().arg("build").arg(&file).arg("-o").arg(output));
}
