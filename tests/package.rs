//! The Debian package's metadata (Cargo.toml's `[package.metadata.deb]`, read by
//! cargo-deb in .ci/deb; .ci/run builds the package and runs lintian on it):
//! the changelog's newest entry is this version, every asset from the
//! repository exists, so moving a file cannot silently drop it from the
//! package, and it recommends what a member of a pair runs.

mod common;

fn deb_metadata() -> toml::Table {
    let manifest = std::fs::read_to_string(common::repo_path("Cargo.toml")).expect("Cargo.toml");
    let manifest: toml::Table = toml::from_str(&manifest).expect("Cargo.toml parses");
    manifest["package"]["metadata"]["deb"]
        .as_table()
        .expect("[package.metadata.deb]")
        .clone()
}

#[test]
fn the_changelog_starts_with_this_version() {
    let deb = deb_metadata();
    let path = deb["changelog"].as_str().expect("changelog = PATH");
    let changelog = std::fs::read_to_string(common::repo_path(path)).expect("changelog");
    let first = changelog.lines().next().unwrap_or_default();
    // cargo-deb's package version: Cargo's, with Debian revision 1.
    let version = format!("switchyard ({}-1) ", env!("CARGO_PKG_VERSION"));
    assert!(
        first.starts_with(&version),
        "{path} starts with {first:?}, not {version:?}: add an entry for this version"
    );
}

#[test]
fn every_packaged_file_from_the_repository_exists() {
    let deb = deb_metadata();
    let assets = deb["assets"].as_array().expect("assets");
    for asset in assets {
        let source = asset[0].as_str().expect("an asset's source path");
        // .ci/deb builds what is under target/ before cargo-deb runs.
        if source.starts_with("target/") {
            continue;
        }
        // A glob's directory part must exist and hold something.
        let fixed = source.split('*').next().unwrap_or(source);
        let path = common::repo_path(fixed);
        let present = if source.contains('*') {
            std::fs::read_dir(&path).is_ok_and(|mut entries| entries.next().is_some())
        } else {
            path.is_file()
        };
        assert!(present, "Cargo.toml packages {source}, which is not there");
    }
}

/// A member of a pair runs keepalived and conntrackd (docs/semantics.md,
/// docs/deployment.md "A pair"); a single host does not, so the package
/// recommends them rather than depending on them.
#[test]
fn the_package_recommends_the_daemons_of_a_pair() {
    let deb = deb_metadata();
    let recommends: Vec<&str> = deb["recommends"]
        .as_str()
        .expect("recommends = \"…\"")
        .split(',')
        .map(str::trim)
        .collect();
    for daemon in ["keepalived", "conntrackd"] {
        assert!(recommends.contains(&daemon), "{daemon}: {recommends:?}");
        let depends = deb["depends"].as_str().expect("depends");
        assert!(!depends.contains(daemon), "{daemon} is only recommended");
    }
}
