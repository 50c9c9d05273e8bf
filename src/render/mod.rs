//! plan → artifacts. The only layer that knows templates: one thin generator per
//! backend (`nft`, `ip`, `networkd`, `systemd` boot units) turns a [`HostPlan`] into a template context;
//! minijinja does the rest. Templates live in `templates/`, are compiled into the
//! binary, and can be overridden file by file (`--templates DIR`).

mod ip;
mod networkd;
mod nft;
mod systemd;

pub use nft::TABLE as NFT_TABLE;
pub use systemd::INSTALL_DIR;

/// A host's nft script and ip batch, by their name in its directory.
pub const NFT_SCRIPT: &str = "switchyard.nft";
pub const IP_BATCH: &str = "switchyard.ip";

use rayon::prelude::*;
use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
        "networkd/uplink.network",
        include_str!("../../templates/networkd/uplink.network"),
    ),
    (
        "networkd/vlan.netdev",
        include_str!("../../templates/networkd/vlan.netdev"),
    ),
    (
        "networkd/parent.network",
        include_str!("../../templates/networkd/parent.network"),
    ),
    (
        "systemd/switchyard-nftables.service",
        include_str!("../../templates/systemd/switchyard-nftables.service"),
    ),
    (
        "systemd/switchyard-routes.service",
        include_str!("../../templates/systemd/switchyard-routes.service"),
    ),
];

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Relative to the output directory, `/`-separated: `net1/switchyard.nft`.
    pub path: String,
    pub host: String,
    pub content: String,
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
    #[error("--templates: {0} is not a switchyard template (known: {known})", known = TEMPLATES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))]
    UnknownTemplate(String),
}

/// The compiled templates: the built-in ones with `overrides` (name → text) on top.
pub struct Renderer {
    env: Environment<'static>,
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
        // Artifacts are not HTML: never escape.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.add_filter("nft_comment", nft::comment);
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
        Ok(Renderer { env })
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

    /// Every artifact of every host in the plan, sorted by path.
    pub fn render_plan(
        &self,
        plan: &Plan,
        source_name: &str,
    ) -> Result<Vec<Artifact>, RenderError> {
        // Hosts render independently, side by side on all cores.
        let per_host: Vec<_> = plan
            .hosts
            .par_iter()
            .map(|host| self.host_artifacts(host, source_name))
            .collect();
        let mut artifacts = Vec::new();
        for host in per_host {
            artifacts.extend(host?);
        }
        artifacts.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(artifacts)
    }

    fn host_artifacts(
        &self,
        host: &HostPlan,
        source_name: &str,
    ) -> Result<Vec<Artifact>, RenderError> {
        let header = Header::new(host, source_name);
        let mut artifacts = vec![
            self.artifact(host, NFT_SCRIPT, NFT_SCRIPT, nft::context(host, &header))?,
            self.artifact(host, IP_BATCH, IP_BATCH, ip::context(host, &header))?,
        ];
        for unit in networkd::units(host, &header) {
            artifacts.push(self.artifact(host, unit.template, &unit.file, unit.context)?);
        }
        for unit in systemd::UNITS {
            let path = format!("systemd/{unit}");
            artifacts.push(self.artifact(host, &path, &path, systemd::context(host, &header))?);
        }
        Ok(artifacts)
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
            host: host.name.clone(),
            content: self.render(template, &host.name, context)?,
        })
    }
}

/// The first line of every artifact: generator, host, source; no timestamp.
pub struct Header(String);

impl Header {
    fn new(host: &HostPlan, source_name: &str) -> Self {
        Header(format!(
            "Generated by switchyard {} for host {} from {}. Do not edit: edit the topology and rebuild.",
            env!("CARGO_PKG_VERSION"),
            host.name,
            comment_safe(source_name),
        ))
    }
    fn text(&self) -> &str {
        &self.0
    }
}

/// Text that goes into a `#` comment: one line, no control characters. Names are
/// already restricted by the name grammar; file names and descriptions are not.
pub fn comment_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn hex(value: u32) -> String {
    format!("{value:#010x}")
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
    /// The topology file the build was made from, as named on the command line.
    pub source: String,
    /// Every file written except manifest.json itself, sorted by path. With
    /// `build --host NAME` only that host's files.
    pub files: Vec<ManifestFile>,
}

/// One file of a build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Relative to the build directory, `/`-separated, starting with the host:
    /// `net1/switchyard.nft`, `net1/networkd/10-switchyard-up-a.network`.
    #[schemars(pattern(r"^[^/]+(/[^/]+)+$"))]
    pub path: String,
    /// The host (a `[hosts.NAME]` key of the topology) the file is for.
    pub host: String,
    /// SHA-256 of the file's bytes, lowercase hexadecimal.
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: String,
}

impl Manifest {
    pub fn new(artifacts: &[Artifact], source_name: &str) -> Self {
        Manifest {
            generator: format!("switchyard {}", env!("CARGO_PKG_VERSION")),
            source: source_name.to_owned(),
            // Hashing ~44 MB at 100k VMs: one artifact per core.
            files: artifacts
                .par_iter()
                .map(|a| ManifestFile {
                    path: a.path.clone(),
                    host: a.host.clone(),
                    sha256: hex_digest(a.content.as_bytes()),
                })
                .collect(),
        }
    }
}

/// The text of `manifest.json` for `artifacts`.
pub fn manifest(artifacts: &[Artifact], source_name: &str) -> String {
    let mut json = serde_json::to_string_pretty(&Manifest::new(artifacts, source_name))
        .expect("manifest serializes");
    json.push('\n');
    json
}

pub(crate) fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub const MANIFEST: &str = "manifest.json";
