//! End to end on the real kernel: the artifacts built from tests/e2e/topology.toml
//! are loaded into a network host made of namespaces (tests/e2e/rig.rs: VMs on a
//! bridge, one anti-spoofing ISP per uplink, a far end behind every ISP that
//! records which interface and source each packet arrives with), and real pings
//! show that
//!
//! - every VM → destination pair leaves by the expected uplink from the expected
//!   public address (a table written by hand from docs/semantics.md §2: nested prefixes, a VM
//!   entry beating the project's at equal length, VM and project defaults, a VM
//!   with no default left alone);
//! - traffic between the host's two private networks is not NATed;
//! - a VM pinging another VM's public address on the same host reaches it
//!   without leaving the host (the ISPs do not reflect), from the sender's public
//!   address its egress decision picks or the host's LAN address (hairpin), and
//!   every uplink's `in_`/`out_` counters move;
//! - inbound pings to every public address reach their VM and the replies leave
//!   by the uplink they came in on, even when the VM's egress preference for the
//!   pinging address names another uplink; an unassigned public address answers
//!   nothing; no ISP's anti-spoofing filter drops anything;
//! - loading the artifacts twice changes nothing; loading a second version (a VM
//!   removed, a project preference changed) over the first leaves exactly what a
//!   fresh host loading only the second holds, the removed VM's addresses stop
//!   answering and the changed destination moves uplink;
//! - differentially, for every probe above plus 30 random destinations per VM
//!   (fixed seed), `switchyard::trace` predicts exactly what the kernel did;
//! - on a host deployed as docs/operations.md says, a packet from an undeclared address
//!   leaves by no uplink, an ISP routing a private network to the host gets no
//!   answer, and a VM claiming a MAC-bound VM's address gets nothing out, each
//!   moving its drop counter and no uplink's `in_`/`out_` counter, as trace
//!   predicts where it can tell;
//! - packets from an address that is no VM's and to the host's own uplink
//!   address do what trace says: a hairpin from a LAN address that is no VM's
//!   keeps its source and its replies never leave by an uplink; the host answers
//!   its own address itself, un-NATed, from a VM, the LAN or an ISP;
//! - attackers find the holes closed (docs/semantics.md §8), each drop counted:
//!   an ISP sending from a VM's address or a project network reaches no VM
//!   (dropped before NAT); IPv6 crosses between the LAN and an uplink in
//!   neither direction; a machine on the LAN bridge claiming a MAC-bound VM's
//!   address by ARP receives nothing meant for it; a machine behind an
//!   interface that is neither LAN nor uplink reaches no VM and leaves by no
//!   uplink, though replies to a VM come back; a VM's ICMP error quoting a
//!   MAC-bound neighbour's connection (one it opened, or one DNATed to it)
//!   does not leave with the neighbour's public address, where the
//!   neighbour's own does;
//! - and the rig is sensitive: on a host deployed as docs/operations.md says (a default route
//!   of its own, loose reverse-path filtering), without the conntrack-mark
//!   restore rule, replies to inbound connections and the second packet of
//!   outbound ones leave by the wrong uplink (the host's default route) and that
//!   ISP drops them as spoofed, where the intact rule set passes.
//!
//! Each ping sends two echo requests, so both the first packet of a connection
//! (classified) and an established one (mark restored from conntrack) are tested.
//! The rig's host has no default route and no reverse-path filter, so a packet
//! switchyard leaves alone goes nowhere instead of out by some uplink.
//!
//! Runs as root (CI does); fails, never skips, without it. About 25 s.

mod common;
mod e2e {
    pub mod fate;
    pub mod rig;
}

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use e2e::fate::{
    self, Fate, Probe, Row, assert_kernel_matches_trace, assert_no_spoofing, observed,
};
use e2e::rig::{self, Artifacts, Observations, Rig};
use switchyard::diagnostic::Source;
use switchyard::family::V4;
use switchyard::model::CheckedModel;
use switchyard::model::Model;
use switchyard::plan::{HostPlan, VmPlan};
use switchyard::trace::{self, Action, Reason, Tracer};

const TOPOLOGY: &str = "tests/e2e/topology.toml";

/// Outbound destinations every VM pings; all reach the far end when NATed.
const DESTINATIONS: &[&str] = &[
    "100.65.3.4",   // in 100.65.0.0/16 only
    "100.65.1.1",   // in 100.65.1.0/24 too
    "100.65.1.200", // in 100.65.1.128/25 too
    "100.66.0.1",   // beta's project entry; alpha's 100.64.0.0/10
    "100.67.0.1",   // b1's own entry
    "100.100.0.1",  // alpha's 100.64.0.0/10 only
    "9.9.9.9",      // defaults
    "198.18.50.1",  // defaults
];

/// The uplink and source address a packet leaves with, if it leaves.
type Exit = Option<(&'static str, &'static str)>;

/// docs/semantics.md §2 applied by hand to tests/e2e/topology.toml: (VM, destination) → the
/// uplink and source address it must leave with, or `None`: left alone, and as
/// the host has no default route of its own, it goes nowhere.
const EXPECTED: &[(&str, &str, Exit)] = &[
    // a1: its /16 entry beats alpha's /16 at equal length; its /24 and /25 beat it.
    ("a1", "100.65.3.4", Some(("isp-c", "192.0.2.139"))),
    ("a1", "100.65.1.1", Some(("isp-a", "198.51.100.11"))),
    ("a1", "100.65.1.200", Some(("isp-b", "203.0.113.11"))),
    ("a1", "100.66.0.1", Some(("isp-c", "192.0.2.139"))),
    ("a1", "100.67.0.1", Some(("isp-c", "192.0.2.139"))),
    ("a1", "100.100.0.1", Some(("isp-c", "192.0.2.139"))),
    ("a1", "9.9.9.9", Some(("isp-a", "198.51.100.11"))),
    ("a1", "198.18.50.1", Some(("isp-a", "198.51.100.11"))),
    // a2: alpha's /16 beats alpha's /10; the project default.
    ("a2", "100.65.3.4", Some(("isp-b", "203.0.113.12"))),
    ("a2", "100.65.1.1", Some(("isp-b", "203.0.113.12"))),
    ("a2", "100.65.1.200", Some(("isp-b", "203.0.113.12"))),
    ("a2", "100.66.0.1", Some(("isp-c", "192.0.2.140"))),
    ("a2", "100.67.0.1", Some(("isp-c", "192.0.2.140"))),
    ("a2", "100.100.0.1", Some(("isp-c", "192.0.2.140"))),
    ("a2", "9.9.9.9", Some(("isp-a", "198.51.100.12"))),
    ("a2", "198.18.50.1", Some(("isp-a", "198.51.100.12"))),
    // a3: like a2, but its own default (an address) beats the project's.
    ("a3", "100.65.3.4", Some(("isp-b", "203.0.113.13"))),
    ("a3", "100.65.1.1", Some(("isp-b", "203.0.113.13"))),
    ("a3", "100.65.1.200", Some(("isp-b", "203.0.113.13"))),
    ("a3", "100.66.0.1", Some(("isp-c", "192.0.2.141"))),
    ("a3", "100.67.0.1", Some(("isp-c", "192.0.2.141"))),
    ("a3", "100.100.0.1", Some(("isp-c", "192.0.2.141"))),
    ("a3", "9.9.9.9", Some(("isp-c", "192.0.2.141"))),
    ("a3", "198.18.50.1", Some(("isp-c", "192.0.2.141"))),
    // a4: follows alpha but for alpha's /10 via pool-c, where it has no address:
    // the project default instead, where a2 (the same project) leaves by isp-c.
    ("a4", "100.65.3.4", Some(("isp-b", "203.0.113.14"))),
    ("a4", "100.65.1.1", Some(("isp-b", "203.0.113.14"))),
    ("a4", "100.65.1.200", Some(("isp-b", "203.0.113.14"))),
    ("a4", "100.66.0.1", Some(("isp-a", "198.51.100.14"))),
    ("a4", "100.67.0.1", Some(("isp-a", "198.51.100.14"))),
    ("a4", "100.100.0.1", Some(("isp-a", "198.51.100.14"))),
    ("a4", "9.9.9.9", Some(("isp-a", "198.51.100.14"))),
    ("a4", "198.18.50.1", Some(("isp-a", "198.51.100.14"))),
    // b1: no default: only beta's 100.66/16 and its own 100.67/16 are handled.
    ("b1", "100.65.3.4", None),
    ("b1", "100.65.1.1", None),
    ("b1", "100.65.1.200", None),
    ("b1", "100.66.0.1", Some(("isp-b", "203.0.113.21"))),
    ("b1", "100.67.0.1", Some(("isp-a", "198.51.100.21"))),
    ("b1", "100.100.0.1", None),
    ("b1", "9.9.9.9", None),
    ("b1", "198.18.50.1", None),
    // b2: one address, a default by pool.
    ("b2", "100.65.3.4", Some(("isp-b", "203.0.113.22"))),
    ("b2", "100.65.1.1", Some(("isp-b", "203.0.113.22"))),
    ("b2", "100.65.1.200", Some(("isp-b", "203.0.113.22"))),
    ("b2", "100.66.0.1", Some(("isp-b", "203.0.113.22"))),
    ("b2", "100.67.0.1", Some(("isp-b", "203.0.113.22"))),
    ("b2", "100.100.0.1", Some(("isp-b", "203.0.113.22"))),
    ("b2", "9.9.9.9", Some(("isp-b", "203.0.113.22"))),
    ("b2", "198.18.50.1", Some(("isp-b", "203.0.113.22"))),
];

/// VM → another VM's public address on the same host: (sender, public address,
/// receiver, the source the receiver sees — `None`: the host's LAN address).
/// The ISPs do not reflect, so these only arrive if they never leave the host.
/// One per sender and receiver, and the LAN-address one to a receiver no one
/// else hairpins to, so every arrival says which probe it was.
const HAIRPINS: &[(&str, &str, &str, Option<&str>)] = &[
    ("a1", "203.0.113.12", "a2", Some("198.51.100.11")), // alpha's default
    ("a3", "198.51.100.12", "a2", Some("192.0.2.141")),  // a3's own default
    ("a2", "192.0.2.139", "a1", Some("198.51.100.12")),  // to a bound VM
    ("b2", "198.51.100.11", "a1", Some("203.0.113.22")), // across networks
    ("a1", "198.51.100.21", "b1", Some("198.51.100.11")),
    ("b1", "203.0.113.22", "b2", None), // b1 has no decision for it
];

/// Public addresses in the pools that no VM has: pinged, they must stay silent.
const UNASSIGNED: &[&str] = &["198.51.100.99", "203.0.113.99", "192.0.2.199"];

fn ip(text: &str) -> Ipv4Addr {
    text.parse().expect("address")
}

/// The second version: VM a3 removed, and alpha's 100.65.0.0/16 moved from
/// pool-b to pool-c (a2 follows it; a1 has its own entry).
fn version_2(v1: &Source) -> Source {
    let mut table: toml::Table = v1.text.parse().expect("topology parses");
    table["vms"]
        .as_table_mut()
        .expect("vms")
        .remove("a3")
        .expect("a3 exists");
    let egress = table["projects"]["alpha"]["egress"]
        .as_array_mut()
        .expect("alpha's egress");
    let entry = egress
        .iter_mut()
        .find(|e| e["to"].as_str() == Some("100.65.0.0/16"))
        .expect("alpha has a 100.65.0.0/16 entry");
    entry["via"] = toml::Value::from("pool-c");
    Source::new(
        format!("{TOPOLOGY} (version 2)"),
        toml::to_string(&table).expect("serializes"),
    )
}

/// A validated topology: its single host's plan and its artifacts.
struct Version {
    source: Source,
    /// The model the plan's ids refer to.
    model: CheckedModel,
    host: HostPlan,
    artifacts: Artifacts,
}

impl Version {
    fn new(source: Source) -> Version {
        let built = common::build_source(&source);
        Version::of(source, &built)
    }

    /// The version `built` (a build of `source`) loads.
    fn of(source: Source, built: &switchyard::Build) -> Version {
        let artifacts = Artifacts::of(built, "net1");
        let (model, plan, _) = switchyard::validate(&source)
            .unwrap_or_else(|_| panic!("{} is valid", source.name))
            .into_parts();
        let mut hosts = plan.hosts;
        assert_eq!(hosts.len(), 1, "the rig builds one host");
        Version {
            model,
            host: hosts.remove(0),
            artifacts,
            source,
        }
    }

    fn tracer(&self) -> Tracer<'_> {
        Tracer::new(&self.source).unwrap_or_else(|_| panic!("{} is valid", self.source.name))
    }

    /// The rig with this version loaded as docs/operations.md has it: a
    /// host with a default route of its own (via isp-a's gateway, where an
    /// unmarked packet goes) and loose reverse-path filtering.
    fn rig_as_readme_deploys(&self, tag: &str) -> Rig {
        let rig = Rig::new(tag, &self.model, &self.host);
        rig.load(&self.artifacts);
        rig.add_main_default_route::<V4>(self.uplink("isp-a"));
        rig.loose_rp_filter();
        rig
    }

    fn uplink(&self, name: &str) -> &switchyard::plan::UplinkPlan {
        self.host
            .uplinks
            .iter()
            .find(|u| u.name == name)
            .unwrap_or_else(|| panic!("no uplink {name}"))
    }

    /// The uplink's IPv4 link (the rig's topologies are IPv4).
    fn link(&self, name: &str) -> &switchyard::plan::UplinkLink {
        self.uplink(name).link::<V4>().expect("an IPv4 link")
    }

    fn vm_name(&self, vm: &VmPlan) -> &str {
        &self.model.vm(vm.vm).name.value
    }

    fn vm_named(&self, name: &str) -> &VmPlan {
        self.host
            .ip
            .v4
            .vms
            .iter()
            .find(|vm| self.vm_name(vm) == name)
            .unwrap_or_else(|| panic!("no VM {name}"))
    }
}

/// 30 destinations per seed outside every private, link, pool and special range:
/// a third in 100.65.0.0/16 and a third in 100.64.0.0/10 (where the nested
/// entries are), the rest anywhere.
fn random_destinations(seed: u64) -> Vec<Ipv4Addr> {
    let excluded: Vec<ipnet::Ipv4Net> = [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/3",
    ]
    .iter()
    .map(|n| n.parse().expect("prefix"))
    .collect();
    fate::random_destinations(
        seed,
        |index, bits| {
            let bits = bits as u32;
            Ipv4Addr::from(match index % 3 {
                0 => 0x6441_0000 | (bits & 0xffff),    // 100.65.0.0/16
                1 => 0x6440_0000 | (bits & 0x3f_ffff), // 100.64.0.0/10
                _ => bits,
            })
        },
        |address| {
            let last = address.octets()[3];
            last != 0 && last != 255 && !excluded.iter().any(|n| n.contains(&address))
        },
    )
}

/// The far end's source for an inbound ping to `public`: unique per probe
/// (`index`), and, where the topology allows, one for which the owning VM's
/// egress decision names a different uplink than the one the ping arrives by.
fn inbound_source(tracer: &Tracer, public: Ipv4Addr, index: usize) -> (Ipv4Addr, bool) {
    let last = u8::try_from(10 + index).expect("few probes");
    let candidates: Vec<Ipv4Addr> = DESTINATIONS
        .iter()
        .map(|d| {
            let [a, b, c, _] = ip(d).octets();
            Ipv4Addr::new(a, b, c, last)
        })
        .collect();
    let (source, conflicting) = fate::inbound_source(
        tracer,
        public.into(),
        &candidates.iter().map(|&c| c.into()).collect::<Vec<_>>(),
    );
    let IpAddr::V4(source) = source else {
        unreachable!("an IPv4 candidate")
    };
    (source, conflicting)
}

/// Every probe of one round: each VM to the fixed and random destinations and to
/// the VMs of the other private network, and the far end to every public address
/// (assigned in `publics`, or not).
fn probes(
    tracer: &Tracer,
    model: &Model,
    host: &HostPlan,
    publics: &[Ipv4Addr],
) -> (Vec<Probe>, usize) {
    let name = |vm: &VmPlan| model.vm(vm.vm).name.value.to_string();
    let mut destinations: Vec<Ipv4Addr> = DESTINATIONS.iter().map(|d| ip(d)).collect();
    destinations.extend(random_destinations(0x5eed_0004));
    let mut probes = Vec::new();
    for vm in &host.ip.v4.vms {
        for &to in &destinations {
            probes.push(Probe::Out {
                vm: name(vm),
                to: to.into(),
            });
        }
        // The other private network is internal; the same one is bridged, not
        // routed, so it never meets the host's rules.
        for other in &host.ip.v4.vms {
            if other.project != vm.project {
                probes.push(Probe::Out {
                    vm: name(vm),
                    to: other.private.into(),
                });
            }
        }
    }
    let on_host = |vm: &str| host.ip.v4.vms.iter().any(|v| name(v) == vm);
    for &(sender, public, receiver, _) in HAIRPINS {
        if on_host(sender) && on_host(receiver) {
            probes.push(out(sender, public));
        }
    }
    let mut conflicting = 0;
    for (index, &public) in publics
        .iter()
        .chain(&UNASSIGNED.iter().map(|a| ip(a)).collect::<Vec<_>>())
        .enumerate()
    {
        let (from, conflict) = inbound_source(tracer, public, index);
        conflicting += usize::from(conflict);
        probes.push(Probe::In {
            from: from.into(),
            to: public.into(),
        });
    }
    (probes, conflicting)
}

/// Runs every probe at once and returns (probe, predicted, observed) per probe.
fn round(rig: &Rig, version: &Version, probes: &[Probe]) -> (Vec<Row>, Observations) {
    fate::round(
        rig,
        &version.tracer(),
        &version.model,
        &version.host,
        probes,
    )
}

fn out(vm: &str, to: &str) -> Probe {
    Probe::Out {
        vm: vm.to_owned(),
        to: ip(to).into(),
    }
}

fn publics(host: &HostPlan) -> Vec<Ipv4Addr> {
    host.ip
        .v4
        .vms
        .iter()
        .flat_map(|vm| vm.public.iter().map(|p| p.address))
        .collect()
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn the_kernel_does_what_trace_says() {
    common::require_root();
    let v1 = Version::new(common::example_source(Path::new(TOPOLOGY)));
    let v2 = Version::new(version_2(&v1.source));
    let rig = Rig::new("e2e", &v1.model, &v1.host);

    // Loading twice changes nothing.
    rig.load(&v1.artifacts);
    let once = rig.state();
    rig.load(&v1.artifacts);
    assert_eq!(
        once,
        rig.state(),
        "loading version 1 again changed the host"
    );

    // Version 1.
    let v1_publics = publics(&v1.host);
    let (probes_1, conflicting) = probes(&v1.tracer(), &v1.model, &v1.host, &v1_publics);
    assert!(
        conflicting >= 8,
        "only {conflicting} inbound probes come from an address the VM would send to by \
         another uplink"
    );
    let (results, observations) = round(&rig, &v1, &probes_1);
    assert_kernel_matches_trace("version 1", &results);
    assert_no_spoofing("version 1", &observations);
    // Every uplink carried traffic both ways, and its counters say so.
    for name in uplink_counters(&v1.host) {
        assert!(rig.host_counter(&name) > 0, "counter {name} did not move");
    }

    // The hand-written table, independent of the planner.
    for &(vm, to, expected) in EXPECTED {
        let expected = match expected {
            Some((uplink, source)) => Fate::Left {
                uplink: uplink.to_owned(),
                source: ip(source).into(),
            },
            None => Fate::Nothing,
        };
        assert_eq!(observed(&results, &out(vm, to)), &expected, "{vm} → {to}");
    }
    // Hairpin: reached by public address without leaving the host, from the
    // source the receiver would see from the Internet.
    for &(sender, public, receiver, source) in HAIRPINS {
        let probe = out(sender, public);
        assert_eq!(
            observed(&results, &probe),
            &Fate::Hairpin {
                vm: receiver.to_owned(),
                source: source.map(|source| ip(source).into())
            },
            "{probe}"
        );
    }
    // Between the two private networks: reached, not NATed.
    for vm in &v1.host.ip.v4.vms {
        for other in v1.host.ip.v4.vms.iter().filter(|o| o.project != vm.project) {
            let probe = Probe::Out {
                vm: v1.vm_name(vm).to_owned(),
                to: other.private.into(),
            };
            assert_eq!(
                observed(&results, &probe),
                &Fate::Internal {
                    vm: v1.vm_name(other).to_owned(),
                    source: vm.private.into()
                },
                "{probe}"
            );
        }
    }
    // Inbound: every public address reaches its VM, the reply leaves by the
    // pool's uplink from that address; unassigned addresses stay silent.
    for (probe, _, result) in &results {
        let Probe::In { to, .. } = probe else {
            continue;
        };
        let owner = v1
            .host
            .ip
            .v4
            .vms
            .iter()
            .find_map(|vm| Some((vm, vm.public.iter().find(|p| p.address == *to)?)));
        let expected = match owner {
            Some((vm, public)) => Fate::Dnat {
                vm: v1.vm_name(vm).to_owned(),
                reply_uplink: v1.model.uplink(public.uplink).name.value.to_string(),
                reply_source: *to,
            },
            None => Fate::Nothing,
        };
        assert_eq!(result.fate, expected, "{probe}");
        assert_eq!(result.answered, owner.is_some(), "{probe}");
    }
    let v1_results = results;

    // Version 2 over version 1: exactly what a fresh host loading only version 2
    // holds.
    rig.load(&v2.artifacts);
    let twin = rig.twin("e2e-twin", &v2.host);
    rig::load(&twin, &v2.artifacts);
    assert_eq!(
        rig::dataplane_state(&twin),
        rig.state(),
        "version 2 over version 1 differs from version 2 on a fresh host"
    );

    let (probes_2, _) = probes(&v2.tracer(), &v2.model, &v2.host, &v1_publics);
    let (results, observations) = round(&rig, &v2, &probes_2);
    assert_kernel_matches_trace("version 2", &results);
    assert_no_spoofing("version 2", &observations);

    // The removed VM's addresses stop answering.
    let a3 = v1.vm_named("a3");
    for public in &a3.public {
        let (probe, _, result) = results
            .iter()
            .find(|(p, ..)| matches!(p, Probe::In { to, .. } if *to == public.address))
            .expect("a3's addresses are probed");
        assert_eq!(result.fate, Fate::Nothing, "{probe}");
        assert!(!result.answered, "{probe}");
    }
    // The changed preference moves a2's 100.65.0.0/16 traffic from isp-b to isp-c.
    let moved = out("a2", "100.65.3.4");
    assert_eq!(
        observed(&v1_results, &moved),
        &Fate::Left {
            uplink: "isp-b".into(),
            source: ip("203.0.113.12").into()
        }
    );
    assert_eq!(
        observed(&results, &moved),
        &Fate::Left {
            uplink: "isp-c".into(),
            source: ip("192.0.2.140").into()
        }
    );
}

/// The table laid out as a large host's: `egress_by_vm` split into 4 maps
/// by the last bits of the VM's address, each looked up by a chain of its
/// own, to which `classify_own_egress` dispatches. The kernel still does what
/// trace says, for VMs with entries of their own in different shards.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn the_kernel_does_what_trace_says_with_egress_by_vm_in_shards() {
    common::require_root();
    let source = common::example_source(Path::new(TOPOLOGY));
    let built = common::build_sharded(&source, 4);
    let version = Version::of(source, &built);
    let table = switchyard::nft_table::Table::parse(&version.artifacts.nft).expect("a table");
    let filled = (0..4)
        .filter(|shard| !table.elements(&format!("egress_by_vm_{shard}")).is_empty())
        .count();
    assert!(filled >= 2, "the VMs' ranges are in {filled} shard(s)");
    let rig = Rig::new("e2e-shards", &version.model, &version.host);
    rig.load(&version.artifacts);
    let (probes, _) = probes(
        &version.tracer(),
        &version.model,
        &version.host,
        &publics(&version.host),
    );
    let (results, observations) = round(&rig, &version, &probes);
    assert_kernel_matches_trace("egress_by_vm in shards", &results);
    assert_no_spoofing("egress_by_vm in shards", &observations);
}

/// Every uplink's `in_NAME` and `out_NAME` counter (docs/semantics.md §8).
fn uplink_counters(host: &HostPlan) -> Vec<String> {
    host.uplinks
        .iter()
        .flat_map(|uplink| ["in", "out"].map(|direction| format!("{direction}_{}", uplink.name)))
        .collect()
}

/// The rule that makes replies to inbound connections, and the packets after the
/// first of outbound ones, follow the connection's uplink: established packets
/// from the LAN get the uplink mark back from conntrack.
const RESTORE_RULE: &str = "ct state established,related ct mark and";

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn without_the_conntrack_mark_restore_packets_leave_by_the_wrong_uplink() {
    common::require_root();
    let v1 = Version::new(common::example_source(Path::new(TOPOLOGY)));
    let rig = v1.rig_as_readme_deploys("e2ex");

    // a1 → 100.65.1.200 leaves by isp-b from 203.0.113.11; the far end pings
    // 203.0.113.11 from an address a1 would send to by isp-c.
    let tracer = v1.tracer();
    let public = ip("203.0.113.11");
    let probes = |index: usize| {
        let (from, conflicting) = inbound_source(&tracer, public, index);
        assert!(conflicting);
        [
            out("a1", "100.65.1.200"),
            Probe::In {
                from: from.into(),
                to: public.into(),
            },
        ]
    };

    // The real rule set: every packet follows its connection's uplink.
    let (results, observations) = round(&rig, &v1, &probes(0));
    assert_eq!(
        results[0].2.fate,
        Fate::Left {
            uplink: "isp-b".into(),
            source: public.into()
        }
    );
    assert_eq!(
        results[1].2.fate,
        Fate::Dnat {
            vm: "a1".into(),
            reply_uplink: "isp-b".into(),
            reply_source: public.into()
        }
    );
    assert_kernel_matches_trace("intact rule set", &results);
    assert_no_spoofing("intact rule set", &observations);

    // Broken: the restore rule removed.
    let broken: String = v1
        .artifacts
        .nft
        .lines()
        .filter(|line| !line.contains(RESTORE_RULE))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(
        broken.lines().count() + 1,
        v1.artifacts.nft.lines().count(),
        "exactly one restore rule removed"
    );
    rig.load(&Artifacts {
        nft: broken,
        ..v1.artifacts.clone()
    });
    let (results, observations) = round(&rig, &v1, &probes(1));
    for (probe, predicted, observed) in &results {
        println!(
            "without the restore rule, {probe}: trace says {predicted}, kernel did {observed}"
        );
        assert_ne!(
            predicted, observed,
            "the rig did not notice the broken rule"
        );
    }
    // The first echo request still leaves by isp-b (it is classified as new);
    // the second, established, loses its mark and is never answered.
    assert_eq!(
        results[0].2,
        fate::Result {
            fate: Fate::Left {
                uplink: "isp-b".into(),
                source: public.into()
            },
            answered: false
        }
    );
    assert_eq!(
        results[1].2.fate,
        Fate::Other("reached a1; no reply reached the far end".into())
    );
    // Both went out by isp-a (the host's default route) with a1's isp-b address,
    // and isp-a dropped them as spoofed.
    let (packets, sources) = &observations.spoofed["isp-a"];
    assert!(
        *packets >= 2 && *sources == [IpAddr::from(public)],
        "{:?}",
        observations.spoofed
    );
}

/// Pings `to` twice from `ns` (from `source` when given); whether both were
/// answered.
fn ping(ns: &common::Netns, source: Option<Ipv4Addr>, to: impl std::fmt::Display) -> bool {
    let mut command = ns.exec("ping");
    command.args(["-n", "-q", "-c", "2", "-i", "0.2", "-w", "2", "-W", "1"]);
    if let Some(source) = source {
        command.args(["-I", &source.to_string()]);
    }
    command
        .arg(to.to_string())
        .output()
        .expect("ping runs")
        .status
        .success()
}

/// What trace says about a packet from an address that is no VM's.
fn traced(tracer: &Tracer, from: &str, to: &str) -> (Action, Option<Reason>) {
    let trace = tracer.trace(from, ip(to).into(), &[]).expect("traces");
    let reason = match &trace.fate {
        trace::Fate::Drop(dropped) => Some(dropped.reason()),
        _ => None,
    };
    (trace.action(), reason)
}

/// docs/semantics.md §8 with real packets, on a host deployed as docs/operations.md says (a
/// default route of its own, loose reverse-path filtering): a packet from an
/// undeclared address leaves by no uplink; an ISP routing a private network to
/// the host gets no answer; a VM claiming a bound VM's address with its own MAC
/// gets nothing out with the victim's public addresses. Each drop moves its
/// counter, and trace predicts the drops it can tell from its input.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn the_host_lets_no_one_in_where_they_do_not_belong() {
    let (v1, rig) = deployed("e2es");
    let tracer = v1.tracer();
    let far = ip("9.9.9.9");
    let forwarded = || forwarded(&rig, &v1.host);

    // An undeclared source in a private network: the host's default route would
    // take it out by isp-a un-NATed; it is dropped instead.
    let undeclared = ip("10.2.0.99");
    rig.vm("b2")
        .ip(&["address", "add", "10.2.0.99/24", "dev", "eth0"]);
    rig.reset_records();
    let before = forwarded();
    assert!(!ping(rig.vm("b2"), Some(undeclared), far));
    assert_eq!(
        forwarded(),
        before,
        "a spoofed packet was counted as forwarded"
    );
    let seen = rig.collect();
    assert!(
        !seen.far.iter().any(|r| r.source == undeclared),
        "{:?}",
        seen.far
    );
    assert_no_spoofing("undeclared source", &seen);
    assert!(rig.host_counter("spoofed_source") >= 2);
    assert_eq!(
        traced(&tracer, "10.2.0.99", "9.9.9.9"),
        (Action::Drop, Some(Reason::SpoofedSource))
    );
    // b2 itself still gets out.
    assert!(ping(rig.vm("b2"), None, far));

    // An ISP routing a VM's private network to the host: unsolicited, dropped.
    let isp_a = v1.link("isp-a");
    let isp = rig.isp("isp-a");
    isp.ip(&[
        "route",
        "add",
        "10.1.0.0/24",
        "via",
        &isp_a.address.addr().to_string(),
    ]);
    rig.reset_records();
    let before = forwarded();
    assert!(!ping(isp, None, ip("10.1.0.11")));
    assert_eq!(
        forwarded(),
        before,
        "an unsolicited packet was counted as forwarded"
    );
    let seen = rig.collect();
    assert!(seen.vms["a1"].is_empty(), "{:?}", seen.vms["a1"]);
    assert!(rig.host_counter("unsolicited_inbound") >= 2);
    assert_eq!(
        traced(&tracer, &isp_a.gateway.to_string(), "10.1.0.11"),
        (Action::Drop, Some(Reason::UnsolicitedInbound))
    );

    // a2 claims a1's address (bound to a1's MAC) with its own MAC. a1 first
    // shows that its binding lets its own packets out.
    assert!(ping(rig.vm("a1"), None, far));
    let a1 = v1.vm_named("a1");
    rig.vm("a2")
        .ip(&["address", "add", "10.1.0.11/24", "dev", "eth0"]);
    rig.reset_records();
    let before = forwarded();
    assert!(!ping(rig.vm("a2"), Some(a1.private), far));
    assert_eq!(
        forwarded(),
        before,
        "a packet with a borrowed address was counted as forwarded"
    );
    let seen = rig.collect();
    let borrowed: Vec<_> = seen
        .far
        .iter()
        .filter(|r| a1.public.iter().any(|p| p.address == r.source) || r.source == a1.private)
        .collect();
    assert!(
        borrowed.is_empty(),
        "left with a1's addresses: {borrowed:?}"
    );
    assert_no_spoofing("borrowed address", &seen);
    assert!(rig.host_counter("spoofed_source") >= 2);
}

/// The connections of `ns` to `to` as `conntrack -L` prints them.
fn connections_to(ns: &common::Netns, to: Ipv4Addr) -> String {
    common::run_ok(
        ns.exec("conntrack")
            .args(["-L", "-p", "icmp", "-d", &to.to_string()]),
    )
}

/// trace ≡ kernel for packets from addresses that are no VM's and for the
/// host's own addresses, on a host deployed as docs/operations.md says: an address of
/// alpha's network that is no VM's (carried by b2's NIC) pinging a1's public
/// address reaches a1 un-NATed and gets its replies over the LAN, none by an
/// uplink (trace: a hairpin, source kept); a VM, that address and an ISP
/// pinging the host's own uplink address are answered by the host itself,
/// un-NATed (trace: local).
#[test]
#[ignore = "needs root, nft, ip and conntrack: sudo bash .ci/run"]
fn trace_matches_the_kernel_from_no_vm_and_to_the_host_itself() {
    common::require_root();
    let v1 = Version::new(common::example_source(Path::new(TOPOLOGY)));
    let tracer = v1.tracer();
    let rig = v1.rig_as_readme_deploys("e2eh");
    let a1 = v1.vm_named("a1");
    let a1_public = a1.public[0].address;
    let stray = ip("10.1.0.66");
    rig.vm("b2")
        .ip(&["address", "add", "10.1.0.66/24", "dev", "eth0"]);

    // The stray pings a1's public address.
    let trace = tracer
        .trace("10.1.0.66", a1_public.into(), &[])
        .expect("traces");
    assert!(
        matches!(&trace.fate, trace::Fate::StrayHairpin { receiver, .. } if receiver.vm == "a1"),
        "{}",
        trace.to_human()
    );
    rig.reset_records();
    ping(rig.vm("b2"), Some(stray), a1_public);
    let seen = rig.collect();
    assert!(
        seen.vms["a1"]
            .iter()
            .any(|r| r.kind == "echo-request" && r.source == stray && r.destination == a1.private),
        "a1 got {:?}",
        seen.vms["a1"]
    );
    // Whether the replies come from a1's private address or (un-DNATed by a
    // host that filters bridged frames) from its public one, they come over the
    // LAN, and nothing leaves by an uplink.
    assert!(
        seen.vms["b2"]
            .iter()
            .any(|r| r.kind == "echo-reply" && r.destination == stray),
        "b2 got {:?}",
        seen.vms["b2"]
    );
    assert!(seen.far.is_empty(), "the far end got {:?}", seen.far);
    assert_no_spoofing("stray hairpin", &seen);

    // The host's own address on isp-a, from a VM, from the stray and from the ISP.
    let isp_a = v1.link("isp-a");
    let own = isp_a.address.addr();
    let isp_gateway = isp_a.gateway.to_string();
    for (from, ns, source) in [
        ("a1", rig.vm("a1"), None),
        ("10.1.0.66", rig.vm("b2"), Some(stray)),
        (isp_gateway.as_str(), rig.isp("isp-a"), None),
    ] {
        let trace = tracer.trace(from, own.into(), &[]).expect("traces");
        assert!(
            matches!(&trace.fate, trace::Fate::Local(local) if local.uplink == "isp-a"),
            "{from}: {}",
            trace.to_human()
        );
        rig.reset_records();
        assert!(ping(ns, source, own), "{from} → {own} unanswered");
        let seen = rig.collect();
        assert!(
            seen.far.is_empty(),
            "{from}: the far end got {:?}",
            seen.far
        );
        assert_no_spoofing(from, &seen);
    }
    // Un-NATed: the host answers a1 and the stray from its own address, to theirs.
    let connections = connections_to(rig.host(), own);
    for sender in [a1.private, stray] {
        let unnated = format!("src={own} dst={sender} ");
        assert!(
            connections.contains(&unnated),
            "no un-NATed connection from {sender}:\n{connections}"
        );
    }
}

/// The topology's version 1, in the rig as docs/operations.md deploys it (as root).
fn deployed(tag: &str) -> (Version, Rig) {
    common::require_root();
    let v1 = Version::new(common::example_source(Path::new(TOPOLOGY)));
    let rig = v1.rig_as_readme_deploys(tag);
    (v1, rig)
}

/// The uplink counters' values, by name: they count forwarded packets only, so
/// no drop moves them.
fn forwarded(rig: &Rig, host: &HostPlan) -> Vec<(String, u64)> {
    uplink_counters(host)
        .into_iter()
        .map(|name| {
            let value = rig.host_counter(&name);
            (name, value)
        })
        .collect()
}

/// docs/semantics.md §8: from an uplink, a packet whose source is a VM's address
/// or in a project network is dropped before NAT. Unchecked, it is DNATed to
/// the owner of the public address and masqueraded to the host's LAN address
/// (its source is a VM's), so the VM talks to whoever sent it.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn a_vm_source_from_an_uplink_is_dropped_before_nat() {
    let (v1, rig) = deployed("e2eu");
    let isp = rig.isp("isp-a");
    let a1_public = v1.vm_named("a1").public[0].address;
    // a2's address, and one of beta's network that is no VM's.
    for spoofed in [v1.vm_named("a2").private, ip("10.2.0.99")] {
        isp.ip(&["address", "add", &format!("{spoofed}/32"), "dev", "lo"]);
        rig.reset_records();
        let before = forwarded(&rig, &v1.host);
        assert!(
            !ping(isp, Some(spoofed), a1_public),
            "{spoofed} got an answer"
        );
        let seen = rig.collect();
        assert!(
            seen.vms.values().all(Vec::is_empty),
            "from {spoofed}: {:?}",
            seen.vms
        );
        assert_eq!(forwarded(&rig, &v1.host), before);
        assert!(rig.host_counter("spoofed_inbound") >= 2);
    }
    // The same ISP from its own address still reaches a1.
    assert!(ping(isp, None, a1_public));
}

/// docs/semantics.md §8: until switchyard handles IPv6, IPv6 forwarded between
/// the LAN and an uplink is dropped either way and counted; unchecked, it
/// leaves with no source validation at all. Between VMs it is left alone.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn ipv6_between_the_lan_and_an_uplink_is_dropped() {
    let (v1, rig) = deployed("e2e6");
    let up_a = &v1.uplink("isp-a").interface;
    rig::sysctl(rig.host(), &["net.ipv6.conf.all.forwarding=1"]);
    rig.host().ip(&[
        "-6",
        "address",
        "add",
        "fd00:1::1/64",
        "dev",
        "lan0",
        "nodad",
    ]);
    rig.host()
        .ip(&["-6", "address", "add", "fd00:a::2/64", "dev", up_a, "nodad"]);
    rig.host()
        .ip(&["-6", "route", "add", "default", "via", "fd00:a::1"]);
    let vm = rig.vm("a2");
    vm.ip(&[
        "-6",
        "address",
        "add",
        "fd00:1::12/64",
        "dev",
        "eth0",
        "nodad",
    ]);
    vm.ip(&["-6", "route", "add", "default", "via", "fd00:1::1"]);
    let isp = rig.isp("isp-a");
    isp.ip(&[
        "-6",
        "address",
        "add",
        "fd00:a::1/64",
        "dev",
        "host",
        "nodad",
    ]);
    isp.ip(&["-6", "route", "add", "fd00:1::/64", "via", "fd00:a::2"]);
    // The host itself speaks IPv6 on both sides.
    assert!(ping(rig.host(), None, "fd00:a::1"));
    assert!(ping(rig.host(), None, "fd00:1::12"));

    rig.reset_records();
    let before = forwarded(&rig, &v1.host);
    assert!(!ping(vm, None, "fd00:a::1"), "IPv6 left by an uplink");
    let outbound = rig.host_counter("ipv6_forwarded");
    assert!(outbound >= 2, "{outbound}");
    assert!(!ping(isp, None, "fd00:1::12"), "IPv6 came in by an uplink");
    assert!(rig.host_counter("ipv6_forwarded") >= outbound + 2);
    assert_eq!(forwarded(&rig, &v1.host), before);
    assert_eq!(rig.host_counter("unsolicited_inbound"), 0);

    // Between VMs on the LAN, IPv6 is left alone: where the bridge passes its
    // frames through nftables (br_netfilter, loaded on many hypervisors), they
    // reach the forward hook as from and to the LAN interface.
    let neighbour = rig.vm("a1");
    neighbour.ip(&[
        "-6",
        "address",
        "add",
        "fd00:1::11/64",
        "dev",
        "eth0",
        "nodad",
    ]);
    let dropped = rig.host_counter("ipv6_forwarded");
    assert!(
        ping(neighbour, None, "fd00:1::12"),
        "IPv6 between VMs dropped"
    );
    assert_eq!(rig.host_counter("ipv6_forwarded"), dropped);
}

/// docs/semantics.md §8: a machine on the LAN claiming a MAC-bound VM's address
/// by ARP gets nothing the host sends to that address: the host keeps sending
/// to the bound MAC (a permanent neighbour entry from the ip batch).
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn arp_cannot_steal_a_mac_bound_address() {
    let (v1, rig) = deployed("e2ea");
    let a1 = v1.vm_named("a1");
    let (_, a1_mac) = v1
        .host
        .ip
        .v4
        .mac_bindings
        .iter()
        .find(|(address, _)| *address == a1.private)
        .expect("a1 is bound");
    let far = ip("9.9.9.9");
    // The host has talked to a1 (an entry it could update) more than the
    // kernel's lock time (1 s) ago, so an ARP claim would replace it.
    assert!(ping(rig.vm("a1"), None, far));
    std::thread::sleep(std::time::Duration::from_millis(1200));

    let intruder = rig.lan_intruder("e2ea-intruder");
    intruder.ip(&[
        "address",
        "add",
        &format!("{}/24", a1.private),
        "dev",
        "eth0",
    ]);
    for mode in ["-U", "-A"] {
        common::run_ok(intruder.exec("arping").args([
            mode,
            "-c",
            "2",
            "-I",
            "eth0",
            &a1.private.to_string(),
        ]));
    }
    let neighbour = rig
        .host()
        .ip(&["neigh", "show", &a1.private.to_string(), "dev", "lan0"]);
    assert!(
        neighbour.contains(&a1_mac.to_string()),
        "the host's neighbour entry for a1: {neighbour}"
    );

    // Inbound to a1's public address reaches a1, not the intruder.
    let public = a1.public[0].address;
    rig.reset_records();
    assert!(ping(rig.far(), Some(ip("9.9.9.9")), public));
    let seen = rig.collect();
    assert!(!seen.vms["a1"].is_empty());
    let stolen = rig::records(&intruder);
    assert!(stolen.is_empty(), "the intruder received {stolen:?}");
}

/// docs/semantics.md §8: from an interface that is neither a LAN nor an uplink
/// (here `other0`; on a real host a VLAN uplink's parent), nothing is
/// forwarded into the LAN or out by an uplink but replies; unchecked, it
/// reaches the VMs' private addresses.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn nothing_enters_from_an_interface_that_is_neither_lan_nor_uplink() {
    let (v1, rig) = deployed("e2eo");
    let other = rig.other_port("e2eo-other");
    let a1 = v1.vm_named("a1");

    rig.reset_records();
    let before = forwarded(&rig, &v1.host);
    assert!(
        !ping(&other, None, a1.private),
        "reached a VM's private address"
    );
    let seen = rig.collect();
    assert!(seen.vms["a1"].is_empty(), "{:?}", seen.vms["a1"]);
    let into_lan = rig.host_counter("other_interface");
    assert!(into_lan >= 2, "{into_lan}");

    // Out by isp-a (the host's default route), un-NATed.
    assert!(!ping(&other, None, ip("9.9.9.9")), "left by an uplink");
    let seen = rig.collect();
    assert!(
        seen.spoofed.values().all(|(packets, _)| *packets == 0),
        "reached an ISP: {:?}",
        seen.spoofed
    );
    assert!(rig.host_counter("other_interface") >= into_lan + 2);
    assert_eq!(forwarded(&rig, &v1.host), before);

    // Replies come back: b1 (whose traffic switchyard leaves alone) reaches the
    // machine behind other0.
    assert!(ping(rig.vm("b1"), None, ip("172.31.0.2")));
}

/// Sends from the namespace it runs in, with Python's sockets: `udp PORT TO
/// TO_PORT` one UDP datagram from PORT; `unreachable TO INNER_SOURCE
/// INNER_SOURCE_PORT INNER_DESTINATION INNER_DESTINATION_PORT` an ICMP port
/// unreachable to TO quoting that UDP packet.
const SEND: &str = r#"
import socket, struct, sys

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF

if sys.argv[1] == "udp":
    port, to, to_port = sys.argv[2:]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    s.sendto(b"x", (to, int(to_port)))
else:
    to, source, source_port, destination, destination_port = sys.argv[2:]
    inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0,
                        socket.inet_aton(source), socket.inet_aton(destination))
    inner = inner[:10] + struct.pack("!H", checksum(inner)) + inner[12:]
    inner += struct.pack("!HHHH", int(source_port), int(destination_port), 8, 0)
    icmp = struct.pack("!BBHI", 3, 3, 0, 0) + inner
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(icmp, (to, 0))
"#;

fn send(ns: &common::Netns, args: &[&str]) {
    common::run_ok(ns.exec("python3").arg("-c").arg(SEND).args(args));
}

/// docs/semantics.md §8: a VM (its own address, its own MAC) sending an ICMP
/// error that quotes a MAC-bound neighbour's connection gets nothing out:
/// conntrack takes it as related and NAT would rewrite it to the neighbour's
/// public address.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn an_icmp_error_cannot_borrow_a_bound_neighbours_connection() {
    let (v1, rig) = deployed("e2ei");
    let a1 = v1.vm_named("a1");
    let a1_address = a1.private.to_string();
    let public = a1.public[0].address.to_string();
    // The far end's address towards isp-a (a1's public[0] is in its pool).
    let far_side = rig::far_link(v1.uplink("isp-a").id.0).1.to_string();
    let from_a1 = |records: &[rig::Record]| -> Vec<rig::Record> {
        records
            .iter()
            .filter(|r| r.kind == "destination-unreachable")
            .filter(|r| a1.public.iter().any(|p| p.address == r.source))
            .cloned()
            .collect()
    };
    let settle = || std::thread::sleep(std::time::Duration::from_millis(300));

    // a1's own connection, UDP 4000 → 9.9.9.9:5000, leaving as its pool-a
    // address: an error about it quotes a packet of the reply direction. a1's
    // own such error leaves as a1's public address: the rig sees it.
    send(rig.vm("a1"), &["udp", "4000", "9.9.9.9", "5000"]);
    let outbound = ["9.9.9.9", "9.9.9.9", "5000", &a1_address, "4000"];
    rig.reset_records();
    send(rig.vm("a1"), &[&["unreachable"][..], &outbound].concat());
    settle();
    assert!(
        !from_a1(&rig.far_records()).is_empty(),
        "a1's own error did not arrive: {:?}",
        rig.far_records()
    );

    // A connection DNATed to a1, UDP far:7000 → public:6000: an error about it
    // quotes a packet of the original direction. a1 has no listener, so its
    // kernel sends the error itself, and it arrives.
    rig.reset_records();
    send(rig.far(), &["udp", "7000", &public, "6000"]);
    settle();
    assert!(
        !from_a1(&rig.far_records()).is_empty(),
        "a1's port unreachable did not arrive: {:?}",
        rig.far_records()
    );
    let inbound = [&far_side, &far_side, "7000", &a1_address, "6000"];

    // a2's errors, quoting either connection, do not leave with a1's address.
    for error in [outbound, inbound] {
        rig.reset_records();
        send(rig.vm("a2"), &[&["unreachable"][..], &error].concat());
        settle();
        let borrowed = from_a1(&rig.far_records());
        assert!(
            borrowed.is_empty(),
            "quoting {error:?}, left with a1's address: {borrowed:?}"
        );
        assert!(rig.host_counter("spoofed_source") >= 1);
    }
}
