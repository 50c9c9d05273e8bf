//! `switchyard build`, and the compile `diff` shares with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use switchyard::diagnostic;
use switchyard::render::{ManifestFile, Renderer};

use crate::build_dir::{read_listed, read_manifest};
use crate::{Failure, Format, failure, output_dir, read_topology, reads_stdin, report};

/// Render every host's artifacts into DIR (replaced atomically).
#[derive(clap::Args)]
pub struct Args {
    /// The topology file, or `-` for standard input.
    topology: PathBuf,
    /// Output directory: absent, empty or an earlier build, which is replaced.
    /// Anything else (a file that is not the earlier build's, a symbolic
    /// link) is refused and left untouched.
    #[arg(short, long)]
    output: PathBuf,
    /// Directory of templates overriding the built-in ones, file by file
    /// (e.g. DIR/switchyard.nft, DIR/networkd/interface.network).
    #[arg(long)]
    templates: Option<PathBuf>,
    /// Render only this host.
    #[arg(long)]
    host: Option<String>,
    /// An earlier build (a directory with manifest.json): also write
    /// HOST/switchyard.update.nft for every host in both, one nft transaction
    /// that turns the earlier build's table into this one's, changing only the
    /// elements that differ, and that fails and changes nothing over any other
    /// table. OLD may be the output directory itself.
    #[arg(long, value_name = "OLD")]
    since: Option<PathBuf>,
}

pub fn run(
    Args {
        topology,
        output,
        templates,
        host,
        since,
    }: Args,
) -> Result<ExitCode, Failure> {
    let mut build = compile(&topology, templates.as_deref(), host.as_deref())?;
    if let Some(earlier) = since {
        let scripts = read_earlier_scripts(&earlier, &build)?;
        build
            .add_updates(&scripts)
            .map_err(|e| Failure::Usage(e.to_string()))?;
    }
    let topology = (!reads_stdin(&topology)).then_some(topology.as_path());
    let manifest = || build.manifest();
    let earlier = output_dir::replace(&output, &build.artifact_files(), manifest, topology)
        .map_err(|output_dir::NotWritten(message)| Failure::Usage(message))?;
    eprintln!("{}", build_summary(build.listed(), &earlier, &output));
    Ok(ExitCode::SUCCESS)
}
/// `built 3 hosts, 24 files (5 changed) into out/`: the files are those the
/// manifest lists, and changed means new or with another SHA-256 than the
/// earlier build's manifest gave; files the earlier build had and this one has
/// not are counted as removed.
fn build_summary(
    listed: &[ManifestFile],
    earlier: &output_dir::EarlierHashes,
    output: &Path,
) -> String {
    let hosts: std::collections::BTreeSet<&str> =
        listed.iter().map(|file| file.host.as_str()).collect();
    let changed = listed
        .iter()
        .filter(|file| earlier.get(&file.path) != Some(&file.sha256))
        .count();
    let kept: std::collections::BTreeSet<&str> =
        listed.iter().map(|file| file.path.as_str()).collect();
    let removed = earlier
        .keys()
        .filter(|path| !kept.contains(path.as_str()))
        .count();
    let removed = if removed > 0 {
        format!(", {removed} removed")
    } else {
        String::new()
    };
    format!(
        "built {}, {} ({changed} changed{removed}) into {}",
        diagnostic::count(hosts.len(), "host"),
        diagnostic::count(listed.len(), "file"),
        output.display()
    )
}

/// The nft script of every host of `build` that the earlier build `dir` has, by
/// host; an error unless `dir` is a switchyard build whose files are as its
/// manifest says (an update made against an edited script would not fit the
/// table that script loaded).
fn read_earlier_scripts(
    dir: &Path,
    build: &switchyard::Build,
) -> Result<BTreeMap<String, String>, Failure> {
    let manifest = read_manifest(dir)?;
    let mut scripts = BTreeMap::new();
    for new in &build.artifacts {
        let path = format!("{}/{}", new.host, switchyard::render::NFT_SCRIPT);
        if new.path != path {
            continue;
        }
        if let Some(file) = manifest.files.iter().find(|f| f.path == path) {
            let (_, script) = read_listed(dir, file)?;
            scripts.insert(new.host.clone(), script);
        }
    }
    Ok(scripts)
}

/// Reads, validates, plans and renders; reports diagnostics on the way.
pub fn compile(
    path: &Path,
    templates: Option<&Path>,
    host: Option<&str>,
) -> Result<switchyard::Build, Failure> {
    let source = read_topology(path, Format::Human)?;
    let overrides = match templates {
        Some(dir) => read_templates(dir)?,
        None => BTreeMap::new(),
    };
    let renderer = Renderer::new(overrides).map_err(|e| Failure::Usage(e.to_string()))?;
    let build = switchyard::build(&source, host, &renderer).map_err(|e| failure(&source, e))?;
    report(&source, &build.warnings, Format::Human)?;
    Ok(build)
}

fn read_templates(dir: &Path) -> Result<BTreeMap<String, String>, Failure> {
    read_tree(dir)
        .map_err(|e| Failure::Usage(format!("cannot read templates from {}: {e}", dir.display())))
}

/// Every file below `dir`, by `/`-separated relative path.
pub fn read_tree(dir: &Path) -> std::io::Result<BTreeMap<String, String>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let relative = path.strip_prefix(root).expect("below root");
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let bytes = std::fs::read(&path)?;
                out.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}
