//! The end-to-end network, built from network namespaces after one host of a
//! topology (see tests/e2e.rs for what is asserted on it):
//!
//! ```text
//!   VM ns (eth0) ──veth── vm-NAME ┐
//!   VM ns (eth0) ──veth── vm-NAME ┤ lan0 (bridge, the host's LAN interface, one
//!                                 ┘       gateway address per private network)
//!   host ns:  up-a ──veth── host  ISP ns isp-a  far ──veth── isp-a ┐
//!             up-b ──veth── host  ISP ns isp-b  far ──veth── isp-b ┤ far-end ns
//!             …                                                    ┘
//! ```
//!
//! - The host namespace gets only the bridge, the veths and forwarding sysctls;
//!   everything else (uplink addresses, rules, routing tables, nftables) comes
//!   from the artifacts under test. Its main table has no default route.
//! - Each ISP namespace is named after its uplink: its `host` side carries the
//!   uplink's gateway address, it routes its pools back to the host's link
//!   address and everything else to the far end, and it drops (and counts, and
//!   records the source of) every forwarded packet from the host whose source is
//!   not in one of its own pools, as a real ISP's anti-spoofing filter does. It
//!   does not reflect: a packet from the host to one of its own pools is dropped
//!   (and counted), so VM-to-VM traffic by public address must stay on the host.
//! - The far end answers pings to any address (a `local 0.0.0.0/0` route), routes
//!   each pool back through its ISP, and records every ICMP packet it receives as
//!   (interface, source, destination, ICMP type); its interfaces are named after
//!   the uplinks, so the interface is the uplink a packet came through. The VMs
//!   record what they receive the same way; a VM bound to a MAC in the topology
//!   gets that MAC.
//!
//! Shared by tests/e2e.rs and tests/e2e_failover.rs; each uses part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;
use switchyard::family::V4;
use switchyard::model::Model;
use switchyard::plan::{HostPlan, UplinkPlan};

use crate::common::{Netns, describe, run_ok};

/// The host's interface towards VM `name`.
fn vm_interface(name: &str) -> String {
    let interface = format!("vm-{name}");
    assert!(interface.len() <= 15, "VM name {name} too long for the rig");
    interface
}

/// The host bridge's own MAC (locally administered, fixed).
const LAN_BRIDGE_MAC: &str = "02:00:00:00:1a:01";

/// The ISP ↔ far-end link of uplink `id`: 172.16.ID.0/30, ISP .1, far end .2.
pub fn far_link(id: u8) -> (Ipv4Addr, Ipv4Addr) {
    (Ipv4Addr::new(172, 16, id, 1), Ipv4Addr::new(172, 16, id, 2))
}

/// Every ICMP packet a namespace receives is added to set `seen`.
const RECORDER: &str = "table inet rec {
	set seen {
		type ifname . ipv4_addr . ipv4_addr . icmp_type
		flags dynamic
		size 65535
	}
	chain input {
		type filter hook input priority filter; policy accept;
		ip protocol icmp add @seen { iifname . ip saddr . ip daddr . icmp type }
	}
}
";

/// One ICMP packet a namespace received.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Record {
    pub interface: String,
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
    /// `echo-request` or `echo-reply`.
    pub kind: String,
}

struct Isp {
    uplink: String,
    ns: Netns,
}

struct VmNs {
    name: String,
    private: Ipv4Addr,
    ns: Netns,
}

/// What one round of probes did.
pub struct Observations {
    /// Outbound (VM, destination) → whether the ping was answered.
    pub outbound: BTreeMap<(String, Ipv4Addr), bool>,
    /// Inbound (far-end source, public address) → whether it was answered.
    pub inbound: BTreeMap<(Ipv4Addr, Ipv4Addr), bool>,
    /// What the far end received.
    pub far: Vec<Record>,
    /// What each VM received, by VM name.
    pub vms: BTreeMap<String, Vec<Record>>,
    /// Per uplink: the sources its ISP's anti-spoofing filter dropped, and how
    /// many packets.
    pub spoofed: BTreeMap<String, (u64, Vec<Ipv4Addr>)>,
    /// Per uplink: how many packets from the host to its own pools its ISP
    /// refused to reflect.
    pub reflected: BTreeMap<String, u64>,
    /// The host's addresses on the LAN bridge (one per private network).
    pub lan: Vec<Ipv4Addr>,
}

pub struct Rig {
    host: Netns,
    isps: Vec<Isp>,
    far: Netns,
    vms: Vec<VmNs>,
    /// The LAN bridge's name and addresses (one gateway per private network).
    lan: (String, Vec<String>),
}

impl Rig {
    /// Builds the network for `host` of `model`. `tag` keeps namespace names apart
    /// between tests running in parallel.
    pub fn new(tag: &str, model: &Model, host: &HostPlan) -> Rig {
        let [lan] = host.lan.as_slice() else {
            panic!(
                "the rig builds one LAN bridge; {} has {:?}",
                host.name, host.lan
            )
        };
        let mut rig = Rig {
            host: Netns::new(&format!("{tag}-host")),
            isps: host
                .uplinks
                .iter()
                .map(|u| Isp {
                    uplink: u.name.to_string(),
                    ns: Netns::new(&format!("{tag}-{}", u.name)),
                })
                .collect(),
            far: Netns::new(&format!("{tag}-far")),
            vms: host
                .ip
                .v4
                .vms
                .iter()
                .map(|vm| VmNs {
                    name: model.vm(vm.vm).name.value.to_string(),
                    private: vm.private,
                    ns: Netns::new(&format!("{tag}-vm-{}", model.vm(vm.vm).name.value)),
                })
                .collect(),
            lan: (lan.to_string(), Vec::new()),
        };

        // Forwarding, no reverse-path filter, no redirects (the host routes between
        // two private networks on one bridge). Set before the interfaces exist so
        // they inherit `default`.
        let no_rp_filter = [
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
        ];
        sysctl(
            &rig.host,
            &[
                &no_rp_filter[..],
                &[
                    "net.ipv4.ip_forward=1",
                    "net.ipv4.conf.all.send_redirects=0",
                    "net.ipv4.conf.default.send_redirects=0",
                ],
            ]
            .concat(),
        );
        for isp in &rig.isps {
            sysctl(
                &isp.ns,
                &[&no_rp_filter[..], &["net.ipv4.ip_forward=1"]].concat(),
            );
        }
        sysctl(&rig.far, &no_rp_filter);

        // Every veth, created from the root namespace straight into its two ends.
        let mut links = String::new();
        for (uplink, isp) in host.uplinks.iter().zip(&rig.isps) {
            links += &format!(
                "link add {} netns {} type veth peer name host netns {}\n",
                uplink.interface, rig.host.name, isp.ns.name
            );
            links += &format!(
                "link add far netns {} type veth peer name {} netns {}\n",
                isp.ns.name, uplink.name, rig.far.name
            );
        }
        for vm in &rig.vms {
            links += &format!(
                "link add eth0 netns {} type veth peer name {} netns {}\n",
                vm.ns.name,
                vm_interface(&vm.name),
                rig.host.name
            );
        }
        ip_batch(None, &links);

        // Host: the bridge with one gateway address per private network of its VMs,
        // and a MAC of its own, as docs/operations.md asks: a bridge that takes
        // its ports' lowest MAC changes it when a port comes or goes, and the
        // kernel then flushes its neighbour entries, the permanent ones included.
        let mut batch =
            format!("link add {lan} address {LAN_BRIDGE_MAC} type bridge\nlink set {lan} up\n");
        let mut gateways: BTreeMap<Ipv4Net, Ipv4Addr> = BTreeMap::new();
        for vm in &rig.vms {
            let network = model
                .project_networks::<V4>()
                .map(|n| n.value)
                .find(|n| n.contains(&vm.private))
                .unwrap_or_else(|| panic!("VM {} is in no project network", vm.name));
            let gateway = network.hosts().next().expect("network has hosts");
            assert!(
                host.ip.v4.vms.iter().all(|other| other.private != gateway),
                "the rig uses {gateway}, the first address of {network}, as gateway"
            );
            gateways.insert(network, gateway);
        }
        for (network, gateway) in &gateways {
            rig.lan
                .1
                .push(format!("{gateway}/{}", network.prefix_len()));
        }
        for address in &rig.lan.1 {
            batch += &format!("address add {address} dev {lan}\n");
        }
        for vm in &rig.vms {
            let interface = vm_interface(&vm.name);
            batch += &format!("link set {interface} master {lan}\nlink set {interface} up\n");
        }
        for uplink in &host.uplinks {
            batch += &format!("link set {} up\n", uplink.interface);
        }
        ip_batch(Some(&rig.host), &batch);

        // VMs: one address, a default route to their network's gateway, and the
        // MAC the topology binds the address to, if any.
        for (vm, plan) in rig.vms.iter().zip(&host.ip.v4.vms) {
            let (network, gateway) = gateways
                .iter()
                .find(|(network, _)| network.contains(&plan.private))
                .expect("gateway chosen above");
            let mac = host
                .ip
                .v4
                .mac_bindings
                .iter()
                .find(|(address, _)| *address == plan.private)
                .map(|(_, mac)| format!("link set eth0 address {mac}\n"))
                .unwrap_or_default();
            ip_batch(
                Some(&vm.ns),
                &format!(
                    "{mac}link set eth0 up\naddress add {}/{} dev eth0\nroute add default via {gateway}\n",
                    vm.private,
                    network.prefix_len()
                ),
            );
            nft(&vm.ns, RECORDER);
        }

        let isps: Vec<&Netns> = rig.isps.iter().map(|isp| &isp.ns).collect();
        connect_isps_and_far_end(host, &isps, &rig.far);
        rig
    }

    /// The host's namespace.
    pub fn host(&self) -> &Netns {
        &self.host
    }

    /// The far end's namespace.
    pub fn far(&self) -> &Netns {
        &self.far
    }

    /// The namespace of the ISP of uplink `name`.
    pub fn isp(&self, name: &str) -> &Netns {
        &self
            .isps
            .iter()
            .find(|isp| isp.uplink == name)
            .expect("an uplink of the host")
            .ns
    }

    /// The second half of a NIC reset (the first: `ip link del` of the host's
    /// interface of uplink `name`, which takes its ISP end with it): the
    /// interface is created again and its ISP end configured as before; the
    /// host end is left for `load` to configure, as networkd would.
    pub fn recreate_uplink_interface(&self, host: &HostPlan, name: &str) {
        let uplink = host
            .uplinks
            .iter()
            .find(|u| u.name == name)
            .expect("an uplink of the host");
        let isp = self.isp(name);
        ip_batch(
            None,
            &format!(
                "link add {} netns {} type veth peer name host netns {}\n",
                uplink.interface, self.host.name, isp.name
            ),
        );
        ip_batch(
            Some(&self.host),
            &format!("link set {} up\n", uplink.interface),
        );
        ip_batch(
            Some(isp),
            &isp_host_link(uplink, &uplink_pools(host, uplink)),
        );
    }

    /// The namespace of VM `name`.
    pub fn vm(&self, name: &str) -> &Netns {
        &self
            .vms
            .iter()
            .find(|vm| vm.name == name)
            .expect("a VM of the host")
            .ns
    }

    /// What the far end received since its records were last flushed, without
    /// flushing them.
    pub fn far_records(&self) -> Vec<Record> {
        records(&self.far)
    }

    /// Forgets what the far end received.
    pub fn flush_far_records(&self) {
        run_ok(
            self.far
                .exec("nft")
                .args(["flush", "set", "inet", "rec", "seen"]),
        );
    }

    /// Loads an nft script and an ip batch into the host, as a deployment would.
    pub fn load(&self, nft_script: &str, ip_batch: &str) {
        load(&self.host, nft_script, ip_batch);
    }

    /// The host's nftables ruleset, policy rules and IPv4 routes, as text.
    pub fn state(&self) -> String {
        dataplane_state(&self.host)
    }

    /// Sends one ping for every outbound (VM, destination) and every inbound
    /// (far-end source, public address) pair, all at once, and collects what
    /// every namespace recorded. Records and counters start empty each round.
    pub fn probe(
        &self,
        outbound: &[(String, Ipv4Addr)],
        inbound: &[(Ipv4Addr, Ipv4Addr)],
    ) -> Observations {
        self.reset_records();

        // One shell per sending namespace, its pings in parallel; each prints
        // `SOURCE DESTINATION ok|fail`. Two echo requests per ping: the first opens
        // the connection, the second travels as an established one; `ok` means
        // both were answered.
        let ping = |source: Option<Ipv4Addr>, destination: Ipv4Addr| {
            let bind = source.map(|s| format!("-I {s} ")).unwrap_or_default();
            let from = source.map_or_else(|| "-".to_owned(), |s| s.to_string());
            format!(
                "(ping -n -q -c 2 -i 0.2 -w 2 -W 1 {bind}{destination} >/dev/null 2>&1 \
                 && echo {from} {destination} ok || echo {from} {destination} fail) &\n"
            )
        };
        let mut scripts: Vec<(&Netns, String, Option<&str>)> = Vec::new();
        for vm in &self.vms {
            let script: String = outbound
                .iter()
                .filter(|(name, _)| *name == vm.name)
                .map(|(_, destination)| ping(None, *destination))
                .collect();
            scripts.push((&vm.ns, script, Some(&vm.name)));
        }
        let script: String = inbound
            .iter()
            .map(|(source, public)| ping(Some(*source), *public))
            .collect();
        scripts.push((&self.far, script, None));
        let children: Vec<_> = scripts
            .into_iter()
            .map(|(ns, script, vm)| {
                let child = ns
                    .exec("sh")
                    .arg("-c")
                    .arg(script + "wait\n")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn pings");
                (child, vm)
            })
            .collect();
        let mut outbound_answers = BTreeMap::new();
        let mut inbound_answers = BTreeMap::new();
        for (child, vm) in children {
            let output = child.wait_with_output().expect("pings finish");
            assert!(output.status.success(), "pings: {}", describe(&output));
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                let fields: Vec<&str> = line.split(' ').collect();
                let [source, destination, result] = fields[..] else {
                    panic!("unexpected ping script output {line:?}")
                };
                let answered = result == "ok";
                let destination: Ipv4Addr = destination.parse().expect("address");
                match vm {
                    Some(vm) => outbound_answers.insert((vm.to_owned(), destination), answered),
                    None => inbound_answers
                        .insert((source.parse().expect("address"), destination), answered),
                };
            }
        }
        let observations = Observations {
            outbound: outbound_answers,
            inbound: inbound_answers,
            ..self.collect()
        };
        assert_eq!(
            observations.outbound.len() + observations.inbound.len(),
            outbound.len() + inbound.len(),
            "every ping reports once (are the probes distinct?)"
        );
        observations
    }

    /// What every namespace recorded since the last reset, with no pings of
    /// its own (`outbound` and `inbound` empty).
    pub fn collect(&self) -> Observations {
        let mut observations = Observations {
            outbound: BTreeMap::new(),
            inbound: BTreeMap::new(),
            far: records(&self.far),
            vms: BTreeMap::new(),
            spoofed: BTreeMap::new(),
            reflected: BTreeMap::new(),
            lan: self
                .lan
                .1
                .iter()
                .map(|a| a.parse::<Ipv4Net>().expect("prefix").addr())
                .collect(),
        };
        for vm in &self.vms {
            observations.vms.insert(vm.name.clone(), records(&vm.ns));
        }
        for isp in &self.isps {
            observations
                .spoofed
                .insert(isp.uplink.clone(), spoofed(&isp.ns));
            observations
                .reflected
                .insert(isp.uplink.clone(), counter(&isp.ns, "isp", "reflected"));
        }
        observations
    }

    /// Empties every recorder and resets the ISPs' and the host's counters.
    pub fn reset_records(&self) {
        run_ok(
            self.host
                .exec("nft")
                .args(["reset", "counters", "table", "inet", "switchyard"]),
        );
        for ns in self.vms.iter().map(|vm| &vm.ns).chain([&self.far]) {
            run_ok(ns.exec("nft").args(["flush", "set", "inet", "rec", "seen"]));
        }
        for isp in &self.isps {
            run_ok(
                isp.ns
                    .exec("nft")
                    .args(["flush", "set", "inet", "isp", "spoofed_sources"]),
            );
            run_ok(
                isp.ns
                    .exec("nft")
                    .args(["reset", "counters", "table", "inet", "isp"]),
            );
        }
    }

    /// The packets counted by the host's named counter `name` in table
    /// `inet switchyard`.
    pub fn host_counter(&self, name: &str) -> u64 {
        counter(&self.host, "switchyard", name)
    }

    /// A namespace with the host's interface names and addresses but none of
    /// its history: load one version into it to get what a fresh host holds.
    pub fn twin(&self, tag: &str, host: &HostPlan) -> Netns {
        let twin = Netns::new(tag);
        let (lan, addresses) = &self.lan;
        twin.ip(&["link", "add", lan, "type", "bridge"]);
        twin.ip(&["link", "set", lan, "up"]);
        for address in addresses {
            twin.ip(&["address", "add", address, "dev", lan]);
        }
        for uplink in &host.uplinks {
            twin.veth(&uplink.interface);
        }
        twin
    }

    /// A machine plugged into the LAN bridge (namespace `tag`, its `eth0` on the
    /// host's port `intruder`), recording the ICMP packets it receives.
    pub fn lan_intruder(&self, tag: &str) -> Netns {
        let ns = self.machine(
            tag,
            "intruder",
            &format!("link set intruder master {}\n", self.lan.0),
        );
        ns.ip(&["link", "set", "eth0", "up"]);
        nft(&ns, RECORDER);
        ns
    }

    /// A machine behind the host's interface `other0`, which is neither a LAN
    /// nor an uplink (as a VLAN uplink's parent is): the host is 172.31.0.1/30
    /// there, the machine (namespace `tag`) 172.31.0.2 with its default route
    /// via the host.
    pub fn other_port(&self, tag: &str) -> Netns {
        let ns = self.machine(tag, "other0", "address add 172.31.0.1/30 dev other0\n");
        ip_batch(
            Some(&ns),
            "address add 172.31.0.2/30 dev eth0\nlink set eth0 up\nroute add default via 172.31.0.1\n",
        );
        ns
    }

    /// Namespace `tag` with its `eth0` linked to the host's new interface `port`,
    /// which `setup` (an ip batch in the host) configures before it goes up.
    fn machine(&self, tag: &str, port: &str, setup: &str) -> Netns {
        let ns = Netns::new(tag);
        ip_batch(
            None,
            &format!(
                "link add eth0 netns {} type veth peer name {port} netns {}\n",
                ns.name, self.host.name
            ),
        );
        ip_batch(Some(&self.host), &format!("{setup}link set {port} up\n"));
        ns
    }

    /// Loose reverse-path filtering on the host (the effective value is the
    /// maximum of `all` and the interface's).
    pub fn loose_rp_filter(&self) {
        sysctl(&self.host, &["net.ipv4.conf.all.rp_filter=2"]);
    }

    /// Adds a default route to the host's main table (which has none otherwise).
    pub fn add_main_default_route(&self, gateway: Ipv4Addr) {
        self.host
            .ip(&["route", "add", "default", "via", &gateway.to_string()]);
    }
}

/// `nft -f` an nft script and `ip -batch` an ip batch in `ns`, from files.
/// The prefixes of the pools that leave by `uplink`.
/// The ISPs and the far end, for the host's uplinks in order (`isps[i]` is the
/// ISP of `host.uplinks[i]`): each ISP's link towards the host is its
/// interface `host` (a veth, or a bridge joining a pair's members), which it
/// gets the gateway address on; it routes its pools to the host's address and
/// everything else to the far end, and drops (and counts) what the host sends
/// from outside its pools or to them. The far end answers every address and
/// routes each pool back through its ISP.
pub fn connect_isps_and_far_end(host: &HostPlan, isps: &[&Netns], far_end: &Netns) {
    let mut far = String::from("route add local 0.0.0.0/0 dev lo table main\n");
    for (uplink, isp) in host.uplinks.iter().zip(isps) {
        let pools = uplink_pools(host, uplink);
        let (isp_side, far_side) = far_link(uplink.id.0);
        let batch = format!(
            "link set far up\naddress add {isp_side}/30 dev far\n\
             route add default via {far_side}\n{}",
            isp_host_link(uplink, &pools)
        );
        far += &format!(
            "link set {0} up\naddress add {far_side}/30 dev {0}\n",
            uplink.name
        );
        for pool in &pools {
            far += &format!("route add {pool} via {isp_side}\n");
        }
        ip_batch(Some(isp), &batch);
        let pools = pools
            .iter()
            .map(Ipv4Net::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        nft(
            isp,
            &format!(
                "table inet isp {{
	counter spoofed {{
	}}
	counter reflected {{
	}}
	set spoofed_sources {{
		type ipv4_addr
		flags dynamic
	}}
	chain forward {{
		type filter hook forward priority filter; policy accept;
		iifname \"host\" ip saddr != {{ {pools} }} add @spoofed_sources {{ ip saddr }} counter name spoofed drop
		iifname \"host\" ip daddr {{ {pools} }} counter name reflected drop
	}}
}}
"
            ),
        );
    }
    ip_batch(Some(far_end), &far);
    nft(far_end, RECORDER);
}

fn uplink_pools(host: &HostPlan, uplink: &UplinkPlan) -> Vec<Ipv4Net> {
    host.ip
        .v4
        .pools
        .iter()
        .filter(|p| p.uplink == uplink.name)
        .map(|p| p.prefix)
        .collect()
}

/// The ISP's end of its link to the host: up, the gateway address, and the
/// uplink's pools routed to the host.
fn isp_host_link(uplink: &UplinkPlan, pools: &[Ipv4Net]) -> String {
    let link = uplink.link::<V4>().expect("the rig's uplinks have IPv4");
    let mut batch = format!(
        "link set host up\naddress add {}/{} dev host\n",
        link.gateway,
        link.address.prefix_len()
    );
    for pool in pools {
        batch += &format!("route add {pool} via {}\n", link.address.addr());
    }
    batch
}

pub fn load(ns: &Netns, nft_script: &str, ip_batch: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let nft_file = dir.path().join("switchyard.nft");
    let ip_file = dir.path().join("switchyard.ip");
    std::fs::write(&nft_file, nft_script).expect("write nft script");
    std::fs::write(&ip_file, ip_batch).expect("write ip batch");
    run_ok(ns.exec("nft").arg("-f").arg(&nft_file));
    run_ok(
        Command::new("ip")
            .args(["-n", &ns.name, "-batch"])
            .arg(&ip_file),
    );
}

/// The nftables ruleset, policy rules and IPv4 routes (every table) of `ns`.
pub fn dataplane_state(ns: &Netns) -> String {
    let ruleset = run_ok(ns.exec("nft").args(["list", "ruleset"]));
    let rules = ns.ip(&["-4", "rule", "show"]);
    let routes = ns.ip(&["-4", "route", "show", "table", "all"]);
    format!(
        "# nft list ruleset\n{ruleset}# ip -4 rule\n{rules}# ip -4 route show table all\n{routes}"
    )
}

pub fn sysctl(ns: &Netns, settings: &[&str]) {
    run_ok(ns.exec("sysctl").arg("-q").arg("-w").args(settings));
}

fn with_input(command: &mut Command, input: &str) -> String {
    let output = crate::common::output_with_input(command, input.as_bytes());
    assert!(
        output.status.success(),
        "{command:?} failed on\n{input}\n{}",
        describe(&output)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// `ip -batch -` in `ns` (or the root namespace).
pub fn ip_batch(ns: Option<&Netns>, batch: &str) {
    let mut command = Command::new("ip");
    if let Some(ns) = ns {
        command.args(["-n", &ns.name]);
    }
    with_input(command.args(["-batch", "-"]), batch);
}

pub fn nft(ns: &Netns, script: &str) {
    with_input(ns.exec("nft").args(["-f", "-"]), script);
}

pub fn list_json(ns: &Netns, args: &[&str]) -> serde_json::Value {
    let json = run_ok(ns.exec("nft").arg("-j").arg("list").args(args));
    serde_json::from_str(&json).expect("nft -j prints JSON")
}

/// The objects of one kind (`set`, `counter`) in `nft -j list` output.
fn objects<'v>(
    value: &'v serde_json::Value,
    kind: &'v str,
) -> impl Iterator<Item = &'v serde_json::Value> {
    value["nftables"]
        .as_array()
        .expect("nftables array")
        .iter()
        .filter_map(move |o| o.get(kind))
}

pub fn set_elements(value: &serde_json::Value) -> Vec<serde_json::Value> {
    objects(value, "set")
        .flat_map(|set| set["elem"].as_array().cloned().unwrap_or_default())
        .map(|elem| match elem.get("elem") {
            // An element with attributes (timeout, counter) wraps its value.
            Some(inner) => inner["val"].clone(),
            None => elem,
        })
        .collect()
}

pub fn address(value: &serde_json::Value) -> Ipv4Addr {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an address: {value}"))
}

/// The ICMP packets a namespace with the recorder received.
pub fn records(ns: &Netns) -> Vec<Record> {
    let value = list_json(ns, &["set", "inet", "rec", "seen"]);
    let mut records: Vec<Record> = set_elements(&value)
        .iter()
        .map(|elem| {
            let fields = elem["concat"].as_array().expect("concatenation");
            Record {
                interface: fields[0].as_str().expect("ifname").to_owned(),
                source: address(&fields[1]),
                destination: address(&fields[2]),
                kind: fields[3].as_str().expect("icmp type").to_owned(),
            }
        })
        .collect();
    records.sort();
    records
}

/// The packets counted by named counter `name` of table `inet TABLE`.
fn counter(ns: &Netns, table: &str, name: &str) -> u64 {
    let counter = list_json(ns, &["counter", "inet", table, name]);
    objects(&counter, "counter")
        .next()
        .and_then(|c| c["packets"].as_u64())
        .unwrap_or_else(|| panic!("counter {name} of inet {table} has no packets"))
}

/// What an ISP's anti-spoofing filter dropped: how many packets, and their
/// sources.
pub fn spoofed(ns: &Netns) -> (u64, Vec<Ipv4Addr>) {
    let packets = counter(ns, "isp", "spoofed");
    let sources = list_json(ns, &["set", "inet", "isp", "spoofed_sources"]);
    let mut sources: Vec<Ipv4Addr> = set_elements(&sources).iter().map(address).collect();
    sources.sort();
    (packets, sources)
}
