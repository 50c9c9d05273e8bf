//! The floors of the compile benchmark: read a topology and parse it with the
//! toml crate alone — no spans kept, no typed structs, no checks, no output.
//!
//! - `toml_floor FILE`: into an owned, untyped `toml::Table` (the usual way to
//!   read a TOML file without a schema);
//! - `toml_floor --borrowed FILE`: into toml's borrowed document (`DeTable`,
//!   strings left in the file), the fastest parse of the file the crate offers.
//!
//! ```text
//! cargo run --release --example toml_floor -- [--borrowed] big.toml
//! ```
//!
//! Run by `bench/compile.sh` beside `switchyard build` on the same file.

use std::process::ExitCode;

#[path = "topology_file.rs"]
mod topology_file;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let borrowed = args.first().is_some_and(|a| a == "--borrowed");
    if borrowed {
        args.remove(0);
    }
    let [path] = args.as_slice() else {
        eprintln!("usage: toml_floor [--borrowed] TOPOLOGY");
        return ExitCode::from(2);
    };
    let text = match topology_file::read("toml_floor", path) {
        Ok(text) => text,
        Err(code) => return code,
    };
    // Print something that depends on the parse so it cannot be skipped.
    let vms = if borrowed {
        toml::de::DeTable::parse(&text).map(|table| match table.get_ref().get("vms") {
            Some(vms) => vms.get_ref().as_table().map_or(0, |vms| vms.len()),
            None => 0,
        })
    } else {
        toml::from_str::<toml::Table>(&text).map(|table| {
            let vms = table.get("vms").and_then(toml::Value::as_table);
            vms.map_or(0, toml::Table::len)
        })
    };
    match vms {
        Ok(vms) => {
            println!("{vms} VMs");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("toml_floor: {path}: {error}");
            ExitCode::from(1)
        }
    }
}
