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
//! - Every family the host's plan has is built: IPv6 addresses, routes and
//!   filters beside the IPv4 ones, with `accept_dad=0` in every namespace (so no
//!   address is tentative when a route names it).
//! - The host namespace gets only the bridge, the veths and forwarding sysctls;
//!   everything else (uplink addresses, rules, routing tables, nftables) comes
//!   from the artifacts under test (`switchyard.ip`, then `switchyard6.ip` when
//!   the build has one). Its main table has no default route.
//! - Each ISP namespace is named after its uplink: its `host` side carries the
//!   uplink's gateway address, it routes its pools back to the host's link
//!   address and everything else to the far end, and it drops (and counts, and
//!   records the source of) every forwarded packet from the host whose source is
//!   not in one of its own pools, as a real ISP's anti-spoofing filter does. It
//!   does not reflect: a packet from the host to one of its own pools is dropped
//!   (and counted), so VM-to-VM traffic by public address must stay on the host.
//! - The far end answers pings to any address (a `local 0.0.0.0/0` route, and
//!   `local ::/0`), routes each pool back through its ISP, and records every ICMP
//!   packet and every ICMPv6 echo or error (not neighbour discovery) it receives
//!   as (interface, source, destination, type); its interfaces are named after
//!   the uplinks, so the interface is the uplink a packet came through. The VMs
//!   record what they receive the same way; a VM bound to a MAC in the topology
//!   gets that MAC.
//!
//! Shared by tests/e2e.rs and tests/e2e_failover.rs; each uses part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::{Command, Stdio};

use ipnet::IpNet;
use switchyard::family::{Family, V4, V6};
use switchyard::model::Model;
use switchyard::plan::{HostPlan, UplinkLink, UplinkPlan};

use crate::common::{Netns, describe, run_ok};

/// What the rig writes differently per address family.
pub trait RigFamily: Family {
    /// `ip`'s option for the family.
    const IP: &'static str;
    /// nft's address expression (`ip saddr`) and set type.
    const NFT: &'static str;
    const NFT_TYPE: &'static str;
    /// The suffix of the family's recorder and ISP sets (`seen`, `seen6`).
    const SET: &'static str;
    /// Every address, for the far end's `local` route.
    const ANY: &'static str;
    /// Link-local sources, as the start of an nft set's elements.
    const LINK_LOCAL: &'static str;
    /// The ISP ↔ far-end link of uplink `id`: (ISP, far end, prefix length).
    fn far_link(id: u8) -> (Self::Addr, Self::Addr, u8);
}

impl RigFamily for V4 {
    const IP: &'static str = "-4";
    const NFT: &'static str = "ip";
    const NFT_TYPE: &'static str = "ipv4_addr";
    const SET: &'static str = "";
    const ANY: &'static str = "0.0.0.0/0";
    const LINK_LOCAL: &'static str = "";
    /// 172.16.ID.0/30, ISP .1, far end .2.
    fn far_link(id: u8) -> (Ipv4Addr, Ipv4Addr, u8) {
        (
            Ipv4Addr::new(172, 16, id, 1),
            Ipv4Addr::new(172, 16, id, 2),
            30,
        )
    }
}

impl RigFamily for V6 {
    const IP: &'static str = "-6";
    const NFT: &'static str = "ip6";
    const NFT_TYPE: &'static str = "ipv6_addr";
    const SET: &'static str = "6";
    const ANY: &'static str = "::/0";
    const LINK_LOCAL: &'static str = "fe80::/10, ";
    /// fd00:f:ID::/64, ISP ::1, far end ::2.
    fn far_link(id: u8) -> (Ipv6Addr, Ipv6Addr, u8) {
        let id = u16::from(id);
        (
            Ipv6Addr::new(0xfd00, 0xf, id, 0, 0, 0, 0, 1),
            Ipv6Addr::new(0xfd00, 0xf, id, 0, 0, 0, 0, 2),
            64,
        )
    }
}

/// The host's interface towards VM `name`.
fn vm_interface(name: &str) -> String {
    let interface = format!("vm-{name}");
    assert!(interface.len() <= 15, "VM name {name} too long for the rig");
    interface
}

/// Every namespace of the rig: no reverse-path filter, no duplicate address
/// detection (an IPv6 address is unusable while it runs). Set before the
/// interfaces exist, so they inherit `default`.
const EVERY_NAMESPACE: [&str; 4] = [
    "net.ipv4.conf.all.rp_filter=0",
    "net.ipv4.conf.default.rp_filter=0",
    "net.ipv6.conf.all.accept_dad=0",
    "net.ipv6.conf.default.accept_dad=0",
];

/// The host bridge's own MAC (locally administered, fixed).
const LAN_BRIDGE_MAC: &str = "02:00:00:00:1a:01";

/// The IPv4 ISP ↔ far-end link of uplink `id`: (ISP, far end).
pub fn far_link(id: u8) -> (Ipv4Addr, Ipv4Addr) {
    let (isp, far, _) = V4::far_link(id);
    (isp, far)
}

/// Every ICMP packet a namespace receives is added to set `seen`, every
/// ICMPv6 echo and error to `seen6` (neighbour discovery and MLD, which every
/// IPv6 link carries on its own, are not recorded).
const RECORDER: &str = "table inet rec {
	set seen {
		type ifname . ipv4_addr . ipv4_addr . icmp_type
		flags dynamic
		size 65535
	}
	set seen6 {
		type ifname . ipv6_addr . ipv6_addr . icmpv6_type
		flags dynamic
		size 65535
	}
	chain input {
		type filter hook input priority filter; policy accept;
		ip protocol icmp add @seen { iifname . ip saddr . ip daddr . icmp type }
		icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request, echo-reply } add @seen6 { iifname . ip6 saddr . ip6 daddr . icmpv6 type }
	}
}
";

/// One ICMP or ICMPv6 packet a namespace received.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Record {
    pub interface: String,
    pub source: IpAddr,
    pub destination: IpAddr,
    /// `echo-request`, `echo-reply`, `packet-too-big`, …
    pub kind: String,
}

struct Isp {
    uplink: String,
    ns: Netns,
}

struct VmNs {
    name: String,
    ns: Netns,
}

/// What one round of probes did.
pub struct Observations {
    /// Outbound (VM, destination) → whether the ping was answered.
    pub outbound: BTreeMap<(String, IpAddr), bool>,
    /// Inbound (far-end source, public address) → whether it was answered.
    pub inbound: BTreeMap<(IpAddr, IpAddr), bool>,
    /// What the far end received.
    pub far: Vec<Record>,
    /// What each VM received, by VM name.
    pub vms: BTreeMap<String, Vec<Record>>,
    /// Per uplink: the sources its ISP's anti-spoofing filter dropped, and how
    /// many packets.
    pub spoofed: BTreeMap<String, (u64, Vec<IpAddr>)>,
    /// Per uplink: how many packets from the host to its own pools its ISP
    /// refused to reflect.
    pub reflected: BTreeMap<String, u64>,
    /// The host's addresses on the LAN bridge (one per private network).
    pub lan: Vec<IpAddr>,
}

/// A host's artifacts as the rig loads them.
#[derive(Debug, Clone)]
pub struct Artifacts {
    pub nft: String,
    /// `switchyard.ip`.
    pub ip: String,
    /// `switchyard6.ip`, which a host forwarding IPv6 has.
    pub ip6: Option<String>,
}

impl Artifacts {
    /// Host `host`'s artifacts in an in-process build.
    pub fn of(build: &switchyard::Build, host: &str) -> Artifacts {
        let artifact = |name: &str| {
            build
                .artifacts
                .iter()
                .find(|a| a.path == format!("{host}/{name}"))
                .map(|a| a.content.clone())
        };
        let required = |name: &str| artifact(name).unwrap_or_else(|| panic!("no {host}/{name}"));
        Artifacts {
            nft: required("switchyard.nft"),
            ip: required("switchyard.ip"),
            ip6: artifact("switchyard6.ip"),
        }
    }

    /// The artifacts in a host's build directory.
    pub fn read(dir: &Path) -> Artifacts {
        let read = |name: &str| std::fs::read_to_string(dir.join(name));
        Artifacts {
            nft: read("switchyard.nft").expect("switchyard.nft"),
            ip: read("switchyard.ip").expect("switchyard.ip"),
            ip6: read("switchyard6.ip").ok(),
        }
    }
}

pub struct Rig {
    host: Netns,
    isps: Vec<Isp>,
    far: Netns,
    vms: Vec<VmNs>,
    /// The LAN bridge's name and addresses (one gateway per private network).
    lan: (String, Vec<String>),
}

/// The names of the host's VMs: those with an IPv4 address, then those with
/// IPv6 only.
fn vm_names(model: &Model, host: &HostPlan) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let v4 = host.family::<V4>().vms.iter().map(|vm| vm.vm);
    let v6 = host.family::<V6>().vms.iter().map(|vm| vm.vm);
    for vm in v4.chain(v6) {
        let name = model.vm(vm).name.value.to_string();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The first address after `net`'s own: the rig's gateway in a network.
fn first_host<F: Family>(net: &F::Net) -> F::Addr {
    use switchyard::family::Bits;
    F::address(
        F::bits(F::first(net))
            .checked_next()
            .expect("a network with hosts"),
    )
}

/// The host's gateway in every private network of family `F` its VMs are in.
fn lan_gateways<F: Family>(model: &Model, host: &HostPlan) -> BTreeMap<F::Net, F::Addr> {
    let plan = host.family::<F>();
    let mut gateways = BTreeMap::new();
    for vm in &plan.vms {
        let network = model
            .project_networks::<F>()
            .map(|n| n.value)
            .find(|n| F::contains(n, vm.private))
            .unwrap_or_else(|| {
                panic!("VM {} is in no project network", model.vm(vm.vm).name.value)
            });
        let gateway = first_host::<F>(&network);
        assert!(
            plan.vms.iter().all(|other| other.private != gateway),
            "the rig uses {gateway}, the first host of {network}, as gateway"
        );
        gateways.insert(network, gateway);
    }
    gateways
}

/// VM `name`'s address of family `F` on `eth0` and its default route, as an
/// `ip -F -batch`; empty if it has no address of the family.
fn vm_family_batch<F: Family>(
    model: &Model,
    host: &HostPlan,
    gateways: &BTreeMap<F::Net, F::Addr>,
    name: &str,
) -> String {
    let Some(vm) = host
        .family::<F>()
        .vms
        .iter()
        .find(|vm| model.vm(vm.vm).name.value == name)
    else {
        return String::new();
    };
    let (network, gateway) = gateways
        .iter()
        .find(|(network, _)| F::contains(network, vm.private))
        .expect("gateway chosen above");
    format!(
        "address add {}/{} dev eth0\nroute add default via {gateway}\n",
        vm.private,
        F::prefix_len(network)
    )
}

/// The MAC the topology binds one of VM `name`'s addresses to, if any.
fn vm_mac(model: &Model, host: &HostPlan, name: &str) -> Option<String> {
    fn bound<F: Family>(model: &Model, host: &HostPlan, name: &str) -> Option<String> {
        let plan = host.family::<F>();
        let vm = plan
            .vms
            .iter()
            .find(|vm| model.vm(vm.vm).name.value == name)?;
        plan.mac_bindings
            .iter()
            .find(|(address, _)| *address == vm.private)
            .map(|(_, mac)| mac.to_string())
    }
    bound::<V4>(model, host, name).or_else(|| bound::<V6>(model, host, name))
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
            vms: vm_names(model, host)
                .into_iter()
                .map(|name| VmNs {
                    ns: Netns::new(&format!("{tag}-vm-{name}")),
                    name,
                })
                .collect(),
            lan: (lan.to_string(), Vec::new()),
        };

        // Forwarding, no redirects (the host routes between two private
        // networks on one bridge), and what every namespace gets.
        let forwarding = ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"];
        sysctl(
            &rig.host,
            &[
                &EVERY_NAMESPACE[..],
                &forwarding,
                &[
                    "net.ipv4.conf.all.send_redirects=0",
                    "net.ipv4.conf.default.send_redirects=0",
                ],
            ]
            .concat(),
        );
        for isp in &rig.isps {
            sysctl(&isp.ns, &[&EVERY_NAMESPACE[..], &forwarding].concat());
        }
        for ns in rig.vms.iter().map(|vm| &vm.ns).chain([&rig.far]) {
            sysctl(ns, &EVERY_NAMESPACE);
        }
        // The far end sends from any address: IPv4's `local` route lets a
        // socket bind to any, IPv6 needs this too.
        sysctl(&rig.far, &["net.ipv6.ip_nonlocal_bind=1"]);

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
        let gateways = (
            lan_gateways::<V4>(model, host),
            lan_gateways::<V6>(model, host),
        );
        for (network, gateway) in &gateways.0 {
            rig.lan
                .1
                .push(format!("{gateway}/{}", network.prefix_len()));
        }
        for (network, gateway) in &gateways.1 {
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

        // VMs: an address per family, a default route to their network's
        // gateway, and the MAC the topology binds them to, if any.
        for vm in &rig.vms {
            let mac = vm_mac(model, host, &vm.name)
                .map(|mac| format!("link set eth0 address {mac}\n"))
                .unwrap_or_default();
            ip_batch(Some(&vm.ns), &format!("{mac}link set eth0 up\n"));
            ip_family_batch::<V4>(
                &vm.ns,
                &vm_family_batch::<V4>(model, host, &gateways.0, &vm.name),
            );
            ip_family_batch::<V6>(
                &vm.ns,
                &vm_family_batch::<V6>(model, host, &gateways.1, &vm.name),
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
        ip_batch(Some(isp), "link set host up\n");
        ip_family_batch::<V4>(isp, &isp_host_link::<V4>(host, uplink));
        ip_family_batch::<V6>(isp, &isp_host_link::<V6>(host, uplink));
    }

    /// The link between the ISP of uplink `name` and the far end gets MTU
    /// `mtu` at both ends (what lies behind the ISP: the host's own link keeps
    /// its MTU).
    pub fn narrow_far_link(&self, name: &str, mtu: u16) {
        let mtu = mtu.to_string();
        self.isp(name).ip(&["link", "set", "far", "mtu", &mtu]);
        self.far.ip(&["link", "set", name, "mtu", &mtu]);
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
        flush_records(&self.far);
    }

    /// Loads a host's artifacts into the host, as a deployment would: the nft
    /// script, `switchyard.ip`, then `switchyard6.ip` if there is one.
    pub fn load(&self, artifacts: &Artifacts) {
        load(&self.host, artifacts);
    }

    /// The host's nftables ruleset, policy rules and routes, as text.
    pub fn state(&self) -> String {
        dataplane_state(&self.host)
    }

    /// Sends one ping for every outbound (VM, destination) and every inbound
    /// (far-end source, public address) pair, all at once, and collects what
    /// every namespace recorded. Records and counters start empty each round.
    pub fn probe(
        &self,
        outbound: &[(String, IpAddr)],
        inbound: &[(IpAddr, IpAddr)],
    ) -> Observations {
        self.reset_records();

        // One shell per sending namespace, its pings in parallel; each prints
        // `SOURCE DESTINATION ok|fail`. Two echo requests per ping: the first opens
        // the connection, the second travels as an established one; `ok` means
        // both were answered.
        let ping = |source: Option<IpAddr>, destination: IpAddr| {
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
                let destination: IpAddr = destination.parse().expect("address");
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
                .map(|a| a.parse::<IpNet>().expect("prefix").addr())
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
            flush_records(ns);
        }
        for isp in &self.isps {
            for set in ["spoofed_sources", "spoofed_sources6"] {
                run_ok(
                    isp.ns
                        .exec("nft")
                        .args(["flush", "set", "inet", "isp", set]),
                );
            }
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
        sysctl(&twin, &EVERY_NAMESPACE);
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
        sysctl(&ns, &EVERY_NAMESPACE);
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

    /// Adds a default route of family `F` to the host's main table (which has
    /// none otherwise), via `uplink`'s gateway.
    pub fn add_main_default_route<F: RigFamily>(&self, uplink: &UplinkPlan) {
        let link = uplink.link::<F>().expect("the uplink has the family");
        self.host.ip(&[
            F::IP,
            "route",
            "add",
            "default",
            "via",
            &link.gateway.to_string(),
            "dev",
            &uplink.interface,
        ]);
    }
}

/// The ISPs and the far end, for the host's uplinks in order (`isps[i]` is the
/// ISP of `host.uplinks[i]`), in every family the uplink has a link of: each
/// ISP's link towards the host is its interface `host` (a veth, or a bridge
/// joining a pair's members), which it gets the gateway address on; it routes
/// its pools to the host's address and everything else to the far end, and
/// drops (and counts) what the host sends from outside its pools or to them.
/// The far end answers every address and routes each pool back through its ISP.
pub fn connect_isps_and_far_end(host: &HostPlan, isps: &[&Netns], far_end: &Netns) {
    let mut far = String::new();
    for (uplink, isp) in host.uplinks.iter().zip(isps) {
        ip_batch(Some(isp), "link set far up\nlink set host up\n");
        far += &format!("link set {} up\n", uplink.name);
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
	set spoofed_sources6 {{
		type ipv6_addr
		flags dynamic
	}}
	chain forward {{
		type filter hook forward priority filter; policy accept;
{}{}	}}
}}
",
                isp_filter::<V4>(host, uplink),
                isp_filter::<V6>(host, uplink)
            ),
        );
    }
    ip_batch(Some(far_end), &far);
    connect_family::<V4>(host, isps, far_end);
    connect_family::<V6>(host, isps, far_end);
    nft(far_end, RECORDER);
}

/// [`connect_isps_and_far_end`]'s addresses and routes of family `F`.
fn connect_family<F: RigFamily>(host: &HostPlan, isps: &[&Netns], far_end: &Netns) {
    let mut far = String::new();
    for (uplink, isp) in host.uplinks.iter().zip(isps) {
        if uplink.link::<F>().is_none() {
            continue;
        }
        let (isp_side, far_side, prefix_len) = F::far_link(uplink.id.0);
        ip_family_batch::<F>(
            isp,
            &format!(
                "address add {isp_side}/{prefix_len} dev far\nroute add default via {far_side}\n{}",
                isp_host_link::<F>(host, uplink)
            ),
        );
        far += &format!("address add {far_side}/{prefix_len} dev {}\n", uplink.name);
        for pool in uplink_pools::<F>(host, uplink) {
            far += &format!("route add {pool} via {isp_side}\n");
        }
    }
    if !far.is_empty() {
        ip_family_batch::<F>(
            far_end,
            &format!("route add local {} dev lo table main\n{far}", F::ANY),
        );
    }
}

/// The ISP's anti-spoofing rules for family `F` on its link to the host: a
/// forwarded packet from outside its pools is dropped (and its source
/// recorded), and so is one to its pools (it does not reflect). None without
/// a pool of the family. IPv6 link-local sources are left alone: where the
/// link is a bridge (a pair's members) and br_netfilter is loaded, neighbour
/// discovery between its ports crosses the forward hook.
fn isp_filter<F: RigFamily>(host: &HostPlan, uplink: &UplinkPlan) -> String {
    let pools: Vec<String> = uplink_pools::<F>(host, uplink)
        .iter()
        .map(ToString::to_string)
        .collect();
    if pools.is_empty() {
        return String::new();
    }
    let pools = pools.join(", ");
    let (address, set, local) = (F::NFT, F::SET, F::LINK_LOCAL);
    format!(
        "\t\tiifname \"host\" {address} saddr != {{ {local}{pools} }} \
         add @spoofed_sources{set} {{ {address} saddr }} counter name spoofed drop\n\
         \t\tiifname \"host\" {address} daddr {{ {pools} }} counter name reflected drop\n"
    )
}

/// The prefixes of family `F` of the pools that leave by `uplink`.
fn uplink_pools<F: Family>(host: &HostPlan, uplink: &UplinkPlan) -> Vec<F::Net> {
    host.family::<F>()
        .pools
        .iter()
        .filter(|p| p.uplink == uplink.name)
        .map(|p| p.prefix)
        .collect()
}

/// The ISP's end of its link to the host in family `F`: the gateway address,
/// the link's prefix on it when the gateway is not in it (a link-local
/// gateway), and the uplink's pools routed to the host. Empty without a link
/// of the family.
fn isp_host_link<F: Family>(host: &HostPlan, uplink: &UplinkPlan) -> String {
    let Some(link): Option<&UplinkLink<F>> = uplink.link::<F>() else {
        return String::new();
    };
    let prefix_len = F::prefix_len(&link.address);
    let network = F::net(F::first(&link.address), prefix_len).expect("a prefix");
    let mut batch = format!("address add {}/{prefix_len} dev host\n", link.gateway);
    if !F::contains(&network, link.gateway) {
        batch += &format!("route add {network} dev host\n");
    }
    for pool in uplink_pools::<F>(host, uplink) {
        batch += &format!("route add {pool} via {}\n", F::net_address(&link.address));
    }
    batch
}

/// `nft -f` the nft script, `ip -batch` switchyard.ip and `ip -6 -batch`
/// switchyard6.ip in `ns`, from files, in that order: the order the boot
/// units load them in.
pub fn load(ns: &Netns, artifacts: &Artifacts) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let write = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write artifact");
        path
    };
    run_ok(
        ns.exec("nft")
            .arg("-f")
            .arg(write("switchyard.nft", &artifacts.nft)),
    );
    run_ok(
        Command::new("ip")
            .args(["-n", &ns.name, "-batch"])
            .arg(write("switchyard.ip", &artifacts.ip)),
    );
    if let Some(ip6) = &artifacts.ip6 {
        run_ok(
            Command::new("ip")
                .args(["-n", &ns.name, "-6", "-batch"])
                .arg(write("switchyard6.ip", ip6)),
        );
    }
}

/// The nftables ruleset, policy rules and routes (every table; IPv6's:
/// switchyard's) of `ns`.
pub fn dataplane_state(ns: &Netns) -> String {
    let ruleset = run_ok(ns.exec("nft").args(["list", "ruleset"]));
    let rules = ns.ip(&["-4", "rule", "show"]);
    let routes = ns.ip(&["-4", "route", "show", "table", "all"]);
    let rules6 = ns.ip(&["-6", "rule", "show"]);
    let routes6 = ns.ip(&["-6", "route", "show", "table", "all", "proto", "211"]);
    let neighbours6 = ns.ip(&["-6", "neigh", "show", "nud", "permanent"]);
    format!(
        "# nft list ruleset\n{ruleset}# ip -4 rule\n{rules}# ip -4 route show table all\n{routes}\
         # ip -6 rule\n{rules6}# ip -6 route show table all proto 211\n{routes6}\
         # ip -6 neigh show nud permanent\n{neighbours6}"
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

/// `ip -4|-6 -batch -` in `ns`: a batch of family `F` (a plain batch reads
/// some IPv6 lines as IPv4's); nothing when `batch` is empty.
pub fn ip_family_batch<F: RigFamily>(ns: &Netns, batch: &str) {
    if !batch.is_empty() {
        with_input(
            Command::new("ip").args(["-n", &ns.name, F::IP, "-batch", "-"]),
            batch,
        );
    }
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

pub fn address(value: &serde_json::Value) -> IpAddr {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an address: {value}"))
}

/// The ICMP and ICMPv6 packets a namespace with the recorder received.
pub fn records(ns: &Netns) -> Vec<Record> {
    let mut records: Vec<Record> = ["seen", "seen6"]
        .iter()
        .flat_map(|set| set_elements(&list_json(ns, &["set", "inet", "rec", set])))
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

/// Empties a recorder.
fn flush_records(ns: &Netns) {
    for set in ["seen", "seen6"] {
        run_ok(ns.exec("nft").args(["flush", "set", "inet", "rec", set]));
    }
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
pub fn spoofed(ns: &Netns) -> (u64, Vec<IpAddr>) {
    let packets = counter(ns, "isp", "spoofed");
    let mut sources: Vec<IpAddr> = ["spoofed_sources", "spoofed_sources6"]
        .iter()
        .flat_map(|set| set_elements(&list_json(ns, &["set", "inet", "isp", set])))
        .map(|elem| address(&elem))
        .collect();
    sources.sort();
    (packets, sources)
}
