//! The JSON schemas of the topology file, of a build's manifest.json and of the
//! JSON that `check`, `trace` and `changes` print, generated from the types that read or
//! write them so they cannot drift. The files in `schema/` are this output; tests
//! keep them so.

use crate::changes::ChangesOutput;
use crate::diagnostic::CheckOutput;
use crate::raw::Topology;
use crate::render::Manifest;
use crate::trace::TraceOutput;

pub fn topology_schema() -> String {
    pretty(schemars::schema_for!(Topology))
}

pub fn manifest_schema() -> String {
    pretty(schemars::schema_for!(Manifest))
}

pub fn check_output_schema() -> String {
    pretty(schemars::schema_for!(CheckOutput<'static>))
}

pub fn trace_output_schema() -> String {
    pretty(schemars::schema_for!(TraceOutput<'static>))
}

pub fn changes_output_schema() -> String {
    pretty(schemars::schema_for!(ChangesOutput<'static>))
}

fn pretty(schema: schemars::Schema) -> String {
    let mut json = serde_json::to_string_pretty(&schema).expect("schema serializes");
    json.push('\n');
    json
}
