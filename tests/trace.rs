//! `switchyard trace` through the command line: human and JSON output pinned by
//! snapshots (`snapshots/trace__*`) for outbound (project entry, VM entry, nested
//! prefixes, VM beating project at equal length, defaults, internal, not handled)
//! and inbound (DNAT, unassigned public address) packets on the examples; the JSON
//! keys docs/semantics.md §7 promises; exit codes and suggestions for bad input. That trace
//! predicts what the kernel does is shown by tests/e2e.rs.

mod common;

use std::process::Output;

use common::{describe, switchyard};
use switchyard::diagnostic::Source;
use switchyard::trace::{Action, TraceError, Tracer};

/// (example, --from, --to, snapshot name).
const CASES: &[(&str, &str, &str, &str)] = &[
    ("two-isps", "web-1", "100.65.3.4", "project-entry"),
    ("two-isps", "web-1", "100.66.3.4", "vm-entry"),
    ("two-isps", "10.0.0.6", "100.65.3.4", "by-private-address"),
    ("two-isps", "web-2", "9.9.9.9", "project-default"),
    ("two-isps", "web-1", "10.0.0.6", "internal"),
    ("two-isps", "100.66.0.1", "198.51.100.7", "inbound"),
    (
        "two-isps",
        "100.66.0.1",
        "198.51.100.99",
        "inbound-unassigned",
    ),
    ("multi-host", "web-1", "100.65.1.9", "nested-longest"),
    ("multi-host", "web-1", "100.65.200.1", "nested-middle"),
    ("multi-host", "web-1", "100.70.0.1", "nested-outer"),
    ("multi-host", "web-2", "100.64.5.5", "vm-beats-project"),
    ("multi-host", "web-2", "9.9.9.9", "vm-default-address"),
    ("multi-host", "api-1", "9.9.9.9", "vm-default-pool"),
    ("multi-host", "ci-runner", "9.9.9.9", "not-handled"),
    (
        "multi-host",
        "ci-runner",
        "10.10.0.11",
        "internal-other-project",
    ),
    (
        "multi-host",
        "100.64.0.1",
        "192.0.2.140",
        "inbound-other-host",
    ),
    (
        "multi-host",
        "100.64.0.1",
        "192.0.2.67",
        "inbound-unassigned",
    ),
];

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
    for &(example, from, to, name) in CASES {
        let args = ["--from", from, "--to", to];
        let human = stdout_of(&trace(example, &args));
        let json = stdout_of(&trace(
            example,
            &[&args[..], &["--format", "json"]].concat(),
        ));

        // The JSON is one object with every key docs/semantics.md §7 names, and says what the
        // library says.
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        for key in [
            "vm",
            "host",
            "destination",
            "action",
            "public_address",
            "pool",
            "uplink",
            "interface",
            "table",
            "mark",
            "decided_by",
        ] {
            assert!(
                value.get(key).is_some(),
                "{example} {from} → {to}: no `{key}`"
            );
        }
        let source =
            common::example_source(std::path::Path::new(&format!("examples/{example}.toml")));
        let tracer = Tracer::new(&source).unwrap_or_else(|_| panic!("{example} is valid"));
        let expected = tracer
            .trace(from, to.parse().expect("address"), &[])
            .expect("traces");
        assert_eq!(json, expected.to_json());
        assert_eq!(human, expected.to_human());

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

#[test]
fn unknown_vm_is_a_usage_error_with_a_suggestion() {
    let output = trace("two-isps", &["--from", "web1", "--to", "9.9.9.9"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no VM named `web1`") && stderr.contains("did you mean `web-1`?"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn address_that_is_neither_a_vm_nor_public_is_a_usage_error() {
    let output = trace("two-isps", &["--from", "192.0.2.77", "--to", "9.9.9.9"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("e.g. `--from web-1`"), "{stderr}");

    let output = trace("two-isps", &["--from", "198.51.100.7", "--to", "9.9.9.9"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("use `--from web-1`"), "{stderr}");
}

#[test]
fn destination_must_be_an_address() {
    let output = trace("two-isps", &["--from", "web-1", "--to", "example.com"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(output.stdout.is_empty());
}

#[test]
fn invalid_topology_reports_diagnostics_and_exits_1() {
    let output = switchyard()
        .current_dir(common::root())
        .args([
            "trace",
            "examples/invalid/SY0101-unknown-uplink.toml",
            "--from",
            "a",
            "--to",
            "9.9.9.9",
        ])
        .output()
        .expect("switchyard runs");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("SY0101"));
    assert!(output.stdout.is_empty());
}

/// A topology whose two hosts each have a VM at 10.0.0.5.
const SAME_PRIVATE_ADDRESS: &str = r#"
version = 1
[uplinks.isp-a]
id = 1
[pools.pool-a]
uplink = "isp-a"
prefix = "198.51.100.0/24"
[hosts.net1]
lan = ["lan0"]
[hosts.net1.uplinks.isp-a]
interface = "up-a"
address = "192.0.2.2/30"
gateway = "192.0.2.1"
[hosts.net2]
lan = ["lan0"]
[hosts.net2.uplinks.isp-a]
interface = "up-a"
address = "192.0.2.6/30"
gateway = "192.0.2.5"
[projects.p]
pools = ["pool-a"]
addresses = ["198.51.100.7", "198.51.100.8"]
default = "pool-a"
[vms.one]
project = "p"
host = "net1"
address = "10.0.0.5"
public = ["198.51.100.7"]
[vms.two]
project = "p"
host = "net2"
address = "10.0.0.5"
public = ["198.51.100.8"]
"#;

#[test]
fn a_private_address_on_two_hosts_is_ambiguous() {
    let source = Source::new("same.toml", SAME_PRIVATE_ADDRESS);
    let tracer = Tracer::new(&source).unwrap_or_else(|d| panic!("valid: {d:?}"));
    let error = tracer
        .trace("10.0.0.5", "9.9.9.9".parse().unwrap(), &[])
        .expect_err("ambiguous");
    assert!(matches!(error, TraceError::AmbiguousAddress { .. }));
    assert_eq!(
        error.to_string(),
        "10.0.0.5 is the private address of one on net1 and two on net2: name the VM instead"
    );
    // By name, each VM leaves from its own host with its own address.
    for (vm, host, public) in [
        ("one", "net1", "198.51.100.7"),
        ("two", "net2", "198.51.100.8"),
    ] {
        let trace = tracer.trace(vm, "9.9.9.9".parse().unwrap(), &[]).unwrap();
        assert_eq!(trace.action, Action::Snat);
        assert_eq!(trace.host.as_deref(), Some(host));
        assert_eq!(trace.public_address, Some(public.parse().unwrap()));
    }
}
