//! examples/salt/ with real Salt (installed by .ci/run): `salt-call --local
//! state.apply switchyard` installs one host's files and reloads them, inside a
//! network namespace with veths named like the host's interfaces, with the file
//! roots, Salt's own state and every destination under a temporary directory.
//! The tests then read the live nft table, rules and routes in that namespace.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use common::deploy::{self, HOST, MachineNetwork, TOPOLOGY};
use common::{Netns, describe, repo_path, require_root, run_ok, switchyard};

/// A masterless minion named `HOST` whose file roots hold the state and a build.
struct Minion {
    temp: tempfile::TempDir,
}

impl Minion {
    /// `build_args` go to `switchyard build` after the topology (e.g. `--templates`).
    fn new(build_args: &[&Path]) -> Self {
        Self::with_topology(TOPOLOGY, build_args)
    }

    /// A minion whose build is of `topology`.
    fn with_topology(topology: &str, build_args: &[&Path]) -> Self {
        let temp = tempfile::tempdir().expect("temporary directory");
        let root = temp.path();
        let state = root.join("srv/switchyard");
        std::fs::create_dir_all(&state).expect("file root");
        for entry in std::fs::read_dir(repo_path("examples/salt/switchyard")).expect("state") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, state.join(path.file_name().expect("name"))).expect("copy");
        }
        run_ok(
            switchyard()
                .args(["build", topology, "-o"])
                .arg(root.join("srv/switchyard-build"))
                .args(build_args)
                .current_dir(common::root()),
        );
        std::fs::create_dir_all(root.join("conf")).expect("config directory");
        // The file server lists its files again on every call: a test rebuilds
        // between two calls quicker than the list's default 20 s lifetime.
        std::fs::write(
            root.join("conf/minion"),
            format!(
                "file_client: local\nid: {HOST}\nroot_dir: {root}/salt\n\
                 file_roots:\n  base:\n    - {root}/srv\nfileserver_list_cache_time: 0\n",
                root = root.display()
            ),
        )
        .expect("minion config");
        Minion { temp }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.temp.path().join(relative)
    }

    /// `salt-call --local FUNCTION switchyard pillar=…` inside `netns`, JSON out.
    fn call(&self, netns: &Netns, function: &str, pillar: Value) -> (Output, Value) {
        self.call_with(netns, function, &[], pillar)
    }

    /// `state.apply` with `pillar`, which must succeed: its states' outcomes,
    /// printed under `label`.
    fn apply(&self, netns: &Netns, label: &str, pillar: Value) -> Vec<(String, bool, bool)> {
        let (output, states) = self.call(netns, "state.apply", pillar);
        let outcomes = outcomes(&states);
        print_summary(label, &outcomes);
        assert!(output.status.success(), "{}", describe(&output));
        outcomes
    }

    /// [`Minion::call`] with more arguments to the function (`test=True`).
    fn call_with(
        &self,
        netns: &Netns,
        function: &str,
        arguments: &[&str],
        pillar: Value,
    ) -> (Output, Value) {
        let mut settings = json!({
            "dest": self.path("etc/switchyard"),
            "networkd_dest": self.path("etc/systemd/network"),
            "systemd_dest": self.path("etc/systemd/system"),
            "sysctl_dest": self.path("etc/sysctl.d"),
            "state_dir": self.path("var/lib/switchyard"),
            "bin": env!("CARGO_BIN_EXE_switchyard"),
            // Enabling a unit is systemctl's business on the machine, not the namespace's.
            "enable_units": false,
        });
        for (key, value) in pillar.as_object().expect("an object") {
            settings[key] = value.clone();
        }
        let output = netns
            .exec("salt-call")
            .args(["--local", "--retcode-passthrough", "--out", "json", "-c"])
            .arg(self.path("conf"))
            .args([function, "switchyard"])
            .args(arguments)
            .arg(format!("pillar={}", json!({ "switchyard": settings })))
            .output()
            .unwrap_or_else(|e| panic!("cannot run salt-call (.ci/run installs salt): {e}"));
        let result: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("salt-call printed no JSON ({e}): {}", describe(&output)));
        (output, result["local"].clone())
    }
}

/// The state with id `id` in `state.apply`'s JSON.
fn state<'s>(states: &'s Value, id: &str) -> &'s Value {
    states
        .as_object()
        .expect("state results")
        .values()
        .find(|state| state["__id__"] == id)
        .unwrap_or_else(|| panic!("no state `{id}` in {states}"))
}

/// State id → (result, changed), from `state.apply`'s JSON.
fn outcomes(states: &Value) -> Vec<(String, bool, bool)> {
    let states = states
        .as_object()
        .unwrap_or_else(|| panic!("not a state result: {states}"));
    let mut outcomes: Vec<(u64, String, bool, bool)> = states
        .values()
        .map(|state| {
            (
                state["__run_num__"].as_u64().expect("run number"),
                state["__id__"].as_str().expect("state id").to_owned(),
                state["result"] == json!(true),
                state["changes"].as_object().is_some_and(|c| !c.is_empty()),
            )
        })
        .collect();
    outcomes.sort();
    outcomes
        .into_iter()
        .map(|(_, id, ok, changed)| (id, ok, changed))
        .collect()
}

/// Prints the run's summary (see it with `cargo test --test salt -- --nocapture`).
/// The ids of the states that changed something, in run order.
fn changed_ids(outcomes: &[(String, bool, bool)]) -> Vec<&str> {
    outcomes
        .iter()
        .filter(|(_, _, changed)| *changed)
        .map(|(id, _, _)| id.as_str())
        .collect()
}

fn print_summary(label: &str, outcomes: &[(String, bool, bool)]) {
    let failed = outcomes.iter().filter(|(_, ok, _)| !ok).count();
    let changed = outcomes.iter().filter(|(_, _, changed)| *changed).count();
    println!(
        "{label}: {} states, {} succeeded (changed={changed}), {failed} failed",
        outcomes.len(),
        outcomes.len() - failed
    );
    for (id, ok, changed) in outcomes {
        let status = if !ok {
            "FAILED"
        } else if *changed {
            "changed"
        } else {
            "ok"
        };
        println!("  {id}: {status}");
    }
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn state_deploys_a_host_into_a_namespace_and_is_idempotent() {
    require_root();
    let machine = MachineNetwork::read();
    let minion = Minion::new(&[]);
    let netns = deploy::host_namespace("salt");

    let first = minion.apply(&netns, "first state.apply", json!({}));
    let changed: Vec<&str> = changed_ids(&first);
    assert_eq!(
        changed,
        [
            "switchyard-copy-manifest",
            "switchyard-copy-host",
            "switchyard-sysctl",
            "switchyard-sysctl-apply",
            "switchyard-install-switchyard.ip",
            "switchyard-install-switchyard.nft",
            "switchyard-install-systemd/switchyard-nftables.service",
            "switchyard-install-systemd/switchyard-routes.service",
            "switchyard-drift",
            "switchyard-nft-reload",
            "switchyard-ip-reload",
        ],
        "every file copied, checked, installed and reloaded, in order"
    );

    let build = minion.path("srv/switchyard-build");
    deploy::assert_host_deployed(&netns, &build);
    for file in ["switchyard.nft", "switchyard.ip"] {
        assert_eq!(
            std::fs::read(minion.path("etc/switchyard").join(file)).expect("installed"),
            std::fs::read(build.join(HOST).join(file)).expect("built"),
            "{file} installed as built"
        );
    }

    let second = minion.apply(&netns, "second state.apply", json!({}));
    assert!(
        second.iter().all(|(_, ok, changed)| *ok && !changed),
        "a second run changes nothing and reloads nothing: {second:?}"
    );
    deploy::assert_host_deployed(&netns, &build);

    assert_eq!(MachineNetwork::read(), machine, "the machine's own network");
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn drift_is_found_by_verify_and_repaired() {
    require_root();
    let minion = Minion::new(&[]);
    let netns = deploy::host_namespace("salt-drift");
    let (output, _) = minion.call(&netns, "state.apply", json!({}));
    assert!(output.status.success(), "{}", describe(&output));

    // Someone deletes the NAT table and switchyard's policy rules by hand.
    deploy::delete_table_and_rules(&netns);

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    assert!(output.status.success(), "{}", describe(&output));
    let repair = outcomes(&states);
    print_summary("after drift", &repair);
    let changed: Vec<&str> = changed_ids(&repair);
    assert_eq!(
        changed,
        [
            "switchyard-drift",
            "switchyard-nft-reload",
            "switchyard-ip-reload"
        ],
        "only the drift is repaired"
    );
    let report = state(&states, "switchyard-drift")["changes"]["stdout"].to_string();
    assert!(
        report.contains("missing  the whole table"),
        "verify's report: {report}"
    );
    deploy::assert_host_deployed(&netns, &minion.path("srv/switchyard-build"));

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    let again = outcomes(&states);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        again.iter().all(|(_, ok, changed)| *ok && !changed),
        "in sync again: {again:?}"
    );
}

/// Asserts that `state.apply` succeeded and its nft reload ran `command`
/// (`DEST/switchyard.update.nft`, or `DEST/switchyard.nft` for the whole
/// script), without an error from nft.
fn assert_nft_loaded(minion: &Minion, output: &Output, states: &Value, command: &str) {
    print_summary(command, &outcomes(states));
    assert!(output.status.success(), "{}", describe(output));
    let reload = state(states, "switchyard-nft-reload");
    let dest = minion.path("etc/switchyard");
    let expected = if command == "switchyard.update.nft" {
        // The whole script only if nft refuses the update: not here.
        format!(
            "nft -f {dest}/switchyard.update.nft || nft -f {dest}/switchyard.nft",
            dest = dest.display()
        )
    } else {
        format!("nft -f {}/{command}", dest.display())
    };
    assert_eq!(reload["name"], json!(expected), "{reload}");
    assert_eq!(reload["changes"]["retcode"], json!(0), "{reload}");
    assert_eq!(reload["changes"]["stderr"], json!(""), "{reload}");
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn an_update_is_loaded_over_the_build_it_was_made_for() {
    require_root();
    let minion = Minion::new(&[]);
    let netns = deploy::host_namespace("salt-upd");
    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    assert_nft_loaded(&minion, &output, &states, "switchyard.nft");
    let handle = deploy::table_handle(&netns);

    // NEW, with an update from OLD (the build the file server held).
    let build = minion.path("srv/switchyard-build");
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&build));
    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    assert_nft_loaded(&minion, &output, &states, "switchyard.update.nft");
    deploy::assert_deployed_by(&netns, &build, handle, deploy::Loaded::Updated);

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    let again = outcomes(&states);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        again.iter().all(|(_, ok, changed)| *ok && !changed),
        "in sync: {again:?}"
    );

    // The same table built without --since: the installed update goes, and
    // nothing is loaded.
    let installed_update = minion.path("etc/switchyard/switchyard.update.nft");
    assert!(installed_update.exists());
    deploy::build_edited(&deploy::changed_egress_entry(), &build, None);
    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    let without = outcomes(&states);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(!installed_update.exists(), "{without:?}");
    let changed: Vec<&str> = changed_ids(&without);
    assert_eq!(
        changed,
        [
            "switchyard-copy-manifest",
            "switchyard-copy-host",
            "switchyard-no-update"
        ]
    );
    assert_eq!(deploy::table_handle(&netns), handle);
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn an_update_nft_refuses_falls_back_to_the_whole_script() {
    require_root();
    let minion = Minion::new(&[]);
    let netns = deploy::host_namespace("salt-refused");
    let (output, _) = minion.call(&netns, "state.apply", json!({}));
    assert!(output.status.success(), "{}", describe(&output));
    let build = minion.path("srv/switchyard-build");
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&build));
    // OLD's id stays, so the update is tried; one of its deletes fails.
    deploy::delete_an_element_the_update_deletes(&netns, &build);

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    print_summary("NEW over an edited OLD", &outcomes(&states));
    assert!(output.status.success(), "{}", describe(&output));
    let reload = state(&states, "switchyard-nft-reload");
    assert!(
        reload["name"]
            .as_str()
            .is_some_and(|name| name.contains("switchyard.update.nft || nft -f")),
        "the update was tried: {reload}"
    );
    assert_eq!(reload["changes"]["retcode"], json!(0), "{reload}");
    assert!(
        reload["changes"]["stderr"]
            .as_str()
            .is_some_and(
                |stderr| stderr.contains("switchyard.update.nft") && stderr.contains("Error")
            ),
        "nft refused the update, then loaded the whole script: {reload}"
    );
    deploy::assert_host_deployed(&netns, &build);
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn a_table_of_another_build_gets_the_whole_script() {
    require_root();
    let minion = Minion::new(&[]);
    let netns = deploy::host_namespace("salt-other");
    // The host runs another build than the one NEW's update is made from.
    deploy::load_another_build(&netns, &minion.path("other"));
    let handle = deploy::table_handle(&netns);
    let build = minion.path("srv/switchyard-build");
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&build));
    assert!(build.join(HOST).join("switchyard.update.nft").exists());

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    assert_nft_loaded(&minion, &output, &states, "switchyard.nft");
    deploy::assert_deployed_by(&netns, &build, handle, deploy::Loaded::Replaced);
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn test_mode_on_a_fresh_minion_shows_the_changes_and_makes_none() {
    require_root();
    let minion = Minion::new(&[]);
    let netns = deploy::host_namespace("salt-test");

    let (output, states) = minion.call_with(&netns, "state.apply", &["test=True"], json!({}));
    let review = outcomes(&states);
    print_summary("test=True, fresh minion", &review);
    assert!(output.status.success(), "{}", describe(&output));
    let nft = state(&states, "switchyard-install-switchyard.nft");
    assert_eq!(nft["result"], Value::Null, "would change: {nft}");
    assert_eq!(
        nft["changes"]["newfile"],
        json!(minion.path("etc/switchyard/switchyard.nft")),
        "the review names the new script: {nft}"
    );
    for written in ["etc", "var"] {
        assert!(!minion.path(written).exists(), "test mode wrote {written}");
    }
    let tables = run_ok(netns.exec("nft").args(["list", "tables"]));
    assert!(!tables.contains("switchyard"), "no table loaded: {tables}");
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn a_script_nft_refuses_is_never_installed() {
    require_root();
    let templates = tempfile::tempdir().expect("templates directory");
    std::fs::write(
        templates.path().join("switchyard.nft"),
        "table inet switchyard {\n\tchain forward {\n\t\ttype filter hook forward priority filter;\n\
         \t\tip daddr @no_such_set drop\n\t}\n}\n",
    )
    .expect("template written");
    let minion = Minion::new(&[Path::new("--templates"), templates.path()]);
    let netns = deploy::host_namespace("salt-bad");

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    assert!(!output.status.success(), "{}", describe(&output));
    let nft = state(&states, "switchyard-install-switchyard.nft");
    assert_eq!(nft["result"], json!(false));
    let comment = nft["comment"].to_string();
    assert!(
        comment.contains("check_cmd") && comment.contains("no_such_set"),
        "check_cmd refused it: {comment}"
    );
    assert!(!minion.path("etc/switchyard/switchyard.nft").exists());
    let reload = state(&states, "switchyard-nft-reload");
    assert!(
        reload["changes"].as_object().is_none_or(|c| c.is_empty()),
        "nothing reloaded: {reload}"
    );
    let tables = run_ok(netns.exec("nft").args(["list", "tables"]));
    assert!(!tables.contains("switchyard"), "no table loaded: {tables}");
}

#[test]
#[ignore = "needs root and salt-call: sudo bash .ci/run"]
fn networkd_backend_renders_units_reload_and_stale_removal() {
    // net3, as its VLAN parent eth1 has an administrator's unit: switchyard's
    // `VLAN=` line is a drop-in that must land in that unit's `.d` directory.
    const NETWORKD_HOST: &str = "net3";
    const DROP_IN: &str = "20-eth1.network.d/10-switchyard-vlan.conf";
    let minion = Minion::new(&[]);
    let units = minion.path("etc/systemd/network");
    std::fs::create_dir_all(units.join("20-other.network.d")).expect("networkd directories");
    std::fs::write(units.join("10-switchyard-gone.network"), "[Match]\n").expect("stale unit");
    std::fs::write(units.join("20-other.network"), "[Match]\n").expect("foreign unit");
    std::fs::write(
        units.join("20-other.network.d/10-switchyard-vlan.conf"),
        "[Network]\n",
    )
    .expect("stale drop-in");
    // Rendering runs nothing, so a plain namespace will do.
    let netns = Netns::new("salt-show");
    let (output, states) = minion.call(
        &netns,
        "state.show_sls",
        json!({"backend": "networkd", "host": NETWORKD_HOST}),
    );
    assert!(output.status.success(), "{}", describe(&output));
    let states = states.as_object().expect("rendered states");

    let integrity = states["switchyard-integrity"]["cmd"].to_string();
    let copy = minion.path("var/lib/switchyard/build");
    let manifest: switchyard::render::Manifest = serde_json::from_slice(
        &std::fs::read(minion.path("srv/switchyard-build/manifest.json")).expect("manifest"),
    )
    .expect("manifest parses");
    let mut expected_units = 0;
    for file in manifest.files.iter().filter(|f| f.host == NETWORKD_HOST) {
        let Some(name) = file
            .path
            .strip_prefix(&format!("{NETWORKD_HOST}/networkd/"))
        else {
            continue;
        };
        expected_units += 1;
        let id = format!("switchyard-install-networkd/{name}");
        let state = states[&id]["file"].to_string();
        assert!(
            integrity.contains(&format!("{}  {}", file.sha256, file.path)),
            "the integrity check knows {}'s hash: {integrity}",
            file.path
        );
        assert!(
            state.contains(&format!("{}/{}", copy.display(), file.path)),
            "{id} installs from the checked copy: {state}"
        );
        assert!(
            state.contains(&format!("{}/{name}", units.display())),
            "{id} installs below the networkd directory at its path in the build: {state}"
        );
    }
    assert!(
        states.contains_key(&format!("switchyard-install-networkd/{DROP_IN}")),
        "the drop-in is installed"
    );
    assert!(expected_units >= 2, "{NETWORKD_HOST} has networkd units");
    for unused in ["switchyard.ip", "systemd/switchyard-routes.service"] {
        assert!(
            !states.contains_key(&format!("switchyard-install-{unused}")),
            "networkd routes: no {unused}"
        );
    }
    assert!(states.contains_key("switchyard-install-systemd/switchyard-nftables.service"));
    let stale = states["switchyard-stale-10-switchyard-gone.network"]["file"].to_string();
    assert!(
        stale.contains("absent"),
        "the stale unit is removed: {stale}"
    );
    let stale_drop_in =
        states["switchyard-stale-20-other.network.d/10-switchyard-vlan.conf"]["file"].to_string();
    assert!(
        stale_drop_in.contains("absent"),
        "the stale drop-in is removed: {stale_drop_in}"
    );
    assert!(
        !states.keys().any(|id| id.ends_with("20-other.network")),
        "other tools' units are left alone"
    );
    let reload = states["switchyard-networkd-reload"]["cmd"].to_string();
    assert!(reload.contains("networkctl reload"), "{reload}");
    let reconfigure = states["switchyard-networkd-reconfigure"]["cmd"].to_string();
    assert!(
        reconfigure.contains("networkctl reconfigure eth1.100 up-b")
            && reconfigure.contains("switchyard-drift"),
        "drift reconfigures switchyard's links: {reconfigure}"
    );
    let unit_ids: Vec<&String> = states
        .keys()
        .filter(|id| {
            id.starts_with("switchyard-install-networkd/") || id.starts_with("switchyard-stale-")
        })
        .collect();
    assert_eq!(unit_ids.len(), expected_units + 2, "{unit_ids:?}");
    for id in unit_ids {
        let state = states[id]["file"].to_string();
        assert!(
            state.contains("onchanges_in") && state.contains("switchyard-networkd-reload"),
            "{id} triggers the reload: {state}"
        );
    }
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn a_build_changed_after_its_manifest_is_refused() {
    require_root();
    let minion = Minion::new(&[]);
    let netns = deploy::host_namespace("salt-sha");
    // Edits nft and ip would load: only the manifest's sha256 tells them apart.
    deploy::tamper(&minion.path("srv/switchyard-build"));

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    print_summary("tampered build", &outcomes(&states));
    assert!(!output.status.success(), "{}", describe(&output));
    let integrity = state(&states, "switchyard-integrity");
    assert_eq!(integrity["result"], json!(false), "{integrity}");
    let report = integrity["changes"].to_string();
    for file in ["switchyard.nft", "switchyard.ip"] {
        assert!(
            report.contains(&format!("{HOST}/{file}: FAILED")),
            "sha256sum names {file}: {integrity}"
        );
    }
    for installed in [
        "etc/switchyard",
        "etc/systemd",
        "etc/sysctl.d/60-switchyard.conf",
    ] {
        assert!(!minion.path(installed).exists(), "{installed} installed");
    }
    deploy::assert_tampering_not_loaded(&netns);
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn a_build_with_failover_installs_and_enables_the_monitor() {
    require_root();
    const FAILOVER: &str = "examples/failover.toml";
    let minion = Minion::with_topology(FAILOVER, &[]);
    let (model, _, _) = switchyard::validate(&common::example_source(Path::new(FAILOVER)))
        .unwrap_or_else(|_| panic!("{FAILOVER} is valid"))
        .into_parts();
    let netns = Netns::with_veths("salt-mon", &deploy::interfaces(&model, "net1"));
    let (systemctl, calls) = deploy::systemctl_stand_in(minion.temp.path());
    // A real host has /etc/systemd/system already.
    std::fs::create_dir_all(minion.path("etc/systemd/system")).expect("unit directory");
    let pillar = json!({
        "host": "net1",
        "systemd_dest": minion.path("etc/systemd/system"),
        "systemctl": systemctl,
    });

    let first = minion.apply(&netns, "failover, first state.apply", pillar.clone());
    let changed = |outcomes: &[(String, bool, bool)], id: &str| {
        outcomes
            .iter()
            .any(|(i, ok, changed)| i == id && *ok && *changed)
    };
    for id in [
        "switchyard-install-monitor.json",
        "switchyard-install-systemd/switchyard-monitor.service",
        "switchyard-monitor-restart",
    ] {
        assert!(changed(&first, id), "{id} did not change: {first:?}");
    }
    let build = minion.path("srv/switchyard-build/net1");
    deploy::assert_monitor_installed(&netns, minion.temp.path(), &build, &calls);

    let (output, states) = minion.call(&netns, "state.apply", pillar);
    let second = outcomes(&states);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        second.iter().all(|(_, ok, changed)| *ok && !changed),
        "a second run changes nothing and restarts nothing: {second:?}"
    );
}
