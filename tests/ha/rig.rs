//! The pair rig: the two members of a host served by a pair
//! (docs/semantics.md §12), each a network namespace running the build's own artifacts, between
//! a LAN switch, the ISPs and the far end of tests/e2e/rig.rs:
//!
//! ```text
//!   VM ns  eth0 ───────── vm ┐
//!   member 0  lan0 ──── m0   ┤ LAN switch ns (bridge `lan`)
//!   member 1  lan0 ──── m1   ┘
//!   member 0  up-a ──── m0   ┐ ISP ns of isp-a (bridge `host`: the gateway) ── far end ns
//!   member 1  up-a ──── m1   ┘ …one ISP ns per uplink
//!   member 0  ha0 ─────────── ha0  member 1 (the sync link)
//! ```
//!
//! - Each member is configured by `switchyard apply BUILD --host MEMBER` only
//!   (its own addresses, routes, ruleset, settings); the shared addresses come
//!   from keepalived.
//! - The member's build directory is installed as its `/etc/switchyard` and its
//!   daemons run from the units the build wrote: RuntimeDirectory=,
//!   ExecStartPre= and ExecStart= of switchyard-conntrackd, -monitor and
//!   -keepalived, in that order (their `After=`), inside the member's
//!   namespace. One filesystem serves both members, so in the installed copy
//!   `/etc/switchyard` is the member's directory and `/run/switchyard…` lies
//!   in a run directory of the member's own.
//! - One VM (the traffic's end on the LAN) with its address and the LAN's
//!   shared address as gateway.
//!
//! Processes are ended by their id only; the namespaces go when the rig is
//! dropped.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchyard::model::Member;
use switchyard::plan::HostPlan;
use switchyard::plan::ha::HaPlan;

use crate::common::{Netns, run_ok};
use crate::e2e::rig::{connect_isps_and_far_end, ip_batch};

/// The daemons of a member, by unit, in the order they start.
const UNITS: [&str; 3] = [
    "switchyard-conntrackd",
    "switchyard-monitor",
    "switchyard-keepalived",
];

/// Whether the members synchronise their connections (the control run does not
/// start conntrackd).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StateSync {
    Conntrackd,
    Off,
}

pub struct MemberNs {
    pub name: String,
    pub ns: Netns,
    /// The installed copy of the member's build directory: its /etc/switchyard.
    pub etc: PathBuf,
    /// What plays /run for its daemons.
    pub run: PathBuf,
    /// Its interfaces: the sync link's, the LAN's, the uplinks'.
    interfaces: Vec<String>,
    /// The daemons started, by unit.
    daemons: Vec<(&'static str, Child)>,
    /// Killed by [`PairRig::kill`] and not rebooted since.
    dead: bool,
}

pub struct PairRig {
    members: [MemberNs; 2],
    pub vm: Netns,
    pub far: Netns,
    /// The ISPs, in the host's uplink order.
    isps: Vec<Netns>,
    /// The LAN switch: only kept alive.
    _lan_switch: Netns,
    /// The build (`switchyard build -o`): what `apply` and `verify` read.
    pub build: PathBuf,
    ha: HaPlan,
    sync: StateSync,
}

impl PairRig {
    /// The network for `host` (a pair's host plan) and `vm` (its private address,
    /// on the LAN), with the build in `build` installed per member below
    /// `scratch`; every member configured by `switchyard apply`, no daemon yet.
    pub fn new(
        tag: &str,
        host: &HostPlan,
        vm: Ipv4Addr,
        build: &Path,
        scratch: &Path,
        sync: StateSync,
    ) -> PairRig {
        let ha = host.ha.clone().expect("the host is served by a pair");
        let [lan] = host.lan.as_slice() else {
            panic!(
                "the pair rig has one LAN switch; {} has {:?}",
                host.name, host.lan
            )
        };
        let switch = Netns::new(&format!("{tag}-lan"));
        let isps: Vec<Netns> = host
            .uplinks
            .iter()
            .map(|u| Netns::new(&format!("{tag}-{}", u.name)))
            .collect();
        let far = Netns::new(&format!("{tag}-far"));
        let vm_ns = Netns::new(&format!("{tag}-vm"));
        let members = ha.members.0.clone().map(|member| {
            let root = scratch.join(&member.name);
            let etc = root.join("etc");
            let run = root.join("run");
            install(&build.join(&member.name), &etc, &run);
            // The sync link first: a member that loses its LAN link while its
            // daemons still run would hand over at once (a priority-0 advert).
            let mut interfaces = vec![ha.sync_interface.to_string(), lan.to_string()];
            interfaces.extend(host.uplinks.iter().map(|u| u.interface.to_string()));
            MemberNs {
                ns: Netns::new(&format!("{tag}-{}", member.name)),
                name: member.name.to_string(),
                etc,
                run,
                interfaces,
                daemons: Vec::new(),
                dead: false,
            }
        });

        // Every veth, from the root namespace straight into its two ends.
        let mut links = format!(
            "link add eth0 netns {} type veth peer name vm netns {}\n",
            vm_ns.name, switch.name
        );
        for (index, member) in members.iter().enumerate() {
            links += &format!(
                "link add {lan} netns {} type veth peer name m{index} netns {}\n",
                member.ns.name, switch.name
            );
            for (uplink, isp) in host.uplinks.iter().zip(&isps) {
                links += &format!(
                    "link add {} netns {} type veth peer name m{index} netns {}\n",
                    uplink.interface, member.ns.name, isp.name
                );
            }
        }
        links += &format!(
            "link add {0} netns {1} type veth peer name {0} netns {2}\n",
            ha.sync_interface, members[0].ns.name, members[1].ns.name
        );
        for (uplink, isp) in host.uplinks.iter().zip(&isps) {
            links += &format!(
                "link add far netns {} type veth peer name {} netns {}\n",
                isp.name, uplink.name, far.name
            );
        }
        ip_batch(None, &links);

        // The LAN switch and each ISP's link to the pair: a bridge of the
        // members' ports (`dev`: a short port name can read as a keyword).
        ip_batch(Some(&switch), &bridge("lan", &["vm", "m0", "m1"]));
        for isp in &isps {
            ip_batch(Some(isp), &bridge("host", &["m0", "m1"]));
            crate::e2e::rig::sysctl(isp, &["net.ipv4.ip_forward=1"]);
        }
        let isp_refs: Vec<&Netns> = isps.iter().collect();
        connect_isps_and_far_end(host, &isp_refs, &far);

        let gateway = ha
            .shared
            .iter()
            .find(|shared| shared.interface == *lan)
            .expect("a shared address on the LAN")
            .address;
        ip_batch(
            Some(&vm_ns),
            &format!(
                "link set eth0 up\naddress add {vm}/{} dev eth0\nroute add default via {}\n",
                gateway.prefix_len(),
                gateway.addr()
            ),
        );

        let rig = PairRig {
            members,
            vm: vm_ns,
            far,
            isps,
            _lan_switch: switch,
            build: build.to_owned(),
            ha,
            sync,
        };
        for member in Member::BOTH {
            rig.links(member, "up");
            rig.apply(member);
        }
        rig
    }

    pub fn member(&self, member: Member) -> &MemberNs {
        &self.members[member as usize]
    }

    /// `switchyard apply BUILD --host MEMBER` in the member's namespace.
    pub fn apply(&self, member: Member) {
        self.switchyard(member, "apply");
    }

    /// `switchyard verify BUILD --host MEMBER` in the member's namespace, which
    /// must pass.
    pub fn verify(&self, member: Member) {
        self.switchyard(member, "verify");
    }

    /// `switchyard SUBCOMMAND BUILD --host MEMBER` in the member's namespace,
    /// which must succeed.
    fn switchyard(&self, member: Member, subcommand: &str) {
        let m = self.member(member);
        run_ok(
            m.ns.exec(env!("CARGO_BIN_EXE_switchyard"))
                .arg(subcommand)
                .arg(&self.build)
                .args(["--host", &m.name]),
        );
    }

    /// Starts the member's daemons from its units (conntrackd only with
    /// [`StateSync::Conntrackd`]).
    pub fn start(&mut self, member: Member) {
        let sync = self.sync;
        let m = &mut self.members[member as usize];
        for unit in UNITS {
            if unit == "switchyard-conntrackd" && sync == StateSync::Off {
                continue;
            }
            let child = m.start_unit(unit);
            m.daemons.push((unit, child));
        }
    }

    /// The member dies as a machine that loses power: every link down, then
    /// every daemon killed (SIGKILL). In that order: killing keepalived's parent
    /// first makes its VRRP child stop cleanly (its parent-death signal is
    /// SIGTERM) and send the priority-0 advert of a planned handover.
    pub fn kill(&mut self, member: Member) {
        self.links(member, "down");
        let m = &mut self.members[member as usize];
        // keepalived's VRRP child and the notify scripts are not our children,
        // but every process in the namespace is one the rig started. Children
        // (higher ids) first, all in one call.
        let mut pids = m.ns.pids();
        pids.reverse();
        if !pids.is_empty() {
            let _ = Command::new("kill").arg("-KILL").args(&pids).status();
        }
        for (_, mut child) in m.daemons.drain(..) {
            let _ = child.wait();
        }
        wait_until(
            Duration::from_secs(5),
            "the member's processes are gone",
            || m.ns.pids().is_empty(),
        );
        m.dead = true;
    }

    /// The member as after a reboot: its links up, no connection state, its
    /// configuration applied again (a link going down took its routes); the
    /// daemons are left for [`PairRig::start`].
    pub fn reboot(&mut self, member: Member) {
        let m = self.member(member);
        let _ = m.ns.exec("conntrack").arg("-F").output();
        // No address survives a reboot: not the member's own, and not the
        // shared ones its killed keepalived left (they would answer ARP on the
        // links before keepalived starts).
        self.on_each_interface(member, |interface| format!("address flush dev {interface}"));
        self.links(member, "up");
        self.apply(member);
        self.members[member as usize].dead = false;
    }

    /// A planned handover: keepalived's unit stopped (SIGTERM to its main
    /// process, KillMode=process), the other daemons left running.
    pub fn stop_keepalived(&mut self, member: Member) {
        let m = &mut self.members[member as usize];
        let index = m
            .daemons
            .iter()
            .position(|(unit, _)| *unit == "switchyard-keepalived")
            .expect("keepalived runs");
        let (_, mut child) = m.daemons.remove(index);
        run_ok(Command::new("kill").args(["-TERM", &child.id().to_string()]));
        let status = child.wait().expect("keepalived exits");
        assert!(status.success(), "keepalived exited with {status}");
    }

    /// The member's link to the ISP of uplink `uplink` (its index in the host's
    /// order) goes down or up at the ISP's end: its carrier goes, and its
    /// monitor finds the uplink down.
    pub fn set_uplink(&self, member: Member, uplink: usize, state: &str) {
        ip_batch(
            Some(&self.isps[uplink]),
            &format!("link set dev m{} {state}\n", member as usize),
        );
    }

    /// Per uplink (the host's order), what its ISP's anti-spoofing filter
    /// dropped from the pair: a reply that left by another uplink than its
    /// connection's would be there.
    pub fn spoofed(&self) -> Vec<(u64, Vec<std::net::IpAddr>)> {
        self.isps.iter().map(crate::e2e::rig::spoofed).collect()
    }

    /// Whether the member holds every shared address.
    pub fn is_active(&self, member: Member) -> bool {
        let addresses = self.member(member).ns.ip(&["-4", "-o", "address", "show"]);
        self.ha.shared.iter().all(|shared| {
            addresses.lines().any(|line| {
                line.split_whitespace().nth(1) == Some(shared.interface.as_str())
                    && line.contains(&format!(" {} ", shared.address))
            })
        })
    }

    /// Waits until `member` holds the shared addresses and its peer, unless dead
    /// (its links down: a killed keepalived leaves its addresses), none; how
    /// long it took.
    pub fn wait_active(&self, member: Member, timeout: Duration) -> Duration {
        let start = Instant::now();
        wait_until(
            timeout,
            &format!("{} is active", self.member(member).name),
            || {
                self.is_active(member)
                    && (self.member(member.peer()).dead || !self.holds_any_shared(member.peer()))
            },
        );
        start.elapsed()
    }

    fn holds_any_shared(&self, member: Member) -> bool {
        let addresses = self.member(member).ns.ip(&["-4", "-o", "address", "show"]);
        self.ha
            .shared
            .iter()
            .any(|shared| addresses.contains(&format!(" {} ", shared.address)))
    }

    /// Every log a member's daemons wrote, for failure messages.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        for m in &self.members {
            for unit in UNITS {
                let log = m.run.join(format!("{unit}.log"));
                if let Ok(content) = fs::read_to_string(&log) {
                    let tail: Vec<&str> = content.lines().rev().take(40).collect();
                    text += &format!("--- {} {unit} (last lines)\n", m.name);
                    for line in tail.into_iter().rev() {
                        text += line;
                        text.push('\n');
                    }
                }
            }
        }
        text
    }

    fn links(&self, member: Member, state: &str) {
        self.on_each_interface(member, |interface| {
            format!("link set dev {interface} {state}")
        });
    }

    /// One `ip -batch` of the member: the line `command` makes of each of its
    /// interfaces.
    fn on_each_interface(&self, member: Member, command: impl Fn(&str) -> String) {
        let m = self.member(member);
        let batch: String = m
            .interfaces
            .iter()
            .map(|interface| command(interface) + "\n")
            .collect();
        ip_batch(Some(&m.ns), &batch);
    }
}

impl Drop for PairRig {
    /// Ends the daemons (a test that failed midway leaves them running), so the
    /// namespaces can go.
    fn drop(&mut self) {
        for m in &mut self.members {
            // Not `Netns::pids`: no panic while a failed test unwinds.
            let listed = Command::new("ip")
                .args(["netns", "pids", &m.ns.name])
                .output();
            let pids: Vec<String> = listed
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if !pids.is_empty() {
                let _ = Command::new("kill").arg("-KILL").args(&pids).status();
            }
            for (_, mut child) in m.daemons.drain(..) {
                let _ = child.wait();
            }
        }
    }
}

impl MemberNs {
    /// What the unit's RuntimeDirectory=, ExecStartPre= and ExecStart= do,
    /// inside the namespace; the daemon's output goes to `run/UNIT.log`.
    fn start_unit(&self, unit: &str) -> Child {
        let path = self.etc.join("systemd").join(format!("{unit}.service"));
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let setting = |key: &str| -> Vec<String> {
            text.lines()
                .filter_map(|line| line.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
                .collect()
        };
        for directory in setting("RuntimeDirectory")
            .iter()
            .flat_map(|value| value.split_whitespace())
        {
            fs::create_dir_all(self.run.join(directory)).expect("runtime directory");
        }
        for line in setting("ExecStartPre") {
            let (may_fail, line) = match line.strip_prefix('-') {
                Some(rest) => (true, rest.to_owned()),
                None => (false, line),
            };
            let status = self.command(&line).status().expect("run ExecStartPre");
            assert!(may_fail || status.success(), "{unit}: `{line}` failed");
        }
        let [exec_start] = setting("ExecStart")
            .try_into()
            .unwrap_or_else(|lines| panic!("{unit}: one ExecStart expected, got {lines:?}"));
        let log = fs::File::create(self.run.join(format!("{unit}.log"))).expect("log file");
        let mut command = self.command(&exec_start);
        if unit == "switchyard-keepalived" {
            // Its log into the file too (the journal takes it from syslog).
            command.args(["--log-console", "--log-detail"]);
        }
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{unit}: cannot start `{exec_start}`: {e}"))
    }

    /// A unit's command line (no quoting in switchyard's units) inside the
    /// namespace, the switchyard under test for /usr/bin/switchyard.
    fn command(&self, line: &str) -> Command {
        let mut words = line.split_whitespace().map(|word| match word {
            "/usr/bin/switchyard" => env!("CARGO_BIN_EXE_switchyard"),
            word => word,
        });
        let mut command = self.ns.exec(words.next().expect("a command"));
        command.args(words);
        command
    }

    /// The VRRP health its monitor last wrote (monitor.json's
    /// `vrrp_health_file`), for messages.
    pub fn health(&self) -> String {
        let config: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(self.etc.join("monitor.json")).expect("monitor.json"),
        )
        .expect("monitor.json is JSON");
        let file = config["vrrp_health_file"]
            .as_str()
            .expect("a member's monitor writes its health");
        fs::read_to_string(file).map_or_else(|e| format!("({e})"), |text| text.trim().to_owned())
    }

    /// conntrackd's lock file, from its configuration.
    pub fn conntrackd_lock(&self) -> PathBuf {
        let conf = fs::read_to_string(self.etc.join("conntrackd.conf")).expect("conntrackd.conf");
        conf.lines()
            .find_map(|line| line.trim().strip_prefix("LockFile "))
            .map(|path| PathBuf::from(path.trim()))
            .expect("conntrackd.conf names its LockFile")
    }

    /// `conntrack -L ARGS…` in the member's namespace.
    pub fn connections(&self, args: &[&str]) -> String {
        let output = self
            .ns
            .exec("conntrack")
            .arg("-L")
            .args(args)
            .output()
            .expect("run conntrack");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// The member's build directory copied to `etc`, every `/etc/switchyard` in it
/// made `etc` and every `/run/switchyard…` a path below `run`.
fn install(from: &Path, etc: &Path, run: &Path) {
    fs::create_dir_all(run).expect("run directory");
    let (etc_text, run_text) = (
        etc.to_str().expect("UTF-8 path"),
        format!("{}/switchyard", run.to_str().expect("UTF-8 path")),
    );
    for entry in walk(from) {
        let relative = entry.strip_prefix(from).expect("below the build");
        let target = etc.join(relative);
        fs::create_dir_all(target.parent().expect("a parent")).expect("create directory");
        let text = fs::read_to_string(&entry).expect("artifacts are text");
        let text = text
            .replace("/etc/switchyard", etc_text)
            .replace("/run/switchyard", &run_text);
        fs::write(&target, text).expect("write installed copy");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A bridge `name`, up, with `ports` (existing interfaces) as its ports, up.
fn bridge(name: &str, ports: &[&str]) -> String {
    let mut batch = format!("link add {name} type bridge\nlink set dev {name} up\n");
    for port in ports {
        batch += &format!("link set dev {port} master {name}\nlink set dev {port} up\n");
    }
    batch
}

pub fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "not within {timeout:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
