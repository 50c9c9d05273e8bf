//! Every diagnostic code has an invalid example in `examples/invalid/`, named after
//! its code; each example raises its code (and only it), and its rendered diagnostic
//! is pinned by an insta snapshot in the top-level `snapshots/`.
//!
//! Adding a code without an example, or changing a message, fails here. Review a
//! changed snapshot with `cargo insta review`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use switchyard::diagnostic::{self, Code, Diagnostic, Severity, Source};

/// Width the snapshots are rendered at (the binary's default without `COLUMNS`).
const WIDTH: usize = 100;

/// `examples/invalid/*.toml`, relative to the crate root, sorted.
fn invalid_examples() -> Vec<PathBuf> {
    common::toml_files_in("examples/invalid")
}

/// The code an example is named after: `SY0101-unknown-uplink.toml` → SY0101.
fn code_of(path: &Path) -> Code {
    let prefix = common::stem(path).split('-').next().unwrap_or_default();
    Code::ALL
        .iter()
        .copied()
        .find(|code| code.as_str() == prefix)
        .unwrap_or_else(|| {
            panic!(
                "{}: invalid examples are named `SYnnnn-what-is-wrong.toml` after an existing code",
                path.display()
            )
        })
}

/// Every diagnostic, errors and warnings alike.
fn diagnostics(source: &Source) -> Vec<Diagnostic> {
    match switchyard::validate(source) {
        Ok(validated) => validated.into_parts().2,
        Err(diagnostics) => diagnostics,
    }
}

fn assert_diagnostic_snapshot(name: &str, rendered: &str) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(format!("diagnostic__{name}"), rendered);
    });
}

#[test]
fn every_invalid_example_raises_its_code_and_matches_its_snapshot() {
    let examples = invalid_examples();
    assert!(!examples.is_empty(), "no examples/invalid/*.toml found");
    for path in &examples {
        let expected = code_of(path);
        let source = common::example_source(path);
        let diagnostics = diagnostics(&source);
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.as_str()).collect();
        assert!(
            codes.contains(&expected.as_str()),
            "{} should raise {expected}, got {codes:?}",
            path.display()
        );
        assert!(
            codes.iter().all(|code| *code == expected.as_str()),
            "{} should raise only {expected}, got {codes:?}; keep each example to one problem",
            path.display()
        );
        let rendered = diagnostic::render_human(&source, &diagnostics, WIDTH);
        assert!(
            rendered.contains(expected.as_str()) && rendered.contains(&*source.name),
            "{}: the rendering names neither code nor file:\n{rendered}",
            path.display()
        );
        assert_diagnostic_snapshot(common::stem(path), &rendered);
    }
}

#[test]
fn every_code_has_an_invalid_example() {
    let covered: Vec<Code> = invalid_examples().iter().map(|p| code_of(p)).collect();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|code| !covered.contains(code))
        // A file over the size limit cannot be shipped: tests/hostile.rs generates
        // one, and `input_too_large_diagnostic` below pins its rendering.
        .filter(|code| **code != Code::InputTooLarge)
        .map(|code| code.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "codes without an example in examples/invalid/: {missing:?}\n\
         add `examples/invalid/SYnnnn-what-is-wrong.toml` for each, then run `cargo insta test` \
         and review the new snapshot"
    );
}

#[test]
fn every_invalid_example_starts_with_a_schema_line_and_a_comment() {
    for path in invalid_examples() {
        let source = common::example_source(&path);
        let mut lines = source.text.lines();
        assert_eq!(
            lines.next(),
            Some("#:schema ../../schema/topology.schema.json"),
            "{}: first line",
            path.display()
        );
        assert!(
            lines
                .next()
                .is_some_and(|l| l.starts_with("# ") && l.len() > 10),
            "{}: the second line is a comment saying what is wrong",
            path.display()
        );
    }
}

/// SY0005 has no example file (it would be over 32 MiB); pin its rendering here.
#[test]
fn input_too_large_diagnostic() {
    let bytes = vec![b'#'; switchyard::MAX_INPUT_BYTES + 1];
    let Err(refused) = Source::from_bytes("huge.toml".into(), bytes) else {
        panic!("an oversized input must be refused");
    };
    let (source, diagnostic) = *refused;
    assert_eq!(diagnostic.code, Code::InputTooLarge);
    let rendered = diagnostic::render_human(&source, &[diagnostic], WIDTH);
    assert_diagnostic_snapshot("SY0005-input-too-large", &rendered);
}

#[test]
fn json_diagnostics_carry_code_severity_message_and_location() {
    let path = Path::new("examples/invalid/SY0101-unknown-uplink.toml");
    let source = common::example_source(path);
    let json = diagnostic::render_json(&source, &diagnostics(&source));
    let value: serde_json::Value = serde_json::from_str(&json).expect("render_json is JSON");
    assert_eq!(value["version"], 1, "{json}");
    let items = value["diagnostics"].as_array().expect("a JSON array");
    assert_eq!(items.len(), 1, "{json}");
    let item = &items[0];
    for key in [
        "code", "severity", "message", "file", "line", "column", "span",
    ] {
        assert!(item.get(key).is_some(), "missing key `{key}` in {item}");
    }
    assert_eq!(item["code"], "SY0101");
    assert_eq!(item["severity"], "error");
    assert_eq!(item["message"], "unknown uplink `isp-aa`");
    assert_eq!(item["file"], "examples/invalid/SY0101-unknown-uplink.toml");
    assert_eq!(
        (item["line"].as_u64(), item["column"].as_u64()),
        (Some(9), Some(10))
    );
    let (start, end) = (
        item["span"]["start"].as_u64().expect("span.start") as usize,
        item["span"]["end"].as_u64().expect("span.end") as usize,
    );
    assert_eq!(&source.text[start..end], "\"isp-aa\"");
    assert_eq!(item["help"], "did you mean `isp-a`?");
}

/// People and tools are pointed at the same place: the human rendering's
/// `file:line:column` and the JSON `column` count characters, not bytes, so a
/// multi-byte character earlier on the line shifts neither.
#[test]
fn human_and_json_columns_agree_after_a_multibyte_character() {
    let text =
        "version = 1\nuplinks.isp-a = { description = \"h\u{e9}llo \u{1f310}\", id = 300 }\n";
    let source = Source::new("columns.toml", text);
    let diagnostics = diagnostics(&source);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let human = diagnostic::render_human(&source, &diagnostics, WIDTH);
    let json: serde_json::Value =
        serde_json::from_str(&diagnostic::render_json(&source, &diagnostics)).expect("JSON");
    let character_column = text
        .lines()
        .nth(1)
        .unwrap()
        .split("300")
        .next()
        .unwrap()
        .chars()
        .count()
        + 1;
    assert_eq!(
        json["diagnostics"][0]["column"].as_u64(),
        Some(character_column as u64),
        "{json}"
    );
    let location = format!("[columns.toml:2:{character_column}]");
    assert!(
        human.contains(&location),
        "expected {location} in:\n{human}"
    );
}

/// A project entry that is skipped for a VM (no address in its pool, SY0904) lets
/// the shorter entry under it decide for that VM: the shorter entry wins there, so
/// it is not "never winning" even though longer project entries cover it.
#[test]
fn an_entry_that_wins_where_a_longer_one_is_skipped_is_not_shadowed() {
    let text = common::splice(
        &common::base_with_web_2("net1", "10.0.0.6"),
        &[(
            "default = \"pool-a\"\n",
            r#"default = "pool-a"
egress = [
  { to = "100.64.0.0/15", via = "pool-a" },
  { to = ["100.64.0.0/16", "100.65.0.0/16"], via = "pool-b" },
]
"#,
        )],
    );
    let source = Source::new("skipped.toml", text);
    let codes: Vec<&str> = diagnostics(&source)
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert!(codes.contains(&"SY0904"), "web-2 skips the /16s: {codes:?}");
    assert!(
        codes.iter().all(|code| *code == "SY0904"),
        "the /15 wins for web-2, so it is not shadowed: {codes:?}"
    );
    // The /15 sends web-2's packets where its default does, so the plan leaves
    // them to the default and `trace` names what the dataplane holds.
    let tracer = switchyard::trace::Tracer::new(&source).expect("valid");
    let trace = tracer
        .trace("web-2", "100.64.1.1".parse().unwrap(), &[])
        .expect("traced");
    let switchyard::trace::Fate::Snat { decision, .. } = trace.fate else {
        panic!("web-2 → 100.64.1.1 is SNATed: {trace:?}");
    };
    assert_eq!(
        decision.decided_by.prefix, None,
        "the default decides for web-2"
    );
}

/// A project entry the VM's own entry for the same prefix overrides decides
/// nothing for that VM: SY0903 says it can never win, so SY0905 must not warn
/// that the VM cannot fail over by it (both ask the plan's decisions).
#[test]
fn an_overridden_project_entry_is_shadowed_and_strands_nothing() {
    let base = common::splice(
        common::BASE,
        &[
            ("version = 1\n", "version = 1\n[failover]\n"),
            (
                "default = \"pool-a\"\n",
                "egress = [{ to = \"100.64.0.0/16\", via = \"pool-a\" }]\n",
            ),
        ],
    );
    let text =
        format!("{base}egress = [{{ to = \"100.64.0.0/16\", via = [\"pool-b\", \"pool-a\"] }}]\n");
    let source = Source::new("overridden.toml", text.clone());
    let project_entry = text.find("100.64.0.0/16").expect("the project's entry");
    let found: Vec<(&str, usize)> = diagnostics(&source)
        .iter()
        .map(|d| (d.code.as_str(), d.labels[0].span.start))
        .collect();
    assert!(
        found.contains(&("SY0903", project_entry - 1)),
        "the project's entry never wins: {found:?}"
    );
    assert!(
        found.iter().all(|(code, _)| *code != "SY0905"),
        "the entry that decides fails over to isp-a, and the overridden one decides nothing: \
         {found:?}"
    );
}

/// A valid topology with two projects and two VMs; the structural tests below
/// break parts of it.
fn two_vms() -> String {
    common::splice(
        &common::base_with_web_2("net1", "10.0.0.6"),
        &[(
            "[vms.web-1]",
            "[projects.other]\npools = [\"pool-a\"]\n\n[vms.web-1]",
        )],
    )
}

fn codes_and_messages(text: &str) -> Vec<(&'static str, String)> {
    diagnostics(&Source::new("structure.toml", text))
        .into_iter()
        .map(|d| (d.code.as_str(), d.message))
        .collect()
}

#[test]
fn the_structure_base_topology_is_valid() {
    assert_eq!(codes_and_messages(&two_vms()), []);
}

/// `two_vms` with an unknown key, a wrong type and a bad reference, each in
/// another entity.
fn three_structural_errors() -> String {
    two_vms()
        .replace("address = \"10.0.0.5\"", "adress = \"10.0.0.5\"")
        .replace("address = \"10.0.0.6\"", "address = 6")
        .replace(
            "[projects.other]\npools = [\"pool-a\"]",
            "[projects.other]\npools = [\"pool-z\"]",
        )
}

/// serde stops at the first problem; entities are read one by one, so one run
/// reports an unknown key, a wrong type and a bad reference in different places.
#[test]
fn structural_errors_in_different_entities_are_all_reported() {
    let text = three_structural_errors();
    let found = codes_and_messages(&text);
    let codes: Vec<&str> = found.iter().map(|(code, _)| *code).collect();
    assert_eq!(codes, ["SY0102", "SY0003", "SY0002"], "{found:?}");
    assert_eq!(found[1].1, "unknown key `adress`");
    assert!(found[2].1.contains("expected a string"), "{found:?}");
}

#[test]
fn unknown_keys_in_two_entities_are_both_reported() {
    let text = two_vms()
        .replace(
            "[projects.other]\n",
            "[projects.other]\ndefualt = \"pool-a\"\n",
        )
        .replace("public = [\"198.51.100.8\"]", "publc = [\"198.51.100.8\"]");
    let found = codes_and_messages(&text);
    assert_eq!(
        found,
        [
            ("SY0003", "unknown key `defualt`".to_owned()),
            ("SY0003", "unknown key `publc`".to_owned())
        ]
    );
}

/// `base_with_web_2` with web-2 at `web_2_address` using `public`, and
/// `project` (a table) before the VMs.
fn with_project_before_the_vms(web_2_address: &str, project: &str, public: &str) -> String {
    common::splice(
        &common::base_with_web_2("net1", web_2_address),
        &[
            ("[vms.web-1]", &format!("{project}\n\n[vms.web-1]")),
            (
                "public = [\"198.51.100.8\"]\n",
                &format!("public = [\"{public}\"]\n"),
            ),
        ],
    )
}

/// A typo'd key does not hide the semantic errors elsewhere: the key is
/// reported, the project it is in (its meaning in doubt: `adresses` may be
/// `addresses`) is left out, and the rest of the topology is still checked.
#[test]
fn a_typo_in_a_key_does_not_hide_semantic_errors_elsewhere() {
    let text = with_project_before_the_vms(
        "10.0.0.5",
        "[projects.other]\npools = [\"pool-a\"]\nadresses = [\"198.51.100.20\"]",
        "198.51.100.99",
    );
    let found = codes_and_messages(&text);
    let codes: Vec<&str> = found.iter().map(|(code, _)| *code).collect();
    assert_eq!(codes, ["SY0003", "SY0601", "SY0401"], "{found:?}");
    assert_eq!(found[0].1, "unknown key `adresses`");
}

/// An entity that cannot be read is reported once: references to it are not
/// reported as unknown.
#[test]
fn references_to_an_unreadable_entity_stay_silent() {
    let text = two_vms()
        .replace(
            "[projects.other]\npools = [\"pool-a\"]",
            "[projects.other]\npools = \"pool-a\"",
        )
        .replace(
            "project = \"acme\"\nhost = \"net1\"\naddress = \"10.0.0.6\"",
            "project = \"other\"\nhost = \"net1\"\naddress = \"10.0.0.6\"",
        );
    let found = codes_and_messages(&text);
    let codes: Vec<&str> = found.iter().map(|(code, _)| *code).collect();
    assert_eq!(codes, ["SY0002"], "{found:?}");
}

/// Every diagnostic opens with `severity[code]: message` and the rendering ends
/// with how many there were, so a CI log can be grepped and skimmed.
#[test]
fn human_rendering_has_a_header_per_diagnostic_and_a_summary() {
    let text = three_structural_errors();
    let source = Source::new("structure.toml", text);
    let human = diagnostic::render_human(&source, &diagnostics(&source), WIDTH);
    let headers: Vec<&str> = human
        .lines()
        .filter(|line| line.starts_with("error[") || line.starts_with("warning["))
        .collect();
    assert_eq!(
        headers,
        [
            "error[SY0102]: unknown pool `pool-z`",
            "error[SY0003]: unknown key `adress`",
            "error[SY0002]: invalid type: integer `6`, expected a string",
        ],
        "{human}"
    );
    assert_eq!(
        human.lines().last(),
        Some("3 errors, 0 warnings"),
        "{human}"
    );
}

/// docs/topology.md's table of codes; the test below keeps it in sync with `Code::ALL`.
fn code_table() -> String {
    let mut table = String::from("| Code | Severity | Meaning |\n|---|---|---|\n");
    for code in Code::ALL {
        let severity = match code.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        table.push_str(&format!("| `{code}` | {severity} | {} |\n", code.title()));
    }
    table
}

#[test]
fn the_topology_reference_lists_every_code() {
    let reference =
        std::fs::read_to_string(common::root().join("docs/topology.md")).expect("docs/topology.md");
    let table = code_table();
    assert!(
        reference.contains(&table),
        "docs/topology.md's table of diagnostic codes is out of date; replace it with:\n\n{table}"
    );
}

// The binary, end to end: exit codes and streams per docs/semantics.md §7.

fn switchyard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .current_dir(common::root())
        .env_remove("COLUMNS")
        .output()
        .expect("run switchyard")
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn check_accepts_every_valid_example() {
    let examples = common::valid_examples();
    assert!(!examples.is_empty(), "no examples/*.toml found");
    for path in examples {
        let output = switchyard(&["check", path.to_str().expect("UTF-8 path")]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            describe(&output)
        );
    }
}

#[test]
fn check_exit_codes_follow_severity() {
    for path in invalid_examples() {
        let path = path.to_str().expect("UTF-8 path");
        let code = code_of(Path::new(path));
        let output = switchyard(&["check", path]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(code.as_str()),
            "{path}: {}",
            describe(&output)
        );
        assert!(output.stdout.is_empty(), "{path}: {}", describe(&output));
        match code.severity() {
            Severity::Error => {
                assert_eq!(
                    output.status.code(),
                    Some(1),
                    "{path}: {}",
                    describe(&output)
                );
            }
            Severity::Warning => {
                assert_eq!(
                    output.status.code(),
                    Some(0),
                    "{path}: {}",
                    describe(&output)
                );
                let denied = switchyard(&["check", path, "--deny-warnings"]);
                assert_eq!(
                    denied.status.code(),
                    Some(1),
                    "{path}: {}",
                    describe(&denied)
                );
            }
        }
    }
}

#[test]
fn deny_warnings_on_a_warnings_only_example() {
    let path = "examples/invalid/SY0901-no-default.toml";
    assert_eq!(switchyard(&["check", path]).status.code(), Some(0));
    let denied = switchyard(&["check", path, "--deny-warnings"]);
    assert_eq!(denied.status.code(), Some(1), "{}", describe(&denied));
    assert!(String::from_utf8_lossy(&denied.stderr).contains("SY0901"));
}

#[test]
fn missing_file_is_an_io_error() {
    let output = switchyard(&["check", "examples/no-such-topology.toml"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no-such-topology.toml"),
        "{}",
        describe(&output)
    );
}

#[test]
fn usage_error_exits_2() {
    let output = switchyard(&["check"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

/// `switchyard check FILE --format FORMAT`: exits `code`, prints nothing on
/// stderr (the diagnostics are the result); returns stdout.
fn check_stdout(file: &str, format: &str, code: i32) -> String {
    let output = switchyard(&["check", file, "--format", format]);
    assert_eq!(output.status.code(), Some(code), "{}", describe(&output));
    assert!(output.stderr.is_empty(), "{}", describe(&output));
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}

#[test]
fn json_format_prints_diagnostics_on_stdout() {
    let stdout = check_stdout("examples/invalid/SY0101-unknown-uplink.toml", "json", 1);
    let value: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    assert_eq!(value["version"], 1, "{value}");
    assert_eq!(value["diagnostics"][0]["code"], "SY0101", "{value}");
    assert_eq!(
        value["diagnostics"][0]["file"],
        "examples/invalid/SY0101-unknown-uplink.toml"
    );

    let clean = check_stdout("examples/two-isps.toml", "json", 0);
    let value: serde_json::Value = serde_json::from_str(&clean).expect("stdout is JSON");
    assert_eq!(
        value,
        serde_json::json!({ "version": 1, "diagnostics": [] })
    );
}

#[test]
fn github_format_prints_one_workflow_command_per_diagnostic() {
    assert_eq!(
        check_stdout("examples/invalid/SY0101-unknown-uplink.toml", "github", 1),
        "::error file=examples/invalid/SY0101-unknown-uplink.toml,line=9,col=10,endLine=9,\
         endColumn=18,title=SY0101::unknown uplink `isp-aa`%0Ahelp: did you mean `isp-a`?\n"
    );
    let warning = check_stdout("examples/invalid/SY0901-no-default.toml", "github", 0);
    assert!(warning.starts_with("::warning file="), "{warning}");
}

/// A file name with `,` and `:` would end the property list early, and a newline
/// in a message would start a workflow command of its own: both escaped.
#[test]
fn github_format_escapes_properties_and_the_message() {
    let source = Source::new("a,b:c%.toml", "version = 1\n\"a\\n::warning::pwned\" = 1\n");
    let rendered = diagnostic::render_github(&source, &diagnostics(&source));
    assert!(
        rendered.starts_with("::error file=a%2Cb%3Ac%25.toml,line=2,"),
        "{rendered}"
    );
    assert!(
        rendered.contains("unknown key `a%0A::warning::pwned`"),
        "{rendered}"
    );
    assert_eq!(rendered.lines().count(), 1, "{rendered}");
}

/// A generated topology of `vms` VMs in one project, written as a generator
/// would: the project's `addresses` on one line (about 143 KB for 10 000), each
/// VM on one line below it. `edit` changes the text before it is read.
fn generated(vms: u32, edit: impl FnOnce(String) -> String) -> String {
    let address = |base: [u8; 4], n: u32| std::net::Ipv4Addr::from(u32::from_be_bytes(base) + n);
    let infrastructure = common::splice(
        &common::BASE[..common::BASE.find("[projects.").expect("a project")],
        &[("\"198.51.100.0/24\"", "\"44.0.0.0/16\"")],
    );
    let (version, infrastructure) = infrastructure
        .split_once("version = 1\n")
        .expect("the base has a version");
    let public: Vec<String> = (0..vms)
        .map(|i| format!("\"{}\"", address([44, 0, 0, 1], i)))
        .collect();
    let mut text = format!(
        "{version}version = 1\nprojects.acme.pools = [\"pool-a\"]\n\
         projects.acme.networks = [\"10.0.0.0/16\"]\nprojects.acme.default = \"pool-a\"\n\
         projects.acme.addresses = [{}]\n",
        public.join(", ")
    );
    for (i, public) in public.iter().enumerate() {
        let private = address([10, 0, 1, 0], i as u32);
        text.push_str(&format!(
            "vms.vm-{i} = {{ project = \"acme\", host = \"net1\", address = \"{private}\", public = [{public}] }}\n"
        ));
    }
    edit(text + infrastructure)
}

/// The one diagnostic of `code` in `text`, drawn for an 80-column terminal.
fn drawn_at_80_columns(text: &str, code: &str) -> String {
    let source = Source::new("generated.toml", text);
    let found: Vec<Diagnostic> = diagnostics(&source)
        .into_iter()
        .filter(|d| d.code.as_str() == code)
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    let drawn = diagnostic::render_human(&source, &found, 80);
    for line in drawn.lines() {
        assert!(
            line.chars().count() <= 80,
            "a line over 80 columns:\n{drawn}"
        );
    }
    drawn
}

/// The characters the drawing underlines below the source line that shows
/// `value`: the underline is under `value`, character for character.
fn assert_underlined(drawn: &str, value: &str) {
    let lines: Vec<Vec<char>> = drawn.lines().map(|l| l.chars().collect()).collect();
    let value: Vec<char> = value.chars().collect();
    let (row, column) = lines
        .iter()
        .enumerate()
        .find_map(|(row, line)| {
            let column = line.windows(value.len()).position(|w| w == value)?;
            Some((row, column))
        })
        .unwrap_or_else(|| panic!("`{}` is not shown:\n{drawn}", String::from_iter(&value)));
    let underline = &lines[row + 1];
    let marked: Vec<usize> = (0..underline.len())
        .filter(|&i| matches!(underline[i], '─' | '┬' | '▲'))
        .collect();
    assert_eq!(
        (marked.first().copied(), marked.last().copied()),
        (Some(column), Some(column + value.len() - 1)),
        "the underline is not under `{}`:\n{drawn}",
        String::from_iter(&value)
    );
}

/// The generated topology of 10 000 VMs with `from` replaced by `to`, a bad
/// address, and its one diagnostic (SY0011) drawn at 80 columns, under 2 KB.
fn bad_address(from: &str, to: &str) -> (String, String) {
    let text = generated(10_000, |text| text.replacen(from, to, 1));
    let drawn = drawn_at_80_columns(&text, "SY0011");
    assert!(drawn.len() < 2048, "{} bytes:\n{drawn}", drawn.len());
    (text, drawn)
}

/// A bad VM address just below a 143 KB line: the long line, shown as
/// context, is clipped to its start; the diagnostic is a few hundred bytes.
#[test]
fn a_diagnostic_below_a_huge_line_clips_it() {
    let (text, drawn) = bad_address("address = \"10.0.1.0\"", "address = \"10.0.0.300\"");
    assert!(text.len() > 1_000_000, "{} bytes", text.len());
    assert!(
        drawn.contains("projects.acme.addresses = [\"44.0.0.1\""),
        "{drawn}"
    );
    assert_underlined(&drawn, "\"10.0.0.300\"");
}

/// A bad address on the 143 KB line itself: an excerpt of the line around it,
/// the underline under it, not "a line too long to show".
#[test]
fn a_diagnostic_on_a_huge_line_shows_an_excerpt_of_it() {
    let (text, drawn) = bad_address("\"44.0.19.137\", ", "\"44.0.300.1\", ");
    let at = text.find("\"44.0.300.1\"").expect("the bad address");
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let position = format!(
        "generated.toml:{}:{}]",
        text[..at].lines().count(),
        text[line_start..at].chars().count() + 1
    );
    assert!(drawn.contains(&position), "{position}:\n{drawn}");
    assert!(drawn.contains("projects.acme.ad"), "{drawn}");
    assert!(
        drawn.contains("\"44.0.19.136\", \"44.0.300.1\", \"44.0.19.138\""),
        "{drawn}"
    );
    assert_underlined(&drawn, "\"44.0.300.1\"");
}

/// SY0401's help names the safe reading first, an unused address the project
/// holds near the one written, and says whose the written one is, before the
/// widening: allocating it to the project.
#[test]
fn a_public_address_of_another_project_is_questioned_before_it_is_allocated() {
    let text = common::splice(
        &with_project_before_the_vms(
            "10.0.0.6",
            "[projects.beta]\npools = [\"pool-a\"]\naddresses = [\"198.51.100.20\"]",
            "198.51.100.20",
        ),
        &[(
            "\"203.0.113.9\", \"198.51.100.8\"]",
            "\"203.0.113.9\", \"198.51.100.8\", \"198.51.100.21\"]",
        )],
    );
    let source = Source::new("another-project.toml", text);
    let found: Vec<Diagnostic> = diagnostics(&source)
        .into_iter()
        .filter(|d| d.code == Code::PublicNotAllocated)
        .collect();
    assert_diagnostic_snapshot(
        "SY0401-address-of-another-project",
        &diagnostic::render_human(&source, &found, WIDTH),
    );
}

/// Unknown keys are found in nested tables too: an attachment of a host and
/// an egress entry of a VM.
#[test]
fn unknown_keys_in_nested_tables_are_reported() {
    let text = common::splice(
        &two_vms(),
        &[(
            "[hosts.net1.uplinks.isp-a]\n",
            "[hosts.net1.uplinks.isp-a]\nprobes = [\"9.9.9.9\"]\n",
        )],
    ) + "egress = [{ to = \"100.64.0.0/16\", via = \"pool-a\", weight = 2 }]\n";
    let found = codes_and_messages(&text);
    assert_eq!(
        found,
        [
            ("SY0003", "unknown key `probes`".to_owned()),
            ("SY0003", "unknown key `weight`".to_owned())
        ]
    );
}
