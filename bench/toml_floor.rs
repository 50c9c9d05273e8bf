//! The floor of the compile benchmark: read a topology and parse it with the toml
//! crate alone into an untyped `toml::Table` — no spans, no typed structs, no
//! checks, no output. Nothing that reads this format can be much faster.
//!
//! ```text
//! cargo run --release --example toml_floor -- big.toml
//! ```
//!
//! Run by `bench/compile.sh` beside `switchyard build` on the same file.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: toml_floor TOPOLOGY");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("toml_floor: cannot read {path}: {error}");
            return ExitCode::from(2);
        }
    };
    match toml::from_str::<toml::Table>(&text) {
        Ok(table) => {
            // Print something that depends on the parse so it cannot be skipped.
            let vms = table.get("vms").and_then(toml::Value::as_table);
            println!("{} VMs", vms.map_or(0, toml::Table::len));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("toml_floor: {path}: {error}");
            ExitCode::from(1)
        }
    }
}
