//! Reading a large topology in pieces on every core (src/raw/pieces.rs) gives
//! exactly what reading it whole gives, or is not used: every shipped example,
//! every invalid example and a synthetic topology, cut into 2 to 6 pieces and at
//! every entity header; each kind of file whose pieces must not be joined; and
//! random files of troublesome fragments, whose pieces are joined only into what
//! reading them whole gives.

#[path = "../examples/synth.rs"]
mod synth;

use std::path::Path;

use switchyard::diagnostic::Diagnostics;
use switchyard::raw;

/// Every entity, value and span, as the whole-file reading gives them.
fn read_whole(text: &str) -> Option<String> {
    raw::parse_whole(text, &mut Diagnostics::default()).map(|parsed| format!("{parsed:?}"))
}

/// Read in up to `count` pieces; `count` = the file's length cuts at every
/// entity header.
fn read_in_pieces(text: &str, count: usize) -> Option<String> {
    raw::parse_in_pieces(text, count).map(|parsed| format!("{parsed:?}"))
}

fn counts(text: &str) -> impl Iterator<Item = usize> {
    (2..=6).chain([text.len()])
}

fn synthetic() -> String {
    let mut out = Vec::new();
    synth::generate(300, 2, 7, &mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("the generator writes UTF-8")
}

fn toml_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the directory exists")
        .map(|entry| entry.expect("readable").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable");
            (path.display().to_string(), text)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_synthetic_topology_is_read_in_pieces_as_it_is_read_whole() {
    let text = synthetic();
    let whole = read_whole(&text).expect("the generated topology is TOML");
    for count in counts(&text) {
        assert_eq!(
            read_in_pieces(&text, count).as_deref(),
            Some(whole.as_str()),
            "{count} pieces"
        );
    }
}

#[test]
fn every_example_read_in_pieces_is_what_reading_it_whole_gives_or_is_not_used() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = toml_files(&root.join("examples"));
    files.extend(toml_files(&root.join("examples/invalid")));
    files.extend(toml_files(&root.join("tests/fixtures")));
    let mut cut = 0;
    for (name, text) in &files {
        for count in counts(text) {
            if let Some(pieces) = read_in_pieces(text, count) {
                cut += 1;
                assert_eq!(Some(pieces), read_whole(text), "{name} in {count} pieces");
            }
        }
    }
    assert!(
        cut > files.len(),
        "most examples can be cut: {cut} readings"
    );
}

/// What the pieces of a file give, and what reading it whole reports.
fn not_joined(text: &str) -> (Option<String>, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    raw::parse_whole(text, &mut diagnostics);
    (read_in_pieces(text, text.len()), diagnostics)
}

/// Read whole, a file of the right shape.
fn assert_right_shape(text: &str) {
    let (_, diagnostics) = not_joined(text);
    assert!(!diagnostics.has_errors(), "{text}");
}

const HEAD: &str = "version = 1\n[uplinks.isp-a]\nid = 1\n";

#[test]
fn a_section_written_inline_is_not_joined_with_a_later_piece_adding_to_it() {
    let pool_p = "p = { uplink = \"isp-a\", prefix = \"11.0.0.0/24\" }";
    let pool_q = "[pools.q]\nuplink = \"isp-a\"\nprefix = \"12.0.0.0/24\"\n";
    // `[pools]` is a header, not inline: open to `[pools.q]`, and cut there.
    let text = format!("version = 1\n[pools]\n{pool_p}\n[uplinks.isp-a]\nid = 1\n{pool_q}");
    assert_right_shape(&text);
    assert!(read_in_pieces(&text, text.len()).is_some());
    let text = format!("version = 1\npools = {{ {pool_p} }}\n[uplinks.isp-a]\nid = 1\n{pool_q}");
    let (pieces, diagnostics) = not_joined(&text);
    assert_eq!(pieces, None);
    assert!(
        diagnostics.has_errors(),
        "an inline table is closed to [pools.q]"
    );
}

#[test]
fn a_section_header_after_the_first_cut_is_not_joined() {
    let text = format!("{HEAD}[uplinks]\n[uplinks.isp-b]\nid = 2\n[uplinks]\n");
    let (pieces, diagnostics) = not_joined(&text);
    assert_eq!(pieces, None);
    assert!(diagnostics.has_errors(), "[uplinks] twice is not TOML");
}

#[test]
fn a_top_level_table_after_the_first_cut_is_not_joined() {
    let text = format!("{HEAD}[uplinks.isp-b]\nid = 2\n[failover]\ninterval = \"1s\"\n");
    assert_right_shape(&text);
    assert_eq!(read_in_pieces(&text, text.len()), None);
}

#[test]
fn an_entity_in_two_pieces_is_not_joined() {
    let text = format!(
        "{HEAD}[hosts.net1]\nlan = [\"lan0\"]\n[uplinks.isp-b]\nid = 2\n\
         [hosts.net1.uplinks.isp-a]\ninterface = \"up-a\"\naddress = \"192.0.2.2/30\"\ngateway = \"192.0.2.1\"\n"
    );
    assert_right_shape(&text);
    assert_eq!(read_in_pieces(&text, text.len()), None);
}

#[test]
fn a_header_line_inside_a_multi_line_string_is_not_a_cut() {
    let text = format!(
        "{HEAD}[uplinks.isp-b]\nid = 2\ndescription = \"\"\"\n[uplinks.isp-c]\n\"\"\"\n[uplinks.isp-d]\nid = 4\n"
    );
    assert_right_shape(&text);
    assert_eq!(read_in_pieces(&text, text.len()), None);
}

#[test]
fn a_file_with_a_problem_is_not_read_in_pieces() {
    let text =
        format!("{HEAD}[uplinks.isp-b]\nid = 2\ndescripton = \"b\"\n[uplinks.isp-c]\nid = 3\n");
    let (pieces, diagnostics) = not_joined(&text);
    assert_eq!(pieces, None);
    assert!(diagnostics.has_errors(), "unknown key `descripton`");
}

/// Pieces of TOML that make the joined reading's checks matter: entities,
/// sections' own headers, a section written inline at the top, a top-level
/// table, dotted keys, a multi-line string holding a header line, an array of
/// tables, a nested array, a duplicate entity, unknown keys (one that leaves
/// its entity out, one dropped from an entity that is kept).
const FRAGMENTS: &[&str] = &[
    "version = 1\n",
    "[uplinks.a]\nid = 1\n",
    "[uplinks.b]\nid = 2\n",
    "[uplinks.a]\nid = 5\n",
    "[pools.p]\nuplink = \"a\"\nprefix = \"11.0.0.0/24\"\n",
    "[uplinks]\n",
    "[pools]\n",
    "pools = { q = { uplink = \"a\", prefix = \"12.0.0.0/24\" } }\n",
    "[failover]\ninterval = \"1s\"\n",
    "[hosts.h]\nlan = [\"lan0\"]\n",
    "[hosts.h.uplinks.a]\ninterface = \"up-a\"\naddress = \"192.0.2.2/30\"\ngateway = \"192.0.2.1\"\n",
    "description = \"\"\"\n[uplinks.c]\n\"\"\"\n",
    "uplinks.d.id = 4\n",
    "[[vms]]\n",
    "x = [\n[1],\n]\n",
    "[uplinks.e]\nid = 6\ntabel = 7\n",
    "[uplinks.f]\nid = 7\nnotes = \"x\"\n",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, .. Default::default() })]

    /// Whatever the file, a joined reading is only ever the whole file's, with
    /// no problem: never a file the whole reading rejects or reads otherwise.
    #[test]
    fn pieces_are_joined_only_into_what_reading_whole_gives(
        picks in proptest::collection::vec(0..FRAGMENTS.len(), 1..12),
        count in 2usize..8,
    ) {
        let text: String = picks.iter().map(|&i| FRAGMENTS[i]).collect();
        let mut diagnostics = Diagnostics::default();
        let whole = raw::parse_whole(&text, &mut diagnostics).map(|p| format!("{p:?}"));
        for count in [count, text.len()] {
            if let Some(pieces) = read_in_pieces(&text, count) {
                proptest::prop_assert!(!diagnostics.has_errors(), "{}", text);
                proptest::prop_assert_eq!(Some(pieces), whole.clone(), "{}", text);
            }
        }
    }
}
