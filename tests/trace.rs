//! `switchyard trace` through the command line: human and JSON output pinned by
//! snapshots (`snapshots/trace__*`) for outbound (project entry, VM entry, nested
//! prefixes, VM beating project at equal length, defaults, internal, not handled)
//! and inbound (DNAT, unassigned public address) packets on the examples, each
//! with the outcome it must have written out by hand; exit codes and suggestions for bad input. That trace
//! predicts what the kernel does is shown by tests/e2e.rs.

mod common;

use std::process::Output;

use common::{describe, failed, switchyard};
use switchyard::diagnostic::Source;
use switchyard::trace::{Action, TraceError, Tracer};

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
        "none 198.51.100.99",
    ),
    (
        "multi-host",
        "web-1",
        "100.65.1.9",
        "nested-longest",
        "snat 198.51.100.10 by vm egress 100.65.1.0/24",
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
        "none 192.0.2.67",
    ),
];

/// The JSON trace in the form of [`CASES`]' last column.
fn outcome(trace: &serde_json::Value) -> String {
    let words = [
        &trace["action"],
        &trace["public_address"],
        &trace["decided_by"]["scope"],
        &trace["decided_by"]["kind"],
        &trace["decided_by"]["prefix"],
    ];
    let words: Vec<&str> = words.iter().filter_map(|word| word.as_str()).collect();
    match words.as_slice() {
        [action, public, decided_by @ ..] if !decided_by.is_empty() => {
            format!("{action} {public} by {}", decided_by.join(" "))
        }
        words => words.join(" "),
    }
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
        let args = ["--from", from, "--to", to];
        let human = stdout_of(&trace(example, &args));
        let json = stdout_of(&trace(
            example,
            &[&args[..], &["--format", "json"]].concat(),
        ));
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(outcome(&value), expected, "{example} {from} → {to}");

        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(
                format!("trace__{example}__{name}"),
                format!("$ switchyard trace examples/{example}.toml --from {from} --to {to}\n{human}\n$ … --format json\n{json}")
            );
        });
    }
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
    ("two-isps", "web-1", "example.com", 2, "example.com"),
    ("invalid/SY0101-unknown-uplink", "a", "9.9.9.9", 1, "SY0101"),
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
        .trace("10.0.0.5", "9.9.9.9".parse().unwrap())
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
        let trace = tracer.trace(vm, "9.9.9.9".parse().unwrap()).unwrap();
        assert_eq!(trace.action, Action::Snat);
        assert_eq!(trace.host.as_deref(), Some(host));
        assert_eq!(trace.public_address, Some(public.parse().unwrap()));
    }
}
