//! `switchyard explain CODE`: every code has a long description in docs/codes/,
//! and every description belongs to a code.

use std::process::{Command, Output};

use switchyard::diagnostic::{self, Code};

fn switchyard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .output()
        .expect("run switchyard")
}

#[test]
fn every_code_has_a_description_with_every_section() {
    for code in Code::ALL {
        let text = diagnostic::explanation(*code).unwrap_or_else(|| {
            panic!("{code} has no description: add docs/codes/{code}.md (see docs/codes/SY0101.md)")
        });
        for section in [
            "## What it means",
            "## Why it matters",
            "## How to fix it",
            "## Example",
        ] {
            assert!(
                text.contains(section),
                "docs/codes/{code}.md lacks `{section}`"
            );
        }
    }
}

#[test]
fn every_description_belongs_to_a_code() {
    let orphans: Vec<&str> = diagnostic::explained_codes()
        .filter(|name| Code::parse(name).is_none_or(|code| code.as_str() != *name))
        .collect();
    assert!(
        orphans.is_empty(),
        "docs/codes/ describes codes that do not exist: {orphans:?}"
    );
}

#[test]
fn explain_prints_the_title_and_the_description() {
    let output = switchyard(&["explain", "sy0101"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let expected = format!(
        "SY0101 (error): reference to an unknown uplink\n\n{}",
        diagnostic::explanation(Code::UnknownUplink).expect("described")
    );
    assert_eq!(stdout, expected);
}

#[test]
fn explain_of_an_unknown_code_is_a_usage_error_with_a_suggestion() {
    let output = switchyard(&["explain", "SY01O1"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no diagnostic code `SY01O1` (did you mean `SY0101`?)"),
        "{stderr}"
    );
}
