//! examples/ansible/ with real ansible-core (installed by .ci/run): the playbook
//! builds the topology, installs one host's files and reloads them, inside a
//! network namespace with veths named like the host's interfaces and every
//! destination under a temporary directory. The tests then read the live nft
//! table, rules and routes in that namespace.

mod common;

use std::path::Path;
use std::process::Output;

use common::deploy::{self, HOST, MachineNetwork, TOPOLOGY};
use common::{Netns, describe, repo_path, require_root, run_ok, switchyard};

/// `ansible-playbook -i localhost, -c local examples/ansible/playbook.yml` inside
/// `netns`, with the role's destinations under `temp` and `vars` on top.
fn playbook(netns: &Netns, temp: &Path, vars: serde_json::Value) -> Output {
    playbook_with(netns, temp, vars, &[])
}

/// [`playbook`] with more command-line options (`--check`).
fn playbook_with(netns: &Netns, temp: &Path, vars: serde_json::Value, options: &[&str]) -> Output {
    let mut extra = serde_json::json!({
        "ansible_become": false,
        // The modules run with the controller's Python, which has ansible.
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "switchyard_host": HOST,
        "switchyard_build_dir": temp.join("build"),
        "switchyard_dest": temp.join("etc/switchyard"),
        "switchyard_networkd_dest": temp.join("etc/systemd/network"),
        "switchyard_systemd_dest": temp.join("etc/systemd/system"),
        "switchyard_sysctl_dest": temp.join("etc/sysctl.d"),
        "switchyard_state_dir": temp.join("var/lib/switchyard"),
        "switchyard_bin": env!("CARGO_BIN_EXE_switchyard"),
        // Enabling a unit is systemctl's business on the machine, not the namespace's.
        "switchyard_enable_units": false,
    });
    for (key, value) in vars.as_object().expect("an object of variables") {
        extra[key] = value.clone();
    }
    // A real host has /etc/sysctl.d already.
    std::fs::create_dir_all(temp.join("etc/sysctl.d")).expect("etc/sysctl.d");
    netns
        .exec("ansible-playbook")
        .args([
            "-i",
            "localhost,",
            "-c",
            "local",
            "examples/ansible/playbook.yml",
        ])
        .arg("-e")
        .arg(extra.to_string())
        .args(options)
        .current_dir(common::root())
        // ansible-core refuses a non-UTF-8 locale; keep its state out of ~/.ansible.
        .env("LC_ALL", "C.UTF-8")
        .env("ANSIBLE_HOME", temp.join("ansible-home"))
        .env("ANSIBLE_REMOTE_TMP", temp.join("ansible-remote-tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run ansible-playbook (pip install ansible-core): {e}"))
}

/// The PLAY RECAP line's counters for localhost, e.g. `changed` → 7.
fn recap(output: &Output) -> std::collections::BTreeMap<String, u32> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .split_once("PLAY RECAP")
        .and_then(|(_, rest)| rest.lines().find(|l| l.starts_with("localhost")))
        .unwrap_or_else(|| panic!("no PLAY RECAP: {}", describe(output)));
    line.split_whitespace()
        .filter_map(|field| field.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.parse().expect("a count")))
        .collect()
}

/// The output of the task or handler (`kind`: `TASK` or `RUNNING HANDLER`) named
/// `name`, up to the next one.
fn step(stdout: &str, kind: &str, name: &str) -> String {
    stdout
        .split(&format!("{kind} [switchyard : {name}]"))
        .nth(1)
        .and_then(|rest| rest.split("\nTASK [").next())
        .and_then(|rest| rest.split("\nRUNNING HANDLER [").next())
        .unwrap_or_else(|| panic!("no {kind} `{name}`:\n{stdout}"))
        .to_owned()
}

/// Whether handler `name` ran and changed something; the handlers listening to
/// one topic are all listed, and skip unless their files changed or drifted.
fn handler_changed(stdout: &str, name: &str) -> bool {
    stdout
        .split(&format!("RUNNING HANDLER [switchyard : {name}]"))
        .skip(1)
        .any(|rest| {
            rest.lines()
                .nth(1)
                .is_some_and(|line| line.starts_with("changed:"))
        })
}

/// Prints the play's summary (see it with `cargo test --test ansible -- --nocapture`).
fn print_recap(label: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout.split_once("PLAY RECAP").map_or("", |(_, r)| r);
    println!("{label}: PLAY RECAP{summary}");
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn playbook_deploys_a_host_into_a_namespace_and_is_idempotent() {
    require_root();
    let machine = MachineNetwork::read();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = deploy::host_namespace("ansible");
    let build_vars = serde_json::json!({"switchyard_topology": TOPOLOGY});

    let first = playbook(&netns, temp.path(), build_vars.clone());
    print_recap("first run", &first);
    assert!(first.status.success(), "{}", describe(&first));
    let counts = recap(&first);
    assert_eq!(counts["failed"], 0);
    assert!(
        counts["changed"] >= 7,
        "files installed and reloaded: {counts:?}"
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    for handler in [
        "Apply switchyard sysctl settings",
        "Reload switchyard nft",
        "Reload switchyard ip",
    ] {
        assert!(
            handler_changed(&stdout, handler),
            "handler `{handler}` did not run:\n{stdout}"
        );
    }
    assert!(
        !handler_changed(&stdout, "Reload networkd"),
        "the ip backend never reloads networkd"
    );
    assert!(
        step(&stdout, "TASK", "Compare the live state with the build").contains("ok: [localhost]"),
        "in sync once the handlers ran:\n{stdout}"
    );

    let build = temp.path().join("build");
    deploy::assert_host_deployed(&netns, &build);
    for file in ["switchyard.nft", "switchyard.ip"] {
        assert_eq!(
            std::fs::read(temp.path().join("etc/switchyard").join(file)).expect("installed"),
            std::fs::read(build.join(HOST).join(file)).expect("built"),
            "{file} installed as built"
        );
    }
    for unit in ["switchyard-nftables.service", "switchyard-routes.service"] {
        assert_eq!(
            std::fs::read(temp.path().join("etc/systemd/system").join(unit)).expect("installed"),
            std::fs::read(build.join(HOST).join("systemd").join(unit)).expect("built"),
            "boot unit {unit} installed as built"
        );
    }
    assert!(
        !temp.path().join("etc/systemd/network").exists(),
        "the ip backend installs no networkd units"
    );

    let second = playbook(&netns, temp.path(), build_vars);
    print_recap("second run", &second);
    assert!(second.status.success(), "{}", describe(&second));
    assert_eq!(recap(&second)["changed"], 0, "a second run changes nothing");
    assert!(!String::from_utf8_lossy(&second.stdout).contains("RUNNING HANDLER"));
    deploy::assert_host_deployed(&netns, &build);

    assert_eq!(MachineNetwork::read(), machine, "the machine's own network");
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn drift_is_found_by_verify_and_repaired() {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = deploy::host_namespace("ansible-drift");
    let build_vars = serde_json::json!({"switchyard_topology": TOPOLOGY});
    let first = playbook(&netns, temp.path(), build_vars.clone());
    assert!(first.status.success(), "{}", describe(&first));

    // Someone deletes the NAT table and switchyard's policy rules by hand.
    deploy::delete_table_and_rules(&netns);

    let repair = playbook(&netns, temp.path(), build_vars.clone());
    print_recap("after drift", &repair);
    assert!(repair.status.success(), "{}", describe(&repair));
    assert!(recap(&repair)["changed"] >= 3, "{}", describe(&repair));
    let stdout = String::from_utf8_lossy(&repair.stdout);
    let verify = step(&stdout, "TASK", "Compare the live state with the build");
    assert!(
        verify.contains("changed: [localhost]"),
        "drift found:\n{stdout}"
    );
    for handler in ["Reload switchyard nft", "Reload switchyard ip"] {
        assert!(
            handler_changed(&stdout, handler),
            "`{handler}` re-applied the build:\n{stdout}"
        );
    }
    assert!(
        !handler_changed(&stdout, "Apply switchyard sysctl settings"),
        "verify does not compare sysctl settings, so drift does not reapply them"
    );
    deploy::assert_host_deployed(&netns, &temp.path().join("build"));

    let again = playbook(&netns, temp.path(), build_vars);
    print_recap("after repair", &again);
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(recap(&again)["changed"], 0, "in sync: {}", describe(&again));
}

/// The handler that loads `switchyard.update.nft`, and the one that loads the
/// whole script.
const LOAD_UPDATE: &str = "Load the switchyard update";
const LOAD_SCRIPT: &str = "Reload switchyard nft";

/// Asserts that `output` loaded the nft table by `taken` (one of the handlers
/// above) and not by the other, and that verify then found the host in sync.
fn assert_nft_loaded_by(output: &Output, taken: &str) {
    assert!(output.status.success(), "{}", describe(output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let other = if taken == LOAD_UPDATE {
        LOAD_SCRIPT
    } else {
        LOAD_UPDATE
    };
    assert!(handler_changed(&stdout, taken), "`{taken}` ran:\n{stdout}");
    assert!(
        !handler_changed(&stdout, other),
        "`{other}` did not run:\n{stdout}"
    );
    assert!(
        step(&stdout, "TASK", "Compare the live state with the build").contains("ok: [localhost]"),
        "in sync once the handlers ran:\n{stdout}"
    );
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn an_update_is_loaded_over_the_build_it_was_made_for() {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = deploy::host_namespace("ansible-upd");
    let build = temp.path().join("build");
    common::build(&repo_path(TOPOLOGY), &build, None);
    let old = playbook(&netns, temp.path(), serde_json::json!({}));
    print_recap("OLD, no update", &old);
    assert_nft_loaded_by(&old, LOAD_SCRIPT);
    let handle = deploy::table_handle(&netns);

    // NEW, with an update from OLD (the build the directory held).
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&build));
    let new = playbook(&netns, temp.path(), serde_json::json!({}));
    print_recap("NEW over OLD", &new);
    assert_nft_loaded_by(&new, LOAD_UPDATE);
    deploy::assert_deployed_by(&netns, &build, handle, deploy::Loaded::Updated);

    let again = playbook(&netns, temp.path(), serde_json::json!({}));
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(recap(&again)["changed"], 0, "in sync: {}", describe(&again));

    // The same table built without --since: the installed update goes, and
    // nothing is loaded.
    let installed_update = temp.path().join("etc/switchyard/switchyard.update.nft");
    assert!(installed_update.exists());
    deploy::build_edited(&deploy::changed_egress_entry(), &build, None);
    let without = playbook(&netns, temp.path(), serde_json::json!({}));
    assert!(without.status.success(), "{}", describe(&without));
    assert!(!installed_update.exists(), "{}", describe(&without));
    assert!(
        !String::from_utf8_lossy(&without.stdout).contains("RUNNING HANDLER"),
        "{}",
        describe(&without)
    );
    assert_eq!(deploy::table_handle(&netns), handle);
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn the_roles_own_build_makes_an_update_from_the_build_it_replaces() {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = deploy::host_namespace("ansible-since");
    let old = playbook(
        &netns,
        temp.path(),
        serde_json::json!({"switchyard_topology": TOPOLOGY}),
    );
    print_recap("OLD, built by the role", &old);
    assert_nft_loaded_by(&old, LOAD_SCRIPT);
    let handle = deploy::table_handle(&netns);

    let edited = temp.path().join("edited.toml");
    std::fs::write(&edited, deploy::changed_egress_entry().text).expect("write topology");
    let new = playbook(
        &netns,
        temp.path(),
        serde_json::json!({"switchyard_topology": edited}),
    );
    print_recap("NEW, built by the role over OLD", &new);
    let build = temp.path().join("build");
    assert!(build.join(HOST).join("switchyard.update.nft").exists());
    assert_nft_loaded_by(&new, LOAD_UPDATE);
    deploy::assert_deployed_by(&netns, &build, handle, deploy::Loaded::Updated);

    // The same topology again: the build it holds is this topology's, so there
    // is nothing to build (a build --since itself would add an update over
    // itself) and nothing changes.
    let again = playbook(
        &netns,
        temp.path(),
        serde_json::json!({"switchyard_topology": edited}),
    );
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(recap(&again)["changed"], 0, "in sync: {}", describe(&again));
    assert!(build.join(HOST).join("switchyard.update.nft").exists());
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn an_update_nft_refuses_falls_back_to_the_whole_script() {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = deploy::host_namespace("ansible-refused");
    let build = temp.path().join("build");
    common::build(&repo_path(TOPOLOGY), &build, None);
    let old = playbook(&netns, temp.path(), serde_json::json!({}));
    assert!(old.status.success(), "{}", describe(&old));
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&build));
    // OLD's id stays, so the update is tried; one of its deletes fails.
    deploy::delete_an_element_the_update_deletes(&netns, &build);

    let new = playbook(&netns, temp.path(), serde_json::json!({}));
    print_recap("NEW over an edited OLD", &new);
    assert_nft_loaded_by(&new, LOAD_SCRIPT);
    let stdout = String::from_utf8_lossy(&new.stdout);
    let tried = step(&stdout, "RUNNING HANDLER", LOAD_UPDATE);
    assert!(
        tried.contains("ok: [localhost]"),
        "the update was tried and refused:\n{stdout}"
    );
    deploy::assert_host_deployed(&netns, &build);
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn a_table_of_another_build_gets_the_whole_script() {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = deploy::host_namespace("ansible-other");
    // The host runs another build than the one NEW's update was made from.
    deploy::load_another_build(&netns, &temp.path().join("other"));
    let handle = deploy::table_handle(&netns);
    let old = temp.path().join("old");
    common::build(&repo_path(TOPOLOGY), &old, None);
    let build = temp.path().join("build");
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&old));
    assert!(build.join(HOST).join("switchyard.update.nft").exists());

    let output = playbook(&netns, temp.path(), serde_json::json!({}));
    print_recap("NEW over another build", &output);
    assert_nft_loaded_by(&output, LOAD_SCRIPT);
    deploy::assert_deployed_by(&netns, &build, handle, deploy::Loaded::Replaced);
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn check_mode_on_a_fresh_controller_shows_the_changes_and_makes_none() {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = deploy::host_namespace("ansible-check");
    assert!(!temp.path().join("build").exists());

    let output = playbook_with(
        &netns,
        temp.path(),
        serde_json::json!({"switchyard_topology": TOPOLOGY}),
        &["--check", "--diff"],
    );
    print_recap("check mode, fresh controller", &output);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let install = step(&stdout, "TASK", "Install the host's files");
    for file in ["switchyard.nft", "switchyard.ip"] {
        let item = format!("changed: [localhost] => (item={HOST}/{file})");
        assert!(install.contains(&item), "`{item}` missing:\n{install}");
    }
    assert!(
        install.contains("+++ after") && install.contains("table inet switchyard"),
        "--diff shows the new files:\n{install}"
    );
    assert!(
        step(&stdout, "TASK", "Compare the live state with the build").contains("skipping"),
        "nothing to compare on a target without a copy of the build:\n{stdout}"
    );
    assert!(
        temp.path().join("build/manifest.json").exists(),
        "the controller's build runs in check mode too"
    );
    assert!(!temp.path().join("etc/switchyard").exists(), "check mode");
    assert!(
        !temp.path().join("var/lib/switchyard").exists(),
        "check mode"
    );
    let tables = run_ok(netns.exec("nft").args(["list", "tables"]));
    assert!(!tables.contains("switchyard"), "no table loaded: {tables}");
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn a_script_nft_refuses_is_never_installed() {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = deploy::host_namespace("ansible-bad");
    // The host runs a good version...
    let good = temp.path().join("good");
    common::build(&repo_path(TOPOLOGY), &good, Some(HOST));
    run_ok(
        netns
            .exec("nft")
            .arg("-f")
            .arg(good.join(HOST).join("switchyard.nft")),
    );
    let before = deploy::live_table(&netns);
    // ...and the new build's script references a set that does not exist. Its
    // manifest is consistent, so only `validate: nft -c -f %s` can stop it.
    let templates = temp.path().join("templates");
    std::fs::create_dir_all(&templates).expect("templates directory");
    std::fs::write(
        templates.join("switchyard.nft"),
        "table inet switchyard {\n\tchain forward {\n\t\ttype filter hook forward priority filter;\n\
         \t\tip daddr @no_such_set drop\n\t}\n}\n",
    )
    .expect("template written");
    run_ok(
        switchyard()
            .args(["build", TOPOLOGY, "--host", HOST, "--templates"])
            .arg(&templates)
            .arg("-o")
            .arg(temp.path().join("build"))
            .current_dir(common::root()),
    );

    let output = playbook(&netns, temp.path(), serde_json::json!({}));
    print_recap("refused script", &output);
    assert!(!output.status.success(), "{}", describe(&output));
    assert_eq!(recap(&output)["failed"], 1);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("TASK [switchyard : Install the host's files]")
            && stdout.contains("failed to validate")
            && stdout.contains("@no_such_set"),
        "the copy's validation refused it:\n{stdout}"
    );
    assert!(!temp.path().join("etc/switchyard/switchyard.nft").exists());
    assert_eq!(
        deploy::live_table(&netns),
        before,
        "the running table is untouched"
    );
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn a_build_changed_after_its_manifest_is_refused() {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = deploy::host_namespace("ansible-sha");
    let build = temp.path().join("build");
    common::build(&repo_path(TOPOLOGY), &build, None);
    // Edits nft and ip would load: only the manifest's sha256 tells them apart.
    deploy::tamper(&build);

    let output = playbook(&netns, temp.path(), serde_json::json!({}));
    assert!(!output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for file in ["switchyard.nft", "switchyard.ip"] {
        assert!(
            stdout.contains(&format!("{HOST}/{file} does not match manifest.json")),
            "the sha256 check names {file}:\n{stdout}"
        );
    }
    assert!(
        !temp.path().join("etc/switchyard").exists()
            && !temp.path().join("etc/systemd").exists()
            && !temp.path().join("etc/sysctl.d/60-switchyard.conf").exists()
            && !temp.path().join("var").exists(),
        "nothing installed"
    );
    deploy::assert_tampering_not_loaded(&netns);
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn networkd_backend_installs_units_removes_stale_ones_and_reloads_networkd() {
    require_root();
    // networkd cannot run in a test namespace, so this runs in check mode: every
    // task is evaluated and reports what it would change, commands are skipped.
    // net3, as its VLAN parent eth1 has an administrator's unit: switchyard's
    // `VLAN=` line is a drop-in that must land in that unit's `.d` directory.
    const NETWORKD_HOST: &str = "net3";
    const DROP_IN: &str = "20-eth1.network.d/10-switchyard-vlan.conf";
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = deploy::host_namespace("ansible-nd");
    common::build(&repo_path(TOPOLOGY), &temp.path().join("build"), None);
    let units = temp.path().join("etc/systemd/network");
    std::fs::create_dir_all(&units).expect("networkd directory");
    std::fs::write(units.join("10-switchyard-gone.network"), "[Match]\n").expect("stale unit");
    std::fs::write(units.join("20-other.network"), "[Match]\n").expect("foreign unit");
    std::fs::create_dir_all(units.join("20-other.network.d")).expect("drop-in directory");
    std::fs::write(
        units.join("20-other.network.d/10-switchyard-vlan.conf"),
        "[Network]\n",
    )
    .expect("stale drop-in");

    let output = playbook_with(
        &netns,
        temp.path(),
        serde_json::json!({"switchyard_backend": "networkd", "switchyard_host": NETWORKD_HOST}),
        &["--check"],
    );
    print_recap("networkd, check mode", &output);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let task = |name: &str| step(&stdout, "TASK", name);
    let install = task("Install the host's files");
    let model = deploy::model();
    let uplink_units = deploy::interfaces(&model, NETWORKD_HOST)
        .into_iter()
        .filter(|i| !i.starts_with("lan"))
        .map(|interface| format!("10-switchyard-{interface}.network"));
    for unit in uplink_units.chain([DROP_IN.to_owned()]) {
        let unit = format!("changed: [localhost] => (item={NETWORKD_HOST}/networkd/{unit})");
        assert!(install.contains(&unit), "`{unit}` missing:\n{install}");
    }
    let directories = task("Create the directories of the host's files");
    assert!(
        directories.contains("/etc/systemd/network/20-eth1.network.d)"),
        "{directories}"
    );
    let remove = task("Remove networkd units the build no longer has");
    assert!(
        remove.contains("10-switchyard-gone.network")
            && remove.contains("20-other.network.d/10-switchyard-vlan.conf")
            && !remove.contains("20-other.network)"),
        "only the stale switchyard unit and drop-in go:\n{remove}"
    );
    for unused in ["switchyard.ip", "systemd/switchyard-routes.service"] {
        assert!(
            !install.contains(&format!("{NETWORKD_HOST}/{unused}")),
            "networkd routes: no {unused}:\n{install}"
        );
    }
    assert!(install.contains(&format!(
        "{NETWORKD_HOST}/systemd/switchyard-nftables.service"
    )));
    assert!(stdout.contains("RUNNING HANDLER [switchyard : Reload networkd]"));
    assert!(
        units.join("10-switchyard-gone.network").exists(),
        "check mode"
    );
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn a_build_with_failover_installs_and_enables_the_monitor() {
    require_root();
    const FAILOVER: &str = "examples/failover.toml";
    let temp = tempfile::tempdir().expect("temporary directory");
    let (model, _, _) = switchyard::validate(&common::example_source(Path::new(FAILOVER)))
        .unwrap_or_else(|_| panic!("{FAILOVER} is valid"))
        .into_parts();
    let netns = Netns::with_veths("ansible-mon", &deploy::interfaces(&model, "net1"));
    let (systemctl, calls) = deploy::systemctl_stand_in(temp.path());
    // A real host has /etc/systemd/system already.
    let units = temp.path().join("etc/systemd/system");
    std::fs::create_dir_all(&units).expect("unit directory");
    let vars = serde_json::json!({
        "switchyard_topology": FAILOVER,
        "switchyard_bin": env!("CARGO_BIN_EXE_switchyard"),
        "switchyard_host": "net1",
        "switchyard_systemd_dest": units,
        "switchyard_systemctl_command": systemctl,
    });

    let first = playbook(&netns, temp.path(), vars.clone());
    print_recap("failover, first run", &first);
    assert!(first.status.success(), "{}", describe(&first));
    let build = temp.path().join("build/net1");
    deploy::assert_monitor_installed(&netns, temp.path(), &build, &calls);

    let second = playbook(&netns, temp.path(), vars);
    assert!(second.status.success(), "{}", describe(&second));
    assert_eq!(recap(&second)["changed"], 0, "a second run changes nothing");
    assert_eq!(
        std::fs::read_to_string(&calls)
            .expect("log")
            .lines()
            .count(),
        3,
        "no systemctl call on a second run"
    );
}
