//! The commands around the compiler: `graph` (and the checked-in picture
//! docs/topology.svg), `completions` and `man` (every page with EXIT STATUS,
//! FILES, EXAMPLES and SEE ALSO).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{describe, example_source, repo_path, run_ok, switchyard};

const PICTURE_TOPOLOGY: &str = "examples/multi-host.toml";
const PICTURE: &str = "docs/topology.svg";
const REDRAW: &str = "cargo run -- graph examples/multi-host.toml | dot -Tsvg > docs/topology.svg";

/// The subcommands `switchyard --help` lists (besides `help`); at least docs/semantics.md §7's
/// and this file's.
fn subcommands() -> Vec<String> {
    let help = run_ok(switchyard().arg("--help"));
    let listed: Vec<String> = help
        .split_once("Commands:\n")
        .expect("--help lists commands")
        .1
        .lines()
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    for expected in [
        "check",
        "build",
        "diff",
        "trace",
        "schema",
        "graph",
        "completions",
        "man",
    ] {
        assert!(
            listed.iter().any(|name| name == expected),
            "--help lacks `{expected}`: {listed:?}"
        );
    }
    listed
}

/// Pipes `input` through `program args`; returns (success, stdout, stderr).
fn pipe(program: &str, args: &[&str], input: &str) -> (bool, String, String) {
    let output = common::output_with_input(Command::new(program).args(args), input.as_bytes());
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
fn graph(args: &[&str]) -> String {
    run_ok(
        switchyard()
            .arg("graph")
            .args(args)
            .current_dir(common::root()),
    )
}

#[test]
fn graph_prints_the_library_dot_whole_and_per_host() {
    let source = example_source(Path::new(PICTURE_TOPOLOGY));
    let model = switchyard::validate(&source)
        .unwrap_or_else(|_| panic!("{PICTURE_TOPOLOGY} is valid"))
        .into_parts()
        .0;
    let whole = graph(&[PICTURE_TOPOLOGY]);
    assert_eq!(whole, switchyard::graph::to_dot(&model, None));
    assert_eq!(whole, graph(&[PICTURE_TOPOLOGY]), "deterministic");
    for host in &model.hosts {
        let name = &host.name.value;
        let one = graph(&[PICTURE_TOPOLOGY, "--host", name]);
        let id = model.host_named(name).expect("host exists");
        assert_eq!(one, switchyard::graph::to_dot(&model, Some(id)), "{name}");
        assert_ne!(one, whole, "--host {name} narrows the graph");
    }
}

#[test]
#[ignore = "needs graphviz (dot): sudo bash .ci/run"]
fn graph_output_parses_with_dot() {
    for args in [
        vec![PICTURE_TOPOLOGY],
        vec![PICTURE_TOPOLOGY, "--host", "net3"],
        vec!["examples/two-isps.toml"],
    ] {
        let (ok, svg, stderr) = pipe("dot", &["-Tsvg"], &graph(&args));
        assert!(
            ok && stderr.is_empty(),
            "dot rejects graph {args:?}: {stderr}"
        );
        assert!(svg.contains("<svg"), "dot made no SVG for {args:?}");
    }
}

#[test]
fn graph_errors_exit_like_build() {
    let unknown = switchyard()
        .args(["graph", PICTURE_TOPOLOGY, "--host", "net9"])
        .current_dir(common::root())
        .output()
        .expect("switchyard runs");
    assert_eq!(unknown.status.code(), Some(2), "{}", describe(&unknown));
    assert!(unknown.stdout.is_empty(), "no graph for an unknown host");
    let invalid = switchyard()
        .args(["graph", "examples/invalid/SY0101-unknown-uplink.toml"])
        .current_dir(common::root())
        .output()
        .expect("switchyard runs");
    assert_eq!(invalid.status.code(), Some(1), "{}", describe(&invalid));
    assert!(
        invalid.stdout.is_empty(),
        "no graph for an invalid topology"
    );
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("SY0101"));
}

/// What a picture shows, independent of layout coordinates and Graphviz's
/// version: every `<title>` (node ids and edges) and `<text>` (labels), counted.
fn picture_content(svg: &str) -> BTreeMap<String, usize> {
    let mut content = BTreeMap::new();
    for tag in ["title", "text"] {
        let open = format!("<{tag}");
        let close = format!("</{tag}>");
        for piece in svg.split(&open).skip(1) {
            let Some((inner, _)) = piece.split_once(&close) else {
                continue;
            };
            let text = inner.split_once('>').map_or("", |(_, text)| text);
            *content.entry(format!("{tag}: {text}")).or_default() += 1;
        }
    }
    content
}

#[test]
#[ignore = "needs graphviz (dot): sudo bash .ci/run"]
fn checked_in_picture_shows_the_current_graph() {
    let checked_in = std::fs::read_to_string(repo_path(PICTURE))
        .unwrap_or_else(|e| panic!("cannot read {PICTURE}: {e}; run `{REDRAW}`"));
    let (ok, fresh, stderr) = pipe("dot", &["-Tsvg"], &graph(&[PICTURE_TOPOLOGY]));
    assert!(ok, "dot failed: {stderr}");
    let (want, have) = (picture_content(&fresh), picture_content(&checked_in));
    assert!(
        want.len() > 50,
        "the picture has too little in it: {want:?}"
    );
    let missing: Vec<_> = want.keys().filter(|k| !have.contains_key(*k)).collect();
    let extra: Vec<_> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        want == have,
        "{PICTURE} is out of date; run `{REDRAW}`\nmissing: {missing:?}\nstale: {extra:?}"
    );
}

#[test]
fn completions_cover_every_subcommand() {
    let subcommands = subcommands();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = run_ok(switchyard().args(["completions", shell]));
        assert!(script.len() > 500, "{shell}: only {} bytes", script.len());
        for name in &subcommands {
            assert!(
                script.contains(name.as_str()),
                "{shell} completion lacks `{name}`"
            );
        }
        assert!(
            script.contains("host"),
            "{shell} completion lacks the --host option"
        );
    }
    // The bash script is valid bash, and completes subcommands once loaded.
    let bash = run_ok(switchyard().args(["completions", "bash"]));
    let (ok, stdout, stderr) = pipe(
        "bash",
        &["--norc", "--noprofile", "-s"],
        &format!(
            "{bash}\nCOMP_WORDS=(switchyard gr); COMP_CWORD=1; _switchyard switchyard gr switchyard\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
        ),
    );
    assert!(ok, "bash rejects the completion script: {stderr}");
    assert_eq!(stdout.trim(), "graph", "bash completes `gr` to `graph`");
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let output = switchyard()
        .args(["completions", "tcsh"])
        .output()
        .expect("switchyard runs");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

#[test]
#[ignore = "needs man-db (man): sudo bash .ci/run"]
fn man_page_documents_every_subcommand() {
    let page = run_ok(switchyard().arg("man"));
    assert!(page.contains(".TH switchyard 1"), "roff title:\n{page}");
    let (ok, text, stderr) = pipe("man", &["-l", "-"], &page);
    assert!(ok, "man cannot format the page: {stderr}");
    for section in [
        "NAME",
        "SYNOPSIS",
        "SUBCOMMANDS",
        "EXIT STATUS",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(text.contains(section), "man page lacks {section}:\n{text}");
    }
    for name in subcommands() {
        assert!(
            text.contains(&format!("switchyard-{name}(1)")),
            "man page lacks `{name}`:\n{text}"
        );
    }
}

#[test]
fn man_output_dir_writes_a_page_per_subcommand() {
    let temp = tempfile::tempdir().expect("temporary directory");
    run_ok(switchyard().args(["man", "--output-dir"]).arg(temp.path()));
    for name in subcommands() {
        let path = temp.path().join(format!("switchyard-{name}.1"));
        let page =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(page.contains(&format!(".TH switchyard-{name} 1")), "{name}");
        for section in [
            ".SH \"EXIT STATUS\"",
            ".SH FILES",
            ".SH EXAMPLES",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(
                page.contains(section),
                "switchyard-{name}.1 lacks {section}"
            );
        }
    }
    let graph = std::fs::read_to_string(temp.path().join("switchyard-graph.1")).expect("page");
    assert!(
        graph.contains("\\-\\-host"),
        "the graph page documents --host"
    );
    assert!(temp.path().join("switchyard.1").is_file());
}

const TWO_ISPS: &str = "examples/two-isps.toml";

/// Every command that prints to standard output, with arguments that make it
/// print; `DIR` stands for an empty directory (so `diff` has differences).
const PRINTING: &[&[&str]] = &[
    &["schema"],
    &["schema", "--manifest"],
    &["graph", TWO_ISPS],
    &["completions", "bash"],
    &["man"],
    &["trace", TWO_ISPS, "--from", "web-1", "--to", "100.65.3.4"],
    &[
        "trace",
        TWO_ISPS,
        "--from",
        "web-1",
        "--to",
        "100.65.3.4",
        "--format",
        "json",
    ],
    &["diff", TWO_ISPS, "DIR"],
    &["check", TWO_ISPS, "--format", "json"],
    &[
        "check",
        "examples/invalid/SY0101-unknown-uplink.toml",
        "--format",
        "json",
    ],
    &[
        "check",
        "examples/invalid/SY0101-unknown-uplink.toml",
        "--format",
        "github",
    ],
    &["explain", "SY0101"],
    &["schema", "--check-output"],
];

/// Runs each of [`PRINTING`] with `stdout` as its standard output and asserts an
/// I/O error: exit 2 and no panic.
fn assert_unwritable_stdout_is_an_io_error(what: &str, stdout: impl Fn() -> Stdio) {
    let empty = tempfile::tempdir().expect("temporary directory");
    let empty = empty.path().to_str().expect("UTF-8 path");
    for args in PRINTING {
        let args: Vec<&str> = args
            .iter()
            .map(|arg| if *arg == "DIR" { empty } else { arg })
            .collect();
        let output = switchyard()
            .args(&args)
            .current_dir(common::root())
            .stdout(stdout())
            .output()
            .expect("switchyard runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?} with {what}: {}",
            describe(&output)
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{args:?} with {what}: {stderr}"
        );
    }
}

#[test]
fn a_closed_stdout_is_an_io_error_not_a_panic() {
    assert_unwritable_stdout_is_an_io_error("a closed pipe", || {
        // The read end is closed before the command starts, so its first write
        // fails with EPIPE whatever the timing.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        Stdio::from(writer)
    });
}

#[test]
fn a_full_stdout_is_an_io_error_not_a_panic() {
    assert_unwritable_stdout_is_an_io_error("/dev/full", || {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full");
        Stdio::from(full)
    });
}

/// `switchyard ARGS` from the repository root with `input` on standard input.
fn run_with_input(args: &[&str], input: &[u8]) -> std::process::Output {
    common::output_with_input(switchyard().args(args).current_dir(common::root()), input)
}
fn assert_ok(output: &std::process::Output) -> String {
    assert!(output.status.success(), "{}", describe(output));
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

#[test]
fn dash_reads_the_topology_from_standard_input() {
    let topology = std::fs::read(repo_path(TWO_ISPS)).expect("read topology");
    let from_file = |args: &[&str]| run_ok(switchyard().args(args).current_dir(common::root()));
    let from_stdin = |args: &[&str]| assert_ok(&run_with_input(args, &topology));

    assert_eq!(from_stdin(&["check", "-"]), "");
    assert_eq!(from_stdin(&["graph", "-"]), from_file(&["graph", TWO_ISPS]));
    let trace = ["--from", "web-1", "--to", "100.65.3.4"];
    assert_eq!(
        from_stdin(&[&["trace", "-"][..], &trace].concat()),
        from_file(&[&["trace", TWO_ISPS][..], &trace].concat()).replace(TWO_ISPS, "<stdin>")
    );

    // build: the artifacts name their source `<stdin>`, with the same hash.
    let work = tempfile::tempdir().expect("temporary directory");
    let (piped, named) = (work.path().join("piped"), work.path().join("named"));
    let piped_arg = piped.to_str().expect("UTF-8 path");
    from_stdin(&["build", "-", "-o", piped_arg]);
    from_file(&["build", TWO_ISPS, "-o", named.to_str().expect("UTF-8 path")]);
    let (piped_tree, named_tree) = (common::tree(&piped), common::tree(&named));
    assert_eq!(
        piped_tree.keys().collect::<Vec<_>>(),
        named_tree.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &piped_tree {
        let named = String::from_utf8_lossy(&named_tree[path]).into_owned();
        if path == "manifest.json" {
            let json = |bytes: &[u8]| -> serde_json::Value {
                serde_json::from_slice(bytes).expect("manifest is JSON")
            };
            let (piped, named) = (json(bytes), json(named.as_bytes()));
            assert_eq!(piped["source"], "<stdin>");
            assert_eq!(piped["source_sha256"], named["source_sha256"]);
            continue;
        }
        let named = named.replace(" from two-isps.toml. ", " from <stdin>. ");
        assert_eq!(String::from_utf8_lossy(bytes), named, "{path}");
    }
    // diff: a build from standard input is in sync with standard input.
    assert_eq!(from_stdin(&["diff", "-", piped_arg]), "");

    // Diagnostics name standard input.
    let invalid = std::fs::read(repo_path("examples/invalid/SY0101-unknown-uplink.toml"))
        .expect("read invalid topology");
    let output = run_with_input(&["check", "-"], &invalid);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SY0101") && stderr.contains("<stdin>"),
        "{stderr}"
    );
}
