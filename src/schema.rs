//! The JSON schemas of the topology file and of a build's manifest.json, generated
//! from the `raw` and `render::Manifest` types so the two cannot drift.
//! `schema/topology.schema.json` and `schema/manifest.schema.json` are this output;
//! tests keep them so.

use crate::raw::Topology;
use crate::render::Manifest;

pub fn topology_schema() -> String {
    pretty(schemars::schema_for!(Topology))
}

pub fn manifest_schema() -> String {
    pretty(schemars::schema_for!(Manifest))
}

fn pretty(schema: schemars::Schema) -> String {
    let mut json = serde_json::to_string_pretty(&schema).expect("schema serializes");
    json.push('\n');
    json
}
