//! Flattening: nested prefixes, VM vs project scope, defaults, internal destinations.

use std::net::Ipv4Addr;

use super::*;
use crate::diagnostic::Source;
use crate::family::V4;
use crate::layout::{FAILOVER_MARK_MASK, MARK_MASK, MAX_FAILOVER_GROUPS, MOVABLE_MARK};

const BASE: &str = include_str!("../../tests/fixtures/base.toml");

/// A third uplink and pool on net1, appended after the VM.
const POOL_C: &str = r#"
[uplinks.isp-c]
id = 3
[pools.pool-c]
uplink = "isp-c"
prefix = "100.127.0.0/24"
[hosts.net1.uplinks.isp-c]
interface = "up-c"
address = "198.18.0.10/30"
gateway = "198.18.0.9"
"#;

/// The fixture's pools, uplinks and VMs as the plan holds them: the model's
/// ids, which number each kind in name order.
const POOL_A: PoolId = PoolId(0);
const POOL_B: PoolId = PoolId(1);
const POOL_C_ID: PoolId = PoolId(2);
const ISP_A: UplinkId = UplinkId(0);
const ISP_B: UplinkId = UplinkId(1);
const ISP_C: UplinkId = UplinkId(2);
const WEB_1_ID: VmId = VmId(0);
const WEB_2_ID: VmId = VmId(1);
const ACME: ProjectId = ProjectId(0);

/// The base fixture with pool-c: project acme's default replaced by `project`
/// lines, `vm` lines added to its VM web-1, which has an address in every pool.
fn plan_with(project: &str, vm: &str) -> Plan {
    let text = BASE
        .replacen("default = \"pool-a\"\n", &format!("{project}\n"), 1)
        .replace("\"pool-b\"]", "\"pool-b\", \"pool-c\"]")
        .replace("\"203.0.113.9\"]", "\"203.0.113.9\", \"100.127.0.7\"]");
    plan_of(format!("{text}{vm}\n{POOL_C}"))
}

/// [`plan_with`] where web-1 defaults to pool-a and has these `(to, via)`
/// egress entries.
fn plan_with_vm_egress(entries: &[(&str, &str)]) -> Plan {
    let entries: String = entries
        .iter()
        .map(|(to, via)| format!("  {{ to = \"{to}\", via = \"{via}\" }},\n"))
        .collect();
    plan_with(
        "",
        &format!("default = \"pool-a\"\negress = [\n{entries}]\n"),
    )
}

/// The base fixture with pool-c in project acme (which owns 100.127.0.7 in it),
/// `[failover]` when `failover`, the project's default replaced by `project`
/// lines, web-1's public addresses by `public` and `vm` lines added to web-1
/// (and after them, e.g., other VMs).
fn plan_full(failover: bool, project: &str, public: &[&str], vm: &str) -> Plan {
    let public: Vec<String> = public.iter().map(|p| format!("{p:?}")).collect();
    let text = BASE
        .replacen("default = \"pool-a\"\n", &format!("{project}\n"), 1)
        .replace(
            "pools = [\"pool-a\", \"pool-b\"]",
            "pools = [\"pool-a\", \"pool-b\", \"pool-c\"]",
        )
        .replace(
            "addresses = [\"198.51.100.7\", \"203.0.113.9\"]",
            "addresses = [\"198.51.100.7\", \"203.0.113.9\", \"100.127.0.7\"]",
        )
        .replace(
            "public = [\"198.51.100.7\", \"203.0.113.9\"]",
            &format!("public = [{}]", public.join(", ")),
        );
    let failover = if failover { "[failover]\n" } else { "" };
    plan_of(format!("{text}{vm}\n{failover}{POOL_C}"))
}

fn plan_of(text: String) -> Plan {
    let source = Source::new("test.toml", text);
    let validated = match crate::validate(&source) {
        Ok(validated) => validated,
        Err(diagnostics) => panic!(
            "{}",
            crate::diagnostic::render_human(&source, &diagnostics, 100)
        ),
    };
    validated.into_parts().1
}

/// The public address a packet from the only VM to `destination` leaves with.
fn egress(plan: &Plan, destination: &str) -> Option<Ipv4Addr> {
    let host = &plan.hosts[0];
    match host.outcome(&host.ip.v4.vms[0], destination.parse().unwrap()) {
        Outcome::Egress(decision) => Some(decision.first.public),
        Outcome::Local(_) | Outcome::Internal | Outcome::Hairpin { .. } | Outcome::Unhandled => {
            None
        }
    }
}

#[test]
fn longest_prefix_wins_across_nesting() {
    let plan = plan_with_vm_egress(&[
        ("100.64.0.0/10", "pool-b"),
        ("100.65.0.0/16", "pool-c"),
        ("100.65.1.0/24", "pool-a"),
    ]);
    for (destination, public) in [
        ("100.64.0.1", "203.0.113.9"),
        ("100.65.0.1", "100.127.0.7"),
        ("100.65.1.1", "198.51.100.7"),
        ("100.65.2.1", "100.127.0.7"),
        ("100.127.255.255", "203.0.113.9"),
        ("8.8.8.8", "198.51.100.7"),
    ] {
        assert_eq!(
            egress(&plan, destination),
            Some(public.parse().unwrap()),
            "{destination}"
        );
    }
    // The /10 is split around the /16 into disjoint, sorted ranges; the /24
    // leaves as the default does, so it is left to the default.
    let ranges: Vec<_> = plan.hosts[0].ip.v4.vms[0]
        .egress
        .iter()
        .map(|(r, _)| *r)
        .collect();
    assert_eq!(ranges.len(), 4);
    assert!(ranges.windows(2).all(|w| w[0].last < w[1].first));
}

#[test]
fn a_range_that_leaves_as_the_default_does_is_decided_by_the_default() {
    let plan = plan_with_vm_egress(&[
        ("100.65.0.0/16", "pool-c"),
        ("100.65.1.0/24", "198.51.100.7"),
    ]);
    let host = &plan.hosts[0];
    let vm = &host.ip.v4.vms[0];
    let Outcome::Egress(decision) = host.outcome(vm, "100.65.1.1".parse().unwrap()) else {
        panic!("an egress decision")
    };
    // What every backend and `trace` read: the dataplane has no element for the
    // /24, so `trace` must not name it.
    assert_eq!(decision, vm.default.as_ref().unwrap());
    assert!(
        vm.egress
            .iter()
            .all(|(_, d)| d.decided_by != EntryId::vm_egress(WEB_1_ID, 1))
    );
    // Both entries still decide a range (SY0903 stays silent about them).
    assert_eq!(plan.winning_entries().len(), 2);
}

#[test]
fn vm_entry_beats_project_entry_of_equal_length_and_loses_to_longer() {
    let plan = plan_with(
        r#"egress = [{ to = "100.65.0.0/16", via = "pool-c" }, { to = "100.65.7.0/24", via = "pool-c" }]"#,
        r#"egress = [{ to = "100.65.0.0/16", via = "203.0.113.9" }]"#,
    );
    assert_eq!(
        egress(&plan, "100.65.0.1"),
        Some("203.0.113.9".parse().unwrap()),
        "VM scope wins at /16"
    );
    assert_eq!(
        egress(&plan, "100.65.7.1"),
        Some("100.127.0.7".parse().unwrap()),
        "longer project /24 wins"
    );
    let host = &plan.hosts[0];
    let Outcome::Egress(decision) = host.outcome(&host.ip.v4.vms[0], "100.65.7.1".parse().unwrap())
    else {
        panic!()
    };
    assert_eq!(
        decision.decided_by,
        EntryId::project_egress(ACME, 1),
        "the project's 100.65.7.0/24"
    );
}

#[test]
fn vm_default_beats_project_default_and_none_is_unhandled() {
    let plan_vm = plan_with("default = \"pool-b\"", "default = \"100.127.0.7\"\n");
    assert_eq!(
        egress(&plan_vm, "8.8.8.8"),
        Some("100.127.0.7".parse().unwrap())
    );

    let plan_project = plan_with("default = \"pool-b\"", "");
    assert_eq!(
        egress(&plan_project, "8.8.8.8"),
        Some("203.0.113.9".parse().unwrap())
    );

    let plan_none = plan_with("", "");
    let host = &plan_none.hosts[0];
    assert_eq!(
        host.outcome(&host.ip.v4.vms[0], "8.8.8.8".parse().unwrap()),
        Outcome::Unhandled
    );
}

#[test]
fn the_hosts_own_addresses_are_local_whatever_the_egress_says() {
    // web-1's entry covers isp-b's link and its default everything else, yet
    // the kernel's local table delivers the host's addresses to the host.
    let plan = plan_with_vm_egress(&[("198.18.0.0/16", "pool-b")]);
    let host = &plan.hosts[0];
    for (address, uplink) in [("192.0.2.2", "isp-a"), ("198.18.0.2", "isp-b")] {
        match host.outcome(&host.ip.v4.vms[0], address.parse().unwrap()) {
            Outcome::Local(local) => assert_eq!(local.name, uplink),
            other => panic!("{address}: {other:?}"),
        }
    }
    // Its gateways are not the host's.
    assert!(matches!(
        host.outcome(&host.ip.v4.vms[0], "198.18.0.1".parse().unwrap()),
        Outcome::Egress(_)
    ));
    let vm = host.ip.v4.vms[0].private;
    assert!(host.hairpin_is_source_natted::<V4>(vm));
    assert!(!host.hairpin_is_source_natted::<V4>("10.0.0.66".parse().unwrap()));
}

#[test]
fn internal_destinations_are_never_nated() {
    // An egress entry over an internal range is an error (SY0502), so the plan
    // never cuts a valid entry: how the cut works is tested in `intervals`.
    let plan = plan_with("", "default = \"pool-a\"\n");
    let host = &plan.hosts[0];
    assert_eq!(
        host.outcome(&host.ip.v4.vms[0], "10.0.0.9".parse().unwrap()),
        Outcome::Internal
    );
    assert_eq!(
        host.ip.v4.internal,
        vec![Range::of(&"10.0.0.0/24".parse().unwrap())]
    );
}

#[test]
fn marks_carry_uplink_and_pool_bits_inside_the_mask() {
    let plan = plan_with("", "default = \"pool-c\"\n");
    let host = &plan.hosts[0];
    let decision = host.ip.v4.vms[0].default.as_ref().unwrap();
    assert_eq!(decision.first.uplink, ISP_C);
    // pool-c is the third pool by name → number 3; isp-c has id 3.
    assert_eq!(decision.first.mark, 0x0003_0300);
    assert_eq!(decision.first.mark & !MARK_MASK, 0);
    assert_eq!(
        host.uplinks.iter().map(|u| u.table).collect::<Vec<_>>(),
        vec![101, 102, 103]
    );
    let pool_c = host
        .ip
        .v4
        .pools
        .iter()
        .find(|p| p.name == "pool-c")
        .unwrap();
    assert_eq!(
        pool_c.snat,
        vec![("10.0.0.5".parse().unwrap(), "100.127.0.7".parse().unwrap())]
    );
}

/// A second VM on the host: web-2, 10.0.0.6, owning 203.0.113.9 (web-1 keeps
/// the others, see [`WEB_1_PUBLIC`]), with MAC 52:54:00:00:00:06.
const WEB_1_PUBLIC: &[&str] = &["198.51.100.7", "100.127.0.7"];

const WEB_2: &str = r#"
[vms.web-2]
project = "acme"
host = "net1"
address = "10.0.0.6"
public = ["203.0.113.9"]
mac = "52:54:00:00:00:06"
"#;

#[test]
fn a_public_address_of_the_host_hairpins_with_the_senders_egress_source() {
    let plan = plan_full(
        false,
        "",
        WEB_1_PUBLIC,
        &format!(
            "default = \"pool-c\"\negress = [{{ to = \"203.0.113.0/24\", via = \"pool-a\" }}]\n{WEB_2}"
        ),
    );
    let host = &plan.hosts[0];
    let [web_1, web_2] = &host.ip.v4.vms[..] else {
        panic!("two VMs")
    };
    let Outcome::Hairpin { receiver, source } = host.outcome(web_1, "203.0.113.9".parse().unwrap())
    else {
        panic!("web-1 → web-2's public address hairpins")
    };
    assert_eq!(receiver.vm, WEB_2_ID);
    // web-1's entry for 203.0.113.0/24, not its default, picks the source.
    assert_eq!(
        source.map(|d| d.first.public),
        Some("198.51.100.7".parse().unwrap())
    );
    // web-2 has no egress decision at all: the host's LAN address (masquerade).
    let Outcome::Hairpin { receiver, source } = host.outcome(web_2, "100.127.0.7".parse().unwrap())
    else {
        panic!("web-2 → web-1's public address hairpins")
    };
    assert_eq!((receiver.vm, source), (WEB_1_ID, None));
    // An unassigned public address is no hairpin: it leaves by the entry.
    assert!(matches!(
        host.outcome(web_1, "203.0.113.10".parse().unwrap()),
        Outcome::Egress(decision) if decision.first.public == "198.51.100.7".parse::<Ipv4Addr>().unwrap()
    ));
}

#[test]
fn the_host_plan_lists_sources_mac_bindings_and_the_dnat_table() {
    let plan = plan_full(false, "", WEB_1_PUBLIC, WEB_2);
    let host = &plan.hosts[0];
    let address = |text: &str| text.parse::<Ipv4Addr>().unwrap();
    assert_eq!(
        host.ip.v4.sources,
        vec![Range {
            first: address("10.0.0.5").into(),
            last: address("10.0.0.6").into()
        }]
    );
    assert_eq!(
        host.ip.v4.mac_bindings,
        vec![(address("10.0.0.6"), Mac([0x52, 0x54, 0, 0, 0, 6]))]
    );
    assert_eq!(
        host.ip.v4.dnat,
        vec![
            (address("100.127.0.7"), address("10.0.0.5")),
            (address("198.51.100.7"), address("10.0.0.5")),
            (address("203.0.113.9"), address("10.0.0.6")),
        ]
    );
}

/// The pools of a decision's candidates, in order.
fn pools(decision: &Decision) -> Vec<PoolId> {
    decision.candidates().map(|c| c.pool).collect()
}

#[test]
fn candidates_are_the_entry_then_the_vm_default_then_the_project_default_once_each() {
    let plan = plan_full(
        true,
        r#"default = ["pool-c", "pool-b", "pool-a"]"#,
        &["198.51.100.7", "203.0.113.9"],
        r#"default = ["pool-b"]
egress = [{ to = "100.65.0.0/16", via = ["pool-a", "203.0.113.9"] }]"#,
    );
    let vm = &plan.hosts[0].ip.v4.vms[0];
    let (_, entry) = &vm.egress[0];
    // pool-c is left out: the VM has no address there.
    assert_eq!(pools(entry), [POOL_A, POOL_B]);
    assert_eq!(entry.decided_by, EntryId::vm_egress(WEB_1_ID, 0));
    let default = vm.default.as_ref().expect("a default");
    assert_eq!(pools(default), [POOL_B, POOL_A]);
    assert_eq!(default.decided_by, EntryId::vm_default(WEB_1_ID));
    let groups = &plan.hosts[0].failover.as_ref().expect("failover").groups;
    assert_eq!(
        groups,
        &[FailoverGroup {
            uplinks: vec![UplinkNumber(1), UplinkNumber(2)],
            ct_mark: MOVABLE_MARK | 1 << 16
        }]
    );
    assert_eq!(groups[0].ct_mark & !FAILOVER_MARK_MASK, 0);
}

#[test]
fn failover_groups_past_what_the_mark_bits_number_carry_the_movable_bit_alone() {
    let number = UplinkNumber;
    let sets = (1..=130u8)
        .map(|id| vec![number(0), number(id)])
        .chain([vec![number(0), number(1)]]);
    let groups = FailoverPlan::groups_of(sets);
    assert_eq!(groups.len(), 130);
    assert_eq!(groups[0].ct_mark, 0x81_0000);
    assert_eq!(groups[MAX_FAILOVER_GROUPS - 1].ct_mark, 0xff_0000);
    assert_eq!(groups[MAX_FAILOVER_GROUPS].ct_mark, MOVABLE_MARK);
    assert!(groups.iter().all(|g| g.ct_mark & !FAILOVER_MARK_MASK == 0));
}

#[test]
fn the_first_candidate_whose_uplink_is_up_is_chosen_and_with_none_up_the_first() {
    let plan = plan_full(
        true,
        r#"default = ["pool-a", "pool-b", "pool-c"]"#,
        &["198.51.100.7", "203.0.113.9", "100.127.0.7"],
        "",
    );
    let default = plan.hosts[0].ip.v4.vms[0]
        .default
        .as_ref()
        .expect("a default");
    let chosen = |down: &[UplinkId]| default.choose(|u| down.contains(&u)).pool;
    assert_eq!(chosen(&[]), POOL_A);
    assert_eq!(chosen(&[ISP_A]), POOL_B);
    assert_eq!(chosen(&[ISP_A, ISP_B]), POOL_C_ID);
    assert_eq!(chosen(&[ISP_B]), POOL_A);
    assert_eq!(chosen(&[ISP_A, ISP_B, ISP_C]), POOL_A);
}

#[test]
fn a_vm_whose_decisions_all_use_one_uplink_is_in_no_failover_group() {
    let plan = plan_full(
        true,
        r#"default = "pool-a""#,
        &["198.51.100.7", "203.0.113.9"],
        "",
    );
    let vm = &plan.hosts[0].ip.v4.vms[0];
    assert_eq!(pools(vm.default.as_ref().unwrap()), [POOL_A]);
    assert!(plan.hosts[0].failover.as_ref().unwrap().groups.is_empty());
}

#[test]
fn without_failover_a_decision_keeps_only_its_first_candidate() {
    let plan = plan_full(
        false,
        r#"default = ["pool-a", "pool-b"]"#,
        &["198.51.100.7", "203.0.113.9"],
        "",
    );
    let vm = &plan.hosts[0].ip.v4.vms[0];
    assert_eq!(pools(vm.default.as_ref().unwrap()), [POOL_A]);
    assert_eq!(plan.hosts[0].failover, None);
}

/// The base fixture with an entry in project acme, more addresses for it, and
/// `more` appended (other VMs and projects).
fn plan_with_project_entry(more: &str) -> Plan {
    let text = BASE
        .replacen(
            "default = \"pool-a\"\n",
            "default = \"pool-a\"\negress = [{ to = \"100.64.0.0/10\", via = \"pool-b\" }]\n",
            1,
        )
        .replace(
            "addresses = [\"198.51.100.7\", \"203.0.113.9\"]",
            "addresses = [\"198.51.100.7\", \"203.0.113.9\", \"198.51.100.8\", \
             \"203.0.113.10\", \"198.51.100.9\", \"198.51.100.10\", \"203.0.113.11\"]",
        );
    plan_of(format!("{text}{more}"))
}

#[test]
fn a_vm_follows_its_project_unless_one_of_its_decisions_differs() {
    let plan = plan_with_project_entry(
        r#"
[vms.own-entry]
project = "acme"
host = "net1"
address = "10.0.0.6"
public = ["198.51.100.8", "203.0.113.10"]
egress = [{ to = "100.65.0.0/16", via = "pool-a" }]

[vms.missing-pool]
project = "acme"
host = "net1"
address = "10.0.0.7"
public = ["198.51.100.9"]

[vms.own-default]
project = "acme"
host = "net1"
address = "10.0.0.8"
public = ["198.51.100.10", "203.0.113.11"]
default = "pool-a"
"#,
    );
    let host = &plan.hosts[0];
    let follows: Vec<(String, bool)> = host
        .ip
        .v4
        .vms
        .iter()
        .map(|vm| (vm.private.to_string(), vm.follows_project))
        .collect();
    let expected = [
        ("10.0.0.7", false), // missing-pool
        ("10.0.0.8", false), // own-default
        ("10.0.0.6", false), // own-entry
        ("10.0.0.5", true),  // web-1
    ];
    assert_eq!(follows, expected.map(|(vm, f)| (vm.to_owned(), f)));
    let [project] = &host.ip.v4.projects[..] else {
        panic!("one project followed: {:?}", host.ip.v4.projects)
    };
    let web_1 = host
        .ip
        .v4
        .vms
        .iter()
        .find(|vm| vm.private == Ipv4Addr::new(10, 0, 0, 5))
        .unwrap();
    assert_eq!(project.project, ProjectId(0), "acme");
    assert_eq!(
        project.networks,
        [Range::of(&"10.0.0.0/24".parse().unwrap())]
    );
    assert_eq!(
        (&project.default, &project.egress),
        (&web_1.default, &web_1.egress)
    );
}

#[test]
fn no_vm_follows_a_project_whose_networks_overlap_another_projects() {
    let plan = plan_with_project_entry(
        r#"
[projects.other]
pools = ["pool-a"]
networks = ["10.0.0.128/25"]
"#,
    );
    let host = &plan.hosts[0];
    assert!(!host.ip.v4.vms[0].follows_project);
    assert!(host.ip.v4.projects.is_empty());
}

/// A packet from an address that is no VM's, as the rulesets decide it.
#[test]
fn arrivals_from_addresses_that_are_no_vms() {
    let plan = plan_of(BASE.to_owned());
    let host = &plan.hosts[0];
    let arrival = |from: &str, to: &str| plan.arrival(from.parse().unwrap(), to.parse().unwrap());
    assert_eq!(
        arrival("100.66.0.1", "198.18.0.2"),
        Arrival::Local {
            host,
            uplink: &host.uplinks[1]
        }
    );
    let Arrival::Dnat {
        receiver,
        public,
        uplink,
        ..
    } = arrival("100.66.0.1", "203.0.113.9")
    else {
        panic!("a public address of web-1 is DNATed");
    };
    assert_eq!(
        (receiver.vm, public.pool, uplink.name.as_str()),
        (WEB_1_ID, POOL_B, "isp-b"),
        "the replies leave by the public address's uplink"
    );
    assert!(matches!(
        arrival("10.0.0.99", "198.51.100.7"),
        Arrival::StrayHairpin { receiver, .. } if receiver.vm == WEB_1_ID
    ));
    assert_eq!(arrival("10.0.0.99", "10.0.0.5"), Arrival::Internal);
    assert_eq!(
        arrival("10.0.0.99", "9.9.9.9"),
        Arrival::Dropped(Refused::SpoofedSource)
    );
    assert_eq!(
        arrival("100.66.0.1", "10.0.0.5"),
        Arrival::Dropped(Refused::ToPrivate)
    );
    assert_eq!(
        arrival("100.66.0.1", "198.51.100.99"),
        Arrival::Dropped(Refused::Unassigned {
            pool: &host.ip.v4.pools[0]
        })
    );
    assert_eq!(arrival("100.66.0.1", "9.9.9.9"), Arrival::Elsewhere);
}
