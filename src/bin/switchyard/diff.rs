//! `switchyard diff`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::build::{compile, read_tree};
use crate::{EXIT_INVALID, Failure, print_stdout};

/// Show a unified diff of DIR against a fresh build; exit 1 when they differ.
#[derive(clap::Args)]
pub struct Args {
    /// The topology file, or `-` for standard input.
    topology: PathBuf,
    dir: PathBuf,
    #[arg(long)]
    templates: Option<PathBuf>,
    #[arg(long)]
    host: Option<String>,
}

pub fn run(
    Args {
        topology,
        dir,
        templates,
        host,
    }: Args,
) -> Result<ExitCode, Failure> {
    let build = compile(&topology, templates.as_deref(), host.as_deref())?;
    let mut existing = read_tree(&dir)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", dir.display())))?;
    leave_out_updates(&mut existing);
    let fresh: BTreeMap<&str, &str> = build.files().into_iter().collect();
    let mut paths: Vec<&str> = fresh
        .keys()
        .copied()
        .chain(existing.keys().map(String::as_str))
        .collect();
    paths.sort();
    paths.dedup();
    let mut differs = false;
    for relative in paths {
        let old = existing.get(relative).map_or("", String::as_str);
        let new = fresh.get(relative).copied().unwrap_or("");
        if old != new || existing.contains_key(relative) != fresh.contains_key(relative) {
            differs = true;
            let old_name = format!("{}/{relative}", dir.display());
            let new_name = format!("build/{relative}");
            print_stdout(
                similar::TextDiff::from_lines(old, new)
                    .unified_diff()
                    .header(&old_name, &new_name)
                    .to_string(),
            )?;
        }
    }
    Ok(if differs {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}

/// A build made with `--since` has update files (and manifest entries for
/// them) that a fresh build has not: `diff` compares the rest, so an unchanged
/// topology is no difference. Only what a readable manifest lists as an update
/// is left out; anything else in DIR is compared as it is.
fn leave_out_updates(tree: &mut BTreeMap<String, String>) {
    use switchyard::render::{MANIFEST, Manifest};
    let Some(text) = tree.get(MANIFEST) else {
        return;
    };
    let Ok(manifest) = Manifest::from_json(text.as_bytes()) else {
        return;
    };
    let (manifest, updates) = manifest.without_updates();
    if updates.is_empty() {
        return;
    }
    for path in updates {
        tree.remove(&path);
    }
    tree.insert(MANIFEST.to_owned(), manifest.to_json());
}
