//! A build directory as `build --since`, `verify` and `apply` read it: its
//! manifest, and each file checked against the manifest's SHA-256.

use std::path::{Path, PathBuf};

use crate::Failure;

/// `dir`'s manifest.json, or an error when `dir` is not a switchyard build.
pub fn read_manifest(dir: &Path) -> Result<switchyard::render::Manifest, Failure> {
    let manifest_path = dir.join(switchyard::render::MANIFEST);
    let manifest = std::fs::read(&manifest_path).map_err(|e| {
        Failure::Usage(format!(
            "{} is not a switchyard build: cannot read {}: {e}",
            dir.display(),
            manifest_path.display()
        ))
    })?;
    switchyard::render::Manifest::from_json(&manifest).map_err(|e| {
        Failure::Usage(format!(
            "{} is not a switchyard manifest: {e}",
            manifest_path.display()
        ))
    })
}

/// A file of the build in `dir`, refused unless its SHA-256 is the manifest's:
/// its path and text.
pub fn read_listed(
    dir: &Path,
    file: &switchyard::render::ManifestFile,
) -> Result<(PathBuf, String), Failure> {
    let path = dir.join(&file.path);
    let bytes = std::fs::read(&path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    switchyard::verify::check_digest(file, &bytes).map_err(|e| Failure::Usage(e.to_string()))?;
    Ok((path, String::from_utf8_lossy(&bytes).into_owned()))
}

/// A host's build as `verify` and `apply` read it: each file checked against
/// the manifest's SHA-256.
pub struct HostBuild {
    pub host: String,
    pub nft_script: PathBuf,
    pub nft_text: String,
    pub ip_batch: PathBuf,
    /// `switchyard6.ip`, of a host with IPv6.
    pub ip6_batch: Option<PathBuf>,
    /// The interfaces the ip batches name.
    pub interfaces: Vec<String>,
    /// The settings of its sysctl file (none in a build from before it).
    pub settings: Vec<switchyard::verify::sysctl::Setting>,
    /// `switchyard.update.nft` and the build id it applies over.
    pub update: Option<(String, String)>,
    /// On a member of a pair: the shared addresses its keepalived.conf moves.
    pub shared_addresses: std::collections::BTreeSet<(String, String)>,
}

pub fn read_host_build(dir: &Path, host: Option<&str>) -> Result<HostBuild, Failure> {
    use switchyard::verify::{self, HostArtifacts};
    let manifest = read_manifest(dir)?;
    let artifacts =
        HostArtifacts::select(&manifest, host).map_err(|e| Failure::Usage(e.to_string()))?;
    let (nft_script, nft_text) = read_listed(dir, artifacts.nft)?;
    let (ip_batch, mut batch) = read_listed(dir, artifacts.ip)?;
    let ip6_batch = match artifacts.ip6 {
        Some(file) => {
            let (path, text) = read_listed(dir, file)?;
            batch.push('\n');
            batch.push_str(&text);
            Some(path)
        }
        None => None,
    };
    let settings = match artifacts.sysctl {
        Some(file) => {
            let (_, text) = read_listed(dir, file)?;
            verify::sysctl::parse(&text, &file.path).map_err(|e| Failure::Usage(e.to_string()))?
        }
        None => Vec::new(),
    };
    let update = match artifacts.update {
        Some(file) => {
            let over = file.applies_over_build.clone();
            let (_, text) = read_listed(dir, file)?;
            over.map(|over| (text, over))
        }
        None => None,
    };
    let shared_addresses = match artifacts.keepalived {
        Some(file) => verify::keepalived::addresses(&read_listed(dir, file)?.1),
        None => Default::default(),
    };
    Ok(HostBuild {
        host: artifacts.host.to_owned(),
        nft_script,
        nft_text,
        ip_batch,
        ip6_batch,
        interfaces: verify::batch_interfaces(&batch),
        settings,
        update,
        shared_addresses,
    })
}
