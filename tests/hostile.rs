//! Hostile input (docs/semantics.md §5): whatever the bytes, switchyard answers with a diagnostic
//! and exit 1 — never a panic, never partial output.
//!
//! Each case runs the real binary on a file in a fresh temporary directory.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use proptest::prelude::*;
use switchyard::diagnostic::{self, Code, Source};

/// The base fixture; cases splice one problem into it.
const VALID: &str = common::BASE;

/// Runs `switchyard check` on `bytes` written to a temporary file.
fn check_bytes(bytes: &[u8]) -> Output {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("topology.toml");
    std::fs::write(&path, bytes).expect("write topology");
    check_file(&path)
}

fn check_file(path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("check")
        .arg(path)
        .env_remove("COLUMNS")
        .output()
        .expect("run switchyard")
}

/// The base fixture with `from` replaced by `to` must be refused with `code`;
/// returns stderr.
fn rejected_with(from: &str, to: &str, code: Code) -> String {
    assert!(VALID.contains(from), "`{from}` is not in the topology");
    assert_rejected(&check_bytes(VALID.replace(from, to).as_bytes()), code)
}

/// Asserts a clean refusal: exit 1, the expected code on stderr, nothing on stdout,
/// no panic. Returns stderr for further checks.
fn assert_rejected(output: &Output, code: Code) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let shown = || {
        let mut shown: String = stderr.chars().take(4000).collect();
        if shown.len() < stderr.len() {
            shown.push_str("\n[…]");
        }
        format!("exit {:?}\n--- stderr\n{shown}", output.status.code())
    };
    assert!(
        !stderr.contains("panicked"),
        "switchyard panicked: {}",
        shown()
    );
    assert_eq!(output.status.code(), Some(1), "{}", shown());
    assert!(
        stderr.contains(code.as_str()),
        "expected {code} on stderr: {}",
        shown()
    );
    assert!(
        output.stdout.is_empty(),
        "nothing goes to stdout: {}",
        shown()
    );
    stderr
}

#[test]
fn the_base_topology_is_valid() {
    let output = check_bytes(VALID.as_bytes());
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn invalid_toml() {
    rejected_with("[pools.pool-a]", "[pools.pool-a", Code::TomlSyntax);
    assert_rejected(&check_bytes(b"version = = 1\n"), Code::TomlSyntax);
    assert_rejected(
        &check_bytes(b"version = 1\nversion = 1\n"),
        Code::TomlSyntax,
    );
}

#[test]
fn wrong_types() {
    let stderr = rejected_with("id = 1", "id = \"one\"", Code::WrongType);
    assert!(stderr.contains("expected an integer"), "{stderr}");

    rejected_with(
        "public = [\"198.51.100.7\", \"203.0.113.9\"]",
        "public = \"198.51.100.7\"",
        Code::WrongType,
    );

    rejected_with("version = 1", "version = \"1\"", Code::WrongType);

    assert_rejected(&check_bytes(b""), Code::WrongType);
    assert_rejected(&check_bytes(b"version = 1\nuplinks = 3\n"), Code::WrongType);
}

#[test]
fn integer_overflow() {
    rejected_with("id = 1", "id = 99999999999999999999", Code::TomlSyntax);
    rejected_with("id = 1", "id = -9223372036854775808", Code::OutOfRange);
}

/// 50 MB: refused before parsing (SY0005), without reading it all into memory.
#[test]
fn huge_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("huge.toml");
    let line = "# padding padding padding padding padding padding padding padding padding\n";
    let mut text = String::from(VALID);
    while text.len() < 50 * 1000 * 1000 {
        text.push_str(line);
    }
    std::fs::write(&path, &text).expect("write huge topology");
    let stderr = assert_rejected(&check_file(&path), Code::InputTooLarge);
    assert!(stderr.contains("larger than"), "{stderr}");

    // The library refuses it too, whoever calls it.
    let source = Source::new("huge.toml", text);
    let diagnostics = switchyard::validate(&source).err().expect("refused");
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, Code::InputTooLarge);
}

#[test]
fn deeply_nested_arrays() {
    let depth = 100_000;
    let unclosed = format!("{VALID}x = {}\n", "[".repeat(depth));
    assert_rejected(&check_bytes(unclosed.as_bytes()), Code::TomlSyntax);
    let closed = format!("{VALID}x = {}{}\n", "[".repeat(depth), "]".repeat(depth));
    assert_rejected(&check_bytes(closed.as_bytes()), Code::TomlSyntax);
}

#[test]
fn deeply_nested_inline_tables() {
    let depth = 100_000;
    let text = format!(
        "{VALID}x = {}1{}\n",
        "{ a = ".repeat(depth),
        " }".repeat(depth)
    );
    assert_rejected(&check_bytes(text.as_bytes()), Code::TomlSyntax);
}

#[test]
fn deeply_nested_table_headers() {
    let header = (0..10_000).map(|_| "a").collect::<Vec<_>>().join(".");
    let text = format!("{VALID}[{header}]\n");
    assert_rejected(&check_bytes(text.as_bytes()), Code::TomlSyntax);
    let text = format!("{VALID}{header} = 1\n");
    assert_rejected(&check_bytes(text.as_bytes()), Code::TomlSyntax);
}

#[test]
fn nul_bytes() {
    rejected_with("version = 1", "version = 1\0", Code::TomlSyntax);
    rejected_with("\"up-a\"", "\"up\0a\"", Code::TomlSyntax);
    assert_rejected(&check_bytes(&[0; 4096]), Code::TomlSyntax);
    // An escaped NUL is valid TOML, but no interface name.
    rejected_with("\"up-a\"", "\"up\\u0000a\"", Code::BadInterfaceName);
}

#[test]
fn non_utf8_bytes() {
    let mut bytes = VALID.as_bytes().to_vec();
    let at = VALID.find("isp-a").expect("an uplink");
    bytes[at] = 0xff;
    let stderr = assert_rejected(&check_bytes(&bytes), Code::TomlSyntax);
    assert!(stderr.contains("not UTF-8"), "{stderr}");
    assert_rejected(&check_bytes(&[0xfe, 0xff, 0x00, 0x76]), Code::TomlSyntax);
}

#[test]
fn interface_name_injection() {
    let stderr = rejected_with(
        "interface = \"up-a\"",
        r#"interface = "up-a\"; flush ruleset; \"""#,
        Code::BadInterfaceName,
    );
    assert!(stderr.contains("flush ruleset"), "{stderr}");

    for name in [
        "",
        "a-very-long-interface-name",
        "up a",
        "up/a",
        "up\\na",
        "..",
        "up;a",
    ] {
        rejected_with("\"lan0\"", &format!("\"{name}\""), Code::BadInterfaceName);
    }
}

#[test]
fn names_with_path_traversal() {
    for name in ["../etc", "/etc/passwd", ".hidden", "a/b", "..", "net1\\n"] {
        let text = VALID
            .replace("[hosts.net1]", &format!("[hosts.\"{name}\"]"))
            .replace("[hosts.net1.", &format!("[hosts.\"{name}\"."))
            .replace("host = \"net1\"", &format!("host = \"{name}\""));
        let stderr = assert_rejected(&check_bytes(text.as_bytes()), Code::BadName);
        assert!(
            !stderr.contains("SY0103"),
            "the name still resolves: {stderr}"
        );
    }
    rejected_with("[vms.web-1]", "[vms.\"../../root/.ssh\"]", Code::BadName);
}

#[test]
fn control_characters_and_odd_unicode_in_values() {
    rejected_with("\"acme\"", "\"ac\\u001bme\"", Code::UnknownProject);
    rejected_with("\"10.0.0.5\"", "\"10.0.0.\u{0665}\"", Code::BadAddress);
    rejected_with(
        "[projects.acme]",
        "[projects.\"ac\u{202e}me\"]",
        Code::BadName,
    );
}

#[test]
fn huge_counts_are_refused_not_allocated() {
    rejected_with(
        "default = \"pool-a\"",
        "default = \"pool-a\"\nquota = { pool-a = 9223372036854775807 }",
        Code::OutOfRange,
    );
}

/// Drops the lines marked in `drop` and replaces the value of the lines in
/// `replace` (line index modulo the line count, value).
fn mutate(lines: &[&str], drop: &[bool], replace: &[(usize, &str)]) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if drop.get(i).copied().unwrap_or(false) {
            continue;
        }
        match replace.iter().find(|(at, _)| at % lines.len() == i) {
            Some((_, value)) if line.contains('=') && !line.starts_with('#') => {
                let key = line.split('=').next().unwrap_or(line);
                out.push_str(&format!("{key}= {value}\n"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Values that are well-typed for some keys and wrong for others, chosen to reach
/// the resolver and the checks, not just the parser.
const ODD_VALUES: &[&str] = &[
    "\"\"",
    "0",
    "-1",
    "256",
    "4294967296",
    "\"isp-a\"",
    "\"isp-b\"",
    "\"pool-a\"",
    "\"pool-b\"",
    "\"net1\"",
    "\"acme\"",
    "\"nonsense\"",
    "\"198.51.100.7\"",
    "\"203.0.113.9\"",
    "\"198.51.100.0/24\"",
    "\"198.51.100.7/24\"",
    "\"10.0.0.0/8\"",
    "\"10.0.0.5\"",
    "\"0.0.0.0/0\"",
    "\"::1\"",
    "\"1.2.3.4/33\"",
    "[]",
    "{}",
    "[\"198.51.100.7\", \"198.51.100.7\"]",
    "[\"203.0.113.9\", \"nonsense\"]",
    "[\"pool-a\", \"pool-x\"]",
    "[{ to = \"0.0.0.0/0\", via = \"pool-a\" }]",
    "[{ to = [\"10.0.0.0/24\", \"100.64.0.0/10\"], via = \"203.0.113.9\" }]",
    "{ pool-a = 0, pool-b = 1 }",
    "{ parent = \"up-a\", id = 0 }",
    "true",
];

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, .. ProptestConfig::default() })]

    /// Mutations of the shipped examples never panic anywhere in the library,
    /// rendering included, and every label stays inside the text.
    #[test]
    fn mutated_topologies_never_panic(
        multi_host in proptest::bool::ANY,
        drop in proptest::collection::vec(proptest::bool::weighted(0.01), 400),
        replace in proptest::collection::vec((0usize..400, 0..ODD_VALUES.len()), 0..5),
    ) {
        let base = example(if multi_host { "multi-host.toml" } else { "two-isps.toml" });
        let lines: Vec<&str> = base.lines().collect();
        let replace: Vec<(usize, &str)> =
            replace.into_iter().map(|(at, v)| (at, ODD_VALUES[v])).collect();
        let source = Source::new("mutated.toml", mutate(&lines, &drop, &replace));
        let diagnostics = match switchyard::validate(&source) {
            Ok(validated) => validated.into_parts().2,
            Err(diagnostics) => diagnostics,
        };
        for d in &diagnostics {
            for label in &d.labels {
                prop_assert!(label.span.start <= label.span.end);
                prop_assert!(label.span.end <= source.text.len());
            }
        }
        let _ = diagnostic::render_human(&source, &diagnostics, 100);
        let _ = diagnostic::render_json(&source, &diagnostics);
        // One workflow command per diagnostic: a name with a newline cannot start
        // a command of its own in a CI log.
        let github = diagnostic::render_github(&source, &diagnostics);
        prop_assert_eq!(github.lines().count(), diagnostics.len());
    }
}

/// The human rendering shows the offending line and quotes names: a control
/// character in the file must reach the terminal escaped, or a topology could drive
/// it (clear the screen, retitle the window, hide text).
#[test]
fn control_characters_are_escaped_in_human_output() {
    let raw_escape = VALID.replace("\"acme\"", "\"ac\u{1b}[2Jme\"");
    let quoted_escape = VALID.replace("[vms.web-1]", "[vms.web-1]\n\"ev\\u001b[2Jil\" = 1");
    for (text, code) in [
        (raw_escape, Code::TomlSyntax),
        (quoted_escape, Code::UnknownKey),
    ] {
        let stderr = assert_rejected(&check_bytes(text.as_bytes()), code);
        let control = stderr
            .chars()
            .find(|&c| c.is_control() && !matches!(c, '\n' | '\t'));
        assert_eq!(
            control, None,
            "a control character reached stderr:\n{stderr:?}"
        );
        assert!(
            stderr.contains("\\u{1b}[2J"),
            "the escape is shown escaped:\n{stderr}"
        );
    }
}
