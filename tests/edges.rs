//! The edges of the link and address rules (SY0604, SY0701, SY0704–SY0709, a
//! pair's, SY0801–SY0811, and each rule per address family, SY1002–SY1006) beyond
//! the one example per code in `examples/invalid/`: each case splices one change
//! into a small valid topology and states exactly which codes it must raise, so a
//! rule that is too strict (refuses a /31 link) fails here as much as one that is
//! too lax.

mod common;

use switchyard::diagnostic::Source;

/// The base fixture with isp-b on a VLAN.
fn valid() -> String {
    common::splice(
        common::BASE,
        &[
            ("interface = \"up-b\"", "interface = \"eth1.100\""),
            (
                "gateway = \"198.18.0.1\"\n",
                "gateway = \"198.18.0.1\"\nvlan = { parent = \"eth1\", id = 100 }\n",
            ),
        ],
    )
}

/// The codes `text` raises, sorted, errors and warnings alike.
fn codes(text: &str) -> Vec<&'static str> {
    let diagnostics = match switchyard::validate(&Source::new("edge.toml", text)) {
        Ok(validated) => validated.into_parts().2,
        Err(diagnostics) => diagnostics,
    };
    let mut codes: Vec<_> = diagnostics.iter().map(|d| d.code.as_str()).collect();
    codes.sort_unstable();
    codes
}

#[track_caller]
fn assert_codes(replacements: &[(&str, &str)], expected: &[&str]) {
    let text = common::splice(&valid(), replacements);
    assert_eq!(codes(&text), expected, "for:\n{text}");
}

#[test]
fn the_base_topology_is_valid() {
    assert_codes(&[], &[]);
}

#[test]
fn a_31_link_is_routable_from_either_end() {
    for (address, gateway) in [
        ("198.18.0.0/31", "198.18.0.1"),
        ("198.18.0.1/31", "198.18.0.0"),
    ] {
        assert_codes(
            &[
                ("\"198.18.0.2/30\"", &format!("\"{address}\"")),
                ("\"198.18.0.1\"", &format!("\"{gateway}\"")),
            ],
            &[],
        );
    }
}

#[test]
fn a_32_or_0_link_is_refused_once_not_also_as_a_bad_gateway() {
    for link in ["192.0.2.2/32", "192.0.2.2/0"] {
        assert_codes(&[("\"192.0.2.2/30\"", &format!("\"{link}\""))], &["SY0706"]);
    }
}

#[test]
fn the_host_address_may_not_be_its_links_network_address() {
    assert_codes(&[("\"192.0.2.2/30\"", "\"192.0.2.0/30\"")], &["SY0707"]);
}

#[test]
fn special_purpose_private_addresses_are_refused() {
    for address in [
        "0.0.0.1",
        "127.0.0.1",
        "169.254.1.1",
        "224.0.0.5",
        "239.255.255.255",
        "240.0.0.1",
        "255.255.255.255",
    ] {
        // Without `networks`, so that SY0602 (outside the networks) stays silent.
        assert_codes(
            &[
                ("networks = [\"10.0.0.0/24\"]\n", ""),
                ("\"10.0.0.5\"", &format!("\"{address}\"")),
            ],
            &["SY0604"],
        );
    }
}

#[test]
fn the_network_address_of_a_project_network_is_refused_but_not_on_a_31() {
    assert_codes(&[("\"10.0.0.5\"", "\"10.0.0.0\"")], &["SY0604"]);
    assert_codes(
        &[
            ("\"10.0.0.0/24\"", "\"10.0.0.4/31\""),
            ("\"10.0.0.5\"", "\"10.0.0.4\""),
        ],
        &[],
    );
}

#[test]
fn a_private_address_equal_to_a_hosts_uplink_address_is_refused() {
    // The host's own address on isp-a, and isp-b's gateway.
    for address in ["192.0.2.2", "198.18.0.1"] {
        assert_codes(
            &[
                ("networks = [\"10.0.0.0/24\"]\n", ""),
                ("\"10.0.0.5\"", &format!("\"{address}\"")),
            ],
            &["SY0708"],
        );
    }
}

#[test]
fn the_same_vlan_id_on_different_parents_is_fine() {
    assert_codes(
        &[
            ("interface = \"up-a\"", "interface = \"eth2.100\""),
            (
                "gateway = \"192.0.2.1\"\n",
                "gateway = \"192.0.2.1\"\nvlan = { parent = \"eth2\", id = 100 }\n",
            ),
        ],
        &[],
    );
}

#[test]
fn sysctl_directory_names_are_refused_as_lan_and_vlan_parent() {
    assert_codes(&[("\"lan0\"", "\"all\"")], &["SY0701"]);
    assert_codes(&[("\"eth1\"", "\"default\"")], &["SY0701"]);
}

#[test]
fn a_host_without_lan_is_fine_until_it_serves_a_vm() {
    let second_host = "[hosts.net2]\n[hosts.net2.uplinks.isp-a]\ninterface = \"up-a\"\n\
                       address = \"192.0.2.6/30\"\ngateway = \"192.0.2.5\"\n\
                       [hosts.net2.uplinks.isp-b]\ninterface = \"up-b\"\n\
                       address = \"198.18.0.6/30\"\ngateway = \"198.18.0.5\"\n\n[projects.acme]";
    assert_codes(&[("[projects.acme]", second_host)], &[]);
    assert_codes(
        &[
            ("[projects.acme]", second_host),
            ("host = \"net1\"", "host = \"net2\""),
        ],
        &["SY0709"],
    );
}

/// Asserts the codes of the base with isp-b's link at `address` via `gateway`,
/// and the `also` replacements.
#[track_caller]
fn assert_isp_b_link_and(address: &str, gateway: &str, also: &[(&str, &str)], expected: &[&str]) {
    let (address, gateway) = (format!("\"{address}\""), format!("\"{gateway}\""));
    let mut replacements = vec![
        ("\"198.18.0.2/30\"", address.as_str()),
        ("\"198.18.0.1\"", gateway.as_str()),
    ];
    replacements.extend_from_slice(also);
    assert_codes(&replacements, expected);
}

#[track_caller]
fn assert_isp_b_link(address: &str, gateway: &str, expected: &[&str]) {
    assert_isp_b_link_and(address, gateway, &[], expected);
}

#[test]
fn two_links_of_a_host_may_not_overlap_but_may_adjoin() {
    // isp-a is on 192.0.2.0/30.
    assert_isp_b_link("192.0.2.5/29", "192.0.2.6", &["SY0713"]);
    assert_isp_b_link("192.0.2.3/31", "192.0.2.2", &["SY0713"]);
    assert_isp_b_link("192.0.2.4/31", "192.0.2.5", &[]);
    assert_isp_b_link("192.0.2.6/30", "192.0.2.5", &[]);
}

#[test]
fn a_link_may_not_overlap_a_pool_or_a_project_network() {
    assert_isp_b_link("203.0.113.2/30", "203.0.113.1", &["SY0714"]);
    assert_isp_b_link("10.0.0.130/25", "10.0.0.129", &["SY0714"]);
    assert_isp_b_link("10.0.1.2/30", "10.0.1.1", &[]);
    // Without networks, the VM's own address counts.
    let no_networks = [("networks = [\"10.0.0.0/24\"]\n", "")];
    assert_codes(&no_networks, &[]);
    assert_isp_b_link_and("10.0.0.6/29", "10.0.0.1", &no_networks, &["SY0714"]);
}

#[test]
fn a_lan_interface_is_a_vlan_parent_only_with_its_own_unit() {
    assert_codes(&[("parent = \"eth1\"", "parent = \"lan0\"")], &["SY0715"]);
    assert_codes(
        &[(
            "parent = \"eth1\"",
            "parent = \"lan0\", parent_unit = \"20-lan0.network\"",
        )],
        &[],
    );
}

#[test]
fn an_empty_destination_list_is_refused() {
    let text = format!("{}egress = [{{ to = [], via = \"pool-a\" }}]\n", valid());
    assert_eq!(codes(&text), ["SY0002"]);
    let text = format!(
        "{}egress = [{{ to = \"100.64.0.0/10\", via = [] }}]\n",
        valid()
    );
    assert_eq!(codes(&text), ["SY0002"]);
}

/// The edges of a pair's rules (SY0703, SY0801–SY0811) on examples/ha-pair.toml.
#[track_caller]
fn assert_pair_codes(replacements: &[(&str, &str)], expected: &[&str]) {
    let example = std::fs::read_to_string(common::repo_path("examples/ha-pair.toml"))
        .expect("the pair example");
    let text = common::splice(&example, replacements);
    assert_eq!(codes(&text), expected, "for:\n{text}");
}

#[test]
fn a_pair_needs_a_29_on_its_uplinks_and_takes_a_31_sync_link() {
    assert_pair_codes(&[], &[]);
    // A /31 sync link holds both members (RFC 3021).
    assert_pair_codes(
        &[(
            "[\"10.255.0.1/30\", \"10.255.0.2/30\"]",
            "[\"10.255.0.0/31\", \"10.255.0.1/31\"]",
        )],
        &[],
    );
    // A /32 holds no peer; other lengths are not one link; a network address is no host's.
    for sync in [
        "[\"10.255.0.1/32\", \"10.255.0.2/32\"]",
        "[\"10.255.0.1/30\", \"10.255.0.2/29\"]",
        "[\"10.255.0.0/30\", \"10.255.0.2/30\"]",
    ] {
        assert_pair_codes(
            &[("[\"10.255.0.1/30\", \"10.255.0.2/30\"]", sync)],
            &["SY0805"],
        );
    }
    // A /30 uplink link has two host addresses: the pair needs four.
    assert_pair_codes(
        &[
            ("address = \"192.0.2.2/29\"", "address = \"192.0.2.2/30\""),
            (
                "[\"192.0.2.3/29\", \"192.0.2.4/29\"]",
                "[\"192.0.2.1/30\", \"192.0.2.2/30\"]",
            ),
        ],
        &["SY0807"],
    );
    // A member's own address: the link's broadcast, or another prefix length.
    for own in [
        "[\"192.0.2.3/29\", \"192.0.2.7/29\"]",
        "[\"192.0.2.3/29\", \"192.0.2.4/28\"]",
    ] {
        assert_pair_codes(
            &[("[\"192.0.2.3/29\", \"192.0.2.4/29\"]", own)],
            &["SY0806"],
        );
    }
}

#[test]
fn a_pairs_names_addresses_and_interfaces_are_its_own() {
    for (from, to, expected) in [
        // The same address as a VMs' gateway and a sync address:
        ("[\"10.0.0.1/24\"]", "[\"10.255.0.2/30\"]", &["SY0808"][..]),
        // The sync link is not an uplink or a LAN interface.
        (
            "sync_interface = \"ha0\"",
            "sync_interface = \"lan0\"",
            &["SY0703"],
        ),
        (
            "sync_interface = \"ha0\"",
            "sync_interface = \"all\"",
            &["SY0701"],
        ),
        // A member named like the host it serves.
        (
            "[\"net1a\", \"net1b\"]",
            "[\"net1a\", \"net1\"]",
            &["SY0802"],
        ),
        // One member, or three.
        ("[\"net1a\", \"net1b\"]", "[\"net1a\"]", &["SY0801"]),
        (
            "[\"net1a\", \"net1b\"]",
            "[\"net1a\", \"net1b\", \"net1c\"]",
            &["SY0801"],
        ),
        ("vrid = 51", "vrid = 0", &["SY0803"]),
        // Without any LAN gateway, with VMs on a LAN.
        (
            "lan_addresses = [\"10.0.0.1/24\"]",
            "lan_addresses = []",
            &["SY0811"],
        ),
        // member_addresses on a host that is no pair (its `ha` table misnamed,
        // and dropped): one per uplink.
        (
            "[hosts.net1.ha]",
            "[hosts.net1.pair]",
            &["SY0003", "SY0809", "SY0809"],
        ),
    ] {
        assert_pair_codes(&[(from, to)], expected);
    }
}

// The rules per address family (docs/semantics.md §13), on a small valid
// dual-stack topology: a rule that mixes the families (an IPv6 address counted
// against an IPv4 quota, a link-local gateway refused) fails here as much as
// one that ignores IPv6.

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

#[track_caller]
fn assert_dual_codes(replacements: &[(&str, &str)], expected: &[&str]) {
    let text = common::splice(DUAL, replacements);
    assert_eq!(codes(&text), expected, "for:\n{text}");
}

/// Replaces the IPv6 link and gateway of isp-a.
#[track_caller]
fn assert_dual_link(address: &str, gateway: &str, expected: &[&str]) {
    assert_dual_codes(
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
fn the_dual_stack_topology_is_valid_and_so_is_either_family_alone() {
    assert_dual_codes(&[], &[]);
    assert_dual_codes(
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
    assert_dual_link("2001:db8:ffa::2/64", "2001:db8:ffa::1", &[]);
    // A /128 has room for no gateway but a link-local one; a /127 has two
    // hosts and no subnet-router anycast address (RFC 6164).
    assert_dual_link("2001:db8:ffa::2/128", "fe80::1", &[]);
    assert_dual_link("2001:db8:ffa::/127", "2001:db8:ffa::1", &[]);
    assert_dual_link("2001:db8:ffa::2/128", "2001:db8:ffa::1", &["SY0702"]);
    assert_dual_link("2001:db8:ffa::2/64", "2001:db8:ffb::1", &["SY0702"]);
    assert_dual_link("2001:db8:ffa::2/64", "2001:db8:ffa::2", &["SY0702"]);
    assert_dual_link("2001:db8:ffa::2/64", "2001:db8:ffa::", &["SY0702"]);
    // An IPv4 gateway stays on its link.
    assert_dual_codes(&[("\"192.0.2.1\"", "\"169.254.0.1\"")], &["SY0702"]);
}

#[test]
fn an_ipv6_link_is_routable_and_the_hosts_address_is_not_its_anycast_address() {
    assert_dual_link("2001:db8:ffa::/64", "fe80::1", &["SY0707"]);
    assert_dual_link("2001:db8:ffa::2/0", "fe80::1", &["SY0706"]);
    // The last address of an IPv6 link is an ordinary one.
    assert_dual_link("2001:db8:ffa:0:ffff:ffff:ffff:ffff/64", "fe80::1", &[]);
}

#[test]
fn each_family_of_an_attachment_has_an_address_and_a_gateway() {
    assert_dual_codes(
        &[("[\"192.0.2.1\", \"fe80::1\"]", "\"192.0.2.1\"")],
        &["SY1005"],
    );
    assert_dual_codes(
        &[(
            "[\"192.0.2.2/30\", \"2001:db8:ffa::2/64\"]",
            "\"192.0.2.2/30\"",
        )],
        &["SY1005"],
    );
}

#[test]
fn an_ipv6_address_needs_a_pool_with_an_ipv6_prefix() {
    assert_dual_codes(
        &[(
            "[\"198.51.100.0/24\", \"2001:db8:a::/48\"]",
            "\"198.51.100.0/24\"",
        )],
        &["SY0301"],
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
    assert_dual_codes(&[(from, &to)], &[]);
    let (from, to) = pool_b(r#"["203.0.113.0/24", "2001:db8:a:1::/64"]"#);
    assert_dual_codes(&[(from, &to)], &["SY0201"]);
}

#[test]
fn a_quota_counts_each_family_on_its_own() {
    let quota = (
        "default = \"pool-a\"",
        "default = \"pool-a\"\nquota = { pool-a = 1 }",
    );
    assert_dual_codes(&[quota], &[]);
    assert_dual_codes(
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
    assert_dual_codes(
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
    assert_dual_codes(&[(a.0, &a.1), (b.0, &b.1)], &["SY1004"]);
    let [a, b] = allocate("2001:db8:a:ffff:ffff:ffff:ffff:ffff");
    assert_dual_codes(&[(a.0, &a.1), (b.0, &b.1)], &[]);
}

#[test]
fn private_ipv6_addresses_follow_the_rules_of_their_family() {
    let private = |address: &str| ("\"2001:db8:10::5\"", format!("\"{address}\""));
    let (from, to) = private("2001:db8:11::5");
    assert_dual_codes(&[(from, &to)], &["SY0602"]);
    let (from, to) = private("2001:db8:10::");
    assert_dual_codes(&[(from, &to)], &["SY0604"]);
    let (from, to) = private("2001:db8:10:0:ffff:ffff:ffff:ffff");
    assert_dual_codes(&[(from, &to)], &[]);
    for special in ["::1", "::", "fe80::5", "ff02::1"] {
        let (from, to) = private(special);
        // Without IPv6 networks, the project leaves its VMs' IPv6 addresses
        // to SY1003 alone.
        let networks = (
            "[\"10.0.0.0/24\", \"2001:db8:10::/64\"]",
            "[\"10.0.0.0/24\"]",
        );
        assert_dual_codes(&[(from, &to), networks], &["SY1003"]);
    }
    let (from, to) = with_web_2("address = [\"10.0.0.6\", \"2001:db8:10::5\"]");
    assert_dual_codes(&[(from, &to)], &["SY0601"]);
    // The same address in each family's place is no duplicate.
    let (from, to) = with_web_2("address = [\"10.0.0.6\", \"2001:db8:10::6\"]");
    assert_dual_codes(&[(from, &to)], &[]);
}

#[test]
fn a_project_network_of_either_family_stays_out_of_the_pools() {
    assert_dual_codes(
        &[("\"2001:db8:10::/64\"", "\"2001:db8:a:10::/64\"")],
        &["SY0602", "SY0603"],
    );
    let not_global = ("\"2001:db8:10::/64\"", "\"fe80::/64\"");
    assert_dual_codes(&[not_global], &["SY0602", "SY1003"]);
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
    assert_dual_codes(&[(from, &to)], &[]);
    let (from, to) = egress(r#"{ to = "2001:db8::/32", via = "pool-a" }"#);
    assert_dual_codes(&[(from, &to)], &["SY0502"]);
    let (from, to) = egress(r#"{ to = "2001:db8:100::/40", via = "198.51.100.7" }"#);
    assert_dual_codes(&[(from, &to)], &["SY1002"]);
    let (from, to) = egress(r#"{ to = "100.64.0.0/10", via = "2001:db8:a::7" }"#);
    assert_dual_codes(&[(from, &to)], &["SY1002"]);
    // A default has no destination: an address of either family will do.
    assert_dual_codes(&[("default = \"pool-a\"", "")], &["SY0901"]);
    assert_dual_codes(
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
    assert_dual_codes(&v4_only, &["SY0405"]);
}

#[test]
fn ipv6_uplink_addresses_are_no_vms_and_no_pairs() {
    assert_dual_codes(
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
    assert_dual_codes(&[(from, &to)], &[]);
    for bad in [
        "2001:db8:ffa::2",
        "ff02::1",
        "::1",
        "2001:db8:ffa::",
        "2001:db8:a::7",
    ] {
        let (from, to) = probe(&format!("[\"{bad}\"]"));
        assert_dual_codes(&[(from, &to)], &["SY0712"]);
    }
    let (from, to) = probe(r#"["2001:db8:ffa::1"]"#);
    assert_dual_codes(
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

#[test]
fn warnings_judge_each_family_on_its_own() {
    // A project entry for IPv6 destinations applies to no VM without an IPv6
    // address in its pool: it is neither shadowed nor skipped.
    assert_dual_codes(
        &[
            (
                "[\"198.51.100.7\", \"2001:db8:a::7\"]\nnetworks",
                "[\"198.51.100.7\"]\nnetworks",
            ),
            (
                "default = \"pool-a\"",
                "default = \"pool-a\"\negress = [{ to = \"2001:db8:100::/40\", via = \"pool-a\" }]",
            ),
            (
                "public = [\"198.51.100.7\", \"2001:db8:a::7\"]",
                "public = [\"198.51.100.7\"]",
            ),
        ],
        &[],
    );
    // With [failover], IPv4 can fall back to isp-b and IPv6 has only isp-a:
    // no IPv6 decision strands the VM on one uplink while it has others.
    let isp_b = [
        (
            "[pools.pool-a]",
            "[uplinks.isp-b]\nid = 2\n\n[pools.pool-b]\nuplink = \"isp-b\"\nprefix = \"203.0.113.0/24\"\n\n[pools.pool-a]",
        ),
        (
            "[projects.acme]",
            "[hosts.net1.uplinks.isp-b]\ninterface = \"up-b\"\naddress = \"198.18.0.2/30\"\ngateway = \"198.18.0.1\"\n\n[projects.acme]",
        ),
        ("pools = [\"pool-a\"]", "pools = [\"pool-a\", \"pool-b\"]"),
        ("default = \"pool-a\"", "default = [\"pool-a\", \"pool-b\"]"),
        (
            "\"2001:db8:a::7\"]\nnetworks",
            "\"2001:db8:a::7\", \"203.0.113.9\"]\nnetworks",
        ),
        (
            "\"2001:db8:a::7\"]\n",
            "\"2001:db8:a::7\", \"203.0.113.9\"]\n",
        ),
    ];
    assert_dual_codes(&isp_b, &[]);
}
