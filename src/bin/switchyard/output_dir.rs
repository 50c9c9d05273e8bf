//! `build -o DIR`: whether DIR may be replaced, and the atomic replacement. Part of
//! the command line (it does IO); the library never sees the file system.
//!
//! DIR is written only when it is absent, empty, or an earlier switchyard build:
//! every regular file below it is listed in its manifest.json and every directory
//! leads to one. Anything else (a file of the operator's, a symbolic link, a
//! FIFO, the topology itself) is named and the build refused before anything is
//! written, so `-o ~/configs` cannot wipe a directory of unrelated files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::FileType;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;

/// Why `build` did not write DIR: refused (DIR holds something that is not an
/// earlier build) or an I/O error. Either way, DIR is as it was.
pub struct NotWritten(pub String);

/// The SHA-256 of every file of the earlier build that DIR held, by path, as its
/// manifest lists them; empty when DIR was absent or empty.
pub type EarlierHashes = BTreeMap<String, String>;

/// Replaces `output` with exactly `files` (relative path, content) and the
/// manifest.json `manifest` returns, atomically: readers see the old tree or
/// the new one. `manifest` is called once DIR may be replaced, while `files`
/// are written (hashing them and writing them are the two halves of a large
/// build's last work). `topology`, when read from a file, is never deleted,
/// even if it is listed in an earlier build's manifest.
pub fn replace<'a>(
    output: &Path,
    files: &[(&str, &str)],
    manifest: impl FnOnce() -> &'a str + Send,
    topology: Option<&Path>,
) -> Result<EarlierHashes, NotWritten> {
    let shown = output.display();
    // Without its trailing `/`: `out/` would make lstat and rename follow a
    // symbolic link named `out`.
    let output: &Path = &output.components().collect::<PathBuf>();
    let refuse = |reason: String| NotWritten(format!("refusing to write {shown}: {reason}"));
    let failed = |error: std::io::Error| NotWritten(format!("cannot write {shown}: {error}"));

    if output.file_name().is_none() {
        return Err(refuse(
            "name the output directory itself (not `.`, `..` or `/`)".into(),
        ));
    }
    let (found, earlier) = inspect(output).map_err(failed)?.map_err(refuse)?;
    if let (Some(topology), Contents::Tree(entries)) = (topology, &found)
        && holds(entries, topology).map_err(failed)?
    {
        return Err(refuse(format!(
            "it holds the topology {}",
            topology.display()
        )));
    }

    let parent = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(failed)?;
    // Removed when dropped, on every error path; after a swap it holds the old tree.
    let mut staging = tempfile::Builder::new()
        .prefix(".switchyard-build-")
        .tempdir_in(parent)
        .map_err(failed)?;
    let write = |(relative, content): &(&str, &str)| {
        let path = staging.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("file in a directory"))?;
        std::fs::write(path, content)
    };
    // Files are independent: write them side by side (a 100k-VM build is
    // ~75 MB), and the manifest is made meanwhile.
    let (written, manifest) = rayon::join(|| files.par_iter().try_for_each(write), manifest);
    written
        .and_then(|()| write(&(switchyard::render::MANIFEST, manifest)))
        .map_err(failed)?;

    // The decision was made on the tree read above: refuse if it changed since.
    let changed = || refuse("it changed while the build was written; run it again".into());
    if inspect(output).map_err(failed)?.map_err(refuse)?.0 != found {
        return Err(changed());
    }
    let flags = match found {
        // NOREPLACE: something created at DIR in the meantime is never replaced.
        Contents::Absent => rustix::fs::RenameFlags::NOREPLACE,
        Contents::Tree(_) => rustix::fs::RenameFlags::EXCHANGE,
    };
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        staging.path(),
        rustix::fs::CWD,
        output,
        flags,
    )
    .map_err(|errno| match errno {
        rustix::io::Errno::EXIST | rustix::io::Errno::NOENT => changed(),
        errno => failed(errno.into()),
    })?;
    match found {
        Contents::Absent => {
            // The staging directory is DIR now.
            staging.disable_cleanup(true);
            Ok(earlier)
        }
        Contents::Tree(_) => staging.close().map(|()| earlier).map_err(|error| {
            NotWritten(format!(
                "wrote {shown}, but could not remove its previous content: {error}"
            ))
        }),
    }
}

/// What DIR holds, compared again just before the swap.
#[derive(PartialEq)]
enum Contents {
    Absent,
    /// An empty directory or an earlier build: every entry below it.
    Tree(Vec<Entry>),
}

/// One entry below DIR, with what shows that it changed.
#[derive(PartialEq)]
struct Entry {
    /// `/`-separated, relative to DIR.
    path: String,
    kind: Kind,
    /// Device and inode: which file this is, whatever it is called.
    id: (u64, u64),
    len: u64,
    modified: Option<SystemTime>,
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Directory,
    File,
    /// A symbolic link, FIFO, socket or device: never part of a build.
    Other(&'static str),
}

impl Kind {
    fn of(file_type: FileType) -> Kind {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_dir() {
            Kind::Directory
        } else if file_type.is_file() {
            Kind::File
        } else if file_type.is_symlink() {
            Kind::Other("a symbolic link")
        } else if file_type.is_fifo() {
            Kind::Other("a FIFO")
        } else if file_type.is_socket() {
            Kind::Other("a socket")
        } else {
            Kind::Other("a device")
        }
    }
}

/// DIR's contents and its earlier build's hashes if it may be replaced, else why
/// not (the outer error is I/O).
fn inspect(output: &Path) -> std::io::Result<Result<(Contents, EarlierHashes), String>> {
    let metadata = match std::fs::symlink_metadata(output) {
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Ok(Ok((Contents::Absent, EarlierHashes::new())));
        }
        metadata => metadata?,
    };
    if metadata.is_symlink() {
        return Ok(Err(
            "it is a symbolic link; give the directory it points to instead".into(),
        ));
    }
    if !metadata.is_dir() {
        return Ok(Err("it exists and is not a directory".into()));
    }
    let entries = list(output)?;
    if entries.is_empty() {
        return Ok(Ok((Contents::Tree(entries), EarlierHashes::new())));
    }
    let manifest_path = output.join(switchyard::render::MANIFEST);
    let has_manifest = entries
        .iter()
        .any(|e| e.path == switchyard::render::MANIFEST && e.kind == Kind::File);
    if !has_manifest {
        let example = entries
            .iter()
            .find(|e| e.kind != Kind::Directory)
            .unwrap_or(&entries[0]);
        return Ok(Err(format!(
            "it is not empty and not a switchyard build (no {}); it holds {}",
            switchyard::render::MANIFEST,
            example.path
        )));
    }
    let Ok(earlier) = switchyard::render::Manifest::from_json(&std::fs::read(manifest_path)?)
    else {
        return Ok(Err(format!(
            "its {} is not a switchyard build manifest",
            switchyard::render::MANIFEST
        )));
    };
    let listed = earlier.files;
    let files: BTreeSet<&str> = listed.iter().map(|f| f.path.as_str()).collect();
    let directories: BTreeSet<&str> = files
        .iter()
        .flat_map(|path| path.match_indices('/').map(|(end, _)| &path[..end]))
        .collect();
    let foreign = entries.iter().find_map(|entry| match entry.kind {
        Kind::Other(what) => Some(format!("{} is {what}", entry.path)),
        Kind::File
            if entry.path != switchyard::render::MANIFEST
                && !files.contains(entry.path.as_str()) =>
        {
            Some(format!("{} is not a file of the earlier build", entry.path))
        }
        Kind::Directory if !directories.contains(entry.path.as_str()) => Some(format!(
            "{} is not a directory of the earlier build",
            entry.path
        )),
        _ => None,
    });
    Ok(match foreign {
        Some(reason) => Err(format!(
            "{reason} (not in its {}); move it away or choose another directory",
            switchyard::render::MANIFEST
        )),
        None => Ok((
            Contents::Tree(entries),
            listed
                .into_iter()
                .map(|file| (file.path, file.sha256))
                .collect(),
        )),
    })
}

/// Every entry below `dir`, sorted by path, without following symbolic links.
fn list(dir: &Path) -> std::io::Result<Vec<Entry>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<Entry>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = format!("{prefix}{}", entry.file_name().to_string_lossy());
            let metadata = entry.metadata()?;
            let kind = Kind::of(metadata.file_type());
            out.push(Entry {
                path: path.clone(),
                kind,
                id: (metadata.dev(), metadata.ino()),
                len: metadata.len(),
                modified: metadata.modified().ok(),
            });
            if kind == Kind::Directory {
                walk(&entry.path(), &format!("{path}/"), out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Whether `entries` hold the file `topology` names, by any name (a symbolic
/// link to it, a hard link). A topology removed since it was read is not there.
fn holds(entries: &[Entry], topology: &Path) -> std::io::Result<bool> {
    let metadata = match std::fs::metadata(topology) {
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(false),
        metadata => metadata?,
    };
    let id = (metadata.dev(), metadata.ino());
    Ok(entries.iter().any(|entry| entry.id == id))
}
