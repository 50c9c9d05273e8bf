//! The checked-in JSON schemas are exactly what the types generate, the JSON that
//! `check` and `trace` print follows its schema, and every example points editors
//! at the topology's.

mod common;

use std::path::Path;

use switchyard::diagnostic::Source;
use switchyard::trace::Fate;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A checked-in schema, what generates it, and the `switchyard schema` flag that
/// prints it.
struct CheckedIn {
    file: &'static str,
    generate: fn() -> String,
    flag: &'static str,
}

/// The manifest's is kept by tests/multi_host.rs.
const SCHEMAS: &[CheckedIn] = &[
    CheckedIn {
        file: "schema/topology.schema.json",
        generate: switchyard::schema::topology_schema,
        flag: "",
    },
    CheckedIn {
        file: "schema/check-output.schema.json",
        generate: switchyard::schema::check_output_schema,
        flag: " --check-output",
    },
    CheckedIn {
        file: "schema/trace-output.schema.json",
        generate: switchyard::schema::trace_output_schema,
        flag: " --trace-output",
    },
    CheckedIn {
        file: "schema/changes-output.schema.json",
        generate: switchyard::schema::changes_output_schema,
        flag: " --changes-output",
    },
];

#[test]
fn checked_in_schemas_match_the_types() {
    for CheckedIn {
        file,
        generate,
        flag,
    } in SCHEMAS
    {
        let regenerate = format!("cargo run -- schema{flag} > {file}");
        let path = root().join(file);
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `{regenerate}`", path.display()));
        let generated = generate();
        if on_disk != generated {
            let diff = similar::TextDiff::from_lines(&on_disk, &generated)
                .unified_diff()
                .context_radius(2)
                .header(file, "generated")
                .to_string();
            panic!("{file} is out of date with the types; run `{regenerate}`\n\n{diff}");
        }
    }
}

fn validator(generate: fn() -> String) -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&generate()).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON schema")
}

fn assert_valid(validator: &jsonschema::Validator, json: &str, what: &str) {
    let value: serde_json::Value = serde_json::from_str(json).expect("output is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?}\n{json}");
}

#[test]
fn check_output_follows_its_schema() {
    let validator = validator(switchyard::schema::check_output_schema);
    for path in toml_files("examples/invalid") {
        let source = Source::new(
            path.display().to_string(),
            std::fs::read_to_string(&path).expect("readable"),
        );
        let diagnostics = match switchyard::validate(&source) {
            Ok(validated) => validated.warnings().to_vec(),
            Err(diagnostics) => diagnostics,
        };
        assert!(!diagnostics.is_empty(), "{}", path.display());
        let json = switchyard::diagnostic::render_json(&source, &diagnostics);
        assert_valid(&validator, &json, &path.display().to_string());
    }
}

#[test]
fn trace_output_follows_its_schema() {
    let validator = validator(switchyard::schema::trace_output_schema);
    let traces = |example: &str, pairs: &[(&str, &str)]| {
        let source = common::example_source(Path::new(example));
        let tracer = switchyard::trace::Tracer::new(&source).expect("valid example");
        for (from, to) in pairs {
            let trace = tracer
                .trace(from, to.parse().expect("address"), &[])
                .expect("traced");
            assert_valid(&validator, &trace.to_json(), &format!("{from} → {to}"));
        }
    };
    // Outbound by an entry, internal, inbound, and inbound to no VM.
    traces(
        "examples/two-isps.toml",
        &[
            ("web-1", "100.65.3.4"),
            ("web-1", "10.0.0.9"),
            ("100.66.0.1", "198.51.100.7"),
            ("100.66.0.1", "198.51.100.200"),
        ],
    );
    // IPv6: outbound by an entry, hairpin, inbound, and inbound to no VM.
    traces(
        "examples/dual-stack.toml",
        &[
            ("web-1", "2001:db8:100::1"),
            ("web-1", "2001:db8:a::8"),
            ("2001:db8:ffff::1", "2001:db8:a::7"),
            ("2001:db8:ffff::1", "2001:db8:a::99"),
        ],
    );
    // With failover: the candidates, one of them taken as down.
    let path = root().join("examples/failover.toml");
    let source = Source::new(
        "failover.toml",
        std::fs::read_to_string(path).expect("readable"),
    );
    let tracer = switchyard::trace::Tracer::new(&source).expect("valid example");
    let trace = tracer
        .trace(
            "web-1",
            "9.9.9.9".parse().expect("address"),
            &["isp-a".to_owned()],
        )
        .expect("traced");
    assert!(
        matches!(&trace.fate, Fate::Snat { decision, .. } if !decision.candidates.is_empty()),
        "{trace:?}"
    );
    assert_valid(&validator, &trace.to_json(), "failover web-1 → 9.9.9.9");
}

#[test]
fn changes_output_follows_its_schema() {
    let validator = validator(switchyard::schema::changes_output_schema);
    let source = |relative: &str| common::example_source(Path::new(relative));
    let two_isps = source("examples/two-isps.toml");
    let next = source("tests/fixtures/two-isps-next.toml");
    let failover = source("examples/failover.toml");
    let multi_host = source("examples/multi-host.toml");
    let dual_stack_before = source("tests/fixtures/dual-stack-before.toml");
    let dual_stack = source("examples/dual-stack.toml");
    // Every kind of change (settings, VMs added, MAC, ranges, inbound), in
    // both families, a host added and removed (another topology), and none.
    for (old, new) in [
        (&two_isps, &next),
        (&next, &two_isps),
        (&dual_stack_before, &dual_stack),
        (&dual_stack, &dual_stack_before),
        (&two_isps, &failover),
        (&two_isps, &multi_host),
        (&failover, &failover),
    ] {
        let changes = common::changes(old, new);
        let json = changes.to_json(&old.name, &new.name);
        assert_valid(&validator, &json, &format!("{} → {}", old.name, new.name));
    }
}

#[test]
fn generated_schema_is_json_describing_the_top_level_keys() {
    let schema: serde_json::Value =
        serde_json::from_str(&switchyard::schema::topology_schema()).expect("schema is JSON");
    for key in [
        "version", "uplinks", "pools", "hosts", "projects", "vms", "failover",
    ] {
        assert!(
            schema["properties"].get(key).is_some(),
            "schema lacks top-level property `{key}`"
        );
    }
}

/// The `*.toml` files of `dir`, by absolute path.
fn toml_files(dir: &str) -> Vec<std::path::PathBuf> {
    common::toml_files_in(dir)
        .into_iter()
        .map(|path| common::repo_path(path.to_str().expect("UTF-8 path")))
        .collect()
}

#[test]
fn every_example_starts_with_a_schema_line() {
    let expectations = [
        ("examples", "#:schema ../schema/topology.schema.json"),
        (
            "examples/invalid",
            "#:schema ../../schema/topology.schema.json",
        ),
    ];
    let mut seen = 0;
    for (dir, line) in expectations {
        for path in toml_files(dir) {
            seen += 1;
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            assert_eq!(
                text.lines().next(),
                Some(line),
                "{} must start with `{line}` so editors validate it",
                path.display()
            );
            // The relative path really leads to the schema.
            let schema = path
                .parent()
                .expect("parent directory")
                .join(line.trim_start_matches("#:schema "));
            assert!(schema.is_file(), "{} does not exist", schema.display());
        }
    }
    assert!(seen > 1, "no examples found");
}
