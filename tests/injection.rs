//! Injection (docs/semantics.md §5, §6): every string of the topology that could reach an
//! artifact is either refused by a strict grammar or cannot change what the
//! artifact does.
//!
//! - names (table keys of uplinks, pools, hosts, projects, VMs): SY0013;
//! - interface names (uplink `interface`, `lan`, VLAN `parent`): SY0701;
//! - a VLAN's `parent_unit` (a file name in the networkd directory): SY0710;
//! - `description`s: never reach an artifact (byte-identical output, but for the
//!   topology's hash in the header);
//! - the source file name: only inside the `#` header comment line of each
//!   artifact, control characters replaced, and JSON-escaped in the manifest; the
//!   nft script still passes `nft -c` and the ip batch has the same commands.

mod common;

use std::path::Path;

use switchyard::diagnostic::{Code, Source};

/// Quotes, line breaks, `;`, `#`, braces, `$`, backslashes, non-ASCII, shell and
/// template syntax: each one breaks some target format if written raw.
const HOSTILE: &[&str] = &[
    "a\"b",
    "a'b",
    "a\nb",
    "a\r\nb",
    "a\u{0085}b",
    "a\u{2028}b",
    "a;b",
    "a#b",
    "a{b",
    "a}b",
    "a$b",
    "$(reboot)",
    "a`id`",
    "a\\b",
    "a\\\"b",
    "añb",
    "a\u{202e}b",
    "a b",
    "a\tb",
    "a\0b",
    "a/b",
    "a,b",
    "a:b",
    "a*b",
    "a=b",
    "{{ 7 * 7 }}",
    "a\"; flush ruleset; \"",
    "..",
    "",
];

/// The strings of a topology that can reach an artifact.
#[derive(Clone)]
struct Fields {
    uplink: String,
    pool: String,
    host: String,
    project: String,
    vm: String,
    lan: String,
    interface: String,
    parent: String,
    parent_unit: String,
    /// Of the uplink, pool, host, project and VM.
    descriptions: [Option<String>; 5],
}

impl Default for Fields {
    fn default() -> Self {
        Fields {
            uplink: "isp-a".into(),
            pool: "pool-a".into(),
            host: "net1".into(),
            project: "acme".into(),
            vm: "web-1".into(),
            lan: "lan0".into(),
            interface: "up-a".into(),
            parent: "eth1".into(),
            parent_unit: "20-eth1.network".into(),
            descriptions: Default::default(),
        }
    }
}

/// A one-line TOML basic string (also a quoted key) holding exactly `text`.
fn q(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Fields {
    fn toml(&self) -> String {
        let description = |i: usize| {
            self.descriptions[i]
                .as_deref()
                .map(|d| format!("description = {}\n", q(d)))
                .unwrap_or_default()
        };
        format!(
            r#"version = 1

[uplinks.{uplink}]
id = 1
{d0}
[pools.{pool}]
uplink = {uplink}
prefix = "198.51.100.0/24"
{d1}
[hosts.{host}]
lan = [{lan}]
{d2}
[hosts.{host}.uplinks.{uplink}]
interface = {interface}
address = "192.0.2.2/30"
gateway = "192.0.2.1"
vlan = {{ parent = {parent}, id = 100, parent_unit = {parent_unit} }}

[projects.{project}]
pools = [{pool}]
addresses = ["198.51.100.7"]
networks = ["10.0.0.0/24"]
default = {pool}
egress = [{{ to = "100.65.0.0/16", via = {pool} }}]
{d3}
[vms.{vm}]
project = {project}
host = {host}
address = "10.0.0.5"
public = ["198.51.100.7"]
egress = [{{ to = "100.66.0.0/16", via = "198.51.100.7" }}]
{d4}"#,
            uplink = q(&self.uplink),
            pool = q(&self.pool),
            host = q(&self.host),
            project = q(&self.project),
            vm = q(&self.vm),
            lan = q(&self.lan),
            interface = q(&self.interface),
            parent = q(&self.parent),
            parent_unit = q(&self.parent_unit),
            d0 = description(0),
            d1 = description(1),
            d2 = description(2),
            d3 = description(3),
            d4 = description(4),
        )
    }
}

/// Artifacts of `fields` in-process, as (path, content), with the topology's
/// hash masked ([`common::artifacts_without_source_hash`]).
fn build(fields: &Fields) -> Vec<(String, String)> {
    let built = common::build_source(&Source::new("topology.toml", fields.toml()));
    common::artifacts_without_source_hash(&built)
}

/// The topology is refused with `code`, pointing at the text that carries
/// `hostile`; `build` refuses it too, so no artifact exists.
fn assert_refused(fields: &Fields, hostile: &str, code: Code, what: &str) {
    let source = Source::new("topology.toml", fields.toml());
    let diagnostics = match switchyard::validate(&source) {
        Ok(_) => panic!("{what} {hostile:?} was accepted:\n{}", source.text),
        Err(diagnostics) => diagnostics,
    };
    let quoted = q(hostile);
    let hit = diagnostics.iter().any(|d| {
        d.code == code
            && source
                .text
                .get(d.primary_span())
                .is_some_and(|t| t == quoted)
    });
    assert!(
        hit,
        "{what} {hostile:?}: no {code} pointing at {quoted}:\n{}",
        switchyard::diagnostic::render_human(&source, &diagnostics, 100)
    );
    let renderer = switchyard::render::Renderer::new(Default::default()).expect("templates");
    assert!(matches!(
        switchyard::build(&source, None, &renderer),
        Err(switchyard::BuildError::Invalid(_))
    ));
}

#[test]
fn the_base_topology_is_valid_and_clean() {
    let source = Source::new("topology.toml", Fields::default().toml());
    let validated = switchyard::validate(&source)
        .unwrap_or_else(|d| panic!("{}", switchyard::diagnostic::render_human(&source, &d, 100)));
    assert!(validated.warnings().is_empty());
}

type Setter = fn(&mut Fields, &str);

#[test]
fn hostile_names_and_interface_names_are_refused() {
    let fields: &[(&str, Code, Setter)] = &[
        ("uplink name", Code::BadName, |f, s| f.uplink = s.into()),
        ("pool name", Code::BadName, |f, s| f.pool = s.into()),
        ("host name", Code::BadName, |f, s| f.host = s.into()),
        ("project name", Code::BadName, |f, s| f.project = s.into()),
        ("VM name", Code::BadName, |f, s| f.vm = s.into()),
        ("uplink interface", Code::BadInterfaceName, |f, s| {
            f.interface = s.into()
        }),
        ("LAN interface", Code::BadInterfaceName, |f, s| {
            f.lan = s.into()
        }),
        ("VLAN parent", Code::BadInterfaceName, |f, s| {
            f.parent = s.into()
        }),
    ];
    for &(what, code, set) in fields {
        for hostile in HOSTILE {
            let mut topology = Fields::default();
            set(&mut topology, hostile);
            assert_refused(&topology, hostile, code, what);
        }
    }
}

/// A `parent_unit` names a file switchyard writes a drop-in directory for: a
/// hostile one, even ending in `.network`, never becomes a path.
#[test]
fn hostile_parent_units_are_refused() {
    for hostile in HOSTILE {
        let unit = format!("{hostile}.network");
        let topology = Fields {
            parent_unit: unit.clone(),
            ..Fields::default()
        };
        assert_refused(&topology, &unit, Code::BadParentUnit, "VLAN parent_unit");
    }
}

/// Descriptions are documentation only: whatever they hold, every artifact is
/// byte-identical to the build without them (but for the topology's hash).
#[test]
fn descriptions_never_reach_an_artifact() {
    let plain = build(&Fields::default());
    let everything = format!("MARKER {}", HOSTILE.concat());
    for hostile in HOSTILE.iter().copied().chain([everything.as_str()]) {
        for field in 0..5 {
            let mut fields = Fields::default();
            fields.descriptions[field] = Some(format!("MARKER{hostile}"));
            assert_eq!(build(&fields), plain, "description {field} = {hostile:?}");
        }
    }
    let all = Fields {
        descriptions: std::array::from_fn(|_| Some(everything.clone())),
        ..Fields::default()
    };
    let built = build(&all);
    assert_eq!(built, plain);
    assert!(built.iter().all(|(_, content)| !content.contains("MARKER")));
}

/// Lines that are commands (not comments, not blank) in an artifact.
fn commands(content: &str) -> Vec<&str> {
    content
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !line.is_empty() && !line.starts_with('#')
        })
        .collect()
}

/// `switchyard build` on the base topology saved as `file_name` in `dir`: the
/// name the artifacts carry (the file name, not the path) and the files.
fn build_file(dir: &Path, file_name: &str) -> (String, std::collections::BTreeMap<String, String>) {
    let path = dir.join(file_name);
    std::fs::write(&path, Fields::default().toml()).expect("write topology");
    let out = dir.join(format!("out-{}", file_name.len()));
    common::build(&path, &out, None);
    let files = common::tree(&out)
        .into_iter()
        .map(|(name, bytes)| (name, String::from_utf8(bytes).expect("UTF-8 artifact")))
        .collect();
    (file_name.to_owned(), files)
}

/// The source file name is the one free string the artifacts carry: only in
/// each file's `#` header line, one line, no control characters; everything
/// else is identical to a build from a plain name.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn hostile_source_file_names_stay_inside_one_comment_line() {
    common::require_root();
    let netns = common::Netns::new("inject-src");
    let dir = tempfile::tempdir().expect("temporary directory");
    let (_, plain) = build_file(dir.path(), "plain.toml");
    let hostile_names = [
        "top\"o;lo$gy #{x}\\ñ\u{202e}.toml".to_owned(),
        "line\nbreak\r\n; flush ruleset\n.toml".to_owned(),
        "{{ 7 * 7 }} $(reboot) `id`.toml".to_owned(),
        format!("{}.toml", "x".repeat(200)),
    ];
    for name in hostile_names {
        let (source, hostile) = build_file(dir.path(), &name);
        let header = switchyard::render::comment_safe(&source);
        assert_eq!(
            plain.keys().collect::<Vec<_>>(),
            hostile.keys().collect::<Vec<_>>()
        );
        for (path, content) in &hostile {
            let reference = &plain[path];
            if path == "manifest.json" {
                let manifest: serde_json::Value =
                    serde_json::from_str(content).expect("the manifest is JSON");
                assert_eq!(manifest["source"], source.as_str());
                continue;
            }
            assert_eq!(content.lines().count(), reference.lines().count(), "{path}");
            assert_eq!(
                commands(content),
                commands(reference),
                "{path} for {name:?}"
            );
            let differing: Vec<&str> = content
                .lines()
                .zip(reference.lines())
                .filter(|(a, b)| a != b)
                .map(|(a, _)| a)
                .collect();
            assert_eq!(
                differing.len(),
                1,
                "{path}: only the header differs: {differing:?}"
            );
            assert!(differing[0].starts_with("# ") && differing[0].contains(&header));
            assert!(
                !differing[0].chars().any(char::is_control),
                "{:?}",
                differing[0]
            );
        }
        netns.nft_check(&hostile["net1/switchyard.nft"]);
    }
}

/// Through the command line: a hostile name is refused (exit 1) and `build`
/// writes nothing at all.
#[test]
fn build_writes_nothing_for_a_hostile_name() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("topology.toml");
    let fields = Fields {
        vm: "web-1\"; flush ruleset; #".into(),
        ..Fields::default()
    };
    std::fs::write(&path, fields.toml()).expect("write topology");
    let out = dir.path().join("out");
    let output = common::switchyard()
        .arg("build")
        .arg(&path)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run switchyard");
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        common::describe(&output)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("SY0013"));
    assert!(!out.exists(), "build wrote {}", out.display());
}

/// The templates' formatter is the last guard: a value with a character
/// outside ASCII letters, digits and `-_.:/@` (which could end its token: white
/// space, a line break, a quote, `;`, `#`, `,`, braces, `$`, `%`, a backslash,
/// non-ASCII) is refused with an error, never written, whether a name slipped past the checks or a `--templates`
/// override builds it. Here an override of the ip batch appends each hostile
/// string to an uplink's interface name.
#[test]
fn the_templates_refuse_to_write_a_value_that_could_inject() {
    let source = Source::new("topology.toml", Fields::default().toml());
    let unsafe_in_a_token = |text: &str| {
        text.chars()
            .any(|c| !(c.is_ascii_alphanumeric() || "-_.:/@".contains(c)))
    };
    let mut refused = 0;
    for hostile in HOSTILE {
        // A JSON string is a minijinja string literal with the same escapes.
        let literal = serde_json::to_string(hostile).expect("a string serializes");
        let template = format!(
            "{{% for uplink in uplinks %}}route add default dev {{{{ uplink.interface ~ {literal} }}}}\n{{% endfor %}}"
        );
        let overrides = [("switchyard.ip".to_owned(), template)].into();
        let renderer = switchyard::render::Renderer::new(overrides).expect("the override parses");
        match switchyard::build(&source, None, &renderer) {
            Err(switchyard::BuildError::Render(error)) if unsafe_in_a_token(hostile) => {
                assert!(
                    error.to_string().contains("refusing to write"),
                    "{hostile:?}: {error}"
                );
                refused += 1;
            }
            Ok(built) if !unsafe_in_a_token(hostile) => {
                let batch = built
                    .artifacts
                    .iter()
                    .find(|a| a.path == "net1/switchyard.ip")
                    .expect("the ip batch");
                assert_eq!(
                    batch.content,
                    format!("route add default dev up-a{hostile}\n")
                );
            }
            Ok(_) => panic!("{hostile:?} was written into the ip batch"),
            Err(error) => panic!("{hostile:?}: {error}"),
        }
    }
    assert!(refused > 20, "only {refused} refused");
}
