//! Flattening: nested prefixes, VM vs project scope, defaults, internal carve-outs.

use std::net::Ipv4Addr;

use super::*;
use crate::diagnostic::Source;

const BASE: &str = r#"
version = 1
[uplinks.isp-a]
id = 1
[uplinks.isp-b]
id = 2
[uplinks.isp-c]
id = 3
[pools.pool-a]
uplink = "isp-a"
prefix = "198.51.100.0/24"
[pools.pool-b]
uplink = "isp-b"
prefix = "203.0.113.0/24"
[pools.pool-c]
uplink = "isp-c"
prefix = "192.0.2.0/24"
[hosts.net1]
lan = ["lan0"]
[hosts.net1.uplinks.isp-a]
interface = "up-a"
address = "198.18.0.2/30"
gateway = "198.18.0.1"
[hosts.net1.uplinks.isp-b]
interface = "up-b"
address = "198.18.0.6/30"
gateway = "198.18.0.5"
[hosts.net1.uplinks.isp-c]
interface = "up-c"
address = "198.18.0.10/30"
gateway = "198.18.0.9"
[projects.acme]
pools = ["pool-a", "pool-b", "pool-c"]
addresses = ["198.51.100.7", "203.0.113.9", "192.0.2.7"]
networks = ["10.0.0.0/24"]
"#;

/// The base topology with `project` lines added to project acme and `extra` after it.
fn plan_with(project: &str, extra: &str) -> Plan {
    let source = Source::new("test.toml", format!("{BASE}{project}\n{extra}"));
    let validated = match crate::validate(&source) {
        Ok(validated) => validated,
        Err(diagnostics) => panic!(
            "{}",
            crate::diagnostic::render_human(&source, &diagnostics, 100)
        ),
    };
    plan(&validated.model, None)
}

/// The public address a packet from the only VM to `destination` leaves with.
fn egress(plan: &Plan, destination: &str) -> Option<Ipv4Addr> {
    let host = &plan.hosts[0];
    match host.outcome(&host.vms[0], destination.parse().unwrap()) {
        Outcome::Egress(decision) => Some(decision.first.public),
        Outcome::Internal | Outcome::Unhandled => None,
    }
}

const VM: &str = r#"
[vms.web-1]
project = "acme"
host = "net1"
address = "10.0.0.5"
public = ["198.51.100.7", "203.0.113.9", "192.0.2.7"]
"#;

#[test]
fn longest_prefix_wins_across_nesting() {
    let plan = plan_with(
        "",
        &format!(
            "{VM}default = \"pool-a\"\negress = [{{ to = \"100.64.0.0/10\", via = \"pool-b\" }}, {{ to = \"100.65.0.0/16\", via = \"pool-c\" }}, {{ to = \"100.65.1.0/24\", via = \"pool-a\" }}]\n"
        ),
    );
    assert_eq!(
        egress(&plan, "100.64.0.1"),
        Some("203.0.113.9".parse().unwrap())
    );
    assert_eq!(
        egress(&plan, "100.65.0.1"),
        Some("192.0.2.7".parse().unwrap())
    );
    assert_eq!(
        egress(&plan, "100.65.1.1"),
        Some("198.51.100.7".parse().unwrap())
    );
    assert_eq!(
        egress(&plan, "100.65.2.1"),
        Some("192.0.2.7".parse().unwrap())
    );
    assert_eq!(
        egress(&plan, "100.127.255.255"),
        Some("203.0.113.9".parse().unwrap())
    );
    assert_eq!(
        egress(&plan, "8.8.8.8"),
        Some("198.51.100.7".parse().unwrap()),
        "default"
    );
    // The /10 is split around the /16 into disjoint, sorted ranges.
    let ranges: Vec<_> = plan.hosts[0].vms[0]
        .egress
        .iter()
        .map(|(r, _)| *r)
        .collect();
    assert_eq!(ranges.len(), 5);
    assert!(ranges.windows(2).all(|w| w[0].last < w[1].first));
}

#[test]
fn vm_entry_beats_project_entry_of_equal_length_and_loses_to_longer() {
    let plan = plan_with(
        r#"egress = [{ to = "100.65.0.0/16", via = "pool-c" }, { to = "100.65.7.0/24", via = "pool-c" }]"#,
        &format!("{VM}egress = [{{ to = \"100.65.0.0/16\", via = \"203.0.113.9\" }}]\n"),
    );
    assert_eq!(
        egress(&plan, "100.65.0.1"),
        Some("203.0.113.9".parse().unwrap()),
        "VM scope wins at /16"
    );
    assert_eq!(
        egress(&plan, "100.65.7.1"),
        Some("192.0.2.7".parse().unwrap()),
        "longer project /24 wins"
    );
    let host = &plan.hosts[0];
    let Outcome::Egress(decision) = host.outcome(&host.vms[0], "100.65.7.1".parse().unwrap())
    else {
        panic!()
    };
    assert_eq!(decision.decided_by.scope, Scope::Project);
    assert_eq!(
        decision.decided_by.prefix,
        Some("100.65.7.0/24".parse().unwrap())
    );
}

#[test]
fn vm_default_beats_project_default_and_none_is_unhandled() {
    let plan_vm = plan_with(
        "default = \"pool-b\"",
        &format!("{VM}default = \"192.0.2.7\"\n"),
    );
    assert_eq!(
        egress(&plan_vm, "8.8.8.8"),
        Some("192.0.2.7".parse().unwrap())
    );

    let plan_project = plan_with("default = \"pool-b\"", VM);
    assert_eq!(
        egress(&plan_project, "8.8.8.8"),
        Some("203.0.113.9".parse().unwrap())
    );

    let plan_none = plan_with("", VM);
    let host = &plan_none.hosts[0];
    assert_eq!(
        host.outcome(&host.vms[0], "8.8.8.8".parse().unwrap()),
        Outcome::Unhandled
    );
}

#[test]
fn internal_destinations_are_carved_out() {
    // Another project's network inside the VM's /8 egress entry would be an error
    // (SY0502), so carve-outs are checked on the host's internal ranges directly.
    let plan = plan_with("", &format!("{VM}default = \"pool-a\"\n"));
    let host = &plan.hosts[0];
    assert_eq!(
        host.outcome(&host.vms[0], "10.0.0.9".parse().unwrap()),
        Outcome::Internal
    );
    assert_eq!(
        host.internal,
        vec![Range::of(&"10.0.0.0/24".parse().unwrap())]
    );

    let mut painting = Painting::new();
    painting.paint(Range::of(&"0.0.0.0/0".parse().unwrap()), 'x');
    let internal = ranges::merge(vec![
        Range::of(&"10.0.0.0/24".parse().unwrap()),
        Range::single("172.16.0.1".parse().unwrap()),
    ]);
    let holes: Vec<Range> = painting
        .segments()
        .flat_map(|s| ranges::overlapping(&internal, s))
        .copied()
        .collect();
    for hole in holes {
        painting.cut(hole);
    }
    let left: Vec<_> = painting
        .into_ranges()
        .into_iter()
        .map(|(r, _)| (r.first_address(), r.last_address()))
        .collect();
    assert_eq!(
        left,
        vec![
            ("0.0.0.0".parse().unwrap(), "9.255.255.255".parse().unwrap()),
            ("10.0.1.0".parse().unwrap(), "172.16.0.0".parse().unwrap()),
            (
                "172.16.0.2".parse().unwrap(),
                "255.255.255.255".parse().unwrap()
            ),
        ]
    );
}

#[test]
fn marks_carry_uplink_and_pool_bits_inside_the_mask() {
    let plan = plan_with("", &format!("{VM}default = \"pool-c\"\n"));
    let host = &plan.hosts[0];
    let decision = host.vms[0].default.as_ref().unwrap();
    assert_eq!(decision.first.uplink, "isp-c");
    // pool-c is the third pool by name → number 3; isp-c has id 3.
    assert_eq!(decision.first.mark, 0x0003_0300);
    assert_eq!(decision.first.mark & !MARK_MASK, 0);
    assert_eq!(
        host.uplinks.iter().map(|u| u.table).collect::<Vec<_>>(),
        vec![101, 102, 103]
    );
    let pool_c = host.pools.iter().find(|p| p.name == "pool-c").unwrap();
    assert_eq!(
        pool_c.snat,
        vec![("10.0.0.5".parse().unwrap(), "192.0.2.7".parse().unwrap())]
    );
}

/// The pools of a decision's candidates, in order.
fn pools(decision: &Decision) -> Vec<&str> {
    decision.candidates().map(|c| c.pool.as_str()).collect()
}

#[test]
fn candidates_are_the_entry_then_the_vm_default_then_the_project_default_once_each() {
    let plan = plan_with(
        r#"default = ["pool-c", "pool-b", "pool-a"]"#,
        r#"[failover]
[vms.web]
project = "acme"
host = "net1"
address = "10.0.0.5"
public = ["198.51.100.7", "203.0.113.9"]
default = ["pool-b"]
egress = [{ to = "100.65.0.0/16", via = ["pool-a", "203.0.113.9"] }]
"#,
    );
    let vm = &plan.hosts[0].vms[0];
    let (_, entry) = &vm.egress[0];
    // pool-c is left out: the VM has no address there.
    assert_eq!(pools(entry), ["pool-a", "pool-b"]);
    assert_eq!(
        entry.decided_by.prefix,
        Some("100.65.0.0/16".parse().unwrap())
    );
    let default = vm.default.as_ref().expect("a default");
    assert_eq!(pools(default), ["pool-b", "pool-a"]);
    assert_eq!(default.decided_by.scope, Scope::Vm);
    assert_eq!(vm.failover_uplinks, [1, 2]);
}

#[test]
fn the_first_candidate_whose_uplink_is_up_is_chosen_and_with_none_up_the_first() {
    let plan = plan_with(
        r#"default = ["pool-a", "pool-b", "pool-c"]"#,
        r#"[failover]
[vms.web]
project = "acme"
host = "net1"
address = "10.0.0.5"
public = ["198.51.100.7", "203.0.113.9", "192.0.2.7"]
"#,
    );
    let default = plan.hosts[0].vms[0].default.as_ref().expect("a default");
    let chosen = |down: &[&str]| &default.choose(|u| down.contains(&u)).pool;
    assert_eq!(chosen(&[]), "pool-a");
    assert_eq!(chosen(&["isp-a"]), "pool-b");
    assert_eq!(chosen(&["isp-a", "isp-b"]), "pool-c");
    assert_eq!(chosen(&["isp-b"]), "pool-a");
    assert_eq!(chosen(&["isp-a", "isp-b", "isp-c"]), "pool-a");
}

#[test]
fn a_vm_whose_decisions_all_use_one_uplink_has_no_failover_uplinks() {
    let plan = plan_with(
        r#"default = "pool-a""#,
        r#"[failover]
[vms.web]
project = "acme"
host = "net1"
address = "10.0.0.5"
public = ["198.51.100.7", "203.0.113.9"]
"#,
    );
    let vm = &plan.hosts[0].vms[0];
    assert_eq!(pools(vm.default.as_ref().unwrap()), ["pool-a"]);
    assert!(vm.failover_uplinks.is_empty());
}

#[test]
fn without_failover_a_decision_keeps_only_its_first_candidate() {
    let plan = plan_with(
        r#"default = ["pool-a", "pool-b"]"#,
        r#"[vms.web]
project = "acme"
host = "net1"
address = "10.0.0.5"
public = ["198.51.100.7", "203.0.113.9"]
"#,
    );
    let vm = &plan.hosts[0].vms[0];
    assert_eq!(pools(vm.default.as_ref().unwrap()), ["pool-a"]);
    assert!(vm.failover_uplinks.is_empty());
    assert_eq!(plan.hosts[0].failover, None);
}
