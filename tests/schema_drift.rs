//! The checked-in JSON schema is exactly what the `raw` types generate, and every
//! example points editors at it.

mod common;

const REGENERATE: &str = "cargo run -- schema > schema/topology.schema.json";

#[test]
fn checked_in_schema_matches_the_types() {
    let generated = switchyard::schema::topology_schema();
    common::assert_checked_in("schema/topology.schema.json", &generated, REGENERATE);
}

#[test]
fn generated_schema_is_json_describing_the_top_level_keys() {
    let schema: serde_json::Value =
        serde_json::from_str(&switchyard::schema::topology_schema()).expect("schema is JSON");
    for key in ["version", "uplinks", "pools", "hosts", "projects", "vms"] {
        assert!(
            schema["properties"].get(key).is_some(),
            "schema lacks top-level property `{key}`"
        );
    }
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
        for path in common::toml_files_in(dir) {
            seen += 1;
            let text = std::fs::read_to_string(common::root().join(&path))
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
