//! Regressions: every input that once crashed, hung or produced a broken artifact,
//! kept under `tests/regressions/` with the answer it must get now.
//!
//! Each `tests/regressions/*.toml` (or any file a fuzzer found, under any name)
//! starts with `# expect: valid` or `# expect: SYnnnn[, SYnnnn…]`, followed by
//! comment lines saying what went wrong and what fixed it. A fuzzer's crash input
//! that is not TOML goes in as it is, with a `.expect` file beside it holding that
//! first line. See docs/fuzzing.md.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use switchyard::BuildError;
use switchyard::diagnostic::{self, Source};
use switchyard::render::Renderer;

/// Every input under tests/regressions/ (not the `.expect` files), sorted.
fn inputs() -> Vec<PathBuf> {
    let dir = common::repo_path("tests/regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_none_or(|ext| ext != "expect"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    files
}

/// What an input must give: `None` for valid, else the set of codes.
fn expected(path: &Path, bytes: &[u8]) -> Option<BTreeSet<String>> {
    let sidecar = path.with_extension("expect");
    let text = match std::fs::read_to_string(&sidecar) {
        Ok(text) => text,
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    };
    let line = text.lines().next().unwrap_or_default();
    let expect = line
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{}: first line must be `# expect: …`", path.display()));
    if expect.trim() == "valid" {
        return None;
    }
    Some(expect.split(',').map(|c| c.trim().to_owned()).collect())
}

fn relative(path: &Path) -> String {
    path.strip_prefix(common::root())
        .expect("below the root")
        .display()
        .to_string()
}

/// validate, plan and render never panic; the result is the expected one, and the
/// diagnostics render.
#[test]
fn every_regression_input_gets_its_expected_answer() {
    let renderer = Renderer::new(Default::default()).expect("built-in templates");
    for path in inputs() {
        let bytes = std::fs::read(&path).expect("read input");
        let expect = expected(&path, &bytes);
        let source = match Source::from_bytes(relative(&path), bytes) {
            Ok(source) => source,
            Err(failure) => {
                let (_, diagnostic) = *failure;
                let codes = BTreeSet::from([diagnostic.code.as_str().to_owned()]);
                assert_eq!(Some(codes), expect, "{}", path.display());
                continue;
            }
        };
        match switchyard::build(&source, None, &renderer) {
            Ok(build) => {
                assert_eq!(expect, None, "{} built", path.display());
                assert!(!build.artifacts.is_empty());
                let _ = diagnostic::render_human(&source, &build.warnings, 100);
            }
            Err(BuildError::Invalid(diagnostics)) => {
                let codes: BTreeSet<String> = diagnostics
                    .iter()
                    .filter(|d| d.severity() == diagnostic::Severity::Error)
                    .map(|d| d.code.as_str().to_owned())
                    .collect();
                assert_eq!(
                    Some(codes),
                    expect,
                    "{}:\n{}",
                    path.display(),
                    diagnostic::render_human(&source, &diagnostics, 100)
                );
                let _ = diagnostic::render_json(&source, &diagnostics);
            }
            Err(error) => panic!("{}: {error}", path.display()),
        }
    }
}

/// The valid ones load: every host's nft script passes `nft -c`, and no rule
/// comment is longer than nft accepts.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn valid_regression_inputs_load_with_nft() {
    common::require_root();
    let netns = common::Netns::new("regress-nft");
    for path in inputs() {
        let bytes = std::fs::read(&path).expect("read input");
        if expected(&path, &bytes).is_some() {
            continue;
        }
        let text = String::from_utf8(bytes).expect("valid inputs are UTF-8");
        let build = common::build_source(&Source::new(relative(&path), text));
        for artifact in build.artifacts.iter().filter(|a| a.path.ends_with(".nft")) {
            for comment in artifact.content.split("comment \"").skip(1) {
                let comment = comment.split('"').next().expect("closing quote");
                assert!(comment.len() <= 128, "{}: {comment:?}", artifact.path);
            }
            netns.nft_check(&artifact.content);
        }
    }
}
