//! Deploying one host's artifacts with a configuration-management tool into a
//! network namespace, and checking the live state it leaves (tests/ansible.rs,
//! tests/salt.rs). Everything happens in the namespace and in temporary
//! directories; [`MachineNetwork`] proves the machine's own network is untouched.

use std::path::Path;
use std::process::Command;

use switchyard::check::CheckedModel;
use switchyard::model::Model;

use super::{Netns, example_source, run_ok};

/// The topology deployed: three hosts; `HOST` has two LAN bridges and two uplinks
/// (no VLAN, which the test kernel cannot create).
pub const TOPOLOGY: &str = "examples/multi-host.toml";
pub const HOST: &str = "net2";

pub fn model() -> CheckedModel {
    switchyard::validate(&example_source(Path::new(TOPOLOGY)))
        .unwrap_or_else(|_| panic!("{TOPOLOGY} is valid"))
        .into_parts()
        .0
}

/// The interfaces `host`'s artifacts name: its LAN interfaces and uplinks.
pub fn interfaces(model: &Model, host: &str) -> Vec<String> {
    let host = model.host(model.host_named(host).expect("host in the topology"));
    host.lan
        .iter()
        .map(|lan| lan.value.clone())
        .chain(host.attachments.iter().map(|a| a.interface.value.clone()))
        .collect()
}

/// A namespace standing in for `HOST`: a veth for each of its interfaces.
pub fn host_namespace(test: &str) -> Netns {
    Netns::with_veths(test, &interfaces(&model(), HOST))
}

/// `nft list table inet switchyard` in `netns`.
pub fn live_table(netns: &Netns) -> String {
    run_ok(
        netns
            .exec("nft")
            .args(["list", "table", "inet", "switchyard"]),
    )
}

/// Asserts that `netns` holds what loading `HOST`'s artifacts from `build` gives:
/// the same nft table as a fresh namespace that loads the script directly, every
/// VM's public address DNATed to it, one fwmark rule and one routing table per
/// uplink (from the topology, so the check cannot pass on an empty state), and
/// forwarding on.
pub fn assert_host_deployed(netns: &Netns, build: &Path) {
    let model = model();
    let live = live_table(netns);

    let reference = host_namespace("ref");
    let script = build.join(HOST).join("switchyard.nft");
    run_ok(reference.exec("nft").arg("-f").arg(&script));
    assert_eq!(
        live,
        live_table(&reference),
        "the deployed table differs from loading {} directly",
        script.display()
    );

    let host_id = model.host_named(HOST).expect("host");
    let mut public = 0;
    for vm in model.vms.iter().filter(|vm| vm.host == host_id) {
        for address in &vm.public {
            public += 1;
            let element = format!("{} : {}", address.value, vm.address.value);
            assert!(
                live.contains(&element),
                "live table lacks DNAT `{element}` ({}):\n{live}",
                vm.name.value
            );
        }
    }
    assert!(public > 0, "{HOST} has no public address to check");

    let rules = netns.ip(&["rule", "show"]);
    let host = model.host(host_id);
    assert!(!host.attachments.is_empty());
    for attachment in &host.attachments {
        let uplink = model.uplink(attachment.uplink);
        let table = uplink.table.value;
        let rule = format!(
            "fwmark {:#x}/0xff00 lookup {table} proto 211",
            u32::from(uplink.id.value) << 8
        );
        assert!(rules.contains(&rule), "no rule `{rule}`:\n{rules}");
        let routes = netns.ip(&["route", "show", "table", &table.to_string()]);
        let default = format!(
            "default via {} dev {}",
            attachment.gateway.value, attachment.interface.value
        );
        assert!(
            routes.contains(&default),
            "table {table} lacks `{default}`:\n{routes}"
        );
    }
    let forwarding = run_ok(netns.exec("cat").arg("/proc/sys/net/ipv4/ip_forward"));
    assert_eq!(forwarding.trim(), "1", "forwarding is on in the namespace");
}

/// The machine's own policy rules and forwarding switch, to show a deployment
/// into a namespace left them alone.
#[derive(Debug, PartialEq, Eq)]
pub struct MachineNetwork {
    rules: String,
    forwarding: String,
    switchyard_table: bool,
}

impl MachineNetwork {
    pub fn read() -> Self {
        let table = Command::new("nft")
            .args(["list", "table", "inet", "switchyard"])
            .output()
            .expect("nft runs");
        MachineNetwork {
            rules: run_ok(Command::new("ip").args(["rule", "show"])),
            forwarding: std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                .expect("readable /proc"),
            switchyard_table: table.status.success(),
        }
    }
}

/// Edits `HOST`'s nft script and ip batch in `build` after its manifest was
/// written, in ways nft and ip would accept; see [`assert_tampering_not_loaded`].
pub fn tamper(build: &Path) {
    for (file, line) in [
        ("switchyard.nft", "table inet tampered {\n}\n"),
        (
            "switchyard.ip",
            "rule add fwmark 0x9900 lookup main priority 99 protocol 211\n",
        ),
    ] {
        let path = build.join(HOST).join(file);
        let mut text = std::fs::read_to_string(&path).expect("built");
        text.push_str(line);
        std::fs::write(&path, text).expect("tampered");
    }
}

/// Nothing [`tamper`] added, nor anything else of switchyard's, is live in `netns`.
pub fn assert_tampering_not_loaded(netns: &Netns) {
    let tables = run_ok(netns.exec("nft").args(["list", "tables"]));
    assert!(
        !tables.contains("tampered") && !tables.contains("switchyard"),
        "no table loaded: {tables}"
    );
    assert!(!netns.ip(&["rule", "show"]).contains("0x9900"));
}
