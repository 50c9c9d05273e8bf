//! plan → artifacts. The only layer that knows templates: one thin generator per
//! backend (`nft`, `ip`, `networkd`, `systemd` boot units) turns a [`HostPlan`] into a template context;
//! minijinja does the rest. Templates live in `templates/`, are compiled into the
//! binary, and can be overridden file by file (`--templates DIR`).

mod ha;
mod ip;
mod monitor;
mod networkd;
mod nft;
mod sysctl;
mod systemd;
mod update;

pub use update::{Update, UpdateError, update};

pub use nft::{DOWN_UPLINKS_SET, TABLE as NFT_TABLE, model as nft_model};
pub use sysctl::SYSCTL_FILE;

/// A host's nft script and ip batch, by their name in its directory.
pub const NFT_SCRIPT: &str = "switchyard.nft";
pub const IP_BATCH: &str = "switchyard.ip";
/// A host's IPv6 ip batch (`ip -6 -batch`, loaded after [`IP_BATCH`]), only
/// when the host has IPv6.
pub const IP6_BATCH: &str = "switchyard6.ip";
/// A member of a pair's keepalived configuration, by its name in its directory.
pub const KEEPALIVED_CONF: &str = ha::KEEPALIVED_CONF;
/// A host's update from the `--since` build's nft script to this one's.
pub const NFT_UPDATE: &str = "switchyard.update.nft";

use rayon::prelude::*;
use std::collections::BTreeMap;

use minijinja::value::Value;
use minijinja::{Environment, ErrorKind, Output, State, UndefinedBehavior};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::diagnostic::Source;
use crate::family::{V4, V6};
use crate::model::{Member, Model};
use crate::plan::{HostPlan, Plan};

/// Every template, by the name it is overridden under (its path below templates/).
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "switchyard.nft",
        include_str!("../../templates/switchyard.nft"),
    ),
    (
        "switchyard.ip",
        include_str!("../../templates/switchyard.ip"),
    ),
    (
        "switchyard6.ip",
        include_str!("../../templates/switchyard6.ip"),
    ),
    (
        "networkd/interface.network",
        include_str!("../../templates/networkd/interface.network"),
    ),
    (
        "networkd/vlan.netdev",
        include_str!("../../templates/networkd/vlan.netdev"),
    ),
    (
        "networkd/sync.network",
        include_str!("../../templates/networkd/sync.network"),
    ),
    (
        "networkd/vlan-drop-in.conf",
        include_str!("../../templates/networkd/vlan-drop-in.conf"),
    ),
    (
        "sysctl.d/90-switchyard.conf",
        include_str!("../../templates/sysctl.d/90-switchyard.conf"),
    ),
    (
        "systemd/switchyard-nftables.service",
        include_str!("../../templates/systemd/switchyard-nftables.service"),
    ),
    (
        "systemd/switchyard-routes.service",
        include_str!("../../templates/systemd/switchyard-routes.service"),
    ),
    (
        "systemd/switchyard-monitor.service",
        include_str!("../../templates/systemd/switchyard-monitor.service"),
    ),
    (
        "keepalived.conf",
        include_str!("../../templates/keepalived.conf"),
    ),
    (
        "conntrackd.conf",
        include_str!("../../templates/conntrackd.conf"),
    ),
    ("ha-notify.sh", include_str!("../../templates/ha-notify.sh")),
    (
        "systemd/switchyard-keepalived.service",
        include_str!("../../templates/systemd/switchyard-keepalived.service"),
    ),
    (
        "systemd/switchyard-conntrackd.service",
        include_str!("../../templates/systemd/switchyard-conntrackd.service"),
    ),
];

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Relative to the output directory, `/`-separated: `net1/switchyard.nft`.
    pub path: String,
    pub host: String,
    pub content: String,
    /// For an update (`switchyard.update.nft`): the build id of the table it
    /// loads over, which the manifest records.
    pub applies_over_build: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name} does not parse: {source:#}")]
    Syntax {
        name: String,
        source: minijinja::Error,
    },
    #[error("template {name} failed for host {host}: {source:#}")]
    Render {
        name: String,
        host: String,
        source: minijinja::Error,
    },
    #[error("two artifacts would be written to {0} (a switchyard bug: please report it)")]
    PathCollision(String),
    #[error("--templates: {0} is not a switchyard template (known: {known})", known = TEMPLATES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))]
    UnknownTemplate(String),
}

/// The compiled templates: the built-in ones with `overrides` (name → text) on top.
pub struct Renderer {
    env: Environment<'static>,
    /// The number of `egress_by_vm` shards, when a test forces one.
    forced_egress_shards: Option<usize>,
}

impl Renderer {
    pub fn new(overrides: BTreeMap<String, String>) -> Result<Self, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters are valid");
        env.set_syntax(syntax);
        // Artifacts are not HTML: never escape; refuse instead (`write_token`,
        // which ignores the mode). A mode other than `None` marks what a macro
        // returns as safe: its values were checked as it was rendered.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Custom("token".into()));
        env.set_formatter(write_token);
        // A comment's text is one quoted nft string, made safe by the filter.
        env.add_filter("nft_comment", |text: String| {
            Value::from_safe_string(nft::comment(text))
        });
        if let Some(unknown) = overrides
            .keys()
            .find(|name| !TEMPLATES.iter().any(|(known, _)| known == name))
        {
            return Err(RenderError::UnknownTemplate(unknown.clone()));
        }
        for (name, text) in TEMPLATES {
            let text = overrides
                .get(*name)
                .cloned()
                .unwrap_or_else(|| (*text).to_owned());
            env.add_template_owned(*name, text)
                .map_err(|source| RenderError::Syntax {
                    name: (*name).to_owned(),
                    source,
                })?;
        }
        Ok(Renderer {
            env,
            forced_egress_shards: None,
        })
    }

    /// For tests only (no user option): splits every host's `egress_by_vm`
    /// into `shards` maps (a power of two, at most 64) whatever its size, so
    /// that a small topology is laid out as a large host's is and can be
    /// proven on the kernel.
    #[doc(hidden)]
    pub fn with_egress_shards(mut self, shards: usize) -> Self {
        self.forced_egress_shards = Some(shards);
        self
    }

    fn render(
        &self,
        name: &str,
        host: &str,
        context: impl Serialize,
    ) -> Result<String, RenderError> {
        let error = |source| RenderError::Render {
            name: name.to_owned(),
            host: host.to_owned(),
            source,
        };
        self.env
            .get_template(name)
            .map_err(error)?
            .render(minijinja::value::Serde(context))
            .map_err(error)
    }

    /// Every artifact of every host in the plan, sorted by path. `model` is the
    /// one the plan was made from: the plan holds its ids, the artifacts its names.
    pub fn render_plan(
        &self,
        model: &Model,
        plan: &Plan,
        source: &SourceId,
    ) -> Result<Vec<Artifact>, RenderError> {
        // Hosts render independently, side by side on all cores.
        let per_host: Vec<_> = plan
            .hosts
            .par_iter()
            .map(|host| self.host_artifacts(model, host, source))
            .collect();
        let mut artifacts = Vec::new();
        for host in per_host {
            artifacts.extend(host?);
        }
        sorted_by_unique_path(artifacts)
    }

    /// A host's artifacts: in its directory, or for a pair in each member's
    /// (docs/semantics.md §12), the same nft script in both.
    fn host_artifacts(
        &self,
        model: &Model,
        host: &HostPlan,
        source: &SourceId,
    ) -> Result<Vec<Artifact>, RenderError> {
        let header = Header::new(host, None, source);
        let (nft_context, table) =
            nft::script_context(model, host, &header, self.forced_egress_shards);
        let rendered = self.render(NFT_SCRIPT, &host.name, nft_context)?;
        let nft_script = nft::ElementLines::of(&table)
            .stamped_script(&rendered)
            .map_err(|message| {
                let message = format!("the template altered a set's element lines: {message}");
                RenderError::Render {
                    name: NFT_SCRIPT.to_owned(),
                    host: host.name.to_string(),
                    source: minijinja::Error::new(ErrorKind::InvalidOperation, message),
                }
            })?;
        // The table is freed on the other core meanwhile.
        let (artifacts, ()) = rayon::join(
            || self.host_files(host, &header, source, nft_script),
            || drop(table),
        );
        artifacts
    }

    /// The files of `host` around its `nft_script`: in its directory, or for
    /// a pair in each member's.
    fn host_files(
        &self,
        host: &HostPlan,
        header: &Header,
        source: &SourceId,
        nft_script: String,
    ) -> Result<Vec<Artifact>, RenderError> {
        let Some(ha) = &host.ha else {
            return self.machine_artifacts(host, header, nft_script);
        };
        let mut artifacts = Vec::new();
        for member in Member::BOTH {
            let plan = host.for_member(member).expect("a pair");
            let header = Header::new(host, Some(&plan.name), source);
            let context = ha::member_context(&host.name, &plan, ha, member, &header);
            // Once for every file; a minijinja value keeps `Verbatim` text safe.
            let context = Value::from(minijinja::value::Serde(context));
            for file in ha::FILES {
                artifacts.push(self.file(&plan, file, &context)?);
            }
            artifacts.extend(self.machine_artifacts(&plan, &header, nft_script.clone())?);
        }
        Ok(artifacts)
    }

    /// The artifacts of one machine: `nft_script`, and what `machine`'s plan
    /// renders into its directory.
    fn machine_artifacts(
        &self,
        machine: &HostPlan,
        header: &Header,
        nft_script: String,
    ) -> Result<Vec<Artifact>, RenderError> {
        let mut artifacts = vec![
            Artifact {
                path: format!("{}/{NFT_SCRIPT}", machine.name),
                host: machine.name.to_string(),
                content: nft_script,
                applies_over_build: None,
            },
            self.file(machine, IP_BATCH, ip::batch_context::<V4>(machine, header))?,
            self.file(machine, SYSCTL_FILE, sysctl::conf_context(machine, header))?,
        ];
        if machine.forwards::<V6>() {
            let context = ip::batch_context::<V6>(machine, header);
            artifacts.push(self.file(machine, IP6_BATCH, context)?);
        }
        for unit in networkd::units(machine, header) {
            artifacts.push(self.artifact(machine, unit.template, &unit.file, unit.context)?);
        }
        for unit in systemd::UNITS {
            let path = format!("systemd/{unit}");
            let context = systemd::boot_unit_context(machine, header);
            artifacts.push(self.file(machine, &path, context)?);
        }
        if let Some(config) = monitor::config_json(machine, header) {
            artifacts.push(Artifact {
                path: format!("{}/monitor.json", machine.name),
                host: machine.name.to_string(),
                content: config,
                applies_over_build: None,
            });
            let unit = "systemd/switchyard-monitor.service";
            artifacts.push(self.file(machine, unit, monitor::unit_context(machine, header))?);
        }
        Ok(artifacts)
    }

    /// The file at `path` of `host`'s directory, rendered from the template of
    /// the same name.
    fn file(
        &self,
        host: &HostPlan,
        path: &str,
        context: impl Serialize,
    ) -> Result<Artifact, RenderError> {
        self.artifact(host, path, path, context)
    }

    fn artifact(
        &self,
        host: &HostPlan,
        template: &str,
        file: &str,
        context: impl Serialize,
    ) -> Result<Artifact, RenderError> {
        Ok(Artifact {
            path: format!("{}/{file}", host.name),
            host: host.name.to_string(),
            content: self.render(template, &host.name, context)?,
            applies_over_build: None,
        })
    }
}

/// Writes a value into an artifact, or refuses it: the formatter of every
/// template. A value is one token of nft, `ip -batch`, networkd or a systemd
/// unit (a name, an interface, an address or prefix, a number, a path), made of
/// ASCII letters, digits and `-`, `_`, `.`, `:`, `/`, `@`; any other character
/// could end that token or start another (white space, a line break, a quote,
/// `;`, `#`, `,`, braces, a backslash, `$`, `%`, `=`, …) and is an error, not
/// escaped: the checks refuse such names long before, so meeting one here is a
/// bug that must not become a rule or a command. Text the generators wrote
/// whole (element lines, the header, escaped unit names) is [`Verbatim`] and
/// written as is.
fn write_token(out: &mut Output, _: &mut State, value: &Value) -> Result<(), minijinja::Error> {
    let owned;
    let text = match value.as_str() {
        Some(text) => text,
        None => {
            owned = value.to_string();
            &owned
        }
    };
    if !value.is_safe()
        && let Some(unsafe_char) = text.chars().find(|&c| !is_token_char(c))
    {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "refusing to write {:?} into an artifact: {unsafe_char:?} is not safe in one",
                text
            ),
        ));
    }
    out.write_str(text).map_err(minijinja::Error::from)
}

/// A character a template value may hold (see [`write_token`]).
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/' | '@')
}

/// Text a generator wrote whole and the templates write as is: element lines,
/// the header, escaped unit names. Everything else a template writes passes
/// [`write_token`].
pub(super) struct Verbatim<'a>(pub &'a str);

impl Serialize for Verbatim<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Value::from_safe_string(self.0.to_owned()).serialize(serializer)
    }
}

/// `artifacts` sorted by path; an error, rather than one file silently replacing
/// another on disk and appearing twice in the manifest, if two share a path.
fn sorted_by_unique_path(mut artifacts: Vec<Artifact>) -> Result<Vec<Artifact>, RenderError> {
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    match artifacts
        .windows(2)
        .find(|pair| pair[0].path == pair[1].path)
    {
        Some(pair) => Err(RenderError::PathCollision(pair[0].path.clone())),
        None => Ok(artifacts),
    }
}

/// How artifacts and the manifest name the topology they were built from: its file
/// name without the directory and the SHA-256 of its bytes. The path as typed
/// (`examples/x.toml`, `./examples/x.toml`, absolute) would make the same topology
/// build differently on every machine and in every working directory; diagnostics
/// keep the path as typed, for people.
pub struct SourceId {
    pub file_name: String,
    pub sha256: String,
}

impl SourceId {
    pub fn new(source: &Source) -> Self {
        let file_name = std::path::Path::new(&source.name).file_name().map_or_else(
            || source.name.clone(),
            |name| name.to_string_lossy().into_owned(),
        );
        SourceId {
            file_name,
            // `text` is the bytes read, unchanged: decoding UTF-8 only validates.
            sha256: hex_digest(source.text.as_bytes()),
        }
    }
}

/// The first line of every artifact: generator, host, source file name; no
/// timestamp and no hash of the topology. A host's artifacts depend only on what
/// is rendered for that host, so an edit that changes nothing there (a comment, a
/// VM on another host) leaves its files byte-identical and configuration
/// management reloads nothing; the topology's SHA-256 is in the manifest only.
pub struct Header(String);

impl Header {
    /// For `host`, or for `member` of its pair.
    fn new(host: &HostPlan, member: Option<&str>, source: &SourceId) -> Self {
        let host_name = &host.name;
        let machine = match (member, &host.ha) {
            (Some(member), _) => format!("{member}, a member of host {host_name},"),
            (None, Some(ha)) => {
                let [first, second] = &ha.members.0;
                format!(
                    "host {host_name} (both members: {}, {})",
                    first.name, second.name
                )
            }
            (None, None) => format!("host {host_name}"),
        };
        Header(format!(
            "Generated by switchyard {} for {machine} from {}. Do not edit: edit the topology and rebuild.",
            env!("CARGO_PKG_VERSION"),
            comment_safe(&source.file_name),
        ))
    }
    fn text(&self) -> &str {
        &self.0
    }
    /// For the templates: a sentence, spaces and all.
    fn verbatim(&self) -> Verbatim<'_> {
        Verbatim(&self.0)
    }
}

/// Text that goes into a `#` comment: one line, no control characters. Names are
/// already restricted by the name grammar; file names and descriptions are not.
pub fn comment_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

// `schema/manifest.schema.json` is generated from this type (`switchyard schema
// --manifest`); the doc comments below become its descriptions.
/// The `manifest.json` of a build: every file written, with its host and SHA-256, so
/// a pipeline can pick one host's files and verify them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "switchyard build manifest",
    extend("$id" = "https://switchyard.dev/schema/manifest.schema.json")
)]
pub struct Manifest {
    /// The program and version that wrote the files, e.g. `switchyard 0.1.0`.
    pub generator: String,
    /// The file name (without its directory) of the topology the build was made
    /// from, or `<stdin>` when it was read from standard input.
    pub source: String,
    /// SHA-256 of the topology's bytes, lowercase hexadecimal.
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub source_sha256: String,
    /// Every file written except manifest.json itself, sorted by path. With
    /// `build --host NAME` only that host's files.
    pub files: Vec<ManifestFile>,
}

/// One file of a build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Relative to the build directory, `/`-separated, starting with the host
    /// (or member):
    /// `net1/switchyard.nft`, `net1/networkd/10-switchyard-up-a.network`.
    #[schemars(pattern(r"^[^/]+(/[^/]+)+$"))]
    pub path: String,
    /// The host (a `[hosts.NAME]` key of the topology) the file is for, or for
    /// a host served by a pair the member (a name of its `ha.members`).
    pub host: String,
    /// SHA-256 of the file's bytes, lowercase hexadecimal.
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// Only for an update (`HOST/switchyard.update.nft`, from `build --since
    /// OLD`): the build id of the table it applies over, OLD's, as the one element
    /// of set `build` in table inet switchyard (`nft -j list set inet switchyard
    /// build`). Over a table with any other id the update fails and changes
    /// nothing: load `HOST/switchyard.nft` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_over_build: Option<String>,
}

/// What every manifest's `generator` starts with, whatever switchyard's version.
const GENERATOR: &str = "switchyard ";

/// Why a file is not a switchyard build's `manifest.json`.
#[derive(Debug, thiserror::Error)]
pub enum NotAManifest {
    #[error("{0}")]
    Malformed(#[from] serde_json::Error),
    #[error("its generator is `{0}`, not switchyard")]
    OtherGenerator(String),
}

impl Manifest {
    /// The text of `manifest.json`.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("manifest serializes");
        json.push('\n');
        json
    }

    /// Reads an earlier build's `manifest.json`: the one reader of it, for
    /// `build -o`'s guard, `build --since` and `verify`.
    pub fn from_json(json: &[u8]) -> Result<Manifest, NotAManifest> {
        let manifest: Manifest = serde_json::from_slice(json)?;
        if !manifest.generator.starts_with(GENERATOR) {
            return Err(NotAManifest::OtherGenerator(manifest.generator));
        }
        Ok(manifest)
    }

    /// The manifest of the same build made without `--since`: the updates'
    /// entries left out, and their paths.
    pub fn without_updates(mut self) -> (Manifest, Vec<String>) {
        let (updates, files): (Vec<ManifestFile>, _) = self
            .files
            .into_iter()
            .partition(|file| file.applies_over_build.is_some());
        self.files = files;
        (self, updates.into_iter().map(|file| file.path).collect())
    }

    pub fn new(artifacts: &[Artifact], source: &SourceId) -> Self {
        Manifest {
            generator: format!("{GENERATOR}{}", env!("CARGO_PKG_VERSION")),
            source: source.file_name.clone(),
            source_sha256: source.sha256.clone(),
            // Hashing ~44 MB at 100k VMs: one artifact per core.
            files: artifacts
                .par_iter()
                .map(|a| ManifestFile {
                    path: a.path.clone(),
                    host: a.host.clone(),
                    sha256: hex_digest(a.content.as_bytes()),
                    applies_over_build: a.applies_over_build.clone(),
                })
                .collect(),
        }
    }
}

pub(crate) fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub const MANIFEST: &str = "manifest.json";

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(path: &str, content: &str) -> Artifact {
        Artifact {
            path: path.to_owned(),
            host: "net1".to_owned(),
            content: content.to_owned(),
            applies_over_build: None,
        }
    }

    #[test]
    fn two_artifacts_with_one_path_are_an_error_not_an_overwrite() {
        let artifacts = vec![
            artifact("net1/networkd/10-switchyard-eth1.network", "uplink"),
            artifact("net1/switchyard.nft", "nft"),
            artifact("net1/networkd/10-switchyard-eth1.network", "parent"),
        ];
        let error = sorted_by_unique_path(artifacts).expect_err("a collision");
        assert!(
            matches!(&error, RenderError::PathCollision(path) if path == "net1/networkd/10-switchyard-eth1.network"),
            "{error}"
        );
    }

    #[test]
    fn distinct_paths_come_back_sorted() {
        let artifacts = vec![artifact("net1/b", "b"), artifact("net1/a", "a")];
        let paths: Vec<String> = sorted_by_unique_path(artifacts)
            .expect("no collision")
            .into_iter()
            .map(|a| a.path)
            .collect();
        assert_eq!(paths, ["net1/a", "net1/b"]);
    }
}
