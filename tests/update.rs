//! `build --since OLD` and its `switchyard.update.nft`.
//!
//! In network namespaces (root; CI runs these as root and they fail, never
//! skip, without it), for host `net2` of examples/multi-host.toml and three
//! changes of one VM (a changed egress entry, an added public address, a removed
//! VM, each an update of elements only): OLD's script loaded, then the update,
//! leaves exactly the table a fresh load of NEW's script leaves, and
//! `switchyard verify` agrees; the update over
//! any other table (NEW already applied, no table at all) fails and changes
//! nothing. Without root: what `--since` writes and what it refuses.
//! In IPv6 (examples/dual-stack.toml, host net1): a VM's IPv6 addresses removed
//! and added back, an IPv6 egress entry changed, an IPv6 public address moved,
//! the project's default moved to another pool (elements of both families);
//! each leaves exactly NEW's table, and the kernel's `nft -j` listing of it
//! reads into the typed model of NEW's script (IPv6 prefixes, ranges such as
//! `2001:db8:10::5-2001:db8:10::6`, addresses). A VM added with a default of
//! its own, and a VM's default moved to another pool: elements only, and
//! then real pings (the rig of tests/e2e) leave as trace says of NEW.
//! On a host with 4 000 VMs with entries of their own (`egress_by_vm` in 16
//! shards), removing one is an update of its shard's elements only.
//! tests/properties.rs checks OLD + update ≡ NEW for random dual-stack topologies.

mod common;
mod e2e {
    pub mod fate;
    pub mod rig;
}

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use common::deploy::{
    HOST, TOPOLOGY, added_public_address, build_edited, changed_egress_entry, example,
    host_namespace,
};
use common::{Netns, describe, repo_path, require_root, run_ok, switchyard};
use e2e::fate::{self, Fate, Probe};
use e2e::rig::{self, Artifacts, Rig};
use switchyard::diagnostic::Source;
use switchyard::family::{V4, V6};

/// Without ledger-1, net2 has no VM in pool-d: its SNAT map empties, an
/// element change still (an empty hash map keeps the smallest declared size,
/// which its elements had).
fn removed_vm() -> Source {
    let source = example();
    let mut table: toml::Table = source.text.parse().expect("the example parses");
    table["vms"]
        .as_table_mut()
        .expect("VMs")
        .remove("ledger-1")
        .expect("ledger-1");
    Source::new(source.name, toml::to_string(&table).expect("TOML"))
}

fn nft_script(build: &switchyard::Build, path: &str) -> String {
    build
        .artifacts
        .iter()
        .find(|a| a.path == path)
        .unwrap_or_else(|| panic!("no {path}"))
        .content
        .clone()
}

/// NEW's update for `HOST` from the example's build, and NEW's script.
fn update_and_script(new: &Source) -> (String, String) {
    let (_, update, new_script) = update_between(&example(), new, HOST);
    (update, new_script)
}

/// `host`'s script in OLD's build, its update in NEW's, and its script in NEW's.
fn update_between(old: &Source, new: &Source, host: &str) -> (String, String, String) {
    let script_path = format!("{host}/switchyard.nft");
    let old_script = nft_script(&common::build_source(old), &script_path);
    let mut build = common::build_source(new);
    let earlier = BTreeMap::from([(host.to_owned(), old_script.clone())]);
    build.add_updates(&earlier).expect("both builds have ids");
    (
        old_script,
        nft_script(&build, &format!("{host}/switchyard.update.nft")),
        nft_script(&build, &script_path),
    )
}

/// Loads OLD's script then the update in one namespace and NEW's script in
/// another: both tables are the same. Returns the updated namespace.
fn assert_update_leaves_new(
    change: &str,
    old_script: &str,
    update: &str,
    new_script: &str,
) -> Netns {
    let fresh = Netns::new("upd-fresh");
    load(&fresh, new_script);
    let updated = Netns::new("upd-old");
    load(&updated, old_script);
    load(&updated, update);
    assert_eq!(
        updated.nft_table_sorted(),
        fresh.nft_table_sorted(),
        "{change}: OLD + update differs from NEW\n{update}"
    );
    updated
}

fn load(netns: &Netns, script: &str) {
    let output = netns.nft_load(script);
    assert!(
        output.status.success(),
        "nft -f failed: {}",
        describe(&output)
    );
}

/// Asserts that `update` fails in `netns` and leaves its table as it was.
fn assert_refused(netns: &Netns, update: &str) {
    let before = netns.nft_table_sorted();
    let output = netns.nft_load(update);
    assert!(
        !output.status.success(),
        "the update loaded over another table"
    );
    assert_eq!(netns.nft_table_sorted(), before);
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn each_one_vm_change_leaves_exactly_the_new_table() {
    require_root();
    let old = common::build_source(&example());
    let old_script = nft_script(&old, &format!("{HOST}/switchyard.nft"));
    for (change, new) in [
        ("changed egress entry", changed_egress_entry()),
        ("added public address", added_public_address()),
        ("removed VM", removed_vm()),
    ] {
        let (update, new_script) = update_and_script(&new);
        assert!(!update.contains("replace it whole"), "{change}:\n{update}");
        let updated = assert_update_leaves_new(change, &old_script, &update, &new_script);
        // Loaded again, it no longer finds OLD's id.
        assert_refused(&updated, &update);
    }
}

const DUAL_STACK: &str = "examples/dual-stack.toml";
const DUAL_STACK_HOST: &str = "net1";

/// examples/dual-stack.toml with each `from` replaced by `to` (each occurring
/// `count` times).
fn dual_stack_edited(edits: &[(&str, &str, usize)]) -> Source {
    let source = common::example_source(Path::new(DUAL_STACK));
    let mut text = source.text.clone();
    for (from, to, count) in edits {
        assert_eq!(text.matches(from).count(), *count, "{from}");
        text = text.replace(from, to);
    }
    Source::new(source.name, text)
}

/// web-2 without its IPv6 private and public addresses (the project keeps
/// them, unallocated).
fn without_ipv6_of_web_2() -> Source {
    dual_stack_edited(&[
        (
            r#"address = ["10.0.0.6", "2001:db8:10::6"]"#,
            r#"address = "10.0.0.6""#,
            1,
        ),
        (
            r#"public = ["198.51.100.8", "203.0.113.10", "2001:db8:a::8", "2001:db8:b::10"]"#,
            r#"public = ["198.51.100.8", "203.0.113.10"]"#,
            1,
        ),
    ])
}

/// web-1's own IPv6 entry for a wider prefix.
fn changed_ipv6_egress_entry() -> Source {
    dual_stack_edited(&[("2001:db8:200::/48", "2001:db8:200::/44", 1)])
}

/// The project's default moved to pool-b, which leaves its entries (via pool-b
/// too) to it; web-1 keeps pool-a as a default of its own.
fn changed_project_default() -> Source {
    dual_stack_edited(&[
        (r#"default = "pool-a""#, r#"default = "pool-b""#, 1),
        (
            "[vms.web-1]\nproject = \"acme\"\n",
            "[vms.web-1]\nproject = \"acme\"\ndefault = \"pool-a\"\n",
            1,
        ),
    ])
}

/// web-2's IPv6 address in pool-b renumbered (in the project and the VM).
fn moved_ipv6_public_address() -> Source {
    dual_stack_edited(&[("2001:db8:b::10", "2001:db8:b::11", 2)])
}

/// web-2's public addresses, the last line of examples/dual-stack.toml.
const WEB_2_PUBLIC: &str =
    r#"public = ["198.51.100.8", "203.0.113.10", "2001:db8:a::8", "2001:db8:b::10"]"#;

/// web-3 added (with addresses the project is given for it), with a default
/// of its own: pool-b, whose default sets were empty.
fn added_vm_with_a_default() -> Source {
    let addresses = r#""2001:db8:b::9", "2001:db8:b::10","#;
    let public = r#""198.51.100.11", "203.0.113.11", "2001:db8:a::11", "2001:db8:b::11""#;
    let web_3 = format!(
        "{WEB_2_PUBLIC}\n\n[vms.web-3]\nproject = \"acme\"\nhost = \"net1\"\n\
         address = [\"10.0.0.7\", \"2001:db8:10::7\"]\npublic = [{public}]\ndefault = \"pool-b\""
    );
    dual_stack_edited(&[
        (addresses, &format!("{addresses}\n  {public},"), 1),
        (WEB_2_PUBLIC, &web_3, 1),
    ])
}

/// web-2's default moved from its project's (pool-a) to pool-b, its own.
fn moved_vm_default() -> Source {
    let own_default = format!("{WEB_2_PUBLIC}\ndefault = \"pool-b\"");
    dual_stack_edited(&[(WEB_2_PUBLIC, &own_default, 1)])
}

/// `nft -j list table inet switchyard` in `netns`, read into the typed model.
fn listed_model(netns: &Netns) -> switchyard::nft_table::Table {
    let listing = run_ok(
        netns
            .exec("nft")
            .args(["-j", "list", "table", "inet", "switchyard"]),
    );
    switchyard::verify::listed_table(&listing).expect("the listing reads")
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn each_one_vm_ipv6_change_leaves_exactly_the_new_table() {
    require_root();
    let original = common::example_source(Path::new(DUAL_STACK));
    // (change, OLD, NEW, sets the update must change: IPv6 ones, and IPv4 ones
    // where the change is of both families).
    let cases: [(&str, Source, Source, &[&str]); 5] = [
        (
            "removed IPv6 addresses",
            original.clone(),
            without_ipv6_of_web_2(),
            &[
                "vm_sources6",
                "dnat_addresses6",
                "snat6_pool_1",
                "snat6_pool_2",
            ],
        ),
        (
            "added IPv6 addresses",
            without_ipv6_of_web_2(),
            original.clone(),
            &[
                "vm_sources6",
                "dnat_addresses6",
                "snat6_pool_1",
                "snat6_pool_2",
            ],
        ),
        (
            "changed IPv6 egress entry",
            original.clone(),
            changed_ipv6_egress_entry(),
            &["egress_by_vm6"],
        ),
        (
            "moved IPv6 public address",
            original.clone(),
            moved_ipv6_public_address(),
            &["dnat_addresses6", "snat6_pool_2"],
        ),
        (
            "changed project default",
            original.clone(),
            changed_project_default(),
            &[
                "egress_by_project6",
                "default_pool_1",
                "default_pool_2",
                "default6_pool_1",
                "default6_pool_2",
            ],
        ),
    ];
    for (change, old, new, changed_sets) in cases {
        let (old_script, update, new_script) = update_between(&old, &new, DUAL_STACK_HOST);
        assert!(!update.contains("replace it whole"), "{change}:\n{update}");
        for set in changed_sets {
            assert!(
                update.contains(&format!("inet switchyard {set} ")),
                "{change}: {set} unchanged\n{update}"
            );
        }
        let updated = assert_update_leaves_new(change, &old_script, &update, &new_script);
        // The typed model of the kernel's listing is NEW's script's.
        let script = switchyard::nft_table::Table::parse(&new_script).expect("NEW reads back");
        let listed = listed_model(&updated);
        assert_eq!(listed.sets, script.sets, "{change}");
        assert_eq!(listed.counters, script.counters, "{change}");
        assert_refused(&updated, &update);
    }
}

/// A one-VM change of a default in examples/dual-stack.toml: its name, a
/// namespace tag, NEW, the VM whose default changes to pool-b, and the
/// default sets its update touches.
type DefaultChange = (
    &'static str,
    &'static str,
    Source,
    &'static str,
    &'static [&'static str],
);

/// A VM added with a default of its own (into pool-b's empty default sets),
/// and a VM's default moved from pool-a to pool-b.
fn default_changes() -> [DefaultChange; 2] {
    [
        (
            "added VM with a default",
            "upd-add",
            added_vm_with_a_default(),
            "web-3",
            &["default6_pool_2", "default_pool_2"],
        ),
        (
            "moved VM default",
            "upd-mv",
            moved_vm_default(),
            "web-2",
            &[
                "default6_pool_1",
                "default6_pool_2",
                "default_pool_1",
                "default_pool_2",
            ],
        ),
    ]
}

/// OLD's script, the update and NEW's script of a default change, after
/// asserting that the update is of elements only, and of exactly its default
/// sets among the default sets (a set with a `goto` verdict per VM would make
/// the kernel check every VM's verdict at each update adding a verdict).
fn default_update((change, _, new, _, sets): &DefaultChange) -> (String, String, String) {
    let original = common::example_source(Path::new(DUAL_STACK));
    let (old_script, update, new_script) = update_between(&original, new, DUAL_STACK_HOST);
    assert!(!update.contains("replace it whole"), "{change}:\n{update}");
    let mut touched: Vec<&str> = (update.lines())
        .filter_map(|line| {
            (line.strip_prefix("add element inet switchyard "))
                .or_else(|| line.strip_prefix("delete element inet switchyard "))
        })
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|set| set.starts_with("default"))
        .collect();
    touched.sort_unstable();
    assert_eq!(touched, *sets, "{change}:\n{update}");
    (old_script, update, new_script)
}

#[test]
fn a_default_added_or_moved_is_an_update_of_the_default_sets_elements() {
    for change in default_changes() {
        default_update(&change);
    }
}

/// Each default change's update leaves exactly NEW's table, and the kernel
/// then does what trace says of NEW: OLD's artifacts and the update loaded
/// into the rig, every VM pings destinations its default decides, in both
/// families, and the changed VM's leave by isp-b.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn after_a_default_added_or_moved_the_kernel_follows_the_new_default() {
    require_root();
    // Destinations no egress entry of the example decides.
    let defaulted: [IpAddr; 2] =
        ["9.9.9.9", "2001:db8:300::1"].map(|a| a.parse().expect("address"));
    for default_change in default_changes() {
        let (old_script, update, new_script) = default_update(&default_change);
        let (change, tag, new, vm, _) = default_change;
        assert_update_leaves_new(change, &old_script, &update, &new_script);

        let (model, mut plan, _) = switchyard::validate(&new).expect("valid").into_parts();
        let host = plan.hosts.remove(0);
        let rig = Rig::new(tag, &model, &host);
        let mut artifacts = Artifacts::of(&common::build_source(&new), DUAL_STACK_HOST);
        artifacts.nft = old_script;
        rig.load(&artifacts);
        rig::nft(rig.host(), &update);
        let isp_a = (host.uplinks.iter())
            .find(|u| u.name == "isp-a")
            .expect("isp-a");
        rig.add_main_default_route::<V4>(isp_a);
        rig.add_main_default_route::<V6>(isp_a);
        let probes: Vec<Probe> = (fate::vm_addresses(&model, &host).into_keys())
            .flat_map(|vm| defaulted.map(|to| Probe::Out { vm: vm.clone(), to }))
            .collect();
        let tracer = switchyard::trace::Tracer::new(&new).expect("valid");
        let (results, _) = fate::round(&rig, &tracer, &model, &host, &probes);
        fate::assert_kernel_matches_trace(change, &results);
        for to in defaulted {
            let probe = Probe::Out {
                vm: vm.to_owned(),
                to,
            };
            assert!(
                matches!(fate::observed(&results, &probe), Fate::Left { uplink, .. } if uplink == "isp-b"),
                "{change}: {probe} did not leave by isp-b"
            );
        }
    }
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn the_update_fails_over_any_other_table_and_changes_nothing() {
    require_root();
    let (update, new_script) = update_and_script(&changed_egress_entry());
    let netns = Netns::new("upd-other");
    // No table at all: nothing is created.
    let output = netns.nft_load(&update);
    assert!(!output.status.success(), "loaded over no table");
    let listed = netns.exec("nft").args(["list", "tables"]).output();
    assert_eq!(String::from_utf8_lossy(&listed.expect("nft").stdout), "");
    // Another build's table (here: another host's), and NEW's own.
    let other = common::build_source(&example());
    load(&netns, &nft_script(&other, "net1/switchyard.nft"));
    assert_refused(&netns, &update);
    load(&netns, &new_script);
    assert_refused(&netns, &update);
}

/// `build -o NEW --since OLD` on the command line, loaded like a deployment
/// does, then `switchyard verify NEW` in the namespace: in sync.
#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn verify_finds_the_updated_host_in_sync_with_the_new_build() {
    require_root();
    let dir = tempfile::tempdir().expect("temporary directory");
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    common::build(&repo_path(TOPOLOGY), &old, None);
    build_edited(&added_public_address(), &new, Some(&old));
    let netns = host_namespace("upd-verify");
    run_ok(
        std::process::Command::new("ip")
            .args(["-n", &netns.name, "-batch"])
            .arg(old.join(HOST).join("switchyard.ip")),
    );
    run_ok(
        netns
            .exec("nft")
            .arg("-f")
            .arg(old.join(HOST).join("switchyard.nft")),
    );
    run_ok(
        netns
            .exec("nft")
            .arg("-f")
            .arg(new.join(HOST).join("switchyard.update.nft")),
    );
    netns.load_sysctls(&new.join(HOST));
    let verified = run_ok(
        netns
            .exec(env!("CARGO_BIN_EXE_switchyard"))
            .arg("verify")
            .arg(&new)
            .args(["--host", HOST]),
    );
    assert_eq!(
        verified,
        format!("{HOST}: in sync with {}\n", new.display())
    );
}

/// The manifest of the build in `dir`.
fn manifest(dir: &Path) -> switchyard::render::Manifest {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("a manifest")
}

#[test]
fn since_writes_an_update_for_every_host_and_lists_it() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("out");
    common::build(&repo_path(TOPOLOGY), &out, None);
    // OLD may be the output directory itself: it is read before it is replaced.
    run_ok(
        switchyard()
            .arg("build")
            .arg(repo_path(TOPOLOGY))
            .arg("-o")
            .arg(&out)
            .arg("--since")
            .arg(&out),
    );
    let listed = manifest(&out);
    for host in ["net1", "net2", "net3"] {
        let path = format!("{host}/switchyard.update.nft");
        let file = listed
            .files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} not in the manifest"));
        let update = std::fs::read(out.join(&path)).expect("the update is written");
        switchyard::verify::check_digest(file, &update).expect("listed with its SHA-256");
        // Nothing changed: the update only checks and keeps the build id.
        let update = String::from_utf8(update).expect("UTF-8");
        let statements: Vec<&str> = update.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(statements.len(), 2, "{update}");
        assert!(statements[0].starts_with("delete element inet switchyard build"));
    }
    // A build with --host: only that host's update.
    let one = dir.path().join("one");
    run_ok(
        switchyard()
            .arg("build")
            .arg(repo_path(TOPOLOGY))
            .args(["-o"])
            .arg(&one)
            .args(["--host", "net2", "--since"])
            .arg(&out),
    );
    let updates: Vec<String> = manifest(&one)
        .files
        .into_iter()
        .map(|f| f.path)
        .filter(|p| p.ends_with("update.nft"))
        .collect();
    assert_eq!(updates, ["net2/switchyard.update.nft"]);
}

/// The build id in set `build` of a rendered nft script.
fn build_id(script: &str) -> String {
    let table = switchyard::nft_table::Table::parse(script).expect("the script reads back");
    table.build_id().expect("a build id").to_owned()
}

/// The manifest says which build each update applies over, so a deployment can
/// compare it with the build id the host's table carries; no other file says it.
#[test]
fn the_manifest_names_the_build_each_update_applies_over() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    common::build(&repo_path(TOPOLOGY), &old, None);
    build_edited(&added_public_address(), &new, Some(&old));
    let text = std::fs::read_to_string(new.join("manifest.json")).expect("manifest.json");
    let listed: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let mut updates = 0;
    for file in listed["files"].as_array().expect("files") {
        let path = file["path"].as_str().expect("a path");
        let applies_over = &file["applies_over_build"];
        match path.strip_suffix("/switchyard.update.nft") {
            Some(host) => {
                updates += 1;
                let script = std::fs::read_to_string(old.join(host).join("switchyard.nft"))
                    .expect("OLD's script");
                assert_eq!(applies_over, build_id(&script).as_str(), "{path}");
                if host == HOST {
                    // The one host whose table the change touches: a new id.
                    let new_script = std::fs::read_to_string(new.join(HOST).join("switchyard.nft"))
                        .expect("NEW's script");
                    assert_ne!(applies_over, build_id(&new_script).as_str());
                }
            }
            None => assert!(applies_over.is_null(), "{path}: {file}"),
        }
    }
    assert_eq!(updates, 3, "{text}");
}

/// `build --since OLD` where OLD is `old`: exit 2, the output not written.
fn assert_since_refused(old: &Path, message: &str) {
    let out = old.parent().expect("parent").join("refused-out");
    let output = switchyard()
        .arg("build")
        .arg(repo_path(TOPOLOGY))
        .arg("-o")
        .arg(&out)
        .arg("--since")
        .arg(old)
        .output()
        .expect("run switchyard");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(message), "{}", describe(&output));
    assert!(!out.exists(), "the output was written");
}

#[test]
fn since_refuses_what_is_not_an_intact_switchyard_build() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("missing");
    assert_since_refused(&missing, "is not a switchyard build");

    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).expect("mkdir");
    std::fs::write(foreign.join("manifest.json"), "{}").expect("write");
    assert_since_refused(&foreign, "is not a switchyard manifest");

    let edited = dir.path().join("edited");
    common::build(&repo_path(TOPOLOGY), &edited, None);
    let script = edited.join("net2/switchyard.nft");
    let mut text = std::fs::read_to_string(&script).expect("read");
    text.push_str("add element inet switchyard dnat_addresses { 192.0.2.1 : 10.10.0.12 }\n");
    std::fs::write(&script, text).expect("write");
    assert_since_refused(&edited, "differs from the manifest's SHA-256");

    // The shape of a manifest, written by another program.
    let manifest = edited.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("read");
    let other = text.replacen("\"switchyard ", "\"other-tool ", 1);
    std::fs::write(&manifest, other).expect("write");
    assert_since_refused(&edited, "its generator is `other-tool");
}

/// A host with `vms` VMs, each with an egress entry of its own (via its
/// address in pool-b) for a destination of its own: `vms` elements in
/// `egress_by_vm`, as many as a large host's. Without VM `removed`.
fn own_egress_host(vms: u16, removed: Option<u16>) -> Source {
    let address = |network: u8, index: u16| {
        let [high, low] = (index + 1).to_be_bytes();
        format!("{network}.0.{high}.{low}")
    };
    let mut text = String::from(
        "version = 1\n\n[uplinks.isp-a]\nid = 1\n\n[uplinks.isp-b]\nid = 2\n\n\
         [pools.pool-a]\nuplink = \"isp-a\"\nprefix = \"198.51.100.0/24\"\n\n\
         [pools.pool-b]\nuplink = \"isp-b\"\nprefix = \"11.0.0.0/16\"\n\n\
         [hosts.net1]\nlan = [\"lan0\"]\n\
         [hosts.net1.uplinks.isp-a]\ninterface = \"up-a\"\naddress = \"192.0.2.2/30\"\ngateway = \"192.0.2.1\"\n\
         [hosts.net1.uplinks.isp-b]\ninterface = \"up-b\"\naddress = \"198.18.0.2/30\"\ngateway = \"198.18.0.1\"\n\n\
         [projects.acme]\npools = [\"pool-a\", \"pool-b\"]\nnetworks = [\"10.0.0.0/16\"]\n\
         default = \"pool-a\"\naddresses = [",
    );
    let kept = || (0..vms).filter(|&vm| Some(vm) != removed);
    let publics: Vec<String> = kept()
        .map(|vm| format!("\"{}\"", address(11, vm)))
        .collect();
    text.push_str(&publics.join(", "));
    text.push_str("]\n");
    for vm in kept() {
        let [high, low] = vm.to_be_bytes();
        text.push_str(&format!(
            "\n[vms.vm-{vm:05}]\nproject = \"acme\"\nhost = \"net1\"\naddress = \"{}\"\n\
             public = [\"{public}\"]\negress = [{{ to = \"100.64.{high}.{low}/32\", via = \"{public}\" }}]\n",
            address(10, vm),
            public = address(11, vm),
        ));
    }
    Source::new("own-egress.toml", text)
}

/// On a host with 4 000 VMs with entries of their own, `egress_by_vm` is 16
/// maps (the kernel rewrites a whole concatenated interval map to delete one
/// element of it, ~48 ms in one of 38 830): removing one of those VMs is an
/// update of elements, and of its own shard's map only, which its address's
/// last bits pick (vm-02001 is 10.0.7.210: shard 2 of 16).
#[test]
fn a_vm_with_entries_of_its_own_removed_from_a_large_host_touches_its_shard_only() {
    let (old_script, update, new_script) = update_between(
        &own_egress_host(4000, None),
        &own_egress_host(4000, Some(2001)),
        "net1",
    );
    assert!(!update.contains("replace it whole"), "{update}");
    let table = switchyard::nft_table::Table::parse(&new_script).expect("a table");
    let sizes: Vec<usize> = (0..16)
        .map(|shard| table.elements(&format!("egress_by_vm_{shard}")).len())
        .collect();
    let mut expected = [250; 16];
    expected[2] = 249;
    assert_eq!(sizes, expected);
    assert!(!table.sets.contains_key("egress_by_vm"));
    let dispatch = &table.chains["classify_own_egress"].rules[0].text;
    assert!(
        dispatch.starts_with(
            "ip saddr & 0.0.0.15 vmap { 0.0.0.0 : goto classify_own_egress_0, \
             0.0.0.1 : goto classify_own_egress_1,"
        ),
        "{dispatch}"
    );
    let egress: Vec<&str> = (update.lines())
        .filter(|line| line.contains(" egress_by_vm"))
        .collect();
    assert_eq!(
        egress,
        ["delete element inet switchyard egress_by_vm_2 {"],
        "{update}"
    );
    assert!(
        update.contains("\t10.0.7.210 . 100.64.7.209,\n"),
        "{update}"
    );
    assert!(
        old_script.contains("\tmap egress_by_vm_2 {"),
        "the shards are the same in OLD"
    );
}
