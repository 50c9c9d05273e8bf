//! `switchyard::graph::to_dot` on the shipped examples.

use std::process::{Command, Stdio};

use switchyard::diagnostic::Source;
use switchyard::graph::{escape, to_dot};
use switchyard::model::{HostId, Model};

fn model(path: &str) -> Model {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("example readable");
    model_of(&text)
}

fn model_of(text: &str) -> Model {
    match switchyard::validate(&Source::new("topology.toml", text)) {
        Ok(validated) => validated.model,
        Err(diagnostics) => panic!("invalid topology: {diagnostics:?}"),
    }
}

fn host(model: &Model, name: &str) -> HostId {
    HostId(
        model
            .hosts
            .iter()
            .position(|h| h.name.value == name)
            .expect("host exists"),
    )
}

fn assert_contains(dot: &str, expected: &[&str]) {
    for line in expected {
        assert!(dot.contains(line), "missing {line}\n--- DOT ---\n{dot}");
    }
}

#[test]
fn two_isps_has_every_node_and_edge() {
    let model = model("examples/two-isps.toml");
    let dot = to_dot(&model, None);
    if std::env::var_os("SWITCHYARD_PRINT_DOT").is_some() {
        println!("{dot}");
    }
    assert!(dot.starts_with("digraph \"switchyard\" {\n"));
    assert!(dot.ends_with("}\n"));
    assert_contains(
        &dot,
        &[
            // Nodes, one shape per kind.
            "\"host:net1\" [label=\"net1\\nlan: lan0\", shape=box3d",
            "\"uplink:isp-a\" [label=\"isp-a\\nid 1, table 101\\nTransit A\", shape=cds",
            "\"uplink:isp-b\" [label=\"isp-b\\nid 2, table 102\", shape=cds",
            "\"pool:pool-a\" [label=\"pool-a\\n198.51.100.0/24\", shape=cylinder",
            "\"pool:pool-b\" [label=\"pool-b\\n203.0.113.0/24\", shape=cylinder",
            "\"project:acme\" [label=\"acme\\n10.0.0.0/24\", shape=folder",
            "\"vm:web-1\" [label=\"web-1\\n10.0.0.5\", shape=box",
            "\"vm:web-2\" [label=\"web-2\\n10.0.0.6\", shape=box",
            // Attachments, labelled with the interface.
            "\"host:net1\" -> \"uplink:isp-a\" [label=\"up-a\"",
            "\"host:net1\" -> \"uplink:isp-b\" [label=\"up-b\"",
            // Pools leave through their uplink.
            "\"uplink:isp-a\" -> \"pool:pool-a\" [label=\"via\"",
            "\"uplink:isp-b\" -> \"pool:pool-b\" [label=\"via\"",
            // The ACL.
            "\"project:acme\" -> \"pool:pool-a\" [label=\"acl\"",
            "\"project:acme\" -> \"pool:pool-b\" [label=\"acl\"",
            // Project-wide default and preference.
            "\"project:acme\" -> \"pool:pool-a\" [label=\"default\"",
            "\"project:acme\" -> \"pool:pool-b\" [label=\"100.65.0.0/16\"",
            // VMs: membership, host, public addresses.
            "\"vm:web-1\" -> \"project:acme\" [label=\"project\"",
            "\"vm:web-1\" -> \"host:net1\" [label=\"host\"",
            "\"vm:web-1\" -> \"pool:pool-a\" [label=\"198.51.100.7\"",
            "\"vm:web-1\" -> \"pool:pool-b\" [label=\"203.0.113.9\"",
            "\"vm:web-2\" -> \"pool:pool-a\" [label=\"198.51.100.8\"",
            "\"vm:web-2\" -> \"pool:pool-b\" [label=\"203.0.113.10\"",
            // A VM preference given by address resolves to the address's pool; a
            // `to` list gives one edge per prefix.
            "\"vm:web-1\" -> \"pool:pool-b\" [label=\"100.66.0.0/16\"",
            "\"vm:web-1\" -> \"pool:pool-b\" [label=\"100.67.0.0/16\"",
        ],
    );
    // 1 host, 2 uplinks, 2 pools, 1 project, 2 VMs; web-2 has no egress edges.
    assert_eq!(
        dot.matches(" [label=").count() - dot.matches(" -> ").count(),
        8
    );
    assert!(!dot.contains("\"vm:web-2\" -> \"pool:pool-b\" [label=\"100."));
}

#[test]
fn output_is_deterministic() {
    let model = model("examples/two-isps.toml");
    assert_eq!(to_dot(&model, None), to_dot(&model, None));
    let again = self::model("examples/two-isps.toml");
    assert_eq!(to_dot(&model, None), to_dot(&again, None));
    let multi = self::model("examples/multi-host.toml");
    let net2 = host(&multi, "net2");
    assert_eq!(to_dot(&multi, Some(net2)), to_dot(&multi, Some(net2)));
}

#[test]
fn reordering_the_file_changes_nothing() {
    let text = std::fs::read_to_string(format!(
        "{}/examples/two-isps.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    // Swap the two pools' tables and the ACL order.
    let pool_a = "[pools.pool-a]\nuplink = \"isp-a\"\nprefix = \"198.51.100.0/24\"\n";
    let pool_b = "[pools.pool-b]\nuplink = \"isp-b\"\nprefix = \"203.0.113.0/24\"\n";
    assert!(
        text.contains(pool_a) && text.contains(pool_b),
        "two-isps.toml changed shape"
    );
    let reordered = text
        .replacen(pool_a, "@A@", 1)
        .replacen(pool_b, pool_a, 1)
        .replacen("@A@", pool_b, 1)
        .replacen(
            "pools = [\"pool-a\", \"pool-b\"]",
            "pools = [\"pool-b\", \"pool-a\"]",
            1,
        );
    assert_ne!(reordered, text);
    assert_eq!(
        to_dot(&model_of(&text), None),
        to_dot(&model_of(&reordered), None)
    );
}

#[test]
fn one_host_shows_only_what_it_touches() {
    let model = model("examples/multi-host.toml");
    let dot = to_dot(&model, Some(host(&model, "net2")));
    assert!(dot.starts_with("digraph \"switchyard: host net2\" {\n"));
    assert_contains(
        &dot,
        &[
            "\"host:net2\" -> \"uplink:isp-a\" [label=\"up-a\"",
            "\"host:net2\" -> \"uplink:isp-b\" [label=\"up-b\"",
            "\"vm:web-2\" -> \"host:net2\"",
            "\"vm:ledger-1\" -> \"pool:pool-d\" [label=\"192.0.2.66\"",
            "\"vm:ci-runner\" -> \"project:initech\"",
            // web-2 overrides acme's 100.64.0.0/12 at equal length.
            "\"vm:web-2\" -> \"pool:pool-a\" [label=\"100.64.0.0/12\"",
            "\"project:acme\" -> \"pool:pool-b\" [label=\"100.64.0.0/12\"",
            "\"project:initech\" -> \"pool:pool-d\" [label=\"acl, quota 1\"",
        ],
    );
    for absent in [
        "host:net1\"",
        "host:net3\"",
        "uplink:isp-c\"",
        "pool:pool-c\"",
        "vm:web-1\"",
        "vm:api-1\"",
        "project:globex\"",
    ] {
        assert!(!dot.contains(absent), "{absent} is not on net2\n{dot}");
    }
}

#[test]
fn multi_host_vlan_and_nested_prefixes() {
    let model = model("examples/multi-host.toml");
    let dot = to_dot(&model, None);
    assert_contains(
        &dot,
        &[
            "\"host:net1\" -> \"uplink:isp-c\" [label=\"eth1.100 (VLAN 100 on eth1)\"",
            "\"project:acme\" -> \"pool:pool-b\" [label=\"100.64.0.0/12\"",
            "\"vm:web-1\" -> \"pool:pool-c\" [label=\"100.65.0.0/16\"",
            "\"vm:web-1\" -> \"pool:pool-a\" [label=\"100.65.1.0/24\"",
            "\"project:acme\" -> \"pool:pool-a\" [label=\"acl, quota 4\"",
            "\"vm:api-1\" -> \"pool:pool-c\" [label=\"default\"",
        ],
    );
    // globex is denied pool-a: no ACL edge.
    assert!(!dot.contains("\"project:globex\" -> \"pool:pool-a\""));
}

/// two-isps with a description full of characters DOT must escape.
fn escaped_labels_topology() -> Model {
    let text = std::fs::read_to_string(format!(
        "{}/examples/two-isps.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace(
        "description = \"Transit A\"",
        r#"description = "Transit \"A\" \\ backslash""#,
    );
    model_of(&text)
}

#[test]
fn labels_are_escaped() {
    assert_eq!(escape(r#"a "b" \c"#), r#"a \"b\" \\c"#);
    assert_eq!(escape("one\ntwo\u{7}"), "one\\ntwo");
    let dot = to_dot(&escaped_labels_topology(), None);
    assert!(
        dot.contains(r#"label="isp-a\nid 1, table 101\nTransit \"A\" \\ backslash""#),
        "{dot}"
    );
}

#[test]
#[ignore = "needs graphviz (dot): sudo bash .ci/run"]
fn graphviz_parses_the_output() {
    let two = model("examples/two-isps.toml");
    let multi = model("examples/multi-host.toml");
    let mut graphs = vec![
        to_dot(&two, None),
        to_dot(&multi, None),
        to_dot(&escaped_labels_topology(), None),
    ];
    graphs.extend((0..multi.hosts.len()).map(|h| to_dot(&multi, Some(HostId(h)))));
    for dot in graphs {
        let svg = run_dot(&dot).unwrap_or_else(|e| panic!("{e}\n{dot}"));
        assert!(svg.contains("<svg"), "dot printed no SVG");
    }
}

/// Runs `dot -Tsvg` on the text.
fn run_dot(dot: &str) -> Result<String, String> {
    use std::io::Write;
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `dot` (apt-get install graphviz): {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let text = dot.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let output = child.wait_with_output().expect("dot ran");
    writer
        .join()
        .expect("writer thread")
        .expect("dot read its input");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Font warnings are the machine's business; syntax warnings are ours.
    if output.status.success() && !stderr.contains("syntax") {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!("dot -Tsvg failed ({}): {}", output.status, stderr))
    }
}
