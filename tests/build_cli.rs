//! `switchyard build` and `switchyard diff` as an operator runs them: the files
//! and manifest written, the atomic replacement of the output directory, nothing
//! written for an invalid topology, `--host`, `--templates`, the drift gate's exit
//! codes and unified diff, and the header every artifact starts with.

mod common;

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{describe, repo_path, switchyard, tree};
use sha2::{Digest, Sha256};

const TWO_ISPS: &str = "examples/two-isps.toml";
const MULTI_HOST: &str = "examples/multi-host.toml";
const INVALID: &str = "examples/invalid/SY0101-unknown-uplink.toml";

/// Runs switchyard from the repository root, so topologies are named as relative
/// paths (as the snapshots and headers show them).
fn run(args: &[&str]) -> Output {
    switchyard()
        .current_dir(repo_path(""))
        .args(args)
        .output()
        .expect("run switchyard")
}

fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
}

fn build(topology: &str, out: &Path, extra: &[&str]) -> Output {
    let out = out.to_str().expect("UTF-8 path");
    let mut args = vec!["build", topology, "-o", out];
    args.extend_from_slice(extra);
    run(&args)
}

fn diff(topology: &str, dir: &Path) -> Output {
    run(&["diff", topology, dir.to_str().expect("UTF-8 path")])
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8 file")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The last component of a `/`-separated path: how artifacts name their source.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Entries of `dir` other than `keep`: leftovers of a build (staging directories).
fn others_in(dir: &Path, keep: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.file_name().is_some_and(|name| name != keep))
        .collect()
}

#[test]
fn build_writes_a_manifest_whose_hashes_match_the_files() {
    for example in common::valid_examples() {
        let topology = example.to_str().expect("UTF-8 path");
        let work = tempfile::tempdir().expect("temporary directory");
        let out = work.path().join("out");
        assert_exit(&build(topology, &out, &[]), 0);
        let mut files = tree(&out);
        let manifest = files
            .remove("manifest.json")
            .expect("manifest.json written");
        let manifest: serde_json::Value =
            serde_json::from_slice(&manifest).expect("manifest.json is JSON");
        assert_eq!(manifest["source"], file_name(topology));
        assert_eq!(
            manifest["source_sha256"].as_str(),
            Some(sha256_hex(&std::fs::read(repo_path(topology)).expect("read")).as_str())
        );
        let listed = manifest["files"].as_array().expect("files is an array");
        assert_eq!(
            listed.len(),
            files.len(),
            "{topology}: the manifest lists every file but itself: {manifest:#}"
        );
        for entry in listed {
            let path = entry["path"].as_str().expect("path is a string");
            let bytes = files
                .get(path)
                .unwrap_or_else(|| panic!("{topology}: manifest lists missing {path}"));
            assert_eq!(
                entry["sha256"].as_str(),
                Some(sha256_hex(bytes).as_str()),
                "{topology}: sha256 of {path}"
            );
            assert_eq!(
                entry["host"].as_str(),
                path.split('/').next(),
                "{topology}: host of {path}"
            );
        }
    }
}

#[test]
fn build_replaces_an_earlier_build_atomically() {
    let work = tempfile::tempdir().expect("temporary directory");
    let out = work.path().join("out");
    // An earlier build with other hosts: its net2/ and net3/ must not survive.
    // Named `out/`, as an operator types it.
    let slashed = PathBuf::from(format!("{}/", out.display()));
    assert_exit(&build(MULTI_HOST, &slashed, &[]), 0);
    let before = std::fs::metadata(&out).expect("stat").ino();

    assert_exit(&build(TWO_ISPS, &out, &[]), 0);

    let fresh = work.path().join("fresh");
    assert_exit(&build(TWO_ISPS, &fresh, &[]), 0);
    assert_eq!(tree(&out), tree(&fresh), "old files survived the build");
    // A new directory was swapped in (rename), not the old one rewritten in place,
    // and the swapped-out tree is gone.
    assert_ne!(std::fs::metadata(&out).expect("stat").ino(), before);
    let mut leftovers = others_in(work.path(), "out");
    leftovers.retain(|path| !path.ends_with("fresh"));
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
}

/// The last line on stderr says what `build` did: hosts and files written, and
/// how many differ from the earlier build in DIR (by its manifest's SHA-256).
fn summary(output: &Output) -> String {
    assert_exit(output, 0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr.lines().last().unwrap_or_default().to_owned()
}

/// The (path, host) of every file the manifest in `out` lists.
fn listed(out: &Path) -> Vec<(String, String)> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest"))
            .expect("manifest is JSON");
    manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|file| {
            let field = |key: &str| file[key].as_str().expect("a string").to_owned();
            (field("path"), field("host"))
        })
        .collect()
}

#[test]
fn build_prints_a_summary_of_what_changed() {
    let work = tempfile::tempdir().expect("temporary directory");
    let out = work.path().join("out");
    let shown = out.display();

    let first = summary(&build(MULTI_HOST, &out, &[]));
    let all = listed(&out);
    let files = all.len();
    assert_eq!(
        first,
        format!("built 3 hosts, {files} files ({files} changed) into {shown}")
    );
    assert_eq!(
        summary(&build(MULTI_HOST, &out, &[])),
        format!("built 3 hosts, {files} files (0 changed) into {shown}")
    );
    // One host, byte for byte as before; the others' files go away.
    let net2 = all.iter().filter(|(_, host)| host == "net2").count();
    assert_eq!(
        summary(&build(MULTI_HOST, &out, &["--host", "net2"])),
        format!(
            "built 1 host, {net2} files (0 changed, {} removed) into {shown}",
            files - net2
        )
    );
    // Another topology file: every header names it, so every file changes; the files
    // of net2 that two-isps.toml's net1 does not have are removed.
    let earlier: Vec<String> = listed(&out).into_iter().map(|(path, _)| path).collect();
    let output = build(TWO_ISPS, &out, &[]);
    let now: Vec<String> = listed(&out).into_iter().map(|(path, _)| path).collect();
    let removed = earlier.iter().filter(|path| !now.contains(path)).count();
    assert!(removed > 0, "{earlier:?} {now:?}");
    assert_eq!(
        summary(&output),
        format!(
            "built 1 host, {0} files ({0} changed, {removed} removed) into {shown}",
            now.len()
        )
    );
}

#[test]
fn build_writes_into_an_empty_directory() {
    let work = tempfile::tempdir().expect("temporary directory");
    let out = work.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    assert_exit(&build(TWO_ISPS, &out, &[]), 0);
    assert!(tree(&out).contains_key("manifest.json"));
    assert!(others_in(work.path(), "out").is_empty());
}

/// Every entry below `dir` (not following symlinks) with its type and content,
/// to show that a refused build touched nothing.
fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut entries = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = std::fs::symlink_metadata(&path).expect("lstat");
        let what = if metadata.is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&path)
                .expect("read_dir")
                .map(|entry| entry.expect("directory entry").path())
                .collect();
            children.sort();
            pending.extend(children);
            format!("dir {}", metadata.ino())
        } else if metadata.is_symlink() {
            format!("link to {:?}", std::fs::read_link(&path).expect("readlink"))
        } else {
            format!("file {:?}", std::fs::read(&path).expect("read"))
        };
        entries.push((path, what));
    }
    entries
}

/// Runs `build TOPOLOGY -o out` in `work` and asserts that it is refused with
/// exit 2 and a message naming `culprit`, and that nothing in `work` changed.
fn assert_refused(work: &Path, topology: &str, out: &Path, culprit: &str) {
    let before = snapshot(work);
    let output = build(topology, out, &[]);
    assert_exit(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(culprit), "{}", describe(&output));
    assert!(!stderr.contains("panicked"), "{}", describe(&output));
    assert_eq!(
        snapshot(work),
        before,
        "a refused build changed {}",
        work.display()
    );
}

#[test]
fn build_refuses_a_directory_of_unrelated_files() {
    let work = tempfile::tempdir().expect("temporary directory");
    let out = work.path().join("configs");
    std::fs::create_dir_all(out.join("notes")).expect("mkdir");
    std::fs::write(out.join("notes/todo.txt"), "precious\n").expect("write");
    assert_refused(work.path(), TWO_ISPS, &out, "notes/todo.txt");
}

#[test]
fn build_refuses_an_earlier_build_with_one_foreign_file() {
    let work = tempfile::tempdir().expect("temporary directory");
    let out = work.path().join("out");
    assert_exit(&build(MULTI_HOST, &out, &[]), 0);
    std::fs::write(out.join("net2/notes.txt"), "by hand\n").expect("write");
    assert_refused(work.path(), MULTI_HOST, &out, "net2/notes.txt");

    // An empty directory the build did not make is foreign too.
    std::fs::remove_file(out.join("net2/notes.txt")).expect("remove");
    std::fs::create_dir(out.join("keep")).expect("mkdir");
    assert_refused(work.path(), MULTI_HOST, &out, "keep");
    std::fs::remove_dir(out.join("keep")).expect("rmdir");
    assert_exit(&build(MULTI_HOST, &out, &[]), 0);
}

#[test]
fn build_refuses_a_directory_whose_manifest_is_not_a_switchyard_manifest() {
    let work = tempfile::tempdir().expect("temporary directory");
    let out = work.path().join("out");
    assert_exit(&build(TWO_ISPS, &out, &[]), 0);
    let manifest = out.join("manifest.json");
    let written = std::fs::read_to_string(&manifest).expect("manifest");
    let foreign = [
        "{}".to_owned(),
        written.replacen("\"switchyard ", "\"other-tool ", 1),
    ];
    for text in foreign {
        std::fs::write(&manifest, &text).expect("write");
        assert_refused(
            work.path(),
            TWO_ISPS,
            &out,
            "its manifest.json is not a switchyard build manifest",
        );
    }
}

#[test]
fn build_refuses_a_symlink_inside_an_earlier_build() {
    let work = tempfile::tempdir().expect("temporary directory");
    let elsewhere = work.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    std::fs::write(elsewhere.join("keep.txt"), "precious\n").expect("write");
    let out = work.path().join("out");
    assert_exit(&build(TWO_ISPS, &out, &[]), 0);
    // A link in place of a listed file, and a link to a directory outside.
    let listed = out.join("net1/switchyard.ip");
    std::fs::remove_file(&listed).expect("remove");
    std::os::unix::fs::symlink(elsewhere.join("keep.txt"), &listed).expect("symlink");
    assert_refused(work.path(), TWO_ISPS, &out, "net1/switchyard.ip");
    std::fs::remove_file(&listed).expect("remove");
    std::os::unix::fs::symlink(&elsewhere, out.join("net1/more")).expect("symlink");
    assert_refused(work.path(), TWO_ISPS, &out, "net1/more");
}

#[test]
fn build_never_deletes_the_topology_inside_the_output_directory() {
    let work = tempfile::tempdir().expect("temporary directory");
    let sub = work.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    let topology = sub.join("two-isps.toml");
    std::fs::copy(repo_path(TWO_ISPS), &topology).expect("copy");
    let topology = topology.to_str().expect("UTF-8 path");
    assert_refused(work.path(), topology, &sub, "two-isps.toml");
    assert!(Path::new(topology).is_file());
}

#[test]
fn build_never_replaces_the_topology_even_as_a_file_of_an_earlier_build() {
    let work = tempfile::tempdir().expect("temporary directory");
    let out = work.path().join("out");
    assert_exit(&build(TWO_ISPS, &out, &[]), 0);
    // The topology saved over (hard-linked to) a file the manifest lists.
    let listed = out.join("net1/switchyard.ip");
    std::fs::remove_file(&listed).expect("remove");
    std::fs::copy(repo_path(TWO_ISPS), &listed).expect("copy");
    let linked = work.path().join("topology.toml");
    std::fs::hard_link(&listed, &linked).expect("hard link");
    for topology in [&listed, &linked] {
        let topology = topology.to_str().expect("UTF-8 path");
        assert_refused(work.path(), topology, &out, "holds the topology");
    }
}

#[test]
fn build_refuses_an_existing_file_as_output() {
    let work = tempfile::tempdir().expect("temporary directory");
    let topology = work.path().join("two-isps.toml");
    std::fs::copy(repo_path(TWO_ISPS), &topology).expect("copy");
    let file = work.path().join("file");
    std::fs::write(&file, "not a directory\n").expect("write");
    assert_refused(work.path(), TWO_ISPS, &file, "not a directory");
    // Not even the topology itself.
    let topology_arg = topology.to_str().expect("UTF-8 path");
    assert_refused(work.path(), topology_arg, &topology, "not a directory");
}

#[test]
fn build_refuses_a_symlink_as_output_and_leaves_nothing() {
    let work = tempfile::tempdir().expect("temporary directory");
    let dangling = work.path().join("dangling");
    std::os::unix::fs::symlink(work.path().join("nowhere"), &dangling).expect("symlink");
    assert_refused(work.path(), TWO_ISPS, &dangling, "symbolic link");

    let real = work.path().join("real");
    assert_exit(&build(TWO_ISPS, &real, &[]), 0);
    let link = work.path().join("link");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    assert_refused(work.path(), TWO_ISPS, &link, "symbolic link");
    // Also when named with a trailing slash, which makes lstat follow the link.
    let slashed = PathBuf::from(format!("{}/", link.display()));
    assert_refused(work.path(), TWO_ISPS, &slashed, "symbolic link");
}

#[test]
fn output_does_not_depend_on_how_the_topology_path_is_spelled() {
    let work = tempfile::tempdir().expect("temporary directory");
    let absolute = repo_path(TWO_ISPS);
    let spellings = [
        TWO_ISPS,
        "./examples/../examples/two-isps.toml",
        absolute.to_str().expect("UTF-8 path"),
    ];
    let trees: Vec<_> = spellings
        .iter()
        .enumerate()
        .map(|(i, topology)| {
            let out = work.path().join(format!("out-{i}"));
            assert_exit(&build(topology, &out, &[]), 0);
            tree(&out)
        })
        .collect();
    assert_eq!(trees[0], trees[1], "{} vs {}", spellings[0], spellings[1]);
    assert_eq!(trees[0], trees[2], "{} vs {}", spellings[0], spellings[2]);

    let sha256 = sha256_hex(&std::fs::read(&absolute).expect("read"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&trees[0]["manifest.json"]).expect("JSON");
    assert_eq!(manifest["source"], "two-isps.toml");
    assert_eq!(manifest["source_sha256"].as_str(), Some(sha256.as_str()));
    let nft = text(&trees[0]["net1/switchyard.nft"]);
    let header = nft.lines().next().expect("a header line");
    assert!(header.contains(" from two-isps.toml. "), "{header}");
}

/// The files of `host` in a build tree.
fn host_files(
    tree: &std::collections::BTreeMap<String, Vec<u8>>,
    host: &str,
) -> Vec<(String, Vec<u8>)> {
    let prefix = format!("{host}/");
    tree.iter()
        .filter(|(path, _)| path.starts_with(&prefix))
        .map(|(path, bytes)| (path.clone(), bytes.clone()))
        .collect()
}

#[test]
fn an_edit_that_changes_nothing_for_a_host_leaves_its_files_byte_identical() {
    let work = tempfile::tempdir().expect("temporary directory");
    // Same file name each round: the headers name it.
    let topology = work.path().join("multi-host.toml");
    let original = std::fs::read_to_string(repo_path(MULTI_HOST)).expect("read");
    let build_tree = |text: &str, round: &str| {
        std::fs::write(&topology, text).expect("write topology");
        let out = work.path().join(round);
        assert_exit(&build(topology.to_str().expect("UTF-8 path"), &out, &[]), 0);
        tree(&out)
    };
    let before = build_tree(&original, "before");

    // A comment: the manifest names another topology, no artifact changes.
    let commented = build_tree(&format!("{original}# reviewed by ops\n"), "commented");
    assert_ne!(before["manifest.json"], commented["manifest.json"]);
    for host in ["net1", "net2", "net3"] {
        assert_eq!(
            host_files(&before, host),
            host_files(&commented, host),
            "a comment changed {host}'s files"
        );
    }

    // A VM on net2 with public addresses allocated to acme, a project net1 also
    // serves: net2's files change, net1's and net3's stay byte-identical.
    let allocated = common::splice(
        &original,
        &[
            (
                "\"198.51.100.12\", # 3",
                "\"198.51.100.12\", \"198.51.100.13\", # 4",
            ),
            ("\"203.0.113.12\",", "\"203.0.113.12\", \"203.0.113.13\","),
        ],
    );
    let grown = build_tree(
        &format!(
            "{allocated}\n[vms.web-3]\nproject = \"acme\"\nhost = \"net2\"\n\
             address = \"10.10.0.13\"\npublic = [\"198.51.100.13\", \"203.0.113.13\"]\n"
        ),
        "grown",
    );
    assert_ne!(host_files(&before, "net2"), host_files(&grown, "net2"));
    for host in ["net1", "net3"] {
        assert_eq!(
            host_files(&before, host),
            host_files(&grown, host),
            "a VM on net2 changed {host}'s files"
        );
    }
}

#[test]
fn invalid_topology_writes_nothing() {
    let work = tempfile::tempdir().expect("temporary directory");
    let out = work.path().join("out");
    let output = build(INVALID, &out, &[]);
    assert_exit(&output, 1);
    assert!(String::from_utf8_lossy(&output.stderr).contains("SY0101"));
    assert!(
        !out.exists(),
        "output directory created for an invalid topology"
    );
    assert!(others_in(work.path(), "out").is_empty());

    assert_exit(&build(TWO_ISPS, &out, &[]), 0);
    let before = tree(&out);
    assert_exit(&build(INVALID, &out, &[]), 1);
    assert_eq!(tree(&out), before, "an invalid build changed the directory");
    assert!(others_in(work.path(), "out").is_empty());
}

#[test]
fn diff_is_the_drift_gate() {
    let work = tempfile::tempdir().expect("temporary directory");
    let out = work.path().join("out");
    assert_exit(&build(MULTI_HOST, &out, &[]), 0);
    let clean = diff(MULTI_HOST, &out);
    assert_exit(&clean, 0);
    assert!(clean.stdout.is_empty(), "{}", describe(&clean));

    // An edited file: a unified diff turning the edit back into the build.
    let edited = out.join("net2/switchyard.ip");
    let original = std::fs::read_to_string(&edited).expect("read");
    let tampered = original.replace("priority 1001", "priority 999");
    assert_ne!(tampered, original);
    std::fs::write(&edited, &tampered).expect("write");
    let output = diff(MULTI_HOST, &out);
    assert_exit(&output, 1);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("net2/switchyard.ip")
            && stdout.contains("\n@@ ")
            && stdout.contains("\n-rule add fwmark 0x00000100/0x0000ff00 lookup 101 priority 999")
            && stdout.contains("\n+rule add fwmark 0x00000100/0x0000ff00 lookup 101 priority 1001"),
        "{}",
        describe(&output)
    );
    assert!(
        !stdout.contains("switchyard.nft"),
        "unchanged files in the diff:\n{stdout}"
    );
    std::fs::write(&edited, &original).expect("write");
    assert_exit(&diff(MULTI_HOST, &out), 0);

    // A deleted file: shown as added in full.
    let deleted = out.join("net3/networkd/10-switchyard-eth1.100.netdev");
    std::fs::remove_file(&deleted).expect("remove");
    let output = diff(MULTI_HOST, &out);
    assert_exit(&output, 1);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("net3/networkd/10-switchyard-eth1.100.netdev")
            && stdout.contains("\n+Kind=vlan"),
        "{}",
        describe(&output)
    );

    // A file the build does not produce: shown as removed.
    assert_exit(&build(MULTI_HOST, &out, &[]), 0);
    std::fs::write(out.join("net1/extra.conf"), "by hand\n").expect("write");
    let output = diff(MULTI_HOST, &out);
    assert_exit(&output, 1);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("\n-by hand"),
        "{}",
        describe(&output)
    );

    // An invalid topology is reported as such, not as a difference.
    assert_exit(&diff(INVALID, &out), 1);
    assert!(
        diff(INVALID, &out).stdout.is_empty(),
        "an invalid topology printed a diff"
    );
}

/// README's own `build -o build/ --since build/` leaves update files that a
/// fresh build does not make: `diff` ignores them (and the manifest's entries
/// for them), so an unchanged topology is no difference; an edited update is
/// still ignored, an edited script is not.
#[test]
fn diff_ignores_the_update_files_of_since() {
    let work = tempfile::tempdir().expect("temporary directory");
    let out = work.path().join("out");
    let since = out.to_str().expect("UTF-8 path");
    assert_exit(&build(MULTI_HOST, &out, &[]), 0);
    assert_exit(&build(MULTI_HOST, &out, &["--since", since]), 0);
    assert!(out.join("net1/switchyard.update.nft").exists());
    let clean = diff(MULTI_HOST, &out);
    assert_exit(&clean, 0);
    assert!(clean.stdout.is_empty(), "{}", describe(&clean));

    let script = out.join("net1/switchyard.nft");
    let original = std::fs::read_to_string(&script).expect("read");
    std::fs::write(&script, format!("{original}# by hand\n")).expect("write");
    let output = diff(MULTI_HOST, &out);
    assert_exit(&output, 1);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("\n-# by hand"),
        "{}",
        describe(&output)
    );
}

#[test]
fn host_option_renders_only_that_host() {
    let work = tempfile::tempdir().expect("temporary directory");
    let all = work.path().join("all");
    let one = work.path().join("one");
    assert_exit(&build(MULTI_HOST, &all, &[]), 0);
    assert_exit(&build(MULTI_HOST, &one, &["--host", "net2"]), 0);

    let all = tree(&all);
    let mut one = tree(&one);
    let manifest: serde_json::Value =
        serde_json::from_slice(&one.remove("manifest.json").expect("manifest")).expect("JSON");
    assert!(!one.is_empty());
    for (path, bytes) in &one {
        assert!(path.starts_with("net2/"), "{path} is not net2's");
        assert_eq!(
            Some(bytes),
            all.get(path),
            "{path} differs from a full build"
        );
    }
    let expected: Vec<&String> = all.keys().filter(|p| p.starts_with("net2/")).collect();
    assert_eq!(one.keys().collect::<Vec<_>>(), expected);
    let listed: Vec<&str> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    assert_eq!(listed, expected);

    let missing = work.path().join("missing");
    let output = build(MULTI_HOST, &missing, &["--host", "nett2"]);
    assert_exit(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nett2") && stderr.contains("did you mean `net2`"),
        "{}",
        describe(&output)
    );
    assert!(!missing.exists());
}

#[test]
fn templates_override_file_by_file() {
    let work = tempfile::tempdir().expect("temporary directory");
    let templates = work.path().join("templates");
    std::fs::create_dir(&templates).expect("mkdir");
    std::fs::write(
        templates.join("switchyard.ip"),
        "# {{ header }}\n# custom{% for uplink in uplinks %}\nrule add fwmark {{ uplink.mark }} lookup {{ uplink.table }}{% endfor %}\n",
    )
    .expect("write");
    let default = work.path().join("default");
    let custom = work.path().join("custom");
    assert_exit(&build(MULTI_HOST, &default, &[]), 0);
    let templates_arg = templates.to_str().expect("UTF-8 path");
    assert_exit(
        &build(MULTI_HOST, &custom, &["--templates", templates_arg]),
        0,
    );

    let default = tree(&default);
    let custom = tree(&custom);
    assert_eq!(
        default.keys().collect::<Vec<_>>(),
        custom.keys().collect::<Vec<_>>()
    );
    let mut overridden = 0;
    for (path, bytes) in &custom {
        if path.ends_with("/switchyard.ip") {
            overridden += 1;
            let content = text(bytes);
            assert!(
                content.starts_with("# Generated by switchyard")
                    && content.contains("\n# custom\n")
                    && content.contains("\nrule add fwmark 0x00000200 lookup 102\n"),
                "{path}:\n{content}"
            );
        } else if path != "manifest.json" {
            assert_eq!(Some(bytes), default.get(path), "{path} changed");
        }
    }
    assert_eq!(overridden, 3, "one switchyard.ip per host");

    // A file that overrides no template is a usage error, not silently ignored.
    std::fs::write(templates.join("switchyard.ipv6"), "typo\n").expect("write");
    let out = work.path().join("never");
    let output = build(MULTI_HOST, &out, &["--templates", templates_arg]);
    assert_exit(&output, 2);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("switchyard.ipv6"),
        "{}",
        describe(&output)
    );
    assert!(!out.exists());
}

/// Text a clock would produce: a date (`2024-05-01`, `2024/05/01`) or a time of
/// day (`12:30`).
fn timestamp_like(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    let digits = |at: usize, n: usize| {
        bytes
            .get(at..at + n)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    (0..bytes.len()).find_map(|i| {
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b':');
        let date = digits(i, 4)
            && matches!(bytes.get(i + 4), Some(b'-' | b'/'))
            && digits(i + 5, 2)
            && bytes.get(i + 7) == bytes.get(i + 4)
            && digits(i + 8, 2);
        let time = digits(i, 2) && bytes.get(i + 2) == Some(&b':') && digits(i + 3, 2);
        // Six colon-separated hex pairs are a MAC address (a VM's `mac`), not a time.
        let mac = line
            .get(i..i + 17)
            .and_then(|text| text.parse::<switchyard::model::Mac>().ok())
            .is_some();
        (boundary && (date || time) && !mac).then(|| &line[i..])
    })
}

#[test]
fn timestamp_detector_detects() {
    assert!(timestamp_like("built 2024-05-01").is_some());
    assert!(timestamp_like("at 12:30:59").is_some());
    assert!(timestamp_like("10.0.0.5 : goto via_pool_1, 0x00010100, priority 1001").is_none());
    assert!(timestamp_like("52:54:00:12:34:56 . 10.0.0.5, # web-1").is_none());
}

#[test]
fn every_artifact_starts_with_its_header_and_has_no_timestamp() {
    let examples = common::valid_examples();
    let work = tempfile::tempdir().expect("temporary directory");
    let build_all = |round: &str| {
        for (i, example) in examples.iter().enumerate() {
            let topology = example.to_str().expect("UTF-8 path");
            let out = work.path().join(format!("{round}-{i}"));
            assert_exit(&build(topology, &out, &[]), 0);
        }
    };
    build_all("first");
    // Anything derived from the clock would change within a second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    build_all("second");

    for (i, example) in examples.iter().enumerate() {
        let topology = example.to_str().expect("UTF-8 path");
        let source = format!(" from {}. Do not edit", file_name(topology));
        let files = tree(&work.path().join(format!("first-{i}")));
        let again = tree(&work.path().join(format!("second-{i}")));
        assert_eq!(files, again, "{topology}: two builds differ");

        for (path, bytes) in &files {
            let content = text(bytes);
            if path != "manifest.json" {
                let host = path.split('/').next().expect("host directory");
                // JSON has no comments: a JSON artifact (monitor.json) says it
                // in its first key.
                let header = if path.ends_with(".json") {
                    let json: serde_json::Value =
                        serde_json::from_str(content).expect("JSON artifact");
                    format!("# {}", json["generated_by"].as_str().unwrap_or_default())
                } else {
                    content.lines().next().unwrap_or_default().to_owned()
                };
                // A member of a pair's files name it, the nft script (the
                // same on both members) both members.
                let names_machine = header.contains(&format!(" for host {host} "))
                    || header.contains(&format!(" for {host}, a member of host "))
                    || header.contains(&format!(" {host}, "))
                    || header.contains(&format!(" {host}) "));
                assert!(
                    header.starts_with("# Generated by switchyard ")
                        && names_machine
                        && header.contains(&source),
                    "{topology}: {path} starts with {header:?}"
                );
            }
            for line in content.lines() {
                assert_eq!(
                    timestamp_like(line),
                    None,
                    "{topology}: {path} has timestamp-like text: {line}"
                );
            }
        }
    }
}

/// A pair's build has a directory per member and none for the host; `--host`
/// takes the host (both members) or one member (its directory alone, byte for
/// byte what the whole build gives it).
#[test]
fn a_pair_builds_a_directory_per_member_and_host_selects_one() {
    let work = tempfile::tempdir().expect("temporary directory");
    let topology = "examples/ha-pair.toml";
    let dirs = |out: &Path| -> Vec<String> {
        let mut dirs: Vec<String> = listed(out)
            .iter()
            .map(|(path, _)| path.split('/').next().unwrap_or_default().to_owned())
            .collect();
        dirs.dedup();
        dirs
    };
    let whole = work.path().join("whole");
    assert_exit(&build(topology, &whole, &[]), 0);
    assert_eq!(dirs(&whole), ["net1a", "net1b"]);
    assert_eq!(
        std::fs::read(whole.join("net1a/switchyard.nft")).expect("net1a's script"),
        std::fs::read(whole.join("net1b/switchyard.nft")).expect("net1b's script"),
        "the same ruleset on both members"
    );
    let pair = work.path().join("pair");
    assert_exit(&build(topology, &pair, &["--host", "net1"]), 0);
    assert_eq!(listed(&pair), listed(&whole));
    let member = work.path().join("member");
    assert_exit(&build(topology, &member, &["--host", "net1b"]), 0);
    let net1b: Vec<(String, String)> = listed(&whole)
        .into_iter()
        .filter(|(path, _)| path.starts_with("net1b/"))
        .collect();
    assert_eq!(listed(&member), net1b);
    for (path, _) in &net1b {
        assert_eq!(
            std::fs::read(member.join(path)).expect("the member's build"),
            std::fs::read(whole.join(path)).expect("the whole build"),
            "{path}"
        );
    }
}
