//! Many hosts: each host's artifacts hold only its own VMs, uplinks, pools,
//! interfaces and addresses; a public address is DNATed only on the host of its
//! VM; `build --host NAME` renders exactly that host's files, for every host, and
//! its manifest.json lists just them; the manifest schema is the checked-in one.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;

use switchyard::family::V4;
use switchyard::model::CheckedModel;
use switchyard::model::{HostId, Model};
use switchyard::render::{Artifact, Manifest};

use common::{build, build_source, example_source, repo_path, switchyard, tree};

const TOPOLOGY: &str = "examples/multi-host.toml";

fn model() -> CheckedModel {
    match switchyard::validate(&example_source(Path::new(TOPOLOGY))) {
        Ok(validated) => validated.into_parts().0,
        Err(diagnostics) => panic!("{TOPOLOGY} is invalid: {diagnostics:?}"),
    }
}

/// Every artifact of every host, rendered in-process.
fn artifacts() -> Vec<Artifact> {
    build_source(&example_source(Path::new(TOPOLOGY))).artifacts
}

/// The names and addresses that identify what belongs to `host`: its VMs (names,
/// private and public addresses), its interfaces (LAN, uplink, VLAN parents), its
/// own addresses and gateways, the uplinks it is attached to and the pools that
/// leave through them.
fn identifiers(model: &Model, host: HostId) -> BTreeSet<String> {
    let mut own = BTreeSet::new();
    let h = model.host(host);
    own.extend(h.lan.iter().map(|lan| lan.value.to_string()));
    for attachment in &h.attachments {
        own.insert(model.uplink(attachment.uplink).name.value.to_string());
        own.insert(attachment.interface.value.to_string());
        own.extend(
            attachment
                .address
                .v4
                .iter()
                .map(|a| a.value.addr().to_string()),
        );
        own.extend(
            attachment
                .address
                .v6
                .iter()
                .map(|a| a.value.addr().to_string()),
        );
        own.extend(attachment.gateway.v4.iter().map(|a| a.value.to_string()));
        own.extend(attachment.gateway.v6.iter().map(|a| a.value.to_string()));
        if let Some(vlan) = &attachment.vlan {
            own.insert(vlan.parent.value.to_string());
        }
        own.extend(
            model
                .pools
                .iter()
                .filter(|pool| pool.uplink == Some(attachment.uplink))
                .map(|pool| pool.name.value.to_string()),
        );
    }
    for vm in model.vms.iter().filter(|vm| vm.host == host) {
        own.insert(vm.name.value.to_string());
        own.extend(vm.address.v4.iter().map(|a| a.value.to_string()));
        own.extend(vm.address.v6.iter().map(|a| a.value.to_string()));
        own.extend(vm.public.iter().map(|a| a.value.to_string()));
    }
    own
}

/// The words of an artifact: runs of letters, digits, `.`, `-` and `_`, so that
/// `198.51.100.1` is never found inside `198.51.100.10` nor `web-1` inside `web-10`.
fn words(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .map(|word| word.trim_end_matches(['.', '-']))
        .filter(|word| !word.is_empty())
        .collect()
}

fn host_artifacts<'a>(artifacts: &'a [Artifact], host: &str) -> Vec<&'a Artifact> {
    artifacts.iter().filter(|a| a.host == host).collect()
}

#[test]
fn the_example_has_at_least_three_hosts_with_vms() {
    let model = model();
    let with_vms = model
        .host_ids()
        .filter(|&h| model.vms.iter().any(|vm| vm.host == h))
        .count();
    assert!(
        with_vms >= 3,
        "{TOPOLOGY} must have at least three hosts with VMs, has {with_vms}"
    );
}

#[test]
fn every_host_mentions_only_its_own_vms_uplinks_interfaces_and_addresses() {
    let model = model();
    let artifacts = artifacts();
    let everything: BTreeSet<String> = model
        .host_ids()
        .flat_map(|h| identifiers(&model, h))
        .collect();
    for host in model.host_ids() {
        let name = &model.host(host).name.value;
        let own = identifiers(&model, host);
        let foreign: BTreeSet<&String> = everything.difference(&own).collect();
        assert!(
            !foreign.is_empty(),
            "{name} shares everything with the other hosts: the test would prove nothing"
        );
        let files = host_artifacts(&artifacts, name);
        assert!(
            files.len() >= 3,
            "{name} has only {} artifacts",
            files.len()
        );
        for artifact in files {
            assert!(
                artifact.path.starts_with(&format!("{name}/")),
                "{} is filed under host {name}",
                artifact.path
            );
            let leaked: Vec<&&String> = foreign
                .iter()
                .filter(|word| words(&artifact.content).contains(word.as_str()))
                .collect();
            assert!(
                leaked.is_empty(),
                "{} mentions other hosts' names or addresses {leaked:?}:\n{}",
                artifact.path,
                artifact.content
            );
        }
        // And it does mention its own VMs.
        let nft = artifacts
            .iter()
            .find(|a| a.path == format!("{name}/switchyard.nft"))
            .expect("every host has an nft script");
        for vm in model.vms.iter().filter(|vm| vm.host == host) {
            if !vm.public.is_empty() {
                assert!(
                    words(&nft.content).contains(vm.name.value.as_str()),
                    "{} does not mention its VM {}",
                    nft.path,
                    vm.name.value
                );
            }
        }
    }
}

/// The `dnat_addresses` map of an nft script (read into the typed model):
/// public → private.
fn dnat_map(nft: &str) -> BTreeMap<Ipv4Addr, Ipv4Addr> {
    let table = switchyard::nft_table::Table::parse(nft).expect("the script reads back");
    table
        .elements("dnat_addresses")
        .iter()
        .map(|element| {
            let public = element.key.one().and_then(|key| key.as_address::<V4>());
            let private = element
                .data
                .as_ref()
                .and_then(|data| data.as_address::<V4>());
            match (public, private) {
                (Some(public), Some(private)) => (public, private),
                _ => panic!("unexpected dnat element `{element}`"),
            }
        })
        .collect()
}

#[test]
fn a_public_address_is_dnated_only_on_the_host_of_its_vm() {
    let model = model();
    let artifacts = artifacts();
    let mut dnated_somewhere = 0;
    for host in model.host_ids() {
        let name = &model.host(host).name.value;
        let nft = artifacts
            .iter()
            .find(|a| a.path == format!("{name}/switchyard.nft"))
            .expect("every host has an nft script");
        let expected: BTreeMap<Ipv4Addr, Ipv4Addr> = model
            .vms
            .iter()
            .filter(|vm| vm.host == host)
            .flat_map(|vm| {
                vm.public_of::<V4>()
                    .map(|p| (p.value, vm.address::<V4>().unwrap()))
            })
            .collect();
        assert_eq!(
            dnat_map(&nft.content),
            expected,
            "{name}: dnat_addresses must hold exactly its own VMs' public addresses"
        );
        dnated_somewhere += expected.len();
    }
    let public: usize = model.vms.iter().map(|vm| vm.public.len()).sum();
    assert_eq!(
        dnated_somewhere, public,
        "every public address is DNATed on exactly one host"
    );
}

fn read_manifest(dir: &Path) -> Manifest {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("manifest.json: {e}\n{text}"))
}

#[test]
fn build_host_renders_exactly_that_hosts_files() {
    let model = model();
    let temp = tempfile::tempdir().expect("temporary directory");
    let all = temp.path().join("all");
    build(&repo_path(TOPOLOGY), &all, None);
    let everything = tree(&all);
    let full_manifest = read_manifest(&all);
    for host in model.host_ids() {
        let name = &model.host(host).name.value;
        let one = temp.path().join(name.as_str());
        build(&repo_path(TOPOLOGY), &one, Some(name));
        let mut files = tree(&one);
        assert!(
            files.remove("manifest.json").is_some(),
            "{name}: no manifest"
        );
        let expected: BTreeMap<String, Vec<u8>> = everything
            .iter()
            .filter(|(path, _)| path.starts_with(&format!("{name}/")))
            .map(|(path, bytes)| (path.clone(), bytes.clone()))
            .collect();
        assert!(
            !expected.is_empty(),
            "the full build has no files for {name}"
        );
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "build --host {name} writes exactly {name}'s files"
        );
        assert!(
            files == expected,
            "build --host {name} renders the same bytes as the full build"
        );
        let manifest = read_manifest(&one);
        let from_full: Vec<_> = full_manifest
            .files
            .iter()
            .filter(|f| f.host == name.as_str())
            .cloned()
            .collect();
        assert_eq!(manifest.files, from_full, "{name}: manifest entries");
    }
}

const REGENERATE: &str = "cargo run -- schema --manifest > schema/manifest.schema.json";

#[test]
fn checked_in_manifest_schema_matches_the_type() {
    let generated = switchyard::schema::manifest_schema();
    common::assert_checked_in("schema/manifest.schema.json", &generated, REGENERATE);
    let cli = common::run_ok(switchyard().args(["schema", "--manifest"]));
    assert_eq!(cli, generated, "`switchyard schema --manifest` prints it");
}

#[test]
fn manifest_schema_requires_path_host_and_sha256() {
    let schema: serde_json::Value =
        serde_json::from_str(&switchyard::schema::manifest_schema()).expect("schema is JSON");
    assert_eq!(
        schema["required"],
        serde_json::json!(["generator", "source", "source_sha256", "files"])
    );
    let file = &schema["$defs"]["ManifestFile"];
    assert_eq!(
        file["required"],
        serde_json::json!(["path", "host", "sha256"])
    );
    assert_eq!(file["properties"]["sha256"]["pattern"], "^[0-9a-f]{64}$");
    assert_eq!(file["additionalProperties"], false);
}
