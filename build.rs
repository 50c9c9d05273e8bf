//! Compiles the long description of every diagnostic code (`docs/codes/SYnnnn.md`,
//! printed by `switchyard explain`) into the binary: writes a table of
//! `(code, include_str!(file))` into OUT_DIR, so adding a file is all it takes.

use std::path::Path;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&root).join("docs/codes");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    files.sort();
    let mut table = String::from("&[\n");
    for path in files {
        let code = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 name");
        table.push_str(&format!("    ({code:?}, include_str!({path:?})),\n"));
    }
    table.push_str("]\n");
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("explanations.rs");
    std::fs::write(&out, table).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
