//! The validation rules per address family (docs/semantics.md §13): each case
//! splices one change into a small valid dual-stack topology and states exactly
//! which codes it must raise, so a rule that mixes the families (an IPv6 address
//! counted against an IPv4 quota, a link-local gateway refused) fails here as
//! much as one that ignores IPv6.

mod common;

use switchyard::diagnostic::Source;

/// One uplink, one dual-stack pool, one dual-stack VM: valid.
const DUAL: &str = r#"version = 1

[failover]

[uplinks.isp-a]
id = 1

[pools.pool-a]
uplink = "isp-a"
prefix = ["198.51.100.0/24", "2001:db8:a::/48"]

[hosts.net1]
lan = ["lan0"]
[hosts.net1.uplinks.isp-a]
interface = "up-a"
address = ["192.0.2.2/30", "2001:db8:ffa::2/64"]
gateway = ["192.0.2.1", "fe80::1"]

[projects.acme]
pools = ["pool-a"]
addresses = ["198.51.100.7", "2001:db8:a::7"]
networks = ["10.0.0.0/24", "2001:db8:10::/64"]
default = "pool-a"

[vms.web-1]
project = "acme"
host = "net1"
address = ["10.0.0.5", "2001:db8:10::5"]
public = ["198.51.100.7", "2001:db8:a::7"]
"#;

/// The codes `text` raises, sorted, errors and warnings alike.
fn codes(text: &str) -> Vec<&'static str> {
    let diagnostics = match switchyard::validate(&Source::new("dual.toml", text)) {
        Ok(validated) => validated.into_parts().2,
        Err(diagnostics) => diagnostics,
    };
    let mut codes: Vec<_> = diagnostics.iter().map(|d| d.code.as_str()).collect();
    codes.sort_unstable();
    codes
}

#[track_caller]
fn assert_codes(replacements: &[(&str, &str)], expected: &[&str]) {
    let text = common::splice(DUAL, replacements);
    assert_eq!(codes(&text), expected, "for:\n{text}");
}

/// Replaces the IPv6 link and gateway of isp-a.
#[track_caller]
fn assert_link(address: &str, gateway: &str, expected: &[&str]) {
    assert_codes(
        &[
            ("\"2001:db8:ffa::2/64\"", &format!("\"{address}\"")),
            ("\"fe80::1\"", &format!("\"{gateway}\"")),
        ],
        expected,
    );
}

/// Appends a second VM of acme on net1.
fn with_web_2(vm: &str) -> (&'static str, String) {
    (
        "public = [\"198.51.100.7\", \"2001:db8:a::7\"]\n",
        format!(
            "public = [\"198.51.100.7\", \"2001:db8:a::7\"]\n\n[vms.web-2]\nproject = \"acme\"\nhost = \"net1\"\n{vm}\n"
        ),
    )
}

#[test]
fn the_dual_stack_topology_is_valid_and_so_is_one_family_alone() {
    assert_codes(&[], &[]);
    assert_codes(
        &[
            (
                "[\"198.51.100.0/24\", \"2001:db8:a::/48\"]",
                "\"2001:db8:a::/48\"",
            ),
            (
                "[\"192.0.2.2/30\", \"2001:db8:ffa::2/64\"]",
                "\"2001:db8:ffa::2/64\"",
            ),
            ("[\"192.0.2.1\", \"fe80::1\"]", "\"fe80::1\""),
            (
                "[\"198.51.100.7\", \"2001:db8:a::7\"]",
                "[\"2001:db8:a::7\"]",
            ),
            (
                "[\"10.0.0.0/24\", \"2001:db8:10::/64\"]",
                "[\"2001:db8:10::/64\"]",
            ),
            ("[\"10.0.0.5\", \"2001:db8:10::5\"]", "\"2001:db8:10::5\""),
            (
                "[\"198.51.100.7\", \"2001:db8:a::7\"]",
                "[\"2001:db8:a::7\"]",
            ),
        ],
        &[],
    );
}

#[test]
fn an_ipv6_gateway_is_link_local_or_a_host_of_its_link() {
    assert_link("2001:db8:ffa::2/64", "2001:db8:ffa::1", &[]);
    // A /128 has room for no gateway but a link-local one; a /127 has two
    // hosts and no subnet-router anycast address (RFC 6164).
    assert_link("2001:db8:ffa::2/128", "fe80::1", &[]);
    assert_link("2001:db8:ffa::/127", "2001:db8:ffa::1", &[]);
    assert_link("2001:db8:ffa::2/128", "2001:db8:ffa::1", &["SY0702"]);
    assert_link("2001:db8:ffa::2/64", "2001:db8:ffb::1", &["SY0702"]);
    assert_link("2001:db8:ffa::2/64", "2001:db8:ffa::2", &["SY0702"]);
    assert_link("2001:db8:ffa::2/64", "2001:db8:ffa::", &["SY0702"]);
    // An IPv4 gateway stays on its link.
    assert_codes(&[("\"192.0.2.1\"", "\"169.254.0.1\"")], &["SY0702"]);
}

#[test]
fn an_ipv6_link_is_routable_and_the_hosts_address_is_not_its_anycast_address() {
    assert_link("2001:db8:ffa::/64", "fe80::1", &["SY0707"]);
    assert_link("2001:db8:ffa::2/0", "fe80::1", &["SY0706"]);
    // The last address of an IPv6 link is an ordinary one.
    assert_link("2001:db8:ffa:0:ffff:ffff:ffff:ffff/64", "fe80::1", &[]);
}

#[test]
fn each_family_of_an_attachment_has_an_address_and_a_gateway() {
    assert_codes(
        &[("[\"192.0.2.1\", \"fe80::1\"]", "\"192.0.2.1\"")],
        &["SY1005"],
    );
    assert_codes(
        &[(
            "[\"192.0.2.2/30\", \"2001:db8:ffa::2/64\"]",
            "\"192.0.2.2/30\"",
        )],
        &["SY1005"],
    );
}

#[test]
fn pools_overlap_within_a_family_only() {
    let pool_b = |prefix: &str| {
        (
            "[hosts.net1]",
            format!("[pools.pool-b]\nuplink = \"isp-a\"\nprefix = {prefix}\n\n[hosts.net1]"),
        )
    };
    let (from, to) = pool_b(r#"["203.0.113.0/24", "2001:db8:b::/48"]"#);
    assert_codes(&[(from, &to)], &[]);
    let (from, to) = pool_b(r#"["203.0.113.0/24", "2001:db8:a:1::/64"]"#);
    assert_codes(&[(from, &to)], &["SY0201"]);
}

#[test]
fn a_quota_counts_each_family_on_its_own() {
    let quota = (
        "default = \"pool-a\"",
        "default = \"pool-a\"\nquota = { pool-a = 1 }",
    );
    assert_codes(&[quota], &[]);
    assert_codes(
        &[
            quota,
            (
                "[\"198.51.100.7\", \"2001:db8:a::7\"]",
                "[\"198.51.100.7\", \"2001:db8:a::7\", \"2001:db8:a::8\"]",
            ),
        ],
        &["SY0306", "SY0902"],
    );
}

#[test]
fn a_vm_has_one_public_address_per_pool_and_family() {
    assert_codes(
        &[
            (
                "[\"198.51.100.7\", \"2001:db8:a::7\"]",
                "[\"198.51.100.7\", \"2001:db8:a::7\", \"2001:db8:a::8\"]",
            ),
            (
                "public = [\"198.51.100.7\", \"2001:db8:a::7\"]",
                "public = [\"198.51.100.7\", \"2001:db8:a::7\", \"2001:db8:a::8\"]",
            ),
        ],
        &["SY0403"],
    );
}

#[test]
fn the_pools_subnet_router_anycast_address_is_not_allocatable_but_its_last_is() {
    let allocate = |address: &str| {
        [
            (
                "\"2001:db8:a::7\"]\nnetworks",
                format!("\"{address}\"]\nnetworks"),
            ),
            ("\"2001:db8:a::7\"]\n", format!("\"{address}\"]\n")),
        ]
    };
    let [a, b] = allocate("2001:db8:a::");
    assert_codes(&[(a.0, &a.1), (b.0, &b.1)], &["SY1004"]);
    let [a, b] = allocate("2001:db8:a:ffff:ffff:ffff:ffff:ffff");
    assert_codes(&[(a.0, &a.1), (b.0, &b.1)], &[]);
}

#[test]
fn private_ipv6_addresses_follow_the_rules_of_their_family() {
    let private = |address: &str| ("\"2001:db8:10::5\"", format!("\"{address}\""));
    let (from, to) = private("2001:db8:11::5");
    assert_codes(&[(from, &to)], &["SY0602"]);
    let (from, to) = private("2001:db8:10::");
    assert_codes(&[(from, &to)], &["SY0604"]);
    let (from, to) = private("2001:db8:10:0:ffff:ffff:ffff:ffff");
    assert_codes(&[(from, &to)], &[]);
    for special in ["::1", "::", "fe80::5", "ff02::1"] {
        let (from, to) = private(special);
        // Without IPv6 networks, the project leaves its VMs' IPv6 addresses
        // to SY1003 alone.
        let networks = (
            "[\"10.0.0.0/24\", \"2001:db8:10::/64\"]",
            "[\"10.0.0.0/24\"]",
        );
        assert_codes(&[(from, &to), networks], &["SY1003"]);
    }
    let (from, to) = with_web_2("address = [\"10.0.0.6\", \"2001:db8:10::5\"]");
    assert_codes(&[(from, &to)], &["SY0601"]);
    // The same address in each family's place is no duplicate.
    let (from, to) = with_web_2("address = [\"10.0.0.6\", \"2001:db8:10::6\"]");
    assert_codes(&[(from, &to)], &[]);
}

#[test]
fn a_project_network_of_either_family_stays_out_of_the_pools() {
    assert_codes(
        &[("\"2001:db8:10::/64\"", "\"2001:db8:a:10::/64\"")],
        &["SY0602", "SY0603"],
    );
    let not_global = ("\"2001:db8:10::/64\"", "\"fe80::/64\"");
    assert_codes(&[not_global], &["SY0602", "SY1003"]);
}

#[test]
fn ipv6_egress_stays_off_internal_networks_and_names_addresses_of_its_family() {
    let egress = |entry: &str| {
        (
            "public = [\"198.51.100.7\", \"2001:db8:a::7\"]\n",
            format!("public = [\"198.51.100.7\", \"2001:db8:a::7\"]\negress = [{entry}]\n"),
        )
    };
    let (from, to) = egress(r#"{ to = "2001:db8:100::/40", via = "2001:db8:a::7" }"#);
    assert_codes(&[(from, &to)], &[]);
    let (from, to) = egress(r#"{ to = "2001:db8::/32", via = "pool-a" }"#);
    assert_codes(&[(from, &to)], &["SY0502"]);
    let (from, to) = egress(r#"{ to = "2001:db8:100::/40", via = "198.51.100.7" }"#);
    assert_codes(&[(from, &to)], &["SY1002"]);
    let (from, to) = egress(r#"{ to = "100.64.0.0/10", via = "2001:db8:a::7" }"#);
    assert_codes(&[(from, &to)], &["SY1002"]);
    // A default has no destination: an address of either family will do.
    assert_codes(&[("default = \"pool-a\"", "")], &["SY0901"]);
    assert_codes(
        &[
            ("default = \"pool-a\"", ""),
            (
                "public = [\"198.51.100.7\", \"2001:db8:a::7\"]\n",
                "public = [\"198.51.100.7\", \"2001:db8:a::7\"]\ndefault = \"2001:db8:a::7\"\n",
            ),
        ],
        &[],
    );
}

#[test]
fn a_pool_named_for_ipv6_destinations_holds_an_ipv6_address_of_the_vm() {
    let v4_only = [
        (
            "\"198.51.100.7\", \"2001:db8:a::7\"]\nnetworks",
            "\"198.51.100.7\"]\nnetworks",
        ),
        (
            "public = [\"198.51.100.7\", \"2001:db8:a::7\"]\n",
            "public = [\"198.51.100.7\"]\negress = [{ to = \"2001:db8:100::/40\", via = \"pool-a\" }]\n",
        ),
    ];
    assert_codes(&v4_only, &["SY0405"]);
}

#[test]
fn ipv6_uplink_addresses_are_no_vms_and_no_pairs() {
    assert_codes(
        &[("\"2001:db8:10::5\"", "\"2001:db8:ffa::2\"")],
        &["SY0602", "SY0708"],
    );
}

#[test]
fn ipv6_probe_targets_are_sent_from_the_uplinks_ipv6_address() {
    let probe = |targets: &str| {
        (
            "gateway = [\"192.0.2.1\", \"fe80::1\"]\n",
            format!("gateway = [\"192.0.2.1\", \"fe80::1\"]\nprobe = {targets}\n"),
        )
    };
    let (from, to) = probe(r#"["192.0.2.1", "fe80::1", "2001:db8:ffa::1"]"#);
    assert_codes(&[(from, &to)], &[]);
    for bad in [
        "2001:db8:ffa::2",
        "ff02::1",
        "::1",
        "2001:db8:ffa::",
        "2001:db8:a::7",
    ] {
        let (from, to) = probe(&format!("[\"{bad}\"]"));
        assert_codes(&[(from, &to)], &["SY0712"]);
    }
    let (from, to) = probe(r#"["2001:db8:ffa::1"]"#);
    assert_codes(
        &[
            (from, &to),
            (
                "[\"192.0.2.2/30\", \"2001:db8:ffa::2/64\"]",
                "\"192.0.2.2/30\"",
            ),
            ("[\"192.0.2.1\", \"fe80::1\"]", "\"192.0.2.1\""),
        ],
        &["SY0712"],
    );
}
