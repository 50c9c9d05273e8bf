//! What the topology schema (schema/topology.schema.json) catches on its own, as
//! an editor applying it through the `#:schema` line would: every valid example
//! passes it, and exactly the invalid examples listed below fail it. The others
//! need what a schema cannot express (references, overlaps, arithmetic on
//! addresses) and are left to `switchyard check`.

mod common;

use std::path::{Path, PathBuf};

/// The `*.toml` files of `dir`, by absolute path.
fn toml_files(dir: &str) -> Vec<PathBuf> {
    common::toml_files_in(dir)
        .into_iter()
        .map(|path| common::repo_path(path.to_str().expect("UTF-8 path")))
        .collect()
}

fn stem(path: &Path) -> &str {
    path.file_stem()
        .and_then(|s| s.to_str())
        .expect("UTF-8 name")
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&switchyard::schema::topology_schema()).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON schema")
}

/// The file as JSON, as an editor hands it to the schema; `None` when it is not
/// TOML at all (the editor's TOML parser reports that, not the schema).
fn as_json(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("readable");
    toml::from_str(&text).ok()
}

/// The schema's complaints about a file.
fn schema_errors(validator: &jsonschema::Validator, json: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(json)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

#[test]
fn every_valid_example_passes_the_schema() {
    let validator = validator();
    let examples = toml_files("examples");
    assert!(!examples.is_empty());
    for path in examples {
        let json = as_json(&path).expect("valid examples are TOML");
        let errors = schema_errors(&validator, &json);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

/// The invalid examples the schema alone rejects.
const REJECTED_BY_THE_SCHEMA: &[&str] = &[
    "SY0002-wrong-type",
    "SY0003-unknown-key",
    "SY0004-unsupported-version",
    "SY0010-out-of-range",
    "SY0011-bad-address",
    "SY0013-bad-name",
    "SY0014-bad-mac",
    "SY0204-too-many-pools",
    "SY0407-project-via-not-pool",
    "SY0701-bad-interface-name",
    "SY0706-unroutable-link-prefix",
    "SY0710-bad-parent-unit",
    "SY0803-ha-vrid-out-of-range",
    "SY0804-ha-list-not-two",
];

#[test]
fn the_schema_rejects_exactly_these_invalid_examples() {
    let validator = validator();
    let examples = toml_files("examples/invalid");
    let mut rejected = Vec::new();
    let mut not_toml = Vec::new();
    for path in &examples {
        match as_json(path) {
            None => not_toml.push(stem(path)),
            Some(json) if !schema_errors(&validator, &json).is_empty() => {
                rejected.push(stem(path));
            }
            Some(_) => {}
        }
    }
    assert_eq!(not_toml, ["SY0001-toml-syntax"], "only SY0001 is not TOML");
    println!(
        "the schema alone rejects {} of {} invalid examples",
        rejected.len(),
        examples.len()
    );
    assert_eq!(rejected, REJECTED_BY_THE_SCHEMA);
}

/// The codes `switchyard check` raises for a topology text.
fn codes(text: &str) -> Vec<&'static str> {
    let source = switchyard::diagnostic::Source::new("t.toml", text);
    let diagnostics = match switchyard::validate(&source) {
        Ok(validated) => validated.warnings().to_vec(),
        Err(diagnostics) => diagnostics,
    };
    diagnostics.iter().map(|d| d.code.as_str()).collect()
}

fn attachment(interface: &str, address: &str, gateway: &str) -> String {
    format!(
        "version = 1\n[uplinks.isp-a]\nid = 1\n[hosts.net1]\n\
         [hosts.net1.uplinks.isp-a]\ninterface = {interface:?}\n\
         address = {address:?}\ngateway = {gateway:?}\n"
    )
}

/// The schema's patterns never refuse what `check` accepts, nor accept what its
/// grammar refuses: names (SY0013) and interface names (SY0701) at their edges.
#[test]
fn name_and_interface_patterns_agree_with_check() {
    let validator = validator();
    let long = |n: usize| "x".repeat(n);
    for name in [
        "a",
        "web-1",
        "1a",
        "a.b_c-d",
        "-a",
        "_a",
        ".a",
        "a b",
        "a/b",
        "é",
        "",
        &long(63),
        &long(64),
    ] {
        let text = format!("version = 1\n[uplinks.{name:?}]\nid = 1\n");
        let by_schema = schema_errors(&validator, &toml::from_str(&text).expect("TOML")).is_empty();
        let by_check = !codes(&text).contains(&"SY0013");
        assert_eq!(
            by_schema, by_check,
            "name {name:?}: schema {by_schema}, check {by_check}"
        );
    }
    let topology = |interface: &str| attachment(interface, "192.0.2.2/30", "192.0.2.1");
    for interface in [
        "up-a",
        "eth0.100",
        "br@x",
        "a_b",
        "",
        "a b",
        "a/b",
        "a:b",
        "a'b",
        &long(15),
        &long(16),
    ] {
        let text = topology(interface);
        let by_schema = schema_errors(&validator, &toml::from_str(&text).expect("TOML")).is_empty();
        let by_check = !codes(&text).contains(&"SY0701");
        assert_eq!(
            by_schema, by_check,
            "interface {interface:?}: schema {by_schema}, check {by_check}"
        );
    }
}

/// The same for addresses and prefixes (SY0011), on an uplink's gateway and link
/// (whose pattern also refuses the /0 and /32 of SY0706; a bare address is a /32).
#[test]
fn address_patterns_agree_with_check() {
    let validator = validator();
    for (address, gateway) in [
        ("192.0.2.2/30", "192.0.2.1"),
        ("192.0.2.2/30", "0.0.0.0"),
        ("192.0.2.2/30", "255.255.255.255"),
        ("192.0.2.2/30", "192.0.2.01"),
        ("192.0.2.2/30", "192.0.2.256"),
        ("192.0.2.2/30", "192.0.2"),
        ("192.0.2.2/30", " 192.0.2.1"),
        ("192.0.2.2/30", "192.0.2.1/32"),
        ("192.0.2.2", "192.0.2.1"),
        ("192.0.2.2/33", "192.0.2.1"),
        ("192.0.2.2/030", "192.0.2.1"),
        ("192.0.2.2/0", "192.0.2.1"),
        ("192.0.2.2/31", "192.0.2.3"),
    ] {
        let text = attachment("up-a", address, gateway);
        let by_schema = schema_errors(&validator, &toml::from_str(&text).expect("TOML")).is_empty();
        let by_check = !codes(&text)
            .iter()
            .any(|code| ["SY0011", "SY0706"].contains(code));
        assert_eq!(
            by_schema, by_check,
            "{address} via {gateway}: schema {by_schema}, check {by_check}"
        );
    }
}

/// The same for the prefixes of a pool, a project's `networks` and an egress
/// `to` (SY0011): both accept a bare address as its /32, and both refuse what is
/// not a prefix. Host bits (SY0012) are `check`'s alone.
#[test]
fn prefix_patterns_agree_with_check_and_read_a_bare_address_as_its_32() {
    let validator = validator();
    let topology = |pool: &str, network: &str, to: &str| {
        format!(
            "version = 1\n[uplinks.isp-a]\nid = 1\n[pools.pool-a]\nuplink = \"isp-a\"\n\
             prefix = {pool:?}\n[projects.acme]\npools = [\"pool-a\"]\n\
             networks = [{network:?}]\negress = [{{ to = {to:?}, via = \"pool-a\" }}]\n"
        )
    };
    for prefix in [
        "100.64.0.0/10",
        "100.64.0.1",
        "100.64.0.1/32",
        "0.0.0.0/0",
        "100.64.0.0/33",
        "100.64.0.0/010",
        "100.64.0.256",
        "100.64.0",
        "100.64.0.0/",
        " 100.64.0.0/10",
    ] {
        for (what, text) in [
            ("prefix", topology(prefix, "10.0.0.0/24", "100.96.0.0/16")),
            (
                "networks",
                topology("198.51.100.0/24", prefix, "100.96.0.0/16"),
            ),
            ("to", topology("198.51.100.0/24", "10.0.0.0/24", prefix)),
        ] {
            let by_schema =
                schema_errors(&validator, &toml::from_str(&text).expect("TOML")).is_empty();
            let by_check = !codes(&text).contains(&"SY0011");
            assert_eq!(
                by_schema, by_check,
                "{what} = {prefix:?}: schema {by_schema}, check {by_check}"
            );
        }
    }
    // A bare address is its /32 to check, as to the schema.
    let bare = topology("198.51.100.7", "10.0.0.5", "100.64.0.1");
    let exact = topology("198.51.100.7/32", "10.0.0.5/32", "100.64.0.1/32");
    assert_eq!(codes(&bare), codes(&exact));
}
