//! IPv6 end to end on the real kernel (docs/semantics.md §13): the artifacts
//! built from examples/dual-stack.toml (`switchyard.nft`, `switchyard.ip`,
//! `switchyard6.ip`) loaded into the namespace rig of tests/e2e/rig.rs, which
//! builds both families from the plan: ISPs routing their IPv6 pools to the
//! host and dropping foreign sources, a far end recording the arrival ISP,
//! source and destination of every packet, isp-a's IPv6 gateway link-local
//! (fe80::1) and its link to the far end 1300 bytes. The host has a default
//! route of its own in each family (via isp-a, as docs/operations.md deploys
//! it), so what the ruleset does not mark leaves by isp-a. Real pings show
//! that
//!
//! - every VM → IPv6 destination pair leaves by the uplink and from the public
//!   address a table written by hand from docs/semantics.md §2 says (the
//!   project's entry, the VM's own entry, the default), beside IPv4 in the same
//!   round;
//! - inbound pings to every IPv6 public address reach their VM, and the
//!   replies leave by the ISP they arrived by, even where the VM would send to
//!   the pinging address by the other ISP; unassigned pool addresses answer
//!   nothing;
//! - a VM pinging another VM's IPv6 public address reaches it without leaving
//!   the host (hairpin), from its own public address;
//! - differentially, for every probe above plus 30 random IPv6 destinations per
//!   VM (fixed seed), `switchyard::trace` predicts exactly what the kernel did;
//! - from an uplink, an unassigned pool address and a VM's private address
//!   (routed to the host by the ISP) are unreachable, and a project-network
//!   source reaches no VM; from the LAN, an undeclared source and a borrowed
//!   MAC-bound address never leave; each drop counted, no ISP ever sees a
//!   foreign source;
//! - a VM's ICMPv6 error quoting a MAC-bound neighbour's connection (one it
//!   opened, or one DNATed to it) does not leave with the neighbour's public
//!   address, where the neighbour's own does; a machine on the LAN claiming a
//!   MAC-bound address by neighbour advertisement receives nothing meant for
//!   it (switchyard6.ip's permanent entry);
//! - a Packet Too Big from behind the narrow link reaches the VM, translated
//!   back to its private address, and the VM's path MTU drops to 1300;
//! - loading the artifacts twice changes nothing in either family;
//! - and the rig is sensitive: without the IPv6 source check towards the
//!   uplinks, a foreign source leaves and isp-a's filter drops it.
//!
//! Runs as root (CI does); fails, never skips, without it.

mod common;
mod e2e {
    pub mod fate;
    pub mod rig;
}

use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

use e2e::fate::{self, Fate, Probe, assert_kernel_matches_trace, assert_no_spoofing, observed};
use e2e::rig::{self, Artifacts, Rig};
use switchyard::diagnostic::Source;
use switchyard::family::{V4, V6};
use switchyard::model::CheckedModel;
use switchyard::plan::HostPlan;
use switchyard::trace::{self, Action, Reason, Tracer};

const TOPOLOGY: &str = "examples/dual-stack.toml";

/// docs/semantics.md §2 applied by hand to examples/dual-stack.toml: (VM,
/// destination) → the uplink and source address it leaves with. IPv4 rides
/// along in the same round.
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    // web-1: the project default (pool-a), the project's 2001:db8:100::/40
    // entry (pool-b), its own 2001:db8:200::/48 entry (its pool-b address).
    ("web-1", "2001:db8:300::1", "isp-a", "2001:db8:a::7"),
    ("web-1", "2001:db8:100::1", "isp-b", "2001:db8:b::9"),
    ("web-1", "2001:db8:200::1", "isp-b", "2001:db8:b::9"),
    ("web-1", "2001:db8:201::1", "isp-a", "2001:db8:a::7"),
    ("web-1", "9.9.9.9", "isp-a", "198.51.100.7"),
    ("web-1", "100.66.0.1", "isp-b", "203.0.113.9"),
    // web-2: web-1's own entry is not its.
    ("web-2", "2001:db8:300::2", "isp-a", "2001:db8:a::8"),
    ("web-2", "2001:db8:100::2", "isp-b", "2001:db8:b::10"),
    ("web-2", "2001:db8:200::2", "isp-a", "2001:db8:a::8"),
    ("web-2", "9.9.9.9", "isp-a", "198.51.100.8"),
    ("web-2", "100.65.0.1", "isp-b", "203.0.113.10"),
];

/// VM → another VM's IPv6 public address: (sender, public address, receiver,
/// the source the receiver sees: the sender's public address its egress
/// decision picks for that destination).
const HAIRPINS: &[(&str, &str, &str, &str)] = &[
    ("web-1", "2001:db8:a::8", "web-2", "2001:db8:a::7"),
    ("web-2", "2001:db8:b::9", "web-1", "2001:db8:a::8"),
];

/// IPv6 pool addresses no VM has.
const UNASSIGNED: &[&str] = &["2001:db8:a::99", "2001:db8:b::99"];

fn ip(text: &str) -> IpAddr {
    text.parse().expect("address")
}

fn out(vm: &str, to: &str) -> Probe {
    Probe::Out {
        vm: vm.to_owned(),
        to: ip(to),
    }
}

/// The topology built and planned, in a rig deployed as docs/operations.md
/// has it.
struct Deployed {
    source: Source,
    model: CheckedModel,
    host: HostPlan,
    artifacts: Artifacts,
    rig: Rig,
}

impl Deployed {
    fn new(tag: &str) -> Deployed {
        Deployed::with_ruleset(tag, |nft| nft)
    }

    /// With the nft script `edit` makes of the built one.
    fn with_ruleset(tag: &str, edit: impl FnOnce(String) -> String) -> Deployed {
        Deployed::built(tag, common::build_source, edit)
    }

    /// With `egress_by_vm{,6}` split into 4 shards, as on a large host.
    fn in_egress_shards(tag: &str) -> Deployed {
        Deployed::built(tag, |source| common::build_sharded(source, 4), |nft| nft)
    }

    /// The topology as `build` builds it, with the nft script `edit` makes.
    fn built(
        tag: &str,
        build: impl FnOnce(&Source) -> switchyard::Build,
        edit: impl FnOnce(String) -> String,
    ) -> Deployed {
        common::require_root();
        let source = common::example_source(Path::new(TOPOLOGY));
        let mut artifacts = Artifacts::of(&build(&source), "net1");
        artifacts.nft = edit(artifacts.nft);
        assert!(
            artifacts.ip6.is_some(),
            "a host forwarding IPv6 has switchyard6.ip"
        );
        let (model, mut plan, _) = switchyard::validate(&source).expect("valid").into_parts();
        let host = plan.hosts.remove(0);
        let rig = Rig::new(tag, &model, &host);
        rig.load(&artifacts);
        let isp_a = Deployed::uplink(&host, "isp-a");
        rig.add_main_default_route::<V4>(isp_a);
        rig.add_main_default_route::<V6>(isp_a);
        rig.narrow_far_link("isp-a", 1300);
        Deployed {
            source,
            model,
            host,
            artifacts,
            rig,
        }
    }

    fn uplink<'h>(host: &'h HostPlan, name: &str) -> &'h switchyard::plan::UplinkPlan {
        host.uplinks
            .iter()
            .find(|u| u.name == name)
            .unwrap_or_else(|| panic!("no uplink {name}"))
    }

    fn tracer(&self) -> Tracer<'_> {
        Tracer::new(&self.source).expect("valid")
    }

    /// VM `name`'s private IPv6 address.
    fn private6(&self, name: &str) -> Ipv6Addr {
        self.host
            .family::<V6>()
            .vms
            .iter()
            .find(|vm| self.model.vm(vm.vm).name.value == name)
            .unwrap_or_else(|| panic!("no VM {name}"))
            .private
    }

    /// What trace says about a packet from `from` (an address or a VM) to `to`.
    fn traced(&self, from: &str, to: &str) -> (Action, Option<Reason>) {
        let trace = self.tracer().trace(from, ip(to), &[]).expect("traces");
        let reason = match &trace.fate {
            trace::Fate::Drop(dropped) => Some(dropped.reason()),
            _ => None,
        };
        (trace.action(), reason)
    }
}

/// 30 IPv6 destinations per seed outside every private, link, pool and
/// special range: a third in 2001:db8:100::/40 (the project's entry), a third
/// in 2001:db8:200::/47 (half in web-1's /48), the rest anywhere in 2000::/3.
fn random_destinations(seed: u64) -> Vec<IpAddr> {
    let excluded: Vec<ipnet::Ipv6Net> = [
        "2001:db8:a::/48",
        "2001:db8:b::/48",
        "2001:db8:10::/64",
        "2001:db8:ffa::/64",
        "2001:db8:ffb::/64",
    ]
    .iter()
    .map(|n| n.parse().expect("prefix"))
    .collect();
    fate::random_destinations(
        seed,
        |index, bits| {
            Ipv6Addr::from(match index % 3 {
                0 => 0x2001_0db8_0100_u128 << 80 | bits & (u128::MAX >> 40),
                1 => 0x2001_0db8_0200_u128 << 80 | bits & (u128::MAX >> 47),
                _ => 0x2000_u128 << 112 | bits & (u128::MAX >> 3),
            })
        },
        |address| {
            u128::from(address) & 0xffff != 0 && !excluded.iter().any(|n| n.contains(&address))
        },
    )
    .into_iter()
    .map(IpAddr::V6)
    .collect()
}

/// Every probe of the round: each VM to the hand-written and random
/// destinations, the hairpins, and the far end to every IPv6 public address
/// and the unassigned ones, from a source the owner would send to by the
/// other ISP where there is one. The number of such conflicting sources.
fn probes(deployed: &Deployed) -> (Vec<Probe>, usize) {
    let tracer = deployed.tracer();
    let mut probes: Vec<Probe> = EXPECTED.iter().map(|&(vm, to, ..)| out(vm, to)).collect();
    let vms = fate::vm_addresses(&deployed.model, &deployed.host);
    for vm in vms.keys() {
        for to in random_destinations(0x5eed_0006) {
            probes.push(Probe::Out { vm: vm.clone(), to });
        }
    }
    probes.extend(
        HAIRPINS
            .iter()
            .map(|&(sender, public, ..)| out(sender, public)),
    );
    let publics = deployed
        .host
        .family::<V6>()
        .vms
        .iter()
        .flat_map(|vm| vm.public.iter().map(|p| IpAddr::from(p.address)));
    let mut conflicting = 0;
    for (index, public) in publics.chain(UNASSIGNED.iter().map(|a| ip(a))).enumerate() {
        // Far-end sources unique per probe, one in each range that decides.
        let candidates: Vec<IpAddr> = ["2001:db8:300::", "2001:db8:100::", "2001:db8:200::"]
            .iter()
            .map(|prefix| ip(&format!("{prefix}{:x}", 0x10 + index)))
            .collect();
        let (from, conflict) = fate::inbound_source(&tracer, public, &candidates);
        conflicting += usize::from(conflict);
        probes.push(Probe::In { from, to: public });
    }
    (probes, conflicting)
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn the_kernel_does_what_trace_says_in_ipv6() {
    let deployed = Deployed::new("ds");
    let rig = &deployed.rig;
    let (model, host) = (&deployed.model, &deployed.host);

    // Loading twice changes nothing, in either family.
    let once = rig.state();
    assert!(
        once.contains("lookup 101") && once.contains("default via fe80::1 dev up-a table 101"),
        "{once}"
    );
    rig.load(&deployed.artifacts);
    assert_eq!(once, rig.state(), "loading again changed the host");

    let (probes, conflicting) = probes(&deployed);
    assert!(
        conflicting >= 4,
        "only {conflicting} inbound probes come from an address the VM would send to by \
         another uplink"
    );
    let (results, observations) = fate::round(rig, &deployed.tracer(), model, host, &probes);
    assert_kernel_matches_trace("dual stack", &results);
    assert_no_spoofing("dual stack", &observations);

    // The hand-written table, independent of the planner.
    for &(vm, to, uplink, source) in EXPECTED {
        assert_eq!(
            observed(&results, &out(vm, to)),
            &Fate::Left {
                uplink: uplink.to_owned(),
                source: ip(source)
            },
            "{vm} → {to}"
        );
    }
    for &(sender, public, receiver, source) in HAIRPINS {
        assert_eq!(
            observed(&results, &out(sender, public)),
            &Fate::Hairpin {
                vm: receiver.to_owned(),
                source: Some(ip(source))
            },
            "{sender} → {public}"
        );
    }
    // Inbound: every IPv6 public address reaches its VM and the reply leaves
    // by the ISP the ping arrived by, from that address; unassigned addresses
    // stay silent.
    let mut inbound = 0;
    for (probe, _, result) in &results {
        let Probe::In { to, .. } = probe else {
            continue;
        };
        let owner = host.family::<V6>().vms.iter().find_map(|vm| {
            let public = vm.public.iter().find(|p| IpAddr::from(p.address) == *to)?;
            Some((vm, public))
        });
        let expected = match owner {
            Some((vm, public)) => Fate::Dnat {
                vm: model.vm(vm.vm).name.value.to_string(),
                reply_uplink: model.uplink(public.uplink).name.value.to_string(),
                reply_source: *to,
            },
            None => Fate::Nothing,
        };
        assert_eq!(result.fate, expected, "{probe}");
        assert_eq!(result.answered, owner.is_some(), "{probe}");
        inbound += 1;
    }
    assert_eq!(inbound, 6);
    // web-1 prefers pool-a for this source, the ping came by isp-b: the
    // connection carries isp-b's mark.
    let conntrack = common::run_ok(rig.host().exec("conntrack").args([
        "-L",
        "-f",
        "ipv6",
        "-d",
        "2001:db8:b::9",
    ]));
    assert!(conntrack.contains("mark=512"), "{conntrack}");
}

/// The packets counted by every uplink's `in_`/`out_` counters: forwarded
/// packets only, so no drop moves them.
/// The table laid out as a large host's: `egress_by_vm{,6}` split into 4
/// maps by the last bits of the VM's address (each looked up by a chain of
/// its own, to which `classify_own_egress{,6}` dispatches with `saddr & ::3`
/// in IPv6): the kernel still does what trace says, in both families.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn the_kernel_does_what_trace_says_with_egress_by_vm_in_shards() {
    let deployed = Deployed::in_egress_shards("ds-shards");
    for dispatch in ["ip saddr & 0.0.0.3 vmap", "ip6 saddr & ::3 vmap"] {
        assert!(deployed.artifacts.nft.contains(dispatch), "no {dispatch}");
    }
    let (probes, _) = probes(&deployed);
    let (model, host) = (&deployed.model, &deployed.host);
    let (results, observations) =
        fate::round(&deployed.rig, &deployed.tracer(), model, host, &probes);
    assert_kernel_matches_trace("egress_by_vm in shards", &results);
    assert_no_spoofing("egress_by_vm in shards", &observations);
}

fn forwarded(deployed: &Deployed) -> Vec<u64> {
    deployed
        .host
        .uplinks
        .iter()
        .flat_map(|u| ["in", "out"].map(|d| deployed.rig.host_counter(&format!("{d}_{}", u.name))))
        .collect()
}

/// Pings `to` twice from `ns` (from `source` when given); whether both were
/// answered.
fn ping(ns: &common::Netns, source: Option<&str>, to: &str, extra: &[&str]) -> (bool, String) {
    let mut command = ns.exec("ping");
    command.args(["-n", "-c", "2", "-i", "0.2", "-w", "2", "-W", "1"]);
    if let Some(source) = source {
        command.args(["-I", source]);
    }
    let output = command.args(extra).arg(to).output().expect("ping runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// docs/semantics.md §8 in IPv6: what must not cross the host does not, each
/// drop counted and none of them moving an uplink's counters; trace predicts
/// each. No ISP ever receives a packet with a foreign source.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn ipv6_lets_no_one_in_where_they_do_not_belong() {
    let deployed = Deployed::new("ds6s");
    let rig = &deployed.rig;
    let web_1 = deployed.private6("web-1").to_string();
    let isp_a = rig.isp("isp-a");
    let isp_a_link = Deployed::uplink(&deployed.host, "isp-a")
        .link::<V6>()
        .expect("IPv6 on isp-a");
    let host_address = isp_a_link.address.addr().to_string();
    // isp-a routes web-1's private network to the host too.
    isp_a.ip(&[
        "-6",
        "route",
        "add",
        "2001:db8:10::/64",
        "via",
        &host_address,
    ]);

    // From an uplink: unassigned pool addresses and a VM's private address
    // are unreachable (with the host's default route, each would otherwise be
    // forwarded: back out by isp-a, or into the LAN).
    rig.reset_records();
    let before = forwarded(&deployed);
    for to in UNASSIGNED.iter().copied().chain([web_1.as_str()]) {
        assert!(!ping(isp_a, None, to, &[]).0, "{to} answered from isp-a");
        let (action, reason) = deployed.traced("fd00:f:1::1", to);
        assert_eq!(
            (action, reason),
            (Action::Drop, Some(Reason::UnsolicitedInbound)),
            "{to}"
        );
    }
    let seen = rig.collect();
    assert!(seen.vms.values().all(Vec::is_empty), "{:?}", seen.vms);
    assert_eq!(forwarded(&deployed), before);
    assert!(rig.host_counter("unsolicited_inbound") >= 6);

    // From an uplink with a project-network source: dropped before NAT.
    rig.reset_records();
    isp_a.ip(&["-6", "address", "add", "2001:db8:10::99/128", "dev", "lo"]);
    assert!(!ping(isp_a, Some("2001:db8:10::99"), "2001:db8:a::7", &[]).0);
    let seen = rig.collect();
    assert!(seen.vms.values().all(Vec::is_empty), "{:?}", seen.vms);
    assert!(rig.host_counter("spoofed_inbound") >= 2);
    assert_eq!(forwarded(&deployed), before);
    isp_a.ip(&["-6", "address", "del", "2001:db8:10::99/128", "dev", "lo"]);
    // The ISP from its own address still reaches web-1.
    assert!(ping(isp_a, None, "2001:db8:a::7", &[]).0);

    // From the LAN: an address no VM has, and web-1's MAC-bound address
    // claimed by web-2 (with its own MAC). web-1's own packets get out.
    let web_2 = rig.vm("web-2");
    for (borrowed, predicted) in [
        ("2001:db8:10::77", Some(Reason::SpoofedSource)),
        // trace does not know the sender's MAC: it sees web-1.
        (web_1.as_str(), None),
    ] {
        web_2.ip(&[
            "-6",
            "address",
            "add",
            &format!("{borrowed}/128"),
            "dev",
            "eth0",
        ]);
        rig.reset_records();
        let before = forwarded(&deployed);
        assert!(!ping(web_2, Some(borrowed), "2001:db8:300::77", &[]).0);
        let seen = rig.collect();
        assert!(seen.far.is_empty(), "from {borrowed}: {:?}", seen.far);
        assert_no_spoofing(borrowed, &seen);
        assert_eq!(forwarded(&deployed), before, "from {borrowed}");
        assert!(rig.host_counter("spoofed_source") >= 2, "from {borrowed}");
        if let Some(reason) = predicted {
            assert_eq!(
                deployed.traced(borrowed, "2001:db8:300::77"),
                (Action::Drop, Some(reason))
            );
        }
        web_2.ip(&[
            "-6",
            "address",
            "del",
            &format!("{borrowed}/128"),
            "dev",
            "eth0",
        ]);
    }
    assert!(ping(rig.vm("web-1"), None, "2001:db8:300::77", &[]).0);
}

/// A 1400-byte packet with don't-fragment (IPv6 never fragments on the way)
/// from web-1 to a destination behind isp-a's 1300-byte link: the ISP's Packet
/// Too Big, addressed to web-1's public address, is related to the connection,
/// admitted and translated back (outer and quoted addresses) by conntrack:
/// web-1's ping hears it and its path MTU drops to 1300, after which 1200
/// bytes go through.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_packet_too_big_reaches_the_vm() {
    let deployed = Deployed::new("dsptb");
    let rig = &deployed.rig;
    let web_1 = rig.vm("web-1");
    let private = deployed.private6("web-1");
    rig.reset_records();
    let (answered, output) = ping(web_1, None, "2001:db8:300::1", &["-s", "1400", "-M", "do"]);
    assert!(!answered, "1400 bytes crossed a 1300-byte link: {output}");
    assert!(
        output.contains("Packet too big") && output.contains("mtu=1300"),
        "{output}"
    );
    let records = &rig.collect().vms["web-1"];
    assert!(
        records
            .iter()
            .any(|r| r.kind == "packet-too-big" && r.destination == private),
        "web-1 got {records:?}"
    );
    let route = web_1.ip(&["-6", "route", "get", "2001:db8:300::1"]);
    assert!(route.contains("mtu 1300"), "{route}");
    assert!(ping(web_1, None, "2001:db8:300::1", &["-s", "1200", "-M", "do"]).0);
    assert_no_spoofing("packet too big", &rig.collect());
}

/// The IPv6 source check towards an uplink (docs/semantics.md §8).
const SOURCE_CHECK6: &str = "ip6 saddr != @vm_sources6 counter name spoofed_source drop";

/// The rig notices a missing IPv6 rule: without the source check towards the
/// uplinks, a packet from an address no VM has leaves by the host's default
/// route un-NATed, and isp-a's anti-spoofing filter drops it, where the
/// intact rule set keeps it in (`ipv6_lets_no_one_in_where_they_do_not_belong`).
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn without_the_ipv6_source_check_a_foreign_source_reaches_the_isp() {
    let deployed = Deployed::with_ruleset("ds6m", |nft| {
        let broken: String = nft
            .lines()
            .filter(|line| !line.contains(SOURCE_CHECK6))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(
            broken.lines().count() + 2,
            nft.lines().count(),
            "one source check per uplink (two) removed"
        );
        broken
    });
    let rig = &deployed.rig;
    let web_2 = rig.vm("web-2");
    web_2.ip(&["-6", "address", "add", "2001:db8:10::77/128", "dev", "eth0"]);
    rig.reset_records();
    assert!(!ping(web_2, Some("2001:db8:10::77"), "2001:db8:300::77", &[]).0);
    let seen = rig.collect();
    let (packets, sources) = &seen.spoofed["isp-a"];
    assert!(
        *packets >= 2 && *sources == [ip("2001:db8:10::77")],
        "{:?}",
        seen.spoofed
    );
}

/// Sends from the namespace it runs in, with Python's sockets (the kernel
/// computes ICMPv6 checksums): `udp FROM PORT TO TO_PORT` one UDP datagram;
/// `time-exceeded TO INNER_SOURCE INNER_SOURCE_PORT INNER_DESTINATION
/// INNER_DESTINATION_PORT` an ICMPv6 Time Exceeded to TO quoting that UDP
/// packet; `advertise INTERFACE TARGET MAC` an unsolicited, overriding
/// neighbour advertisement for TARGET at MAC to all nodes.
const SEND6: &str = r#"
import socket, struct, sys

def address(text):
    return socket.inet_pton(socket.AF_INET6, text)

def icmp6():
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    return s

if sys.argv[1] == "udp":
    source, port, to, to_port = sys.argv[2:]
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind((source, int(port)))
    s.sendto(b"x", (to, int(to_port)))
elif sys.argv[1] == "time-exceeded":
    to, source, source_port, destination, destination_port = sys.argv[2:]
    quoted = struct.pack("!IHBB", 6 << 28, 9, 17, 64) + address(source) + address(destination)
    quoted += struct.pack("!HHHH", int(source_port), int(destination_port), 9, 0) + b"x"
    icmp6().sendto(struct.pack("!BBHI", 3, 0, 0, 0) + quoted, (to, 0))
else:
    interface, target, mac = sys.argv[2:]
    advert = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + address(target)
    advert += bytes([2, 1]) + bytes.fromhex(mac.replace(":", ""))
    icmp6().sendto(advert, ("ff02::1", 0, 0, socket.if_nametoindex(interface)))
"#;

fn send6(ns: &common::Netns, args: &[&str]) {
    common::run_ok(ns.exec("python3").arg("-c").arg(SEND6).args(args));
    // Let the packets land before anyone looks at the records.
    std::thread::sleep(std::time::Duration::from_millis(300));
}

/// docs/semantics.md §8 in IPv6: a VM's ICMPv6 error quoting a MAC-bound
/// neighbour's connection (one it opened, or one DNATed to it) is related to
/// it, and NAT would give it the neighbour's public source; it gets nothing
/// out, where the neighbour's own error about the same connection leaves.
#[test]
#[ignore = "needs root, nft, ip and python3: sudo bash .ci/run"]
fn an_icmpv6_error_cannot_borrow_a_bound_neighbours_connection() {
    let deployed = Deployed::new("ds6i");
    let rig = &deployed.rig;
    let web_1 = deployed.private6("web-1").to_string();
    // The far end's address towards isp-b.
    let isp_b = Deployed::uplink(&deployed.host, "isp-b").id.0;
    let far_side = <V6 as rig::RigFamily>::far_link(isp_b).1.to_string();
    let errors_from = |kind: &str, public: &str| -> Vec<rig::Record> {
        rig.far_records()
            .into_iter()
            .filter(|r| r.kind == kind && r.source == ip(public))
            .collect()
    };

    // web-1's own connection, UDP 4000 → 2001:db8:300::1:5000, leaving by
    // isp-a from 2001:db8:a::7: an error about it quotes a packet of the reply
    // direction, and travels in the original one.
    send6(
        rig.vm("web-1"),
        &["udp", &web_1, "4000", "2001:db8:300::1", "5000"],
    );
    let outbound = (
        "2001:db8:a::7",
        ["2001:db8:300::1", "2001:db8:300::1", "5000", &web_1, "4000"],
    );
    // A connection DNATed to web-1, UDP far:40000 → 2001:db8:b::9:33434: web-1
    // has no listener, and its kernel's Port Unreachable leaves by isp-b. An
    // error about it quotes a packet of the original direction.
    rig.reset_records();
    send6(
        rig.far(),
        &["udp", &far_side, "40000", "2001:db8:b::9", "33434"],
    );
    assert!(
        errors_from("destination-unreachable", "2001:db8:b::9")
            .iter()
            .any(|r| r.interface == "isp-b"),
        "web-1's port unreachable did not arrive: {:?}",
        rig.far_records()
    );
    let inbound = (
        "2001:db8:b::9",
        [&far_side, &far_side, "40000", &web_1, "33434"],
    );

    for (public, error) in [outbound, inbound] {
        let error = [&["time-exceeded"][..], &error].concat();
        // web-2, from its own address and MAC, forges it.
        rig.reset_records();
        send6(rig.vm("web-2"), &error);
        let borrowed = errors_from("time-exceeded", public);
        assert!(
            borrowed.is_empty(),
            "{error:?} left with web-1's address: {borrowed:?}"
        );
        assert!(rig.host_counter("spoofed_source") >= 1, "{error:?}");
        // web-1's own, the same packet, leaves.
        rig.reset_records();
        send6(rig.vm("web-1"), &error);
        assert!(
            !errors_from("time-exceeded", public).is_empty(),
            "web-1's own {error:?} did not arrive: {:?}",
            rig.far_records()
        );
    }
}

/// docs/semantics.md §8 in IPv6: a machine on the LAN claiming a MAC-bound
/// VM's address by neighbour advertisement gets nothing the host sends to
/// that address: the host keeps sending to the bound MAC (a permanent
/// neighbour entry from switchyard6.ip).
#[test]
#[ignore = "needs root, nft, ip and python3: sudo bash .ci/run"]
fn a_neighbour_advertisement_cannot_steal_a_mac_bound_address() {
    let deployed = Deployed::new("ds6n");
    let rig = &deployed.rig;
    let web_1 = deployed.private6("web-1").to_string();
    let (_, web_1_mac) = deployed
        .host
        .family::<V6>()
        .mac_bindings
        .iter()
        .find(|(address, _)| address.to_string() == web_1)
        .expect("web-1 is bound");
    let web_1_mac = web_1_mac.to_string();
    assert!(ping(rig.vm("web-1"), None, "2001:db8:300::1", &[]).0);

    let intruder = rig.lan_intruder("ds6n-intruder");
    intruder.ip(&[
        "-6",
        "address",
        "add",
        &format!("{web_1}/64"),
        "dev",
        "eth0",
    ]);
    let intruder_mac = intruder.ip(&["-br", "link", "show", "eth0"]);
    let intruder_mac = intruder_mac
        .split_whitespace()
        .nth(2)
        .expect("a MAC")
        .to_owned();
    for _ in 0..2 {
        send6(&intruder, &["advertise", "eth0", &web_1, &intruder_mac]);
    }
    let neighbour = rig
        .host()
        .ip(&["-6", "neigh", "show", &web_1, "dev", "lan0"]);
    assert!(
        neighbour.contains(&web_1_mac) && neighbour.contains("PERMANENT"),
        "the host's neighbour entry for web-1: {neighbour}"
    );

    // Inbound to web-1's public address reaches web-1, not the intruder.
    rig.reset_records();
    assert!(ping(rig.far(), Some("2001:db8:300::5"), "2001:db8:a::7", &[]).0);
    assert!(!rig.collect().vms["web-1"].is_empty());
    let stolen = rig::records(&intruder);
    assert!(stolen.is_empty(), "the intruder received {stolen:?}");
}
