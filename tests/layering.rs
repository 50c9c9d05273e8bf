//! The library's modules form the pipeline ARCHITECTURE.md draws: a module may
//! use only modules of a lower layer, never one of its own layer or above, so
//! there is no circle between them. Read from the source: every `crate::…` path
//! (and `super::` from a module's root file) outside comments and test code.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The library's modules by layer, lowest first (ARCHITECTURE.md, "Layers").
const LAYERS: &[&[&str]] = &[
    &["diagnostic", "family", "layout"],
    &["intervals"],
    &["raw", "nft_table"],
    &["model"],
    &["check"],
    &["plan"],
    &["lints", "monitor"],
    &["render", "trace", "graph"],
    &["verify", "changes"],
    &["apply"],
    &["schema"],
];

/// Uses of the crate root (`lib.rs`, the driver above every layer) that are
/// known, with why they may stay.
const ROOT_USES: &[(&str, &str)] = &[
    (
        "trace",
        "`Tracer::new` validates and plans like `build` (`crate::validate`, `Validated`)",
    ),
    (
        "changes",
        "compares two topologies as `build` validates them (`Validated`)",
    ),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The modules `src/lib.rs` declares.
fn library_modules() -> Vec<String> {
    let lib = fs::read_to_string(src().join("lib.rs")).expect("src/lib.rs");
    lib.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))?;
            Some(rest.strip_suffix(';')?.to_owned())
        })
        .collect()
}

/// `src/NAME.rs` and every file below `src/NAME/`, but test modules (`tests.rs`).
fn files_of(module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let file = src().join(format!("{module}.rs"));
    if file.exists() {
        files.push(file);
    }
    let mut dirs = vec![src().join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "tests.rs")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The code of a file without comments and without its `#[cfg(test)]` part
/// (tests may drive the whole pipeline).
fn code_of(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first segment of every `crate::` path: a module, or an item of the root
/// (`""` stands for the root). `crate::{a, b::c}` names `a` and `b`.
fn crate_uses(code: &str) -> BTreeSet<String> {
    let modules = library_modules();
    let mut uses = BTreeSet::new();
    let mut segment = |name: &str| {
        if modules.iter().any(|m| m == name) {
            uses.insert(name.to_owned());
        } else if !name.is_empty() {
            uses.insert(String::new());
        }
    };
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(is_ident) {
            continue; // `switchyard_crate::`, not this crate
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                segment(item.trim().split("::").next().unwrap_or_default());
            }
        } else {
            segment(&rest[..rest.find(|c| !is_ident(c)).unwrap_or(rest.len())]);
        }
    }
    uses
}

#[test]
fn no_module_uses_its_own_layer_or_above() {
    let mut problems = Vec::new();
    for module in library_modules() {
        let Some(layer) = layer_of(&module) else {
            problems.push(format!(
                "src/lib.rs declares `{module}`, which no layer of tests/layering.rs holds: \
                 place it (and in ARCHITECTURE.md)"
            ));
            continue;
        };
        for file in files_of(&module) {
            let text = fs::read_to_string(&file).expect("a source file");
            let mut code = code_of(&text);
            // `super::` from a module's root file is the crate root.
            let is_root_file = file.parent() == Some(src().as_path())
                || file.file_name().is_some_and(|n| n == "mod.rs");
            if is_root_file {
                code = code.replace("super::", "crate::");
            }
            let shown = file
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap_or(&file);
            for used in crate_uses(&code) {
                if used.is_empty() {
                    if !ROOT_USES.iter().any(|(m, _)| *m == module) {
                        problems.push(format!(
                            "{} uses the crate root (lib.rs), which uses every module",
                            shown.display()
                        ));
                    }
                } else if used != module && layer_of(&used).is_some_and(|l| l >= layer) {
                    problems.push(format!(
                        "{} (layer {layer}, `{module}`) uses `{used}` (layer {})",
                        shown.display(),
                        layer_of(&used).unwrap_or_default()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The binary (`src/bin/`, a crate of its own whose `crate::` is itself) is
/// above every layer and outside the table; every other file of `src/` belongs
/// to `lib.rs` or to a module the table places, so none escapes the check
/// above.
#[test]
fn every_file_of_src_is_the_library_s_or_the_binary_s() {
    let modules = library_modules();
    let mut strays = Vec::new();
    for entry in fs::read_dir(src()).expect("src/") {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 name");
        let module = name.strip_suffix(".rs").unwrap_or(name);
        if name != "lib.rs" && name != "bin" && !modules.iter().any(|m| m == module) {
            strays.push(format!("src/{name}"));
        }
    }
    strays.sort();
    assert!(
        strays.is_empty(),
        "{strays:?}: neither below src/bin/ (the binary) nor a module src/lib.rs declares"
    );
}

/// `CheckedModel` lives in `model`, below `check`; its one constructor is
/// `pub(crate)`, so this keeps it to `check`, the guarantee the type gives.
#[test]
fn only_check_makes_a_checked_model() {
    let mut callers = Vec::new();
    for module in library_modules() {
        for file in files_of(&module) {
            let text = fs::read_to_string(&file).expect("a source file");
            if code_of(&text).contains("from_checks(")
                && !file.ends_with("model/checked.rs")
                && !file.starts_with(src().join("check"))
            {
                callers.push(file.display().to_string());
            }
        }
    }
    assert!(
        callers.is_empty(),
        "CheckedModel::from_checks called by {callers:?}"
    );
}

/// The reader of the source above sees what it must: a use of a higher layer in
/// a `use` group, a plain path and a root file's `super::`, but not in comments.
#[test]
fn the_reader_finds_every_form_of_use() {
    let code = code_of(
        "use crate::{plan::Plan, model};\n// crate::render\nlet x = crate::trace::f();\n\
         #[cfg(test)]\nuse crate::schema;",
    );
    let found: Vec<String> = crate_uses(&code).into_iter().collect();
    assert_eq!(found, ["model", "plan", "trace"]);
    assert_eq!(
        crate_uses("crate::validate(s)")
            .into_iter()
            .collect::<Vec<_>>(),
        [""]
    );
}
