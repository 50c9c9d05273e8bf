//! examples/ansible/ with real ansible-core (installed by .ci/run): the playbook
//! builds the topology, stages one host's build, loads it with `switchyard
//! apply` and installs its files, inside a network namespace with veths named
//! like the host's interfaces and every destination under a temporary
//! directory. The tests then read the live nft table, rules and routes in that
//! namespace.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::deploy::{self, HOST, Loaded, MachineNetwork, TOPOLOGY, kernel_state};
use common::{Netns, describe, repo_path, require_root, run_ok, switchyard};

/// `ansible-playbook -i localhost, -c local examples/ansible/playbook.yml` inside
/// `netns`, with the role's destinations under `temp` and `vars` on top.
fn playbook(netns: &Netns, temp: &Path, vars: serde_json::Value) -> Output {
    playbook_with(netns, temp, vars, &[])
}

/// [`playbook`] with more command-line options (`--check`).
fn playbook_with(netns: &Netns, temp: &Path, vars: serde_json::Value, options: &[&str]) -> Output {
    let mut extra = serde_json::json!({
        // The modules run with the controller's Python, which has ansible.
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "switchyard_host": HOST,
    });
    for (key, path) in deploy::destinations(temp) {
        extra[format!("switchyard_{key}")] = serde_json::json!(path);
    }
    for (key, value) in vars.as_object().expect("an object of variables") {
        extra[key] = value.clone();
    }
    let mut command = netns.exec("ansible-playbook");
    command.args(["-i", "localhost,", "-c", "local"]);
    run_playbook(&mut command, temp, extra, options)
}

/// Runs examples/ansible/playbook.yml with `command` (ansible-playbook with
/// its inventory), verbose (`-v`, so that the output shows what `switchyard
/// apply` printed), with `vars` on top of the settings every test shares.
fn run_playbook(
    command: &mut Command,
    temp: &Path,
    vars: serde_json::Value,
    options: &[&str],
) -> Output {
    let mut extra = serde_json::json!({
        "ansible_become": false,
        "switchyard_build_dir": temp.join("build"),
        "switchyard_bin": env!("CARGO_BIN_EXE_switchyard"),
        // Enabling a unit is systemctl's business on the machine, not the namespace's.
        "switchyard_enable_units": false,
    });
    for (key, value) in vars.as_object().expect("an object of variables") {
        extra[key] = value.clone();
    }
    command
        .args(["examples/ansible/playbook.yml", "-v"])
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
    recap_of(output, "localhost")
}

/// The PLAY RECAP line's counters for inventory host `host`.
fn recap_of(output: &Output, host: &str) -> std::collections::BTreeMap<String, u32> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .split_once("PLAY RECAP")
        .and_then(|(_, rest)| rest.lines().find(|l| l.starts_with(&format!("{host} "))))
        .unwrap_or_else(|| panic!("no PLAY RECAP: {}", describe(output)));
    line.split_whitespace()
        .filter_map(|field| field.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.parse().expect("a count")))
        .collect()
}

/// The output of the task named `name`, up to the next one.
fn step(stdout: &str, name: &str) -> String {
    stdout
        .split(&format!("TASK [switchyard : {name}]"))
        .nth(1)
        .and_then(|rest| rest.split("\nTASK [").next())
        .unwrap_or_else(|| panic!("no task `{name}`:\n{stdout}"))
        .to_owned()
}

/// The task that runs `switchyard apply`.
const APPLY: &str = "Make the live state the build's with switchyard apply";

/// The output of [`APPLY`] in `output`, which must have succeeded.
fn applied(output: &Output) -> String {
    assert!(output.status.success(), "{}", describe(output));
    step(&String::from_utf8_lossy(&output.stdout), APPLY)
}

/// Prints the play's summary (see it with `cargo test --test ansible -- --nocapture`).
fn print_recap(label: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout.split_once("PLAY RECAP").map_or("", |(_, r)| r);
    println!("{label}: PLAY RECAP{summary}");
}

/// The host's build as the boot units apply it, under `temp` (the role's
/// `switchyard_dest`/build): the files of `build` for `HOST` and the manifest.
fn assert_boot_copy_is(temp: &Path, build: &Path) {
    let copy = temp.join("etc/switchyard/build");
    assert_eq!(
        common::tree(&copy.join(HOST)),
        common::tree(&build.join(HOST)),
        "{HOST}'s directory of the build copy is the build's"
    );
    assert_eq!(
        std::fs::read(copy.join("manifest.json")).expect("manifest installed"),
        std::fs::read(build.join("manifest.json")).expect("manifest built"),
    );
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
    let apply = applied(&first);
    assert!(
        apply.contains("changed: [localhost]")
            && apply.contains("net2: applied")
            && apply.contains("table loaded (switchyard.nft)"),
        "{apply}"
    );
    assert_eq!(recap(&first)["failed"], 0);

    let build = temp.path().join("build");
    deploy::assert_host_deployed(&netns, &build);
    assert_boot_copy_is(temp.path(), &build);
    for (installed, built) in [
        (
            "etc/sysctl.d/90-switchyard.conf",
            "sysctl.d/90-switchyard.conf",
        ),
        (
            "etc/systemd/system/switchyard-nftables.service",
            "systemd/switchyard-nftables.service",
        ),
        (
            "etc/systemd/system/switchyard-routes.service",
            "systemd/switchyard-routes.service",
        ),
    ] {
        assert_eq!(
            std::fs::read(temp.path().join(installed)).expect("installed"),
            std::fs::read(build.join(HOST).join(built)).expect("built"),
            "{installed} installed as built"
        );
    }
    let rp_filter = run_ok(
        netns
            .exec("cat")
            .arg("/proc/sys/net/ipv4/conf/up-a/rp_filter"),
    );
    assert_eq!(rp_filter.trim(), "0", "the build's sysctls, set by apply");
    assert!(
        !temp.path().join("etc/systemd/network").exists(),
        "the ip backend installs no networkd units"
    );

    let second = playbook(&netns, temp.path(), build_vars);
    print_recap("second run", &second);
    let apply = applied(&second);
    assert!(
        apply.contains("ok: [localhost]") && apply.contains("net2: unchanged ("),
        "apply said it changed nothing:\n{apply}"
    );
    assert_eq!(recap(&second)["changed"], 0, "a second run changes nothing");
    deploy::assert_host_deployed(&netns, &build);

    assert_eq!(MachineNetwork::read(), machine, "the machine's own network");
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn drift_is_repaired_by_apply() {
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
    let apply = applied(&repair);
    assert!(
        apply.contains("changed: [localhost]") && apply.contains("table loaded (switchyard.nft)"),
        "{apply}"
    );
    assert_eq!(
        recap(&repair)["changed"],
        1,
        "only apply: {}",
        describe(&repair)
    );
    deploy::assert_host_deployed(&netns, &temp.path().join("build"));

    let again = playbook(&netns, temp.path(), build_vars);
    print_recap("after repair", &again);
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(recap(&again)["changed"], 0, "in sync: {}", describe(&again));
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
    deploy::assert_apply_loaded(&applied(&old), Loaded::Replaced);
    let handle = deploy::table_handle(&netns);

    // NEW, with an update from OLD (the build the directory held).
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&build));
    let new = playbook(&netns, temp.path(), serde_json::json!({}));
    print_recap("NEW over OLD", &new);
    deploy::assert_apply_loaded(&applied(&new), Loaded::Updated);
    deploy::assert_deployed_by(&netns, &build, handle, deploy::Loaded::Updated);
    assert_boot_copy_is(temp.path(), &build);

    let again = playbook(&netns, temp.path(), serde_json::json!({}));
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(recap(&again)["changed"], 0, "in sync: {}", describe(&again));

    // The same table built without --since: the copies lose the update, and
    // nothing is loaded.
    let copied_update = temp
        .path()
        .join("etc/switchyard/build")
        .join(HOST)
        .join("switchyard.update.nft");
    assert!(copied_update.exists());
    deploy::build_edited(&deploy::changed_egress_entry(), &build, None);
    let without = playbook(&netns, temp.path(), serde_json::json!({}));
    let apply = applied(&without);
    assert!(apply.contains("net2: unchanged ("), "{apply}");
    assert!(!copied_update.exists(), "{}", describe(&without));
    assert!(
        !temp
            .path()
            .join("var/lib/switchyard/build")
            .join(HOST)
            .join("switchyard.update.nft")
            .exists()
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
    deploy::assert_apply_loaded(&applied(&old), Loaded::Replaced);
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
    deploy::assert_apply_loaded(&applied(&new), Loaded::Updated);
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
    let handle = deploy::table_handle(&netns);
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&build));
    // OLD's id stays, so the update is tried; one of its deletes fails.
    deploy::delete_an_element_the_update_deletes(&netns, &build);

    let new = playbook(&netns, temp.path(), serde_json::json!({}));
    print_recap("NEW over an edited OLD", &new);
    let apply = applied(&new);
    assert!(
        apply.contains("nft refused switchyard.update.nft, loading switchyard.nft"),
        "the update was tried and refused:\n{apply}"
    );
    deploy::assert_deployed_by(&netns, &build, handle, deploy::Loaded::Replaced);

    let again = playbook(&netns, temp.path(), serde_json::json!({}));
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(
        recap(&again)["changed"],
        0,
        "converged: {}",
        describe(&again)
    );
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
    deploy::assert_apply_loaded(&applied(&output), Loaded::Replaced);
    deploy::assert_deployed_by(&netns, &build, handle, deploy::Loaded::Replaced);
}

/// Fails on the role before `switchyard apply` (its handlers loaded the table,
/// then `ip -batch` failed half way, with no rescue): a build apply cannot
/// load leaves the host's state, and its installed build, as they were, and
/// the play fails naming the step; once the cause is gone a rerun deploys it.
#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn a_failed_apply_fails_the_play_naming_the_step_and_leaves_the_host_as_it_was() {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = deploy::host_namespace("ansible-fail");
    let build = temp.path().join("build");
    common::build(&repo_path(TOPOLOGY), &build, None);
    let old = playbook(&netns, temp.path(), serde_json::json!({}));
    assert!(old.status.success(), "{}", describe(&old));
    let old_build = temp.path().join("old");
    common::build(&repo_path(TOPOLOGY), &old_build, None);
    let installed = common::tree(&temp.path().join("etc"));

    // NEW changes the table; uplink isp-b's interface is gone (a VLAN not
    // created yet), so its routes cannot be added.
    deploy::build_edited(&deploy::changed_egress_entry(), &build, Some(&build));
    netns.ip(&["link", "del", "up-b"]);
    let before = kernel_state(&netns);

    let failed = playbook(&netns, temp.path(), serde_json::json!({}));
    print_recap("NEW without up-b", &failed);
    assert!(!failed.status.success(), "{}", describe(&failed));
    let counts = recap(&failed);
    assert_eq!((counts["failed"], counts["rescued"]), (1, 1), "{counts:?}");
    let stdout = String::from_utf8_lossy(&failed.stdout);
    let report = step(&stdout, "Report the failed apply");
    assert!(
        report.contains("switchyard apply failed on localhost (exit 1); nothing was installed")
            && report.contains("apply failed at step routing")
            && report.contains("Cannot find device")
            && report.contains("net2: restored the state from before the apply"),
        "the failure names the step:\n{report}"
    );
    deploy::assert_left_as_it_was(&netns, &before, &temp.path().join("etc"), &installed);

    // The interface comes back: the next run deploys NEW.
    netns.veth("up-b");
    let rerun = playbook(&netns, temp.path(), serde_json::json!({}));
    print_recap("NEW, up-b back", &rerun);
    assert!(applied(&rerun).contains("net2: applied"));
    deploy::assert_host_deployed(&netns, &build);
    assert_boot_copy_is(temp.path(), &build);
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
    let install = step(&stdout, "Install the host's files");
    for file in [
        "etc/switchyard/build/net2/switchyard.nft",
        "etc/switchyard/build/net2/switchyard.ip",
        "etc/sysctl.d/90-switchyard.conf",
    ] {
        let item = format!("{file})");
        assert!(
            install
                .lines()
                .any(|line| line.starts_with("changed: [localhost] => (item=")
                    && line.contains(&item)),
            "`{item}` missing:\n{install}"
        );
    }
    assert!(
        install.contains("+++ after") && install.contains("table inet switchyard"),
        "--diff shows the new files:\n{install}"
    );
    assert!(
        step(&stdout, APPLY).contains("skipping"),
        "apply changes nothing in check mode:\n{stdout}"
    );
    assert!(
        temp.path().join("build/manifest.json").exists(),
        "the controller's build runs in check mode too"
    );
    assert!(!temp.path().join("etc").exists(), "check mode");
    assert!(
        !temp.path().join("var/lib/switchyard").exists(),
        "check mode"
    );
    let tables = run_ok(netns.exec("nft").args(["list", "tables"]));
    assert!(!tables.contains("switchyard"), "no table loaded: {tables}");
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn a_script_nft_refuses_is_never_staged() {
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
        stdout.contains("TASK [switchyard : Stage the host's build]")
            && stdout.contains("failed to validate")
            && stdout.contains("@no_such_set"),
        "the copy's validation refused it:\n{stdout}"
    );
    assert!(
        !temp
            .path()
            .join("var/lib/switchyard/build")
            .join(HOST)
            .join("switchyard.nft")
            .exists()
    );
    assert!(
        common::tree(&temp.path().join("etc")).is_empty(),
        "nothing installed"
    );
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
        !temp.path().join("etc").exists() && !temp.path().join("var").exists(),
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
    let task = |name: &str| step(&stdout, name);
    let install = task("Install the host's files");
    let installed = |path: &str| {
        install.lines().any(|line| {
            line.starts_with("changed: [localhost] => (item=")
                && line.contains(&format!("{path}) =>"))
        })
    };
    let model = deploy::model();
    let uplink_units = deploy::interfaces(&model, NETWORKD_HOST)
        .into_iter()
        .filter(|i| !i.starts_with("lan"))
        .map(|interface| format!("10-switchyard-{interface}.network"));
    for unit in uplink_units.chain([DROP_IN.to_owned()]) {
        let unit = format!("etc/systemd/network/{unit}");
        assert!(installed(&unit), "`{unit}` missing:\n{install}");
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
    assert!(
        !installed("etc/systemd/system/switchyard-routes.service"),
        "networkd routes: no routes unit:\n{install}"
    );
    assert!(installed("etc/systemd/system/switchyard-nftables.service"));
    assert!(
        installed(&format!(
            "etc/switchyard/build/{NETWORKD_HOST}/switchyard.ip"
        )),
        "apply reads the ip batch with either backend:\n{install}"
    );
    let reload = task("Reload networkd");
    assert!(
        !reload.contains("Conditional result was False"),
        "networkd would be reloaded:\n{reload}"
    );
    assert!(
        units.join("10-switchyard-gone.network").exists(),
        "check mode"
    );
}

/// A playbook run of examples/failover.toml's host net1 into `netns`, with the
/// systemctl stand-in in `temp` (see [`deploy::systemctl_stand_in`]).
fn failover_playbook(netns: &Netns, temp: &Path, systemctl: &Path) -> Output {
    playbook(
        netns,
        temp,
        serde_json::json!({
            "switchyard_topology": "examples/failover.toml",
            "switchyard_host": "net1",
            "switchyard_systemctl_command": systemctl,
        }),
    )
}

/// A namespace standing in for examples/failover.toml's host net1.
fn failover_namespace(test: &str) -> Netns {
    let (model, _, _) =
        switchyard::validate(&common::example_source(Path::new("examples/failover.toml")))
            .unwrap_or_else(|_| panic!("examples/failover.toml is valid"))
            .into_parts();
    Netns::with_veths(test, &deploy::interfaces(&model, "net1"))
}

#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn a_build_with_failover_installs_and_enables_the_monitor() {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = failover_namespace("ansible-mon");
    let (systemctl, calls) = deploy::systemctl_stand_in(temp.path());

    let first = failover_playbook(&netns, temp.path(), &systemctl);
    print_recap("failover, first run", &first);
    assert!(first.status.success(), "{}", describe(&first));
    let build = temp.path().join("build/net1");
    deploy::assert_monitor_installed(&netns, temp.path(), &build, &calls);

    let second = failover_playbook(&netns, temp.path(), &systemctl);
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

/// Fails on the role before this one (a handler restarted the monitor when its
/// files changed: once the restart failed, the rerun found them unchanged,
/// reported changed=0 and left the monitor running the old configuration).
#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn a_failed_monitor_restart_is_retried_by_the_next_run() {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let netns = failover_namespace("ansible-monfail");
    let (systemctl, calls) = deploy::systemctl_stand_in(temp.path());
    let fail_restart = temp.path().join(deploy::FAIL_RESTART);
    std::fs::write(&fail_restart, "").expect("flag written");

    let failed = failover_playbook(&netns, temp.path(), &systemctl);
    print_recap("failover, restart fails", &failed);
    assert!(!failed.status.success(), "{}", describe(&failed));
    assert!(
        String::from_utf8_lossy(&failed.stdout).contains("restart failed"),
        "{}",
        describe(&failed)
    );
    std::fs::remove_file(&fail_restart).expect("flag removed");
    std::fs::remove_file(&calls).expect("log removed");

    let rerun = failover_playbook(&netns, temp.path(), &systemctl);
    print_recap("failover, rerun", &rerun);
    assert!(rerun.status.success(), "{}", describe(&rerun));
    assert!(recap(&rerun)["changed"] > 0, "{}", describe(&rerun));
    deploy::assert_monitor_installed(&netns, temp.path(), &temp.path().join("build/net1"), &calls);

    let again = failover_playbook(&netns, temp.path(), &systemctl);
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(
        recap(&again)["changed"],
        0,
        "restarted once: {}",
        describe(&again)
    );
}

/// examples/ansible/playbook.yml with `inventories` (e.g. [`PAIR_INVENTORY`])
/// and, on top, an inventory of the test's that has the pair's machines: each
/// is its namespace (the modules run with a Python that enters it) with its
/// destinations and systemctl stand-in.
fn pair_playbook(
    members: &[deploy::PairMember],
    temp: &Path,
    inventories: &[&str],
    vars: serde_json::Value,
    options: &[&str],
) -> Output {
    let mut machines = serde_json::Map::new();
    for member in members {
        let python = member.root.join("python");
        std::fs::write(
            &python,
            format!(
                "#!/bin/sh\nexec ip netns exec {} /usr/bin/python3 \"$@\"\n",
                member.netns.name
            ),
        )
        .expect("python written");
        run_ok(Command::new("chmod").arg("+x").arg(&python));
        let mut settings = serde_json::json!({
            "ansible_connection": "local",
            "ansible_python_interpreter": python,
            "switchyard_systemctl_command": member.systemctl,
        });
        for (key, path) in deploy::destinations(&member.root) {
            settings[format!("switchyard_{key}")] = serde_json::json!(path);
        }
        machines.insert(member.name.clone(), settings);
    }
    let inventory: PathBuf = temp.join("machines.yml");
    std::fs::write(
        &inventory,
        serde_json::json!({"all": {"hosts": machines}}).to_string(),
    )
    .expect("inventory written");
    let mut command = Command::new("ansible-playbook");
    for example in inventories {
        command.args(["-i", example]);
    }
    command.arg("-i").arg(&inventory);
    run_playbook(&mut command, temp, vars, options)
}

/// The example inventory of examples/ha-pair.toml's machines, net1a and net1b,
/// in group switchyard_pairs.
const PAIR_INVENTORY: &str = "examples/ansible/inventory-pair.ini";

/// The pair's machines for test `test` (as root), below a temporary directory.
fn pair_in_temp(test: &str) -> (tempfile::TempDir, Vec<deploy::PairMember>) {
    require_root();
    let temp = tempfile::tempdir().expect("temporary directory");
    let members = deploy::pair_members(test, temp.path());
    (temp, members)
}

/// Fails on the role before this one, which installed a member's files but
/// never started conntrackd or keepalived (the stand-in was asked to restart
/// the monitor only), and on the one before it, which refused a member's
/// keepalived.conf.
#[test]
#[ignore = "needs root, nft, ansible-playbook, keepalived and conntrackd: sudo bash .ci/run"]
fn a_pair_is_deployed_one_member_at_a_time() {
    let (temp, members) = pair_in_temp("ansible-pair");
    let [a, b] = [&members[0], &members[1]];
    let build = temp.path().join("build");
    let build_vars = serde_json::json!({"switchyard_topology": deploy::PAIR_TOPOLOGY});
    // The playbook with the example inventory, its summary printed under `label`.
    let run = |label: &str, vars: &serde_json::Value, options: &[&str]| {
        let output = pair_playbook(
            &members,
            temp.path(),
            &[PAIR_INVENTORY],
            vars.clone(),
            options,
        );
        print_recap(label, &output);
        output
    };

    let first = run("pair, first run", &build_vars, &[]);
    assert!(first.status.success(), "{}", describe(&first));
    // serial: 1: every task ran on the first machine before any on the second.
    let stdout = String::from_utf8_lossy(&first.stdout);
    let play = stdout.split_once("PLAY RECAP").expect("a recap").0;
    let last_of_a = play.rfind(&format!("[{}]", a.name)).expect("a ran");
    let first_of_b = play.find(&format!("[{}]", b.name)).expect("b ran");
    assert!(last_of_a < first_of_b, "one machine at a time:\n{play}");
    a.assert_deployed(&build, &b.name);
    b.assert_deployed(&build, &a.name);

    let second = run("pair, second run", &build_vars, &[]);
    assert!(second.status.success(), "{}", describe(&second));
    for member in [a, b] {
        assert_eq!(
            recap_of(&second, &member.name)["changed"],
            0,
            "{}",
            describe(&second)
        );
        assert_eq!(member.take_calls(), "", "nothing restarted");
    }

    // keepalived.conf changes (on both members). The first machine's
    // keepalived fails to restart: the play stops there, and the second
    // machine keeps what it runs.
    deploy::build_as_example(&deploy::pair_with_other_vrid(), &build);
    let fail_restart = a.root.join(deploy::FAIL_RESTART);
    std::fs::write(&fail_restart, "").expect("flag written");
    let failed = run(
        "pair, keepalived fails to restart on the first machine",
        &serde_json::json!({}),
        &[],
    );
    assert!(!failed.status.success(), "{}", describe(&failed));
    assert_eq!(a.take_calls(), deploy::restart_calls("keepalived"));
    assert_eq!(b.take_calls(), "", "the second machine is not touched");
    let keepalived_conf = |member: &deploy::PairMember, root: &Path| {
        std::fs::read(root.join(&member.name).join("keepalived.conf")).expect("keepalived.conf")
    };
    assert_ne!(
        keepalived_conf(b, &b.root.join("etc/switchyard/build")),
        keepalived_conf(b, &build),
        "the second machine keeps its keepalived.conf"
    );

    // The first machine alone: its keepalived restart is retried.
    std::fs::remove_file(&fail_restart).expect("flag removed");
    let limited = run(
        "pair, the first machine again",
        &serde_json::json!({}),
        &["--limit", &a.name],
    );
    assert!(limited.status.success(), "{}", describe(&limited));
    assert_eq!(a.take_calls(), deploy::restart_calls("keepalived"));
    assert_eq!(b.take_calls(), "", "the other machine is left alone");

    let rest = run(
        "pair, new keepalived.conf on both",
        &serde_json::json!({}),
        &[],
    );
    assert!(rest.status.success(), "{}", describe(&rest));
    assert_eq!(a.take_calls(), "", "restarted once");
    assert_eq!(b.take_calls(), deploy::restart_calls("keepalived"));
    assert_eq!(
        recap_of(&rest, &a.name)["changed"],
        0,
        "{}",
        describe(&rest)
    );
}

/// The members outside group switchyard_pairs: the playbook's first play
/// deploys them together, and the role refuses both before changing anything.
#[test]
#[ignore = "needs root, nft and ansible-playbook: sudo bash .ci/run"]
fn a_pair_deployed_in_one_batch_is_refused() {
    let (temp, members) = pair_in_temp("ansible-batch");
    let output = pair_playbook(
        &members,
        temp.path(),
        &[],
        serde_json::json!({"switchyard_topology": deploy::PAIR_TOPOLOGY}),
        &[],
    );
    print_recap("pair in one batch", &output);
    assert!(!output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let check = step(
        &stdout,
        "Check that a member of a pair is deployed on its own",
    );
    for member in &members {
        assert_eq!(recap_of(&output, &member.name)["failed"], 1);
        assert!(
            check.contains(&format!(
                "{} is a member of a pair (its build has keepalived.conf) deployed in a batch of 2",
                member.name
            )),
            "{check}"
        );
        for written in ["etc", "var"] {
            assert!(!member.root.join(written).exists(), "{written} written");
        }
        assert_eq!(member.take_calls(), "", "nothing restarted");
        let tables = run_ok(member.netns.exec("nft").args(["list", "tables"]));
        assert!(!tables.contains("switchyard"), "no table loaded: {tables}");
    }
}
