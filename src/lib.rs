//! switchyard: compiles a multi-uplink NAT topology into per-host nftables, ip-batch
//! and systemd-networkd artifacts. See ARCHITECTURE.md for the map.
//!
//! The pipeline is `raw` (TOML) → `model` (resolved) → `check` (rules) → `plan`
//! (backend-neutral decisions) → `lints` (rules on the plan) → `render`
//! (templates); `tests/layering.rs` keeps every module below those using it. Nothing here touches the file
//! system; the binary (`src/bin/switchyard/`) does all IO.

pub mod apply;
pub mod changes;
pub mod check;
pub mod diagnostic;
pub mod family;
pub mod graph;
pub mod intervals;
pub mod layout;
pub mod lints;
pub mod model;
pub mod monitor;
pub mod nft_table;
pub mod plan;
pub mod raw;
pub mod render;
pub mod schema;
pub mod trace;
pub mod verify;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use diagnostic::{Diagnostic, Diagnostics, Source};
pub use diagnostic::{MAX_INPUT_BYTES, input_too_large};
use model::{CheckedModel, Model};

/// A topology that passed every check, its plan (every host), and the warnings it
/// raised. Only [`validate`] makes one, so the plan is always that of the model.
pub struct Validated {
    model: CheckedModel,
    plan: plan::Plan,
    warnings: Vec<Diagnostic>,
}

impl Validated {
    pub fn model(&self) -> &CheckedModel {
        &self.model
    }
    pub fn plan(&self) -> &plan::Plan {
        &self.plan
    }
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }
    pub fn into_parts(self) -> (CheckedModel, plan::Plan, Vec<Diagnostic>) {
        (self.model, self.plan, self.warnings)
    }
}

/// Parses, resolves, checks and plans a topology. `Err` holds every diagnostic
/// (errors and warnings, sorted by position) when at least one is an error.
pub fn validate(source: &Source) -> Result<Validated, Vec<Diagnostic>> {
    let mut diagnostics = Diagnostics::default();
    if source.text.len() > MAX_INPUT_BYTES {
        diagnostics.push(input_too_large(source.text.len()));
        return Err(diagnostics.into_sorted());
    }
    let Some(parsed) = raw::parse(&source.text, &mut diagnostics) else {
        return Err(diagnostics.into_sorted());
    };
    let model = model::resolve(&parsed, &mut diagnostics);
    // Unknown keys are dropped and the rest is read; an entity that cannot be
    // read is left out. The checks run unless what was left out would be
    // reported again as a problem of its own ([`raw::Parsed::checkable`]).
    if !parsed.checkable || model.left_out.needed {
        return Err(diagnostics.into_sorted());
    }
    let left_out_with_dependents = model.left_out.with_dependents;
    let unusable = !parsed.unusable.is_empty();
    let mut found = Diagnostics::default();
    // The file as read is not needed any more: freed beside the checks (at
    // 100k VMs a few hundred thousand allocations).
    let ((), checked) = rayon::join(|| drop(parsed), || check::run(model, &mut found));
    if !unusable && !left_out_with_dependents {
        diagnostics.append(found);
    } else {
        // A VM or project left out: a warning (an address no VM uses) could
        // follow from its absence.
        diagnostics.append(found.errors());
    }
    let Some(model) = checked.filter(|_| !diagnostics.has_errors()) else {
        return Err(diagnostics.into_sorted());
    };
    // Some warnings judge the plan's own decisions; planning needs a model free of
    // errors, so it comes only now.
    let plan = plan::plan(&model);
    lints::run(&model, &plan, &mut diagnostics);
    Ok(Validated {
        model,
        plan,
        warnings: diagnostics.into_sorted(),
    })
}

/// What `build` produces: every artifact and the warnings, and the manifest
/// listing the artifacts, made when first asked for: hashing the artifacts is
/// most of what is left of a large build once it is rendered, which
/// `switchyard build` does while it writes them.
pub struct Build {
    pub artifacts: Vec<render::Artifact>,
    pub warnings: Vec<Diagnostic>,
    /// What the manifest names the topology by.
    source_id: render::SourceId,
    listing: OnceLock<Listing>,
    /// Never read: dropping the build joins it.
    _freeing: Freeing,
}

/// The manifest of a build's artifacts.
struct Listing {
    /// The text of `manifest.json`.
    json: String,
    /// What it lists: every artifact's path, host and SHA-256.
    files: Vec<render::ManifestFile>,
}

/// The model and plan a build was rendered from, freed on a thread of their
/// own while the caller hashes and writes the artifacts (at 100k VMs,
/// millions of allocations); joined when the build is dropped, so nothing
/// outlives it.
struct Freeing(Option<std::thread::JoinHandle<()>>);

impl Freeing {
    fn start(garbage: impl Send + 'static) -> Self {
        // Without a thread (none to be had), freed here.
        Freeing(
            std::thread::Builder::new()
                .spawn(move || drop(garbage))
                .ok(),
        )
    }
}

impl Drop for Freeing {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            // Freeing cannot fail; a panic in it has been printed already.
            let _ = thread.join();
        }
    }
}

impl Build {
    /// The text of `manifest.json`.
    pub fn manifest(&self) -> &str {
        &self.listing().json
    }

    /// What the manifest lists: every artifact's path, host and SHA-256.
    pub fn listed(&self) -> &[render::ManifestFile] {
        &self.listing().files
    }

    fn listing(&self) -> &Listing {
        self.listing.get_or_init(|| {
            let manifest = render::Manifest::new(&self.artifacts, &self.source_id);
            Listing {
                json: manifest.to_json(),
                files: manifest.files,
            }
        })
    }

    /// Every artifact as (path relative to the output directory, content),
    /// sorted by path.
    pub fn artifact_files(&self) -> Vec<(&str, &str)> {
        (self.artifacts.iter())
            .map(|a| (a.path.as_str(), a.content.as_str()))
            .collect()
    }

    /// Every file to write: the artifacts and the manifest, sorted by path.
    pub fn files(&self) -> Vec<(&str, &str)> {
        let mut files = self.artifact_files();
        files.push((render::MANIFEST, self.manifest()));
        files.sort();
        files
    }

    /// Adds `HOST/switchyard.update.nft` for every host of this build that has a
    /// script in `earlier` (host → that host's nft script in the earlier build);
    /// the manifest lists each with the build id it applies over.
    pub fn add_updates(&mut self, earlier: &BTreeMap<String, String>) -> Result<(), BuildError> {
        let updates = self
            .artifacts
            .iter()
            .filter(|a| a.path == format!("{}/{}", a.host, render::NFT_SCRIPT))
            .filter_map(|new| Some((new, earlier.get(&new.host)?)))
            .map(|(new, old)| {
                let update =
                    render::update(old, &new.content).map_err(|source| BuildError::Update {
                        host: new.host.clone(),
                        source,
                    })?;
                Ok(render::Artifact {
                    path: format!("{}/{}", new.host, render::NFT_UPDATE),
                    host: new.host.clone(),
                    content: update.script,
                    applies_over_build: Some(update.applies_over_build),
                })
            })
            .collect::<Result<Vec<_>, BuildError>>()?;
        self.artifacts.extend(updates);
        self.artifacts.sort_by(|a, b| a.path.cmp(&b.path));
        // Listed again when asked for.
        self.listing.take();
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the topology is invalid")]
    Invalid(Vec<Diagnostic>),
    #[error("no host named `{name}` in the topology{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownHost {
        name: String,
        suggestion: Option<String>,
    },
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error("no update for host {host}: {source}")]
    Update {
        host: String,
        source: render::UpdateError,
    },
}

/// The host named `name`, or an error suggesting the closest name.
pub fn find_host(model: &Model, name: &str) -> Result<model::HostId, BuildError> {
    model
        .host_named(name)
        .ok_or_else(|| BuildError::UnknownHost {
            name: name.to_owned(),
            suggestion: diagnostic::closest(name, model.hosts.iter().map(|h| h.name.as_str()))
                .map(str::to_owned),
        })
}

/// The topology as Graphviz DOT ([`graph::to_dot`]), whole or only what `host`
/// touches, with the topology's warnings.
pub fn graph_dot(
    source: &Source,
    host: Option<&str>,
) -> Result<(String, Vec<Diagnostic>), BuildError> {
    let Validated {
        model, warnings, ..
    } = validate(source).map_err(BuildError::Invalid)?;
    let only = host.map(|name| find_host(&model, name)).transpose()?;
    Ok((graph::to_dot(&model, only), warnings))
}

/// validate → plan → render, for every host or only `host` (a host, or a
/// member of a pair: that member's directory). Pure: the caller writes the
/// files.
pub fn build(
    source: &Source,
    host: Option<&str>,
    renderer: &render::Renderer,
) -> Result<Build, BuildError> {
    // The topology's hash is made beside the parts of validating that use one
    // core, on a thread of its own: validating stays on this thread's stack.
    let (validated, source_id) = std::thread::scope(|scope| {
        let hashing =
            std::thread::Builder::new().spawn_scoped(scope, || render::SourceId::new(source));
        let validated = validate(source);
        let source_id = match hashing {
            Ok(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => render::SourceId::new(source),
        };
        (validated, source_id)
    });
    let Validated {
        model,
        mut plan,
        warnings,
    } = validated.map_err(BuildError::Invalid)?;
    // A member of a pair stands for its own directory of its host's build.
    let member_of = |name: &str| {
        model.host_ids().find(|&id| {
            let members = model.host(id).ha.as_ref().map(|ha| ha.members.iter());
            members
                .into_iter()
                .flatten()
                .any(|member| member.value == name)
        })
    };
    let member = host.filter(|name| member_of(name).is_some());
    if let Some(name) = host {
        let only = member_of(name).map_or_else(|| find_host(&model, name), Ok)?;
        plan.hosts = vec![plan.hosts.swap_remove(only.index())];
    }
    let mut artifacts = renderer.render_plan(&model, &plan, &source_id)?;
    if let Some(member) = member {
        artifacts.retain(|artifact| artifact.host == member);
    }
    Ok(Build {
        artifacts,
        warnings,
        source_id,
        listing: OnceLock::new(),
        _freeing: Freeing::start((model, plan)),
    })
}
