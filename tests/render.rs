//! Every valid example × every artifact is pinned by an insta snapshot in the
//! top-level `snapshots/` (`artifact__EXAMPLE__HOST__FILE.snap`, plus
//! `artifact__EXAMPLE__manifest.json.snap`), and the output is deterministic: the
//! same bytes on every run and whatever the order of the TOML's tables and keys.
//!
//! The examples are found by listing `examples/*.toml`, so a new example gets its
//! snapshots without editing this file. Review changed snapshots with
//! `cargo insta review`.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use switchyard::diagnostic::Source;

/// The snapshot name of one output file: `two-isps` + `net1/switchyard.nft` →
/// `artifact__two-isps__net1__switchyard.nft`.
fn snapshot_name(example: &Path, file: &str) -> String {
    format!(
        "artifact__{}__{}",
        common::stem(example),
        file.replace('/', "__")
    )
}

#[test]
fn every_artifact_of_every_example_matches_its_snapshot() {
    for example in common::valid_examples() {
        let source = common::example_source(&example);
        let build = common::build_source(&source);
        assert!(
            !build.artifacts.is_empty(),
            "{}: no artifacts",
            example.display()
        );
        for (path, content) in build.files() {
            insta::with_settings!({
                snapshot_path => "../snapshots",
                prepend_module_to_snapshot => false,
                omit_expression => true,
                description => format!("switchyard build {} → {path}", example.display()),
            }, {
                insta::assert_snapshot!(snapshot_name(&example, path), content);
            });
        }
    }
}

/// A snapshot whose artifact is no longer generated (a removed example, host or
/// uplink) fails here instead of lingering unreviewed.
#[test]
fn no_stale_artifact_snapshots() {
    let expected: BTreeSet<String> = common::valid_examples()
        .iter()
        .flat_map(|example| {
            let build = common::build_source(&common::example_source(example));
            build
                .files()
                .into_iter()
                .map(|(path, _)| format!("{}.snap", snapshot_name(example, path)))
                .collect::<Vec<_>>()
        })
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(common::repo_path("snapshots"))
        .expect("snapshots/ exists")
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| name.into_string().expect("UTF-8 snapshot name"))
        .filter(|name| name.starts_with("artifact__") && name.ends_with(".snap"))
        .collect();
    let stale: Vec<&String> = present.difference(&expected).collect();
    assert!(
        stale.is_empty(),
        "snapshots of artifacts no longer generated (delete them): {stale:?}"
    );
}

/// A build-wide invariant: every artifact has a path of its own, so none replaces
/// another on disk and the manifest lists each file once.
#[test]
fn no_two_artifacts_of_a_build_share_a_path() {
    for example in common::valid_examples() {
        let build = common::build_source(&common::example_source(&example));
        let mut paths: Vec<&str> = build.artifacts.iter().map(|a| a.path.as_str()).collect();
        paths.sort_unstable();
        let shared: BTreeSet<&str> = paths
            .windows(2)
            .filter(|pair| pair[0] == pair[1])
            .map(|pair| pair[0])
            .collect();
        assert!(
            shared.is_empty(),
            "{}: paths of more than one artifact: {shared:?}",
            example.display()
        );
    }
}

/// Every file of a build, as owned (path, content) pairs.
fn files(source: &Source) -> Vec<(String, String)> {
    common::build_source(source)
        .files()
        .into_iter()
        .map(|(path, content)| (path.to_owned(), content.to_owned()))
        .collect()
}

#[test]
fn building_twice_gives_identical_bytes() {
    for example in common::valid_examples() {
        let source = common::example_source(&example);
        let first = files(&source);
        let second = files(&common::example_source(&example));
        assert_eq!(first, second, "{}: two builds differ", example.display());
    }
}

/// How the reordered copy is written.
#[derive(Clone, Copy)]
enum Order {
    /// Every table's keys, and so every `[table]` section, in the opposite order
    /// (arrays keep theirs).
    ReversedKeys,
    /// As `ReversedKeys`, and every array reversed too: lists of names,
    /// addresses, prefixes and egress entries are sets as far as the output goes
    /// (but for `via` and `default` lists, which are in order of preference).
    ReversedKeysAndArrays,
}

/// The order for the value of key `name`: a preference list keeps its own, and
/// so do lists in members' order and `lan`, whose first interface carries a
/// pair's `lan_addresses`.
fn order_of(name: &str, order: Order) -> Order {
    match name {
        "via" | "default" | "members" | "sync_addresses" | "member_addresses" | "lan" => {
            Order::ReversedKeys
        }
        _ => order,
    }
}

/// A TOML key, quoted unless bare.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        name.to_owned()
    } else {
        toml::Value::String(name.to_owned()).to_string()
    }
}

fn value(v: &toml::Value, order: Order) -> String {
    match v {
        toml::Value::Array(items) => {
            let mut items: Vec<String> = items.iter().map(|item| value(item, order)).collect();
            if matches!(order, Order::ReversedKeysAndArrays) {
                items.reverse();
            }
            format!("[{}]", items.join(", "))
        }
        toml::Value::Table(table) => {
            let pairs: Vec<String> = table
                .iter()
                .rev()
                .map(|(k, v)| format!("{} = {}", key(k), value(v, order_of(k, order))))
                .collect();
            format!("{{ {} }}", pairs.join(", "))
        }
        scalar => scalar.to_string(),
    }
}

/// Writes `table` as `[path]` followed by its plain values, then its sub-tables as
/// their own sections, everything in reverse key order.
fn write_table(table: &toml::Table, path: &[String], order: Order, out: &mut String) {
    if !path.is_empty() {
        let header: Vec<String> = path.iter().map(|k| key(k)).collect();
        writeln!(out, "\n[{}]", header.join(".")).expect("write to String");
    }
    for (k, v) in table.iter().rev().filter(|(_, v)| !v.is_table()) {
        writeln!(out, "{} = {}", key(k), value(v, order_of(k, order))).expect("write to String");
    }
    for (k, v) in table.iter().rev() {
        if let toml::Value::Table(sub) = v {
            let mut sub_path = path.to_vec();
            sub_path.push(k.clone());
            write_table(sub, &sub_path, order, out);
        }
    }
}

fn reordered(text: &str, order: Order) -> String {
    let table: toml::Table = text.parse().expect("example parses");
    let mut out = String::new();
    write_table(&table, &[], order, &mut out);
    out
}

fn section_headers(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|line| line.starts_with('['))
}

/// The `[section]` header lines of `text` that `other` also has, in `text`'s order.
fn shared_sections<'t>(text: &'t str, other: &str) -> Vec<&'t str> {
    let other: Vec<&str> = section_headers(other).collect();
    section_headers(text)
        .filter(|line| other.contains(line))
        .collect()
}

#[test]
fn reordering_tables_and_keys_changes_no_byte_but_the_source_hash() {
    for example in common::valid_examples() {
        let original = common::example_source(&example);
        for order in [Order::ReversedKeys, Order::ReversedKeysAndArrays] {
            let text = reordered(&original.text, order);
            assert_ne!(
                shared_sections(&text, &original.text),
                shared_sections(&original.text, &text),
                "{}: the copy keeps the original's section order, so it tests nothing",
                example.display()
            );
            if matches!(order, Order::ReversedKeys) {
                // The same document, only written in another order.
                assert_eq!(
                    text.parse::<toml::Table>().expect("reordered copy parses"),
                    original
                        .text
                        .parse::<toml::Table>()
                        .expect("example parses"),
                    "{}: the reordered copy is not the same document:\n{text}",
                    example.display()
                );
            }
            // Same source name: it appears in every header. The source's hash
            // differs (other bytes); nothing else may.
            let expected = common::artifacts_without_source_hash(&common::build_source(&original));
            let actual = common::artifacts_without_source_hash(&common::build_source(
                &Source::new(original.name.clone(), text.clone()),
            ));
            let paths = |files: &[(String, String)]| -> Vec<String> {
                files.iter().map(|(path, _)| path.clone()).collect()
            };
            assert_eq!(paths(&expected), paths(&actual), "{}", example.display());
            let diffs: String = expected
                .iter()
                .zip(&actual)
                .filter(|((_, want), (_, got))| want != got)
                .map(|((path, want), (_, got))| {
                    similar::TextDiff::from_lines(want, got)
                        .unified_diff()
                        .header(&format!("original/{path}"), &format!("reordered/{path}"))
                        .to_string()
                })
                .collect();
            assert!(
                diffs.is_empty(),
                "{}: the output changes when the topology is written as:\n{text}\n{diffs}",
                example.display()
            );
        }
    }
}

/// The typed model and the script are one table: reading each example's
/// rendered script back (`Table::parse`, what `build --since` does with an
/// earlier build) gives the sets and elements the renderer built it from.
#[test]
fn every_script_reads_back_into_the_model_it_was_rendered_from() {
    use switchyard::model::Member;
    use switchyard::nft_table::{BUILD_SET, Table};
    for example in common::valid_examples() {
        let source = common::example_source(&example);
        let build = common::build_source(&source);
        let (model, plan, _) = switchyard::validate(&source)
            .expect("a valid example")
            .into_parts();
        // A pair's members both get their host's script.
        let scripts = plan.hosts.iter().flat_map(|host| {
            let machines: Vec<String> = match &host.ha {
                None => vec![host.name.to_string()],
                Some(_) => (Member::BOTH.iter())
                    .filter_map(|member| Some(host.for_member(*member)?.name.to_string()))
                    .collect(),
            };
            machines
                .into_iter()
                .map(move |machine| (host, format!("{machine}/switchyard.nft")))
        });
        for (host, path) in scripts {
            let artifact = build.artifacts.iter().find(|a| a.path == path);
            let script = &artifact.unwrap_or_else(|| panic!("no {path}")).content;
            let what = format!("{}: {path}", example.display());
            let mut parsed = Table::parse(script).unwrap_or_else(|e| panic!("{what}: {e}"));
            let mut built = switchyard::render::nft_model(&model, host);
            let id = parsed.build_id().expect("a build id");
            assert!(script.contains(&format!("\"{id}\"")), "{what}");
            assert!(
                !parsed.chains.is_empty() && !parsed.counters.is_empty(),
                "{what}"
            );
            parsed.sets.remove(BUILD_SET);
            built.sets.remove(BUILD_SET);
            assert_eq!(parsed.sets, built.sets, "{what}");
        }
    }
}
