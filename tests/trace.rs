//! `switchyard trace` through the command line: human and JSON output pinned by
//! snapshots (`snapshots/trace__*`) for outbound (project entry, VM entry, nested
//! prefixes, VM beating project at equal length, defaults, internal, not handled)
//! and inbound (DNAT, unassigned public address) packets on the examples, each
//! with the outcome it must have written out by hand, also with uplinks taken as
//! down (`--down`, on examples/failover.toml); the same kinds in IPv6 on
//! examples/dual-stack.toml, whose JSON has exactly the keys of its IPv4 twin
//! (docs/semantics.md §13); exit codes and suggestions for bad input, a VM without an
//! address of the packet's family and addresses of two families among them.
//! That trace predicts what the kernel does is shown by tests/e2e.rs.

mod common;

use std::process::Output;

use common::{describe, failed, switchyard};
use switchyard::diagnostic::Source;
use switchyard::trace::{Fate, TraceError, Tracer};

/// (example, --from, --to, snapshot name, what must happen: the action, the
/// public address, and for an SNAT the entry that decided it).
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "two-isps",
        "web-1",
        "100.65.3.4",
        "project-entry",
        "snat 203.0.113.9 by project egress 100.65.0.0/16",
    ),
    (
        "two-isps",
        "web-1",
        "100.66.3.4",
        "vm-entry",
        "snat 203.0.113.9 by vm egress 100.66.0.0/16",
    ),
    (
        "two-isps",
        "10.0.0.6",
        "100.65.3.4",
        "by-private-address",
        "snat 203.0.113.10 by project egress 100.65.0.0/16",
    ),
    (
        "two-isps",
        "web-2",
        "9.9.9.9",
        "project-default",
        "snat 198.51.100.8 by project default",
    ),
    ("two-isps", "web-1", "10.0.0.6", "internal", "internal"),
    (
        "two-isps",
        "100.66.0.1",
        "198.51.100.7",
        "inbound",
        "dnat 198.51.100.7",
    ),
    (
        "two-isps",
        "100.66.0.1",
        "198.51.100.99",
        "inbound-unassigned",
        "drop unsolicited_inbound 198.51.100.99",
    ),
    (
        "two-isps",
        "web-1",
        "198.51.100.8",
        "hairpin",
        "hairpin to web-2 198.51.100.7 by project default",
    ),
    (
        "two-isps",
        "10.0.0.99",
        "9.9.9.9",
        "spoofed-source",
        "drop spoofed_source",
    ),
    (
        "two-isps",
        "100.66.0.1",
        "10.0.0.5",
        "unsolicited-private",
        "drop unsolicited_inbound",
    ),
    (
        "two-isps",
        "10.0.0.66",
        "198.51.100.7",
        "hairpin-from-no-vm",
        "hairpin to web-1",
    ),
    ("two-isps", "web-1", "192.0.2.2", "host-address", "local"),
    (
        "two-isps",
        "100.66.0.1",
        "198.18.0.2",
        "host-address-inbound",
        "local",
    ),
    (
        "multi-host",
        "ci-runner",
        "198.51.100.30",
        "hairpin-host-address",
        "hairpin to ledger-1",
    ),
    (
        "multi-host",
        "web-1",
        "198.51.100.11",
        "public-on-other-host",
        "snat 198.51.100.10 by project default",
    ),
    (
        "multi-host",
        "web-1",
        "100.65.1.9",
        "nested-longest",
        // The /24 leaves as the project default does: the plan leaves it to
        // the default, which the dataplane holds.
        "snat 198.51.100.10 by project default",
    ),
    (
        "multi-host",
        "web-1",
        "100.65.200.1",
        "nested-middle",
        "snat 192.0.2.130 by vm egress 100.65.0.0/16",
    ),
    (
        "multi-host",
        "web-1",
        "100.70.0.1",
        "nested-outer",
        "snat 203.0.113.10 by project egress 100.64.0.0/12",
    ),
    (
        "multi-host",
        "web-2",
        "100.64.5.5",
        "vm-beats-project",
        "snat 198.51.100.11 by vm egress 100.64.0.0/12",
    ),
    (
        "multi-host",
        "web-2",
        "9.9.9.9",
        "vm-default-address",
        "snat 203.0.113.11 by vm default",
    ),
    (
        "multi-host",
        "api-1",
        "9.9.9.9",
        "vm-default-pool",
        "snat 192.0.2.140 by vm default",
    ),
    ("multi-host", "ci-runner", "9.9.9.9", "not-handled", "none"),
    (
        "multi-host",
        "ci-runner",
        "10.10.0.11",
        "internal-other-project",
        "internal",
    ),
    (
        "multi-host",
        "100.64.0.1",
        "192.0.2.140",
        "inbound-other-host",
        "dnat 192.0.2.140",
    ),
    (
        "multi-host",
        "100.64.0.1",
        "192.0.2.67",
        "inbound-unassigned",
        "drop unsolicited_inbound 192.0.2.67",
    ),
    // IPv6 (docs/semantics.md §13): the entries and addresses of the packet's
    // family; a pool name means the VM's IPv6 address in it.
    (
        "dual-stack",
        "web-1",
        "2001:db8:100::1",
        "v6-project-entry",
        "snat 2001:db8:b::9 by project egress 2001:db8:100::/40",
    ),
    (
        "dual-stack",
        "web-1",
        "2001:db8:200::1",
        "v6-vm-entry",
        "snat 2001:db8:b::9 by vm egress 2001:db8:200::/48",
    ),
    (
        "dual-stack",
        "2001:db8:10::6",
        "2001:db8:100::1",
        "v6-by-private-address",
        "snat 2001:db8:b::10 by project egress 2001:db8:100::/40",
    ),
    (
        "dual-stack",
        "web-2",
        "2001:db8:200::1",
        "v6-project-default",
        "snat 2001:db8:a::8 by project default",
    ),
    (
        "dual-stack",
        "web-1",
        "2001:db8:10::6",
        "v6-internal",
        "internal",
    ),
    (
        "dual-stack",
        "web-1",
        "2001:db8:a::8",
        "v6-hairpin",
        "hairpin to web-2 2001:db8:a::7 by project default",
    ),
    (
        "dual-stack",
        "2001:db8:ffff::1",
        "2001:db8:a::7",
        "v6-inbound",
        "dnat 2001:db8:a::7",
    ),
    (
        "dual-stack",
        "2001:db8:ffff::1",
        "2001:db8:a::99",
        "v6-inbound-unassigned",
        "drop unsolicited_inbound 2001:db8:a::99",
    ),
    (
        "dual-stack",
        "2001:db8:ffff::1",
        "2001:db8:10::5",
        "v6-unsolicited-private",
        "drop unsolicited_inbound",
    ),
    (
        "dual-stack",
        "2001:db8:10::99",
        "2001:db8:100::1",
        "v6-spoofed-source",
        "drop spoofed_source",
    ),
    (
        "dual-stack",
        "web-1",
        "2001:db8:ffa::2",
        "v6-host-address",
        "local",
    ),
    // The same file's IPv4 half answers as two-isps.toml does.
    (
        "dual-stack",
        "web-1",
        "100.65.3.4",
        "v4-project-entry",
        "snat 203.0.113.9 by project egress 100.65.0.0/16",
    ),
];

/// The JSON trace in the form of [`CASES`]' last column.
fn outcome(trace: &serde_json::Value) -> String {
    let word = |value: &serde_json::Value| value.as_str().map(str::to_owned);
    let decided_by: Vec<String> = ["scope", "kind", "prefix"]
        .iter()
        .filter_map(|key| word(&trace["decided_by"][key]))
        .collect();
    [
        word(&trace["action"]),
        word(&trace["reason"]),
        word(&trace["receiver"]["vm"]).map(|vm| format!("to {vm}")),
        word(&trace["public_address"]),
        (!decided_by.is_empty()).then(|| format!("by {}", decided_by.join(" "))),
        trace["candidates"].as_array().map(|candidates| {
            let pools: Vec<String> = candidates
                .iter()
                .map(|c| {
                    let down = if c["down"] == true { "(down)" } else { "" };
                    format!("{}{down}", c["pool"].as_str().unwrap_or("?"))
                })
                .collect();
            format!("candidates {}", pools.join(" "))
        }),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

fn trace(example: &str, args: &[&str]) -> Output {
    switchyard()
        .current_dir(common::root())
        .args(["trace", &format!("examples/{example}.toml")])
        .args(args)
        .output()
        .expect("switchyard runs")
}

fn stdout_of(output: &Output) -> String {
    assert!(output.status.success(), "{}", describe(output));
    assert!(output.stderr.is_empty(), "{}", describe(output));
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

#[test]
fn human_and_json_output() {
    for &(example, from, to, name, expected) in CASES {
        assert_case(example, &["--from", from, "--to", to], name, expected);
    }
}

type DownCase = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
);

/// With `[failover]`: (example, --from, --to, the uplinks given as --down,
/// snapshot name, what must happen, as in [`CASES`], followed by the decision's
/// candidates, `(down)` marking those taken as down).
const DOWN_CASES: &[DownCase] = &[
    (
        "failover",
        "web-1",
        "9.9.9.9",
        &[],
        "vm-default",
        "snat 198.51.100.7 by vm default candidates pool-a pool-c pool-b",
    ),
    (
        "failover",
        "web-1",
        "9.9.9.9",
        &["isp-a"],
        "down-a",
        "snat 192.0.2.130 by vm default candidates pool-a(down) pool-c pool-b",
    ),
    (
        "failover",
        "web-1",
        "9.9.9.9",
        &["isp-a", "isp-c"],
        "down-a-c",
        "snat 203.0.113.9 by vm default candidates pool-a(down) pool-c(down) pool-b",
    ),
    (
        "failover",
        "web-1",
        "9.9.9.9",
        &["isp-a", "isp-b", "isp-c"],
        "all-down",
        "snat 198.51.100.7 by vm default candidates pool-a(down) pool-c(down) pool-b(down)",
    ),
    (
        "failover",
        "web-1",
        "100.66.1.1",
        &["isp-b"],
        "vm-entry-down-b",
        "snat 198.51.100.7 by vm egress 100.66.0.0/16 candidates pool-b(down) pool-a pool-c",
    ),
    (
        "failover",
        "web-2",
        "100.65.0.1",
        &["isp-b"],
        "project-entry-down-b",
        "snat 198.51.100.8 by project egress 100.64.0.0/10 candidates pool-b(down) pool-a",
    ),
    (
        "failover",
        "web-2",
        "198.51.100.7",
        &["isp-a"],
        "hairpin-down-a",
        "hairpin to web-1 203.0.113.10 by project default candidates pool-a(down) pool-b",
    ),
    (
        "failover",
        "100.66.0.1",
        "198.51.100.7",
        &["isp-a"],
        "inbound-down-a",
        "dnat 198.51.100.7",
    ),
];

#[test]
fn down_uplinks() {
    for &(example, from, to, down, name, expected) in DOWN_CASES {
        let mut args = vec!["--from", from, "--to", to];
        for uplink in down {
            args.extend(["--down", uplink]);
        }
        assert_case(example, &args, name, expected);
    }
}

/// Runs `trace` with `args` on the example, human and JSON; the JSON must state
/// `expected` (see [`outcome`]), both are pinned by snapshot `name`.
fn assert_case(example: &str, args: &[&str], name: &str, expected: &str) {
    let human = stdout_of(&trace(example, args));
    let json = stdout_of(&trace(example, &[args, &["--format", "json"]].concat()));
    let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(value["version"], 1, "{json}");
    let command = args.join(" ");
    assert_eq!(outcome(&value), expected, "{example} {command}");

    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(
            format!("trace__{example}__{name}"),
            format!("$ switchyard trace examples/{example}.toml {command}\n{human}\n$ … --format json\n{json}")
        );
    });
}

/// (example, --from, --to, exit code, what stderr must say).
const REFUSED: &[(&str, &str, &str, i32, &str)] = &[
    (
        "two-isps",
        "web1",
        "9.9.9.9",
        2,
        "no VM named `web1` in the topology (did you mean `web-1`?)",
    ),
    (
        "two-isps",
        "192.0.2.77",
        "9.9.9.9",
        2,
        "e.g. `--from web-1`",
    ),
    (
        "two-isps",
        "198.51.100.7",
        "9.9.9.9",
        2,
        "use `--from web-1`",
    ),
    (
        "two-isps",
        "192.0.2.2",
        "198.51.100.7",
        2,
        "192.0.2.2 is host net1's own address on uplink isp-a",
    ),
    ("two-isps", "web-1", "example.com", 2, "example.com"),
    ("invalid/SY0101-unknown-uplink", "a", "9.9.9.9", 1, "SY0101"),
    // A VM without an IPv6 address sends no IPv6 the host handles.
    (
        "two-isps",
        "web-1",
        "2001:db8:100::1",
        2,
        "VM web-1 has no IPv6 address: the host handles none of its IPv6 packets",
    ),
    (
        "dual-stack",
        "10.0.0.5",
        "2001:db8::1",
        2,
        "10.0.0.5 is an IPv4 address and 2001:db8::1 an IPv6 one: a packet has one family",
    ),
    (
        "dual-stack",
        "2001:db8:10::5",
        "9.9.9.9",
        2,
        "2001:db8:10::5 is an IPv6 address and 9.9.9.9 an IPv4 one: a packet has one family",
    ),
    (
        "dual-stack",
        "2001:db8:a::7",
        "2001:db8:100::1",
        2,
        "use `--from web-1`",
    ),
];

#[test]
fn bad_arguments_exit_2_and_an_invalid_topology_exits_1() {
    for &(example, from, to, code, expected) in REFUSED {
        let stderr = failed(&trace(example, &["--from", from, "--to", to]), code);
        assert!(
            stderr.contains(expected),
            "{example} {from} → {to}: {stderr}"
        );
    }
}

/// The base fixture with a second host whose VM web-2 also has 10.0.0.5.
fn same_private_address() -> String {
    let second_host = "[hosts.net2]\nlan = [\"lan0\"]\n[hosts.net2.uplinks.isp-a]\n\
                       interface = \"up-a\"\naddress = \"192.0.2.6/30\"\ngateway = \"192.0.2.5\"\n";
    format!(
        "{}\n{second_host}",
        common::base_with_web_2("net2", "10.0.0.5")
    )
}

#[test]
fn a_private_address_on_two_hosts_is_ambiguous() {
    let source = Source::new("same.toml", same_private_address());
    let tracer = Tracer::new(&source).unwrap_or_else(|d| panic!("valid: {d:?}"));
    let error = tracer
        .trace("10.0.0.5", "9.9.9.9".parse().unwrap(), &[])
        .expect_err("ambiguous");
    assert!(matches!(error, TraceError::AmbiguousAddress { .. }));
    assert_eq!(
        error.to_string(),
        "10.0.0.5 is the private address of web-1 on net1 and web-2 on net2: name the VM instead"
    );
    // By name, each VM leaves from its own host with its own address.
    for (vm, host, public) in [
        ("web-1", "net1", "198.51.100.7"),
        ("web-2", "net2", "198.51.100.8"),
    ] {
        let trace = tracer.trace(vm, "9.9.9.9".parse().unwrap(), &[]).unwrap();
        let Fate::Snat { sender, path, .. } = trace.fate else {
            panic!("{vm} → 9.9.9.9 is SNATed: {trace:?}");
        };
        assert_eq!(sender.host, host);
        assert_eq!(
            path.public_address,
            public.parse::<std::net::Ipv4Addr>().unwrap()
        );
    }
}

/// An inbound packet to a public address no VM has is dropped: the JSON said
/// `"none"` while the human form said drop; both now say drop, with the reason.
#[test]
fn drops_say_drop_with_their_reason_in_json_too() {
    let source = common::example_source(std::path::Path::new("examples/two-isps.toml"));
    let tracer = Tracer::new(&source).expect("two-isps is valid");
    for (from, to, reason) in [
        ("100.66.0.1", "198.51.100.99", "unsolicited_inbound"),
        ("100.66.0.1", "10.0.0.5", "unsolicited_inbound"),
        ("10.0.0.99", "9.9.9.9", "spoofed_source"),
    ] {
        let trace = tracer
            .trace(from, to.parse().expect("address"), &[])
            .expect("traces");
        let json: serde_json::Value = serde_json::from_str(&trace.to_json()).expect("JSON");
        assert_eq!(json["action"], "drop", "{from} → {to}");
        assert_eq!(json["reason"], reason, "{from} → {to}");
        assert!(
            trace
                .to_human()
                .lines()
                .next()
                .is_some_and(|l| l.contains(": drop (")),
            "{}",
            trace.to_human()
        );
    }
}

/// Every key path of a JSON value (`fate.sender.vm`, array elements as `[]`).
fn key_paths(
    value: &serde_json::Value,
    prefix: &str,
    out: &mut std::collections::BTreeSet<String>,
) {
    match value {
        serde_json::Value::Object(object) => {
            for (key, value) in object {
                let path = format!("{prefix}.{key}");
                out.insert(path.clone());
                key_paths(value, &path, out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                key_paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// docs/semantics.md §13: `trace --from web-1 --to 2001:db8:100::1` answers with the same
/// JSON keys as the IPv4 trace of the same kind, for every kind of answer.
#[test]
fn ipv6_traces_have_the_keys_of_their_ipv4_twins() {
    for [v4, v6] in [
        [["web-1", "100.65.3.4"], ["web-1", "2001:db8:100::1"]],
        [["web-1", "100.66.3.4"], ["web-1", "2001:db8:200::1"]],
        [["web-2", "9.9.9.9"], ["web-2", "2001:db8:200::1"]],
        [["web-1", "10.0.0.6"], ["web-1", "2001:db8:10::6"]],
        [["web-1", "198.51.100.8"], ["web-1", "2001:db8:a::8"]],
        [["web-1", "192.0.2.2"], ["web-1", "2001:db8:ffa::2"]],
        [
            ["100.66.0.1", "198.51.100.7"],
            ["2001:db8:ffff::1", "2001:db8:a::7"],
        ],
        [
            ["100.66.0.1", "198.51.100.99"],
            ["2001:db8:ffff::1", "2001:db8:a::99"],
        ],
        [
            ["100.66.0.1", "10.0.0.5"],
            ["2001:db8:ffff::1", "2001:db8:10::5"],
        ],
        [
            ["10.0.0.99", "9.9.9.9"],
            ["2001:db8:10::99", "2001:db8:100::1"],
        ],
    ] {
        let keys = |[from, to]: [&str; 2]| {
            let output = trace(
                "dual-stack",
                &["--from", from, "--to", to, "--format", "json"],
            );
            let json: serde_json::Value = serde_json::from_str(&stdout_of(&output)).expect("JSON");
            let mut paths = std::collections::BTreeSet::new();
            key_paths(&json, "", &mut paths);
            paths
        };
        let (v4_keys, v6_keys) = (keys(v4), keys(v6));
        assert!(v4_keys.len() > 3, "{v4:?}: {v4_keys:?}");
        assert_eq!(v4_keys, v6_keys, "{v4:?} and {v6:?}");
    }
}
