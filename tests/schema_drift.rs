//! The checked-in JSON schema is exactly what the `raw` types generate, and every
//! example points editors at it.

use std::path::Path;

const REGENERATE: &str = "cargo run -- schema > schema/topology.schema.json";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn checked_in_schema_matches_the_types() {
    let path = root().join("schema/topology.schema.json");
    let on_disk = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `{REGENERATE}`", path.display()));
    let generated = switchyard::schema::topology_schema();
    if on_disk != generated {
        let diff = similar::TextDiff::from_lines(&on_disk, &generated)
            .unified_diff()
            .context_radius(2)
            .header("schema/topology.schema.json", "generated")
            .to_string();
        panic!(
            "schema/topology.schema.json is out of date with src/raw.rs; run `{REGENERATE}`\n\n{diff}"
        );
    }
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

fn toml_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
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
