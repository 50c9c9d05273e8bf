//! `switchyard::graph::to_dot` on the shipped examples.

mod common;

use std::process::Command;

use switchyard::diagnostic::Source;
use switchyard::graph::{escape, to_dot};
use switchyard::model::CheckedModel;
use switchyard::model::{HostId, Model};

fn model(path: &str) -> CheckedModel {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("example readable");
    model_of(&text)
}

fn model_of(text: &str) -> CheckedModel {
    match switchyard::validate(&Source::new("topology.toml", text)) {
        Ok(validated) => validated.into_parts().0,
        Err(diagnostics) => panic!("invalid topology: {diagnostics:?}"),
    }
}

fn host(model: &Model, name: &str) -> HostId {
    model.host_named(name).expect("host exists")
}

/// Every valid example as DOT, whole and per host, pinned as reviewed snapshots
/// (`snapshots/graph__*`): nodes with their labels and shapes, attachments, ACL,
/// defaults, preferences and public addresses, and what a host view leaves out.
#[test]
fn every_example_whole_and_per_host_matches_its_snapshot() {
    for example in common::valid_examples() {
        let model = model(example.to_str().expect("UTF-8 path"));
        let stem = common::stem(&example);
        let views = std::iter::once((stem.to_owned(), None)).chain(model.hosts.iter().map(|h| {
            (
                format!("{stem}@{}", h.name.value),
                Some(host(&model, &h.name.value)),
            )
        }));
        for (name, only) in views {
            insta::with_settings!({
                snapshot_path => "../snapshots",
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(format!("graph__{name}"), to_dot(&model, only));
            });
        }
    }
}

/// examples/dual-stack.toml: both families' prefixes and addresses in the
/// node details (pools, projects, VMs) and on the edges (public addresses,
/// egress prefixes), IPv4 first; its snapshots are `graph__dual-stack*`.
#[test]
fn both_families_appear_in_nodes_and_edges() {
    let model = model("examples/dual-stack.toml");
    let dot = to_dot(&model, None);
    for expected in [
        r#""pool:pool-a" [label="pool-a\n198.51.100.0/24, 2001:db8:a::/48""#,
        r#""project:acme" [label="acme\n10.0.0.0/24, 2001:db8:10::/64""#,
        r#""vm:web-1" [label="web-1\n10.0.0.5, 2001:db8:10::5""#,
        r#""vm:web-2" [label="web-2\n10.0.0.6, 2001:db8:10::6""#,
        r#""vm:web-1" -> "pool:pool-a" [label="198.51.100.7""#,
        r#""vm:web-1" -> "pool:pool-a" [label="2001:db8:a::7""#,
        r#""vm:web-1" -> "pool:pool-b" [label="2001:db8:b::9""#,
        r#""project:acme" -> "pool:pool-b" [label="100.65.0.0/16""#,
        r#""project:acme" -> "pool:pool-b" [label="2001:db8:100::/40""#,
        r#""vm:web-1" -> "pool:pool-b" [label="2001:db8:200::/48""#,
    ] {
        assert!(dot.contains(expected), "{expected}\n{dot}");
    }
    // The host's view holds the same.
    let net1 = host(&model, "net1");
    assert_eq!(
        to_dot(&model, Some(net1))
            .lines()
            .skip(1)
            .collect::<Vec<_>>(),
        dot.lines().skip(1).collect::<Vec<_>>()
    );
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

/// A VM's default is drawn per family when its families prefer different
/// pools: an address in `default` names its own family only.
#[test]
fn a_vm_default_is_drawn_per_family_where_they_differ() {
    let text = std::fs::read_to_string(common::repo_path("examples/dual-stack.toml")).unwrap();
    let with_default = |default: &str| {
        let text = common::splice(
            &text,
            &[(
                "mac = \"52:54:00:12:34:56\"",
                &format!("default = {default}\nmac = \"52:54:00:12:34:56\""),
            )],
        );
        to_dot(&model_of(&text), None)
    };
    let edge = |pool: &str, label: &str| {
        format!(
            r#""vm:web-1" -> "pool:{pool}" [label="{label}", color=blue, fontcolor=blue, style=bold];"#
        )
    };
    for default in [
        r#"["203.0.113.9", "2001:db8:a::7"]"#,
        r#"["203.0.113.9", "pool-a"]"#,
    ] {
        let dot = with_default(default);
        assert!(
            dot.contains(&edge("pool-b", "default (IPv4)"))
                && dot.contains(&edge("pool-a", "default (IPv6)")),
            "{default}\n{dot}"
        );
    }
    for default in [r#""pool-b""#, r#"["2001:db8:b::9", "203.0.113.9"]"#] {
        let dot = with_default(default);
        assert!(dot.contains(&edge("pool-b", "default")), "{default}\n{dot}");
        assert!(!dot.contains("default (IPv"), "{default}\n{dot}");
    }
}

/// A list of both families means the same in either order.
#[test]
fn the_order_of_the_families_in_a_list_changes_nothing() {
    let text = std::fs::read_to_string(common::repo_path("examples/dual-stack.toml")).unwrap();
    assert_eq!(
        to_dot(&model_of(&text), None),
        to_dot(&model_of(&common::dual_stack_families_swapped()), None)
    );
}

/// two-isps with a description full of characters DOT must escape.
fn escaped_labels_topology() -> CheckedModel {
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
    let dual_stack = model("examples/dual-stack.toml");
    let mut graphs = vec![
        to_dot(&two, None),
        to_dot(&dual_stack, None),
        to_dot(&multi, None),
        to_dot(&escaped_labels_topology(), None),
    ];
    graphs.extend(
        multi
            .hosts
            .iter()
            .map(|h| to_dot(&multi, Some(host(&multi, &h.name.value)))),
    );
    for dot in graphs {
        let svg = run_dot(&dot).unwrap_or_else(|e| panic!("{e}\n{dot}"));
        assert!(svg.contains("<svg"), "dot printed no SVG");
    }
}

/// Runs `dot -Tsvg` on the text.
fn run_dot(dot: &str) -> Result<String, String> {
    let output = common::output_with_input(Command::new("dot").arg("-Tsvg"), dot.as_bytes());
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Font warnings are the machine's business; syntax warnings are ours.
    if output.status.success() && !stderr.contains("syntax") {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!("dot -Tsvg failed ({}): {}", output.status, stderr))
    }
}
