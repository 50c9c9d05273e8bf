//! The comparison without a kernel: listings as `nft -j` and `ip -j` print them.

use super::*;

/// A table as `nft -j list table inet switchyard` prints it: a set, a map, a
/// named counter, a base chain with two rules, all with handles and counts.
fn table(dnat: &[(&str, &str)], forward_rules: &[&str], counter_packets: u64) -> String {
    let elements: Vec<String> = dnat
        .iter()
        .map(|(public, private)| format!(r#"["{public}", "{private}"]"#))
        .collect();
    let rules: Vec<String> = forward_rules
        .iter()
        .enumerate()
        .map(|(i, comment)| {
            format!(
                r#"{{"rule": {{"family": "inet", "table": "switchyard", "chain": "forward", "handle": {}, "comment": "{comment}", "expr": [{{"match": {{"op": "==", "left": {{"meta": {{"key": "iifname"}}}}, "right": "@uplinks"}}}}, {{"counter": {{"packets": {counter_packets}, "bytes": 99}}}}, {{"drop": null}}]}}}}"#,
                40 + i
            )
        })
        .collect();
    format!(
        r#"{{"nftables": [
  {{"metainfo": {{"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}}},
  {{"table": {{"family": "inet", "name": "switchyard", "handle": {counter_packets}}}}},
  {{"set": {{"family": "inet", "name": "internal", "table": "switchyard", "type": "ipv4_addr", "handle": 3, "flags": ["interval"], "elem": [{{"prefix": {{"addr": "10.0.0.0", "len": 24}}}}, {{"range": ["10.1.0.5", "10.1.0.9"]}}]}}}},
  {{"map": {{"family": "inet", "name": "dnat_addresses", "table": "switchyard", "type": "ipv4_addr", "handle": 4, "map": "ipv4_addr", "elem": [{}]}}}},
  {{"counter": {{"family": "inet", "name": "dropped_spoofed", "table": "switchyard", "handle": 5, "packets": {counter_packets}, "bytes": 7}}}},
  {{"chain": {{"family": "inet", "table": "switchyard", "name": "forward", "handle": 6, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}}}},
  {}
]}}"#,
        elements.join(", "),
        rules.join(",\n  "),
    )
}

const DNAT: &[(&str, &str)] = &[("198.51.100.7", "10.0.0.5"), ("203.0.113.9", "10.0.0.6")];
const RULES: &[&str] = &["first", "second"];

const RULES_JSON: &str = r#"[{"priority":0,"src":"all","table":"255"},{"priority":1001,"src":"all","fwmark":"0x100","fwmask":"0xff00","table":"101","protocol":"211"},{"priority":32766,"src":"all","table":"254"}]"#;
const ROUTES_JSON: &str = r#"[{"dst":"default","gateway":"192.0.2.1","dev":"up-a","table":"101","protocol":"211","flags":["linkdown"]},{"dst":"192.0.2.0/30","dev":"up-a","table":"101","protocol":"211","scope":"253","prefsrc":"192.0.2.2"},{"dst":"192.0.2.0/30","dev":"up-a","protocol":"2","scope":"253","prefsrc":"192.0.2.2"}]"#;
const ADDRESSES_JSON: &str = r#"[{"ifindex":3,"ifname":"up-a","addr_info":[{"family":"inet","local":"192.0.2.2","prefixlen":30}]},{"ifindex":4,"ifname":"veth0","addr_info":[]}]"#;
/// As `ip -N -j -4 neigh show nud permanent proto 211` prints them on iproute2
/// 6.1: a VM bound on two LAN interfaces.
const NEIGHBOURS_JSON: &str = r#"[{"dst":"10.0.0.5","dev":"lan0","lladdr":"52:54:00:12:34:56","state":["PERMANENT"],"protocol":"211"},{"dst":"10.0.0.5","dev":"lan1","lladdr":"52:54:00:12:34:56","state":["PERMANENT"],"protocol":"211"}]"#;

/// The listings of the table and routing state as built, which each test
/// compares with a live state it changes.
fn as_built() -> Listings {
    listings(Some(table(DNAT, RULES, 0)))
}

/// What `verify` reports for `live` against the state as built.
fn drift_from_as_built(live: &Listings) -> String {
    report(&as_built(), live).to_string()
}

fn listings(nft_table: Option<String>) -> Listings {
    Listings {
        nft_table,
        v4: RoutingListings {
            rules: RULES_JSON.to_owned(),
            routes: ROUTES_JSON.to_owned(),
            addresses: ADDRESSES_JSON.to_owned(),
            neighbours: NEIGHBOURS_JSON.to_owned(),
        },
        ..Listings::default()
    }
}

fn state(listings: &Listings) -> KernelState {
    KernelState::parse(listings).expect("the listing parses")
}

fn report(expected: &Listings, live: &Listings) -> Report {
    compare(&state(expected), &state(live))
}

#[test]
fn same_state_with_other_handles_and_counts_is_in_sync() {
    let expected = as_built();
    let live = listings(Some(table(&[DNAT[1], DNAT[0]], RULES, 12345)));
    let report = report(&expected, &live);
    assert!(report.is_empty(), "{report}");
}

#[test]
fn a_missing_map_element_is_named() {
    assert_eq!(
        drift_from_as_built(&listings(Some(table(&DNAT[..1], RULES, 0)))),
        "nft table inet switchyard:\n  missing  map dnat_addresses element 203.0.113.9 : 10.0.0.6\n"
    );
}

#[test]
fn an_extra_map_element_is_named() {
    let expected = as_built();
    let mut more = DNAT.to_vec();
    more.push(("198.51.100.99", "10.0.0.99"));
    let live = listings(Some(table(&more, RULES, 0)));
    let report = report(&expected, &live);
    assert_eq!(report.len(), 1);
    assert_eq!(
        report.to_string(),
        "nft table inet switchyard:\n  extra    map dnat_addresses element 198.51.100.99 : 10.0.0.99\n"
    );
}

#[test]
fn a_missing_rule_is_named_with_its_position_and_text() {
    assert_eq!(
        drift_from_as_built(&listings(Some(table(DNAT, &RULES[1..], 0)))),
        "nft table inet switchyard:\n  missing  chain forward rule 1: meta iifname @uplinks counter drop comment \"first\"\n"
    );
}

#[test]
fn reordered_rules_are_drift() {
    let expected = as_built();
    let live = listings(Some(table(DNAT, &["second", "first"], 0)));
    let report = report(&expected, &live);
    assert_eq!(report.len(), 2, "{report}");
}

#[test]
fn a_missing_table_is_one_difference() {
    assert_eq!(
        drift_from_as_built(&listings(None)),
        "nft table inet switchyard:\n  missing  the whole table\n"
    );
}

/// The listings as built, and a copy of them whose rules have `rule` listed
/// before the one with `priority`.
fn as_built_and_with_rule_before(priority: &str, rule: &str) -> (Listings, Listings) {
    let expected = as_built();
    let mut live = expected.clone();
    let at = format!(r#"{{"priority":{priority}"#);
    live.v4.rules = RULES_JSON.replace(&at, &format!("{rule},{at}"));
    (expected, live)
}

#[test]
fn only_switchyard_rules_and_routes_count_and_link_state_does_not() {
    // Another rule (after switchyard's) and a route of someone else, and the
    // link came up.
    let (expected, mut live) = as_built_and_with_rule_before(
        "32766",
        r#"{"priority":2000,"src":"all","table":"7","protocol":"4"}"#,
    );
    live.v4.routes = ROUTES_JSON.replace(r#","flags":["linkdown"]"#, "");
    let report = report(&expected, &live);
    assert!(report.is_empty(), "{report}");
}

#[test]
fn a_foreign_rule_ahead_of_switchyards_is_named() {
    let (expected, live) = as_built_and_with_rule_before(
        "1001",
        r#"{"priority":500,"src":"all","table":"254","protocol":"3"}"#,
    );
    let report = report(&expected, &live);
    assert_eq!(
        report.to_string(),
        "policy rules of other owners ahead of switchyard's:\n  ahead    table 254 priority 500 src all\n"
    );
    assert!(report.own().is_empty(), "apply cannot repair it: {report}");
}

/// `nft -j list table ip filter` with one base chain.
fn other_table(hook: &str, priority: i64, policy: &str, rule: &str) -> String {
    family_table("ip", hook, priority, policy, rule)
}

/// `nft -j list table FAMILY filter` with one base chain.
fn family_table(family: &str, hook: &str, priority: i64, policy: &str, rule: &str) -> String {
    format!(
        r#"{{"nftables": [{{"metainfo": {{"version": "1.0.6"}}}},
  {{"table": {{"family": "{family}", "name": "filter", "handle": 9}}}},
  {{"chain": {{"family": "{family}", "table": "filter", "name": "fw", "handle": 1, "type": "filter", "hook": "{hook}", "prio": {priority}, "policy": "{policy}"}}}},
  {{"rule": {{"family": "{family}", "table": "filter", "chain": "fw", "handle": 2, "expr": [{rule}]}}}}
]}}"#
    )
}

#[test]
fn another_tables_chain_that_drops_first_on_a_hook_of_switchyards_is_named() {
    let expected = as_built();
    let accept = r#"{"accept": null}"#;
    let drop = r#"{"counter": {"packets": 0, "bytes": 0}}, {"drop": null}"#;
    let found = |table: String| {
        let mut live = expected.clone();
        live.other_tables = vec![table];
        report(&expected, &live).to_string()
    };
    assert_eq!(
        found(other_table("forward", -10, "accept", drop)),
        "base chains of other nft tables that can drop before switchyard's:\n  ahead    table ip filter chain fw (hook forward priority -10) can drop before switchyard's forward chain (priority 0)\n"
    );
    assert!(found(other_table("forward", 0, "drop", accept)).contains("chain fw"));
    // Only accepting, later, or on a hook switchyard has no chain on: no threat.
    for harmless in [
        other_table("forward", -10, "accept", accept),
        other_table("forward", 10, "drop", drop),
        other_table("input", -10, "drop", drop),
    ] {
        assert_eq!(found(harmless), "");
    }
}

#[test]
fn sysctls_that_differ_from_the_file_are_named_and_the_monitors_set_is_not() {
    let mut expected = as_built();
    let setting = |value: Option<&str>| {
        [("net.ipv4.ip_forward".to_owned(), value.map(str::to_owned))]
            .into_iter()
            .collect()
    };
    expected.sysctls = setting(Some("1"));
    let mut live = expected.clone();
    live.sysctls = setting(Some("0"));
    assert_eq!(
        report(&expected, &live).to_string(),
        "kernel settings (sysctl.d/90-switchyard.conf):\n  changed  net.ipv4.ip_forward\n             build: 1\n             live:  0\n"
    );
    live.sysctls = setting(None);
    assert!(
        report(&expected, &live)
            .to_string()
            .contains("live:  (absent: no such setting)")
    );

    let with_down = |elements: &str| {
        let table = table(DNAT, RULES, 0).replace(
            "  {\"chain\"",
            &format!("  {{\"set\": {{\"family\": \"inet\", \"name\": \"down_uplinks\", \"table\": \"switchyard\", \"type\": \"mark\", \"handle\": 8{elements}}}}},\n  {{\"chain\""),
        );
        listings(Some(table))
    };
    let (built, live) = (with_down(""), with_down(r#", "elem": [256]"#));
    assert!(report(&built, &live).is_empty());
    assert_eq!(
        state(&live).down_uplinks(),
        Some(vec!["0x00000100".to_owned()])
    );
}

#[test]
fn networkds_rules_and_routes_in_the_uplink_tables_count_as_switchyards() {
    let expected = as_built();
    let mut live = expected.clone();
    // networkd tags what it adds `static` (4); a stray route in an uplink table
    // is drift whoever added it.
    live.v4.rules = RULES_JSON.replace(r#""protocol":"211""#, r#""protocol":"4""#);
    live.v4.routes = ROUTES_JSON.replace(r#""protocol":"211""#, r#""protocol":"4""#).replace(
        "[",
        r#"[{"dst":"100.64.0.0/10","gateway":"192.0.2.1","dev":"up-a","table":"101","protocol":"3"},"#,
    );
    assert_eq!(
        report(&expected, &live).to_string(),
        "routes in the uplink tables:\n  extra    table 101 dst 100.64.0.0/10 gateway 192.0.2.1 dev up-a\n"
    );
}

#[test]
fn missing_rules_routes_and_addresses_and_extra_addresses_are_named() {
    let expected = as_built();
    let mut live = expected.clone();
    live.v4.rules = "[]".to_owned();
    live.v4.routes = String::new();
    live.v4.addresses =
        r#"[{"ifname":"up-a","addr_info":[{"family":"inet","local":"192.0.2.6","prefixlen":30}]}]"#
            .to_owned();
    assert_eq!(
        report(&expected, &live).to_string(),
        "ip rules:\n  missing  table 101 priority 1001 src all fwmark 0x100 fwmask 0xff00\n\
         routes in the uplink tables:\n  missing  table 101 dst 192.0.2.0/30 dev up-a scope link prefsrc 192.0.2.2\n  \
         missing  table 101 dst default gateway 192.0.2.1 dev up-a\n\
         uplink addresses:\n  missing  192.0.2.2/30 on up-a\n  extra    192.0.2.6/30 on up-a\n"
    );
}

/// The neighbour entries as built with the one on `lan1` replaced by `entry`
/// (none when empty).
fn with_lan1_neighbour(entry: &str) -> String {
    let lan1 = r#"{"dst":"10.0.0.5","dev":"lan1","lladdr":"52:54:00:12:34:56","state":["PERMANENT"],"protocol":"211"}"#;
    if entry.is_empty() {
        NEIGHBOURS_JSON.replace(&format!(",{lan1}"), "")
    } else {
        NEIGHBOURS_JSON.replace(lan1, entry)
    }
}

const NEIGHBOURS_HEADING: &str =
    "neighbour entries of MAC-bound VMs (nud permanent, protocol 211):\n";

#[test]
fn a_deleted_neighbour_entry_is_missing_whatever_stands_in_its_place() {
    let expected = as_built();
    let mut live = expected.clone();
    let missing =
        format!("{NEIGHBOURS_HEADING}  missing  10.0.0.5 dev lan1 lladdr 52:54:00:12:34:56\n");
    // Deleted; then an ARP reply (a thief's) made a dynamic entry; or someone
    // made it permanent by hand (no protocol); or demoted it (the kernel keeps
    // the protocol): none is switchyard's.
    for entry in [
        "",
        r#"{"dst":"10.0.0.5","dev":"lan1","lladdr":"02:00:00:00:00:66","state":["REACHABLE"]}"#,
        r#"{"dst":"10.0.0.5","dev":"lan1","lladdr":"52:54:00:12:34:56","state":["PERMANENT"]}"#,
        r#"{"dst":"10.0.0.5","dev":"lan1","lladdr":"52:54:00:12:34:56","state":["STALE"],"protocol":"211"}"#,
    ] {
        live.v4.neighbours = with_lan1_neighbour(entry);
        assert_eq!(report(&expected, &live).to_string(), missing, "{entry}");
    }
}

#[test]
fn a_neighbour_entry_pointing_elsewhere_is_changed_and_one_not_built_is_extra() {
    let expected = as_built();
    let mut live = expected.clone();
    // `ip neigh replace … lladdr OTHER … nud permanent` by hand: the kernel
    // keeps the entry's protocol.
    live.v4.neighbours = NEIGHBOURS_JSON.replacen("52:54:00:12:34:56", "02:00:00:00:00:66", 1).replace(
        "}]",
        r#"},{"dst":"10.0.0.9","dev":"lan0","lladdr":"52:54:00:00:00:09","state":["PERMANENT"],"protocol":"211"}]"#,
    );
    assert_eq!(
        report(&expected, &live).to_string(),
        format!(
            "{NEIGHBOURS_HEADING}  changed  10.0.0.5 dev lan0\n             build: lladdr 52:54:00:12:34:56\n             live:  lladdr 02:00:00:00:00:66\n  \
             extra    10.0.0.9 dev lan0 lladdr 52:54:00:00:00:09\n"
        )
    );
}

#[test]
fn a_changed_set_definition_is_shown_both_ways() {
    let expected = as_built();
    let live = listings(Some(
        table(DNAT, RULES, 0).replace(r#""flags": ["interval"], "#, ""),
    ));
    let text = report(&expected, &live).to_string();
    assert!(text.contains("changed  set internal"), "{text}");
    assert!(
        text.contains(
            "build: set type ipv4_addr; flags interval\n             live:  set type ipv4_addr\n"
        ),
        "{text}"
    );
}

#[test]
fn a_set_property_switchyard_never_declares_is_a_changed_definition() {
    let live = listings(Some(table(DNAT, RULES, 0).replace(
        r#""flags": ["interval"], "#,
        r#""flags": ["interval"], "timeout": 30, "#,
    )));
    let text = report(&as_built(), &live).to_string();
    assert!(
        text.contains(
            "build: set type ipv4_addr; flags interval\n             live:  set type ipv4_addr; flags interval; timeout 30s\n"
        ),
        "{text}"
    );
}

#[test]
fn map_elements_are_read_typed_and_shown_as_a_script_writes_them() {
    let verdicts = r#"  {"map": {"family": "inet", "name": "egress_by_vm", "table": "switchyard", "type": ["ipv4_addr", "ipv4_addr"], "handle": 9, "map": "verdict", "flags": ["interval"], "elem": [[{"concat": ["10.0.0.5", {"prefix": {"addr": "100.64.0.0", "len": 10}}]}, {"goto": {"target": "via_pool_1"}}], [{"concat": [{"range": ["10.0.0.6", "10.0.0.7"]}, {"prefix": {"addr": "0.0.0.0", "len": 0}}]}, {"goto": {"target": "failover_1"}}]]}},
  {"chain""#;
    let built = listings(Some(
        table(DNAT, RULES, 0).replace("  {\"chain\"", verdicts),
    ));
    let live = listings(Some(table(DNAT, RULES, 0)));
    assert_eq!(
        report(&built, &live).to_string(),
        "nft table inet switchyard:\n  missing  map egress_by_vm\n"
    );
    let edited = listings(Some(table(DNAT, RULES, 0).replace(
        "  {\"chain\"",
        &verdicts.replace("via_pool_1", "via_pool_2"),
    )));
    assert_eq!(
        report(&built, &edited).to_string(),
        "nft table inet switchyard:\n  \
         missing  map egress_by_vm element 10.0.0.5 . 100.64.0.0/10 : goto via_pool_1\n  \
         extra    map egress_by_vm element 10.0.0.5 . 100.64.0.0/10 : goto via_pool_2\n"
    );
}

#[test]
fn unreadable_listings_are_errors_not_drift() {
    let mut bad = listings(Some("{\"nftables\": 3}".to_owned()));
    assert!(matches!(
        KernelState::parse(&bad),
        Err(VerifyError::Unreadable(_))
    ));
    bad.nft_table = None;
    bad.v4.rules = "not json".to_owned();
    assert!(matches!(
        KernelState::parse(&bad),
        Err(VerifyError::Unreadable(_))
    ));
    let mut bad = listings(None);
    bad.v4.neighbours = r#"[{"dev":"lan0","state":["PERMANENT"],"protocol":"211"}]"#.to_owned();
    assert!(matches!(
        KernelState::parse(&bad),
        Err(VerifyError::Unreadable(_))
    ));
}

fn manifest(paths: &[&str]) -> Manifest {
    Manifest {
        generator: "switchyard test".to_owned(),
        source_sha256: render::hex_digest(b"t.toml"),
        source: "t.toml".to_owned(),
        files: paths
            .iter()
            .map(|path| ManifestFile {
                path: (*path).to_owned(),
                host: path.split('/').next().unwrap().to_owned(),
                sha256: render::hex_digest(path.as_bytes()),
                applies_over_build: None,
            })
            .collect(),
    }
}

#[test]
fn one_host_is_chosen_without_asking() {
    let manifest = manifest(&["net1/switchyard.ip", "net1/switchyard.nft"]);
    let files = HostArtifacts::select(&manifest, None).expect("one host");
    assert_eq!(
        (files.host, files.nft.path.as_str(), files.ip.path.as_str()),
        ("net1", "net1/switchyard.nft", "net1/switchyard.ip")
    );
}

#[test]
fn several_hosts_need_a_name_and_a_wrong_one_gets_a_suggestion() {
    let manifest = manifest(&[
        "net1/switchyard.ip",
        "net1/switchyard.nft",
        "net2/switchyard.ip",
        "net2/switchyard.nft",
    ]);
    let error = HostArtifacts::select(&manifest, None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the build has several hosts (net1, net2); say which one with --host NAME"
    );
    let error = HostArtifacts::select(&manifest, Some("net3")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the build has no host named `net3` (it has net1, net2); did you mean `net1`?"
    );
    assert_eq!(
        HostArtifacts::select(&manifest, Some("net2")).unwrap().host,
        "net2"
    );
}

#[test]
fn a_host_without_its_script_is_an_error() {
    let manifest = manifest(&["net1/switchyard.ip"]);
    assert_eq!(
        HostArtifacts::select(&manifest, None).unwrap_err(),
        VerifyError::MissingArtifact("net1/switchyard.nft".to_owned())
    );
}

#[test]
fn a_changed_file_is_refused() {
    let manifest = manifest(&["net1/switchyard.nft"]);
    let file = &manifest.files[0];
    assert_eq!(check_digest(file, b"net1/switchyard.nft"), Ok(()));
    assert_eq!(
        check_digest(file, b"something else"),
        Err(VerifyError::Tampered("net1/switchyard.nft".to_owned()))
    );
}

#[test]
fn the_batch_names_its_interfaces() {
    let batch = "# dev commented\nrule flush protocol 211\naddress replace 192.0.2.2/30 dev up-a\n\
                 route add default via 192.0.2.1 dev up-a table 101\nroute add x dev eth1.100 table 103\n";
    assert_eq!(batch_interfaces(batch), ["eth1.100", "up-a"]);
}

/// IPv6's listings as `ip -N -j -6 …` prints them on iproute2 6.1: the uplink
/// up-a's rule, link route and default via a link-local gateway in table 101,
/// its address beside the kernel's link-local one, a MAC-bound VM's entry.
fn ipv6_as_built() -> RoutingListings {
    RoutingListings {
        rules: RULES_JSON.to_owned(),
        routes: r#"[{"dst":"2001:db8:ffa::/64","dev":"up-a","table":"101","protocol":"211","metric":1024,"flags":[],"pref":"medium"},{"dst":"default","gateway":"fe80::1","dev":"up-a","table":"101","protocol":"211","metric":1024,"flags":[],"pref":"medium"},{"type":"2","dst":"2001:db8:ffa::2","dev":"up-a","table":"255","protocol":"2","metric":0,"flags":[],"pref":"medium"}]"#.to_owned(),
        addresses: r#"[{"ifname":"up-a","addr_info":[{"family":"inet6","local":"2001:db8:ffa::2","prefixlen":64,"scope":"global"},{"family":"inet6","local":"fe80::1c:2ff:fe03:405","prefixlen":64,"scope":"link"}]}]"#.to_owned(),
        neighbours: r#"[{"dst":"2001:db8:10::5","dev":"lan0","lladdr":"52:54:00:12:34:56","state":["PERMANENT"],"protocol":"211"}]"#.to_owned(),
    }
}

fn dual_stack() -> Listings {
    Listings {
        v6: ipv6_as_built(),
        ..as_built()
    }
}

#[test]
fn ipv6_is_compared_beside_ipv4_and_its_rules_say_so() {
    let expected = dual_stack();
    // Another link-local address (the kernel's, from another MAC) is nobody's.
    let mut live = expected.clone();
    live.v6.addresses = live
        .v6
        .addresses
        .replace("fe80::1c:2ff:fe03:405", "fe80::99");
    assert!(report(&expected, &live).is_empty());
    // Only IPv4 loaded (no switchyard6.ip): each IPv6 piece is missing, and
    // the rule, which names no address, is said to be IPv6's.
    let ipv4_only = as_built();
    assert_eq!(
        report(&expected, &ipv4_only).to_string(),
        "ip rules:\n  missing  table 101 priority 1001 src all fwmark 0x100 fwmask 0xff00 (IPv6)\n\
         routes in the uplink tables:\n  missing  table 101 dst 2001:db8:ffa::/64 dev up-a metric 1024 pref medium\n  \
         missing  table 101 dst default gateway fe80::1 dev up-a metric 1024 pref medium\n\
         uplink addresses:\n  missing  2001:db8:ffa::2/64 on up-a\n\
         neighbour entries of MAC-bound VMs (nud permanent, protocol 211):\n  missing  2001:db8:10::5 dev lan0 lladdr 52:54:00:12:34:56\n"
    );
    // And the other way round: a host that lost IPv6 still has switchyard's.
    let report = report(&ipv4_only, &expected);
    assert_eq!(report.len(), 4, "{report}");
    assert!(
        report
            .to_string()
            .contains("extra    table 101 priority 1001 src all fwmark 0x100 fwmask 0xff00 (IPv6)"),
        "{report}"
    );
}

#[test]
fn an_ipv6_rule_of_another_owner_ahead_of_switchyards_is_named() {
    let expected = dual_stack();
    let mut live = expected.clone();
    live.v6.rules = RULES_JSON.replace(
        r#"{"priority":32766"#,
        r#"{"priority":500,"src":"all","table":"254"},{"priority":32766"#,
    );
    assert_eq!(
        report(&expected, &live).to_string(),
        "policy rules of other owners ahead of switchyard's:\n  ahead    table 254 priority 500 src all (IPv6)\n"
    );
}

#[test]
fn a_host_with_ipv6_has_its_ipv6_batch_selected() {
    let dual = manifest(&[
        "net1/switchyard.nft",
        "net1/switchyard.ip",
        "net1/switchyard6.ip",
    ]);
    let host = HostArtifacts::select(&dual, None).expect("one host");
    assert_eq!(
        host.ip6.map(|f| f.path.as_str()),
        Some("net1/switchyard6.ip")
    );
    let ipv4_only = manifest(&["net1/switchyard.nft", "net1/switchyard.ip"]);
    assert!(
        HostArtifacts::select(&ipv4_only, None)
            .expect("one host")
            .ip6
            .is_none()
    );
}

#[test]
fn an_ip6_tables_dropping_chain_is_named_where_the_build_routes_ipv6() {
    let drop = r#"{"drop": null}"#;
    let ip6 = family_table("ip6", "forward", -10, "accept", drop);
    let found = |expected: Listings| {
        let mut live = expected.clone();
        live.other_tables = vec![ip6.clone()];
        report(&expected, &live).to_string()
    };
    assert_eq!(
        found(dual_stack()),
        "base chains of other nft tables that can drop before switchyard's:\n  ahead    table ip6 filter chain fw (hook forward priority -10) can drop before switchyard's forward chain (priority 0)\n"
    );
    // A host without IPv6 never forwards it: the chain stands in no one's way.
    assert_eq!(found(as_built()), "");
}

#[test]
fn ip6_tables_are_listed_beside_ip_and_inet_ones() {
    let tables = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
  {"table": {"family": "ip", "name": "a", "handle": 1}},
  {"table": {"family": "ip6", "name": "b", "handle": 2}},
  {"table": {"family": "inet", "name": "switchyard", "handle": 3}},
  {"table": {"family": "arp", "name": "c", "handle": 4}}
]}"#;
    assert_eq!(
        other_tables(tables).expect("reads"),
        [
            ("ip".to_owned(), "a".to_owned()),
            ("ip6".to_owned(), "b".to_owned())
        ]
    );
}
