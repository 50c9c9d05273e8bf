//! The JSON schema of the topology file, generated from the `raw` types so the two
//! cannot drift. `schema/topology.schema.json` is this output; a test keeps it so.

use crate::raw::Topology;

pub fn topology_schema() -> String {
    let schema = schemars::schema_for!(Topology);
    let mut json = serde_json::to_string_pretty(&schema).expect("schema serializes");
    json.push('\n');
    json
}
