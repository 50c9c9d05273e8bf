//! examples/salt/ with real Salt (installed by .ci/run): `salt-call --local
//! state.apply switchyard` stages one host's build, loads it with `switchyard
//! apply` and installs its files, inside a network namespace with veths named
//! like the host's interfaces, with the file roots, Salt's own state and every
//! destination under a temporary directory. The tests then read the live nft
//! table, rules and routes in that namespace.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use common::deploy::{self, HOST, Loaded, MachineNetwork, TOPOLOGY, kernel_state};
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
        run(&mut self.command(netns, function, arguments, pillar))
    }

    /// The `salt-call` command of [`Minion::call_with`].
    fn command(&self, netns: &Netns, function: &str, arguments: &[&str], pillar: Value) -> Command {
        let mut settings = json!({
            "bin": env!("CARGO_BIN_EXE_switchyard"),
            // Enabling a unit is systemctl's business on the machine, not the namespace's.
            "enable_units": false,
        });
        for (key, path) in deploy::destinations(self.temp.path()) {
            settings[key] = json!(path);
        }
        for (key, value) in pillar.as_object().expect("an object") {
            settings[key] = value.clone();
        }
        let mut command = netns.exec("salt-call");
        command
            .args(["--local", "--retcode-passthrough", "--out", "json", "-c"])
            .arg(self.path("conf"))
            .args([function, "switchyard"])
            .args(arguments)
            .arg(format!("pillar={}", json!({ "switchyard": settings })));
        command
    }
}

/// Runs a `salt-call`: its output and its JSON result.
fn run(command: &mut Command) -> (Output, Value) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run salt-call (.ci/run installs salt): {e}"));
    let result: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("salt-call printed no JSON ({e}): {}", describe(&output)));
    (output, result["local"].clone())
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

/// What `switchyard apply` printed in state `switchyard-apply` of a run that
/// succeeded (empty when it changed nothing: Salt keeps output only with a
/// change).
fn applied(output: &Output, states: &Value) -> String {
    assert!(output.status.success(), "{}", describe(output));
    let apply = state(states, "switchyard-apply");
    format!(
        "{}{}",
        apply["changes"]["stdout"], apply["changes"]["stderr"]
    )
}

/// Asserts that every state succeeded and none changed anything.
fn assert_unchanged(output: &Output, states: &Value) {
    let outcomes = outcomes(states);
    assert!(output.status.success(), "{}", describe(output));
    assert!(
        outcomes.iter().all(|(_, ok, changed)| *ok && !changed),
        "nothing changes: {outcomes:?}"
    );
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn state_deploys_a_host_into_a_namespace_and_is_idempotent() {
    require_root();
    let machine = MachineNetwork::read();
    let minion = Minion::new(&[]);
    let netns = deploy::host_namespace("salt");

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    let first = outcomes(&states);
    print_summary("first state.apply", &first);
    let apply = applied(&output, &states);
    assert!(
        apply.contains("net2: applied") && apply.contains("table loaded (switchyard.nft)"),
        "{apply}"
    );
    let changed: Vec<&str> = changed_ids(&first);
    assert_eq!(
        changed[..3],
        [
            "switchyard-copy-manifest",
            "switchyard-copy-host",
            "switchyard-apply"
        ],
        "staged, then applied, then installed: {changed:?}"
    );
    let build = minion.path("srv/switchyard-build");
    let mut installed: Vec<String> = common::tree(&build.join(HOST))
        .into_keys()
        .map(|file| format!("switchyard-boot-copy-{file}"))
        .chain(
            [
                "switchyard-boot-copy-manifest",
                "switchyard-install-sysctl.d/90-switchyard.conf",
                "switchyard-install-systemd/switchyard-nftables.service",
                "switchyard-install-systemd/switchyard-routes.service",
            ]
            .map(str::to_owned),
        )
        .collect();
    installed.sort();
    let mut rest: Vec<&str> = changed[3..].to_vec();
    rest.sort_unstable();
    assert_eq!(rest, installed, "the build copy, sysctl file and units");

    deploy::assert_host_deployed(&netns, &build);
    assert_eq!(
        common::tree(&minion.path("etc/switchyard/build").join(HOST)),
        common::tree(&build.join(HOST)),
        "the build copy the boot units apply"
    );
    assert_eq!(
        std::fs::read(minion.path("etc/sysctl.d/90-switchyard.conf")).expect("installed"),
        std::fs::read(build.join(HOST).join("sysctl.d/90-switchyard.conf")).expect("built"),
    );

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    print_summary("second state.apply", &outcomes(&states));
    assert_unchanged(&output, &states);
    deploy::assert_host_deployed(&netns, &build);

    assert_eq!(MachineNetwork::read(), machine, "the machine's own network");
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn drift_is_repaired_by_apply() {
    require_root();
    let minion = Minion::new(&[]);
    let netns = deploy::host_namespace("salt-drift");
    let (output, _) = minion.call(&netns, "state.apply", json!({}));
    assert!(output.status.success(), "{}", describe(&output));

    // Someone deletes the NAT table and switchyard's policy rules by hand.
    deploy::delete_table_and_rules(&netns);

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    let repair = outcomes(&states);
    print_summary("after drift", &repair);
    let apply = applied(&output, &states);
    assert_eq!(changed_ids(&repair), ["switchyard-apply"], "only apply");
    assert!(apply.contains("table loaded (switchyard.nft)"), "{apply}");
    deploy::assert_host_deployed(&netns, &minion.path("srv/switchyard-build"));

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    assert_unchanged(&output, &states);
}

/// Asserts that `state.apply` succeeded and apply loaded the table as `how`
/// says, and not the other way.
fn assert_nft_loaded(output: &Output, states: &Value, how: Loaded) {
    print_summary("state.apply", &outcomes(states));
    deploy::assert_apply_loaded(&applied(output, states), how);
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn an_update_is_loaded_over_the_build_it_was_made_for() {
    require_root();
    let minion = Minion::new(&[]);
    let netns = deploy::host_namespace("salt-upd");
    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    assert_nft_loaded(&output, &states, Loaded::Replaced);
    let handle = deploy::table_handle(&netns);

    // NEW, with an update from OLD (the build the file server held).
    let build = minion.path("srv/switchyard-build");
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&build));
    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    assert_nft_loaded(&output, &states, Loaded::Updated);
    deploy::assert_deployed_by(&netns, &build, handle, deploy::Loaded::Updated);

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    assert_unchanged(&output, &states);

    // The same table built without --since: the copies lose the update, and
    // nothing is loaded.
    let copied_update = minion
        .path("etc/switchyard/build")
        .join(HOST)
        .join("switchyard.update.nft");
    assert!(copied_update.exists());
    deploy::build_edited(&deploy::changed_egress_entry(), &build, None);
    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    let without = outcomes(&states);
    print_summary("without the update", &without);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(!copied_update.exists(), "{without:?}");
    assert_eq!(
        changed_ids(&without),
        [
            "switchyard-copy-manifest",
            "switchyard-copy-host",
            "switchyard-boot-copy-manifest",
            "switchyard-boot-copy-clean"
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
    let handle = deploy::table_handle(&netns);
    let build = minion.path("srv/switchyard-build");
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&build));
    // OLD's id stays, so the update is tried; one of its deletes fails.
    deploy::delete_an_element_the_update_deletes(&netns, &build);

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    print_summary("NEW over an edited OLD", &outcomes(&states));
    let apply = applied(&output, &states);
    assert!(
        apply.contains("nft refused switchyard.update.nft, loading switchyard.nft"),
        "the update was tried, then the whole script loaded: {apply}"
    );
    deploy::assert_deployed_by(&netns, &build, handle, deploy::Loaded::Replaced);

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    assert_unchanged(&output, &states);
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
    assert_nft_loaded(&output, &states, Loaded::Replaced);
    deploy::assert_deployed_by(&netns, &build, handle, deploy::Loaded::Replaced);
}

/// Fails on the state before `switchyard apply` (it loaded the table, then
/// `ip -batch` failed half way, and nothing restored the table): a build
/// apply cannot load leaves the host's state, and its installed build, as
/// they were, and the state fails naming the step; once the cause is gone the
/// next run deploys it.
#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn a_failed_apply_fails_naming_the_step_and_leaves_the_host_as_it_was() {
    require_root();
    let minion = Minion::new(&[]);
    let netns = deploy::host_namespace("salt-fail");
    let (output, _) = minion.call(&netns, "state.apply", json!({}));
    assert!(output.status.success(), "{}", describe(&output));
    let installed = common::tree(&minion.path("etc"));

    // NEW changes the table; uplink isp-b's interface is gone (a VLAN not
    // created yet), so its routes cannot be added.
    let build = minion.path("srv/switchyard-build");
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&build));
    netns.ip(&["link", "del", "up-b"]);
    let before = kernel_state(&netns);

    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    print_summary("NEW without up-b", &outcomes(&states));
    assert!(!output.status.success(), "{}", describe(&output));
    let apply = state(&states, "switchyard-apply");
    let comment = apply["comment"].to_string();
    assert!(
        apply["result"] == json!(false)
            && comment.contains("apply failed at step routing")
            && comment.contains("Cannot find device")
            && comment.contains("net2: restored the state from before the apply"),
        "the failure names the step: {apply}"
    );
    deploy::assert_left_as_it_was(&netns, &before, &minion.path("etc"), &installed);

    // The interface comes back: the next run deploys NEW.
    netns.veth("up-b");
    let (output, states) = minion.call(&netns, "state.apply", json!({}));
    assert!(applied(&output, &states).contains("net2: applied"));
    deploy::assert_host_deployed(&netns, &build);
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
    for (id, installed) in [
        (
            "switchyard-boot-copy-switchyard.nft",
            "etc/switchyard/build/net2/switchyard.nft",
        ),
        (
            "switchyard-install-sysctl.d/90-switchyard.conf",
            "etc/sysctl.d/90-switchyard.conf",
        ),
    ] {
        let file = state(&states, id);
        assert_eq!(file["result"], Value::Null, "would change: {file}");
        assert_eq!(
            file["changes"]["newfile"],
            json!(minion.path(installed)),
            "the review names the new file: {file}"
        );
    }
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
    print_summary("refused script", &outcomes(&states));
    assert!(!output.status.success(), "{}", describe(&output));
    let apply = state(&states, "switchyard-apply");
    assert_eq!(apply["result"], json!(false));
    let comment = apply["comment"].to_string();
    // apply loads the build into a scratch namespace first, to know what it
    // gives: nft refuses it there, before the live state is touched.
    assert!(
        comment.contains("nft -f") && comment.contains("@no_such_set"),
        "apply refused it: {comment}"
    );
    assert!(!minion.path("etc").exists(), "nothing installed");
    let tables = run_ok(netns.exec("nft").args(["list", "tables"]));
    assert!(!tables.contains("switchyard"), "no table loaded: {tables}");
}

/// Fails on the state before this one, which listed the live table's build id
/// with `nft` while Jinja rendered it: rendering runs no nft (an `nft`
/// stand-in first on PATH records any call).
#[test]
#[ignore = "needs root and salt-call: sudo bash .ci/run"]
fn networkd_backend_renders_units_reload_and_stale_removal_without_running_nft() {
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
    let stand_ins = minion.path("bin");
    std::fs::create_dir_all(&stand_ins).expect("stand-in directory");
    let nft_calls = minion.path("nft.log");
    std::fs::write(
        stand_ins.join("nft"),
        format!(
            "#!/bin/sh\necho \"$*\" >> {}\nexit 1\n",
            nft_calls.display()
        ),
    )
    .expect("nft stand-in");
    run_ok(Command::new("chmod").arg("+x").arg(stand_ins.join("nft")));
    // Rendering runs nothing, so a plain namespace will do.
    let netns = Netns::new("salt-show");
    let mut show = minion.command(
        &netns,
        "state.show_sls",
        &[],
        json!({"backend": "networkd", "host": NETWORKD_HOST}),
    );
    let path = std::env::var("PATH").unwrap_or_default();
    show.env("PATH", format!("{}:{path}", stand_ins.display()));
    let (output, states) = run(&mut show);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        !nft_calls.exists(),
        "nft ran while the state rendered: {:?}",
        std::fs::read_to_string(&nft_calls)
    );
    let states = states.as_object().expect("rendered states");

    let integrity = states["switchyard-integrity"]["cmd"].to_string();
    let copy = minion.path("var/lib/switchyard/build");
    let manifest: switchyard::render::Manifest = serde_json::from_slice(
        &std::fs::read(minion.path("srv/switchyard-build/manifest.json")).expect("manifest"),
    )
    .expect("manifest parses");
    let reload = states["switchyard-networkd-reload"]["cmd"].to_string();
    assert!(reload.contains("networkctl reload"), "{reload}");
    let mut expected_units = 0;
    for file in manifest.files.iter().filter(|f| f.host == NETWORKD_HOST) {
        assert!(
            integrity.contains(&format!("{}  {}", file.sha256, file.path)),
            "the integrity check knows {}'s hash: {integrity}",
            file.path
        );
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
            state.contains(&format!("{}/{}", copy.display(), file.path)),
            "{id} installs from the checked copy: {state}"
        );
        assert!(
            state.contains(&format!("{}/{name}", units.display())),
            "{id} installs below the networkd directory at its path in the build: {state}"
        );
        assert!(
            state.contains("switchyard-apply"),
            "{id} waits for apply: {state}"
        );
        assert!(reload.contains(&id), "{id} triggers the reload: {reload}");
    }
    assert!(
        states.contains_key(&format!("switchyard-install-networkd/{DROP_IN}")),
        "the drop-in is installed"
    );
    assert!(expected_units >= 2, "{NETWORKD_HOST} has networkd units");
    assert!(
        !states.contains_key("switchyard-install-systemd/switchyard-routes.service"),
        "networkd routes: no routes unit"
    );
    assert!(
        states.contains_key("switchyard-boot-copy-switchyard.ip"),
        "apply reads the ip batch with either backend"
    );
    assert!(states.contains_key("switchyard-install-systemd/switchyard-nftables.service"));
    for stale in [
        "switchyard-stale-10-switchyard-gone.network",
        "switchyard-stale-20-other.network.d/10-switchyard-vlan.conf",
    ] {
        let state = states[stale]["file"].to_string();
        assert!(state.contains("absent"), "{stale} is removed: {state}");
        assert!(
            reload.contains(stale),
            "{stale} triggers the reload: {reload}"
        );
    }
    assert!(
        !states.keys().any(|id| id.ends_with("20-other.network")),
        "other tools' units are left alone"
    );
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
    assert!(!minion.path("etc").exists(), "nothing installed");
    deploy::assert_tampering_not_loaded(&netns);
}

/// A minion of examples/failover.toml's host net1, a namespace standing in
/// for it, and the pillar that points the state at the systemctl stand-in.
fn failover_minion(test: &str) -> (Minion, Netns, Value, PathBuf) {
    const FAILOVER: &str = "examples/failover.toml";
    let minion = Minion::with_topology(FAILOVER, &[]);
    let (model, _, _) = switchyard::validate(&common::example_source(Path::new(FAILOVER)))
        .unwrap_or_else(|_| panic!("{FAILOVER} is valid"))
        .into_parts();
    let netns = Netns::with_veths(test, &deploy::interfaces(&model, "net1"));
    let (systemctl, calls) = deploy::systemctl_stand_in(minion.temp.path());
    let pillar = json!({"host": "net1", "systemctl": systemctl});
    (minion, netns, pillar, calls)
}

#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn a_build_with_failover_installs_and_enables_the_monitor() {
    require_root();
    let (minion, netns, pillar, calls) = failover_minion("salt-mon");

    let first = minion.apply(&netns, "failover, first state.apply", pillar.clone());
    for id in [
        "switchyard-install-monitor.json",
        "switchyard-install-systemd/switchyard-monitor.service",
        "switchyard-monitor-restart",
    ] {
        assert!(
            changed_ids(&first).contains(&id),
            "{id} did not change: {first:?}"
        );
    }
    let build = minion.path("srv/switchyard-build/net1");
    deploy::assert_monitor_installed(&netns, minion.temp.path(), &build, &calls);

    let (output, states) = minion.call(&netns, "state.apply", pillar);
    assert_unchanged(&output, &states);
}

/// Fails on the state before this one (the restart ran on a change of the
/// monitor's files: once it failed, the next run found them unchanged and
/// left the monitor running the old configuration).
#[test]
#[ignore = "needs root, nft and salt-call: sudo bash .ci/run"]
fn a_failed_monitor_restart_is_retried_by_the_next_run() {
    require_root();
    let (minion, netns, pillar, calls) = failover_minion("salt-monfail");
    let fail_restart = minion.path(deploy::FAIL_RESTART);
    std::fs::write(&fail_restart, "").expect("flag written");

    let (output, states) = minion.call(&netns, "state.apply", pillar.clone());
    print_summary("failover, restart fails", &outcomes(&states));
    assert!(!output.status.success(), "{}", describe(&output));
    assert_eq!(
        state(&states, "switchyard-monitor-restart")["result"],
        json!(false)
    );
    std::fs::remove_file(&fail_restart).expect("flag removed");
    std::fs::remove_file(&calls).expect("log removed");

    let rerun = minion.apply(&netns, "failover, rerun", pillar.clone());
    assert!(
        changed_ids(&rerun).contains(&"switchyard-monitor-restart"),
        "{rerun:?}"
    );
    let build = minion.path("srv/switchyard-build/net1");
    deploy::assert_monitor_installed(&netns, minion.temp.path(), &build, &calls);

    let (output, states) = minion.call(&netns, "state.apply", pillar);
    assert_unchanged(&output, &states);
}

/// The pillar that deploys `member` of the pair: its member directory, its
/// destinations and its systemctl stand-in.
fn member_pillar(member: &deploy::PairMember) -> Value {
    let mut pillar = json!({"host": member.name, "systemctl": member.systemctl});
    for (key, path) in deploy::destinations(&member.root) {
        pillar[key] = json!(path);
    }
    pillar
}

/// Fails on the state before this one, which installed a member's files but
/// never started conntrackd or keepalived (the stand-in was asked to restart
/// the monitor only), and on the one before it, which refused a member's
/// keepalived.conf.
#[test]
#[ignore = "needs root, nft, salt-call, keepalived and conntrackd: sudo bash .ci/run"]
fn a_pair_is_deployed_one_member_at_a_time() {
    require_root();
    let minion = Minion::with_topology(deploy::PAIR_TOPOLOGY, &[]);
    let members = deploy::pair_members("salt-pair", minion.temp.path());
    let [a, b] = [&members[0], &members[1]];
    let build = minion.path("srv/switchyard-build");

    for (member, peer) in [(a, b), (b, a)] {
        let first = minion.apply(&member.netns, &member.name, member_pillar(member));
        assert!(
            changed_ids(&first).ends_with(&[
                "switchyard-monitor-restart",
                "switchyard-conntrackd-restart",
                "switchyard-keepalived-restart"
            ]),
            "{first:?}"
        );
        member.assert_deployed(&build, &peer.name);
    }
    for member in [a, b] {
        let (output, states) = minion.call(&member.netns, "state.apply", member_pillar(member));
        assert_unchanged(&output, &states);
        assert_eq!(member.take_calls(), "", "nothing restarted");
    }

    // keepalived.conf changes (on both members). On the first machine
    // keepalived fails to restart, and the next run retries it; the other
    // machine is left alone until its own run restarts its keepalived.
    deploy::build_as_example(&deploy::pair_with_other_vrid(), &build);
    let fail_restart = a.root.join(deploy::FAIL_RESTART);
    std::fs::write(&fail_restart, "").expect("flag written");
    let (output, states) = minion.call(&a.netns, "state.apply", member_pillar(a));
    print_summary("keepalived fails to restart", &outcomes(&states));
    assert!(!output.status.success(), "{}", describe(&output));
    assert_eq!(
        state(&states, "switchyard-keepalived-restart")["result"],
        json!(false)
    );
    assert_eq!(a.take_calls(), deploy::restart_calls("keepalived"));
    std::fs::remove_file(&fail_restart).expect("flag removed");
    let retried = minion.apply(&a.netns, "retried", member_pillar(a));
    assert_eq!(changed_ids(&retried), ["switchyard-keepalived-restart"]);
    assert_eq!(a.take_calls(), deploy::restart_calls("keepalived"));
    assert_eq!(b.take_calls(), "", "the other machine is left alone");

    let changed = minion.apply(&b.netns, "new keepalived.conf", member_pillar(b));
    assert_eq!(
        changed_ids(&changed),
        [
            "switchyard-copy-manifest",
            "switchyard-copy-host",
            "switchyard-boot-copy-keepalived.conf",
            "switchyard-boot-copy-manifest",
            "switchyard-install-keepalived.conf",
            "switchyard-keepalived-restart"
        ]
    );
    assert_eq!(b.take_calls(), deploy::restart_calls("keepalived"));
    assert_eq!(a.take_calls(), "", "restarted once");
}
