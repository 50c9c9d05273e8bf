//! The generated artifacts against the real kernel: every host of every example
//! gets fresh network namespaces with veth interfaces named like its LAN and
//! uplink interfaces (a VLAN uplink is a veth of the same name: this kernel has no
//! vlan module, and the artifacts only need the name), then
//!
//! - its nft script passes `nft -c -f`, loads with `nft -f` on a fresh namespace,
//!   again over itself, and over every other host's script and over a version with
//!   one VM fewer, each time leaving exactly the table a fresh load leaves (no
//!   stale chain, map or element) and other tables untouched;
//! - its ip batch loads with `ip -batch` twice, and over every other host's batch,
//!   leaving exactly the rules and routes a fresh load leaves.
//!
//! Runs as root (CI does); fails, never skips, without it.

mod common;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;

use common::{Netns, run_ok};
use ipnet::Ipv4Net;
use switchyard::diagnostic::Source;
use switchyard::plan::HostPlan;

/// One host's artifacts and what the namespace needs to load them.
struct Host {
    /// `two-isps/net1`.
    label: String,
    /// LAN and uplink interface names.
    interfaces: Vec<String>,
    /// (mark, table) per uplink.
    uplinks: Vec<(u32, u32)>,
    /// (public, private) per public address of the host's VMs.
    dnat: Vec<(String, String)>,
    nft: String,
    ip: String,
    /// The host's nft script built from the same topology minus one of its VMs:
    /// an older version with fewer elements.
    nft_one_vm_fewer: Option<String>,
}

fn artifact<'b>(build: &'b switchyard::Build, host: &str, file: &str) -> &'b str {
    let path = format!("{host}/{file}");
    &build
        .artifacts
        .iter()
        .find(|a| a.path == path)
        .unwrap_or_else(|| panic!("no {path} in the build"))
        .content
}

/// The topology without the VM `vm`, under the same source name.
fn without_vm(source: &Source, vm: &str) -> Source {
    let mut table: toml::Table = source.text.parse().expect("example parses");
    let vms = table
        .get_mut("vms")
        .and_then(toml::Value::as_table_mut)
        .expect("the example has VMs");
    vms.remove(vm).expect("the VM exists");
    let text = toml::to_string(&table).expect("TOML serializes");
    Source::new(source.name.clone(), text)
}

/// Every host, each with a fresh namespace `TAG-N` holding its interfaces.
fn hosts_in_namespaces(tag: &str) -> impl Iterator<Item = (Host, Netns)> {
    hosts().into_iter().enumerate().map(move |(i, host)| {
        let netns = Netns::with_veths(&format!("{tag}-{i}"), &host.interfaces);
        (host, netns)
    })
}

fn hosts() -> Vec<Host> {
    let mut hosts = Vec::new();
    for example in common::valid_examples() {
        let source = common::example_source(&example);
        let build = common::build_source(&source);
        let (model, plan, _) = switchyard::validate(&source)
            .unwrap_or_else(|_| panic!("{} is valid", source.name))
            .into_parts();
        for host in plan.hosts.iter().flat_map(HostPlan::machines) {
            let mut interfaces: Vec<String> = host.lan.iter().map(|l| l.to_string()).collect();
            interfaces.extend(host.uplinks.iter().map(|u| u.interface.to_string()));
            interfaces.extend(host.sync_link().map(|link| link.interface.to_string()));
            let nft_one_vm_fewer = host.ip.v4.vms.last().map(|vm| {
                let name = &model.vm(vm.vm).name.value;
                let smaller = common::build_source(&without_vm(&source, name));
                artifact(&smaller, &host.name, "switchyard.nft").to_owned()
            });
            hosts.push(Host {
                label: format!("{}/{}", common::stem(&example), host.name),
                interfaces,
                uplinks: host.uplinks.iter().map(|u| (u.mark, u.table)).collect(),
                dnat: host
                    .ip
                    .v4
                    .vms
                    .iter()
                    .flat_map(|vm| {
                        vm.public
                            .iter()
                            .map(|p| (p.address.to_string(), vm.private.to_string()))
                    })
                    .collect(),
                nft: artifact(&build, &host.name, "switchyard.nft").to_owned(),
                ip: artifact(&build, &host.name, "switchyard.ip").to_owned(),
                nft_one_vm_fewer,
            });
        }
    }
    assert!(!hosts.is_empty(), "no hosts in the examples");
    hosts
}

/// The script in a file `nft`/`ip` can read; removed when dropped.
fn script(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temporary file");
    file.write_all(text.as_bytes()).expect("write the script");
    file
}

fn nft(netns: &Netns, args: &[&str], file: &Path) -> String {
    run_ok(netns.exec("nft").args(args).arg(file))
}

fn load_nft(netns: &Netns, text: &str) {
    nft(netns, &["-f"], script(text).path());
}

fn list_table(netns: &Netns) -> String {
    run_ok(
        netns
            .exec("nft")
            .args(["list", "table", "inet", "switchyard"]),
    )
}

/// A table that is not switchyard's: loading switchyard's must leave it alone.
const FOREIGN: &str = "table inet foreign {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tmeta mark 0x1 counter\n\t}\n}\n";

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn nft_scripts_check_and_load_fresh_and_over_themselves() {
    common::require_root();
    for (host, netns) in hosts_in_namespaces("nft-fresh") {
        let file = script(&host.nft);
        nft(&netns, &["-c", "-f"], file.path());
        load_nft(&netns, FOREIGN);
        let foreign = run_ok(netns.exec("nft").args(["list", "table", "inet", "foreign"]));

        nft(&netns, &["-f"], file.path());
        let first = list_table(&netns);
        for (public, private) in &host.dnat {
            assert!(
                first.contains(&format!("{public} : {private}")),
                "{}: DNAT element {public} : {private} not loaded:\n{first}",
                host.label
            );
        }
        nft(&netns, &["-f"], file.path());
        assert_eq!(
            first,
            list_table(&netns),
            "{}: loading the script over itself changes the table",
            host.label
        );
        assert_eq!(
            foreign,
            run_ok(netns.exec("nft").args(["list", "table", "inet", "foreign"])),
            "{}: the script touched another table",
            host.label
        );
    }
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn nft_script_over_another_version_leaves_no_stale_state() {
    common::require_root();
    let hosts = hosts();
    for (i, new) in hosts.iter().enumerate() {
        let fresh = Netns::with_veths(&format!("nft-ref-{i}"), &new.interfaces);
        load_nft(&fresh, &new.nft);
        let expected = list_table(&fresh);

        let netns = Netns::with_veths(&format!("nft-over-{i}"), &new.interfaces);
        let mut olds: Vec<(String, &str)> = hosts
            .iter()
            .filter(|old| old.label != new.label)
            .map(|old| (old.label.clone(), old.nft.as_str()))
            .collect();
        if let Some(smaller) = &new.nft_one_vm_fewer {
            olds.push((format!("{} with one VM fewer", new.label), smaller));
        }
        let over = Versions {
            netns: &netns,
            load: load_nft,
            state: list_table,
        };
        over.assert_each_old_then_new_is_fresh(&new.label, &olds, &new.nft, &expected);
    }
}

/// A batch's commands, without its comments (which name the topology file)
/// and flushes (a dual-stack host's name IPv4's space, docs/semantics.md §6:
/// the same state all the same).
fn commands(batch: &str) -> Vec<&str> {
    batch
        .lines()
        .filter(|line| !line.starts_with('#') && line.split_whitespace().nth(1) != Some("flush"))
        .collect()
}

/// Loading one version of an artifact over others, in one namespace.
struct Versions<'n, S> {
    netns: &'n Netns,
    load: fn(&Netns, &str),
    /// What the artifact manages, comparable between loads.
    state: fn(&Netns) -> S,
}

impl<S: PartialEq + std::fmt::Debug> Versions<'_, S> {
    /// Loads each old version, then `new` over it: the state must equal
    /// `fresh` (a fresh load of `new`), and at least one old version must have
    /// differed from it, or the test proved nothing.
    fn assert_each_old_then_new_is_fresh(
        &self,
        label: &str,
        olds: &[(String, &str)],
        new: &str,
        fresh: &S,
    ) {
        let mut differing = 0;
        for (old_label, old) in olds {
            (self.load)(self.netns, old);
            differing += usize::from((self.state)(self.netns) != *fresh);
            (self.load)(self.netns, new);
            assert_eq!(
                (self.state)(self.netns),
                *fresh,
                "{label} loaded over {old_label} differs from a fresh load"
            );
        }
        assert!(differing > 0, "{label}: no different version to load over");
    }
}

/// Whether `new` has an address on a link that overlaps another link of `old`
/// (a /30 renumbered into a /29, say). The batch adds its addresses and leaves
/// others alone (`apply` removes stale ones), so such an old version's
/// broadcast address can be the new one's source address, which the kernel
/// then refuses as a route's `src`: no version of one host is renumbered that
/// way by the batch alone, so it is no test of it.
fn readdressed(old: &str, new: &str) -> bool {
    let addresses = |batch: &str| -> Vec<Ipv4Net> {
        batch
            .lines()
            .filter_map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                match words.as_slice() {
                    ["address", "replace", address, "dev", _] => address.parse().ok(),
                    _ => None,
                }
            })
            .collect()
    };
    let old = addresses(old);
    addresses(new).iter().any(|address| {
        old.iter().any(|other| {
            other.trunc() != address.trunc()
                && (other.contains(&address.network()) || address.contains(&other.network()))
        })
    })
}

/// The policy-routing state the ip batch manages: every rule, and the routes
/// tagged with switchyard's protocol (sorted, so only content counts).
fn routing_state(netns: &Netns) -> (String, Vec<String>) {
    let rules = netns.ip(&["rule", "show"]);
    let protocol = switchyard::plan::ROUTE_PROTOCOL.to_string();
    let mut routes: Vec<String> = netns
        .ip(&["route", "show", "table", "all", "proto", &protocol])
        .lines()
        .map(str::to_owned)
        .collect();
    routes.sort();
    (rules, routes)
}

fn load_ip(netns: &Netns, text: &str) {
    let file = script(text);
    let path = file.path().to_str().expect("UTF-8 path");
    netns.ip(&["-batch", path]);
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn ip_batch_twice_leaves_the_same_rules_and_routes() {
    common::require_root();
    for (host, netns) in hosts_in_namespaces("ip-twice") {
        load_ip(&netns, &host.ip);
        let (rules, routes) = routing_state(&netns);
        for (mark, table) in &host.uplinks {
            let rule = format!("fwmark {mark:#x}/0xff00 lookup {table} proto 211");
            assert!(
                rules.contains(&rule),
                "{}: no `{rule}` in\n{rules}",
                host.label
            );
        }
        let ours = rules.lines().filter(|l| l.contains("proto 211")).count();
        assert_eq!(
            ours,
            host.uplinks.len(),
            "{}: one rule per uplink",
            host.label
        );
        assert_eq!(
            routes.len(),
            2 * host.uplinks.len(),
            "{}: a link and a default route per uplink: {routes:#?}",
            host.label
        );

        load_ip(&netns, &host.ip);
        assert_eq!(
            (rules, routes),
            routing_state(&netns),
            "{}: the second load changed the rules or routes",
            host.label
        );
    }
}

#[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
fn ip_batch_over_another_version_leaves_exactly_the_new_state() {
    common::require_root();
    let hosts = hosts();
    // Every interface any host uses, so every batch loads in every namespace.
    let all: Vec<String> = hosts
        .iter()
        .flat_map(|h| h.interfaces.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for (i, new) in hosts.iter().enumerate() {
        let fresh = Netns::with_veths(&format!("ip-ref-{i}"), &all);
        load_ip(&fresh, &new.ip);
        let expected = routing_state(&fresh);

        // Each old version in a namespace of its own: the batch leaves other
        // addresses alone, so one old version's would stay under the next. An
        // identical batch (dual-stack.toml's IPv4 one is two-isps.toml's)
        // proves nothing.
        let olds = hosts
            .iter()
            .filter(|old| commands(&old.ip) != commands(&new.ip) && !readdressed(&old.ip, &new.ip));
        for (j, old) in olds.enumerate() {
            let netns = Netns::with_veths(&format!("ip-over-{i}-{j}"), &all);
            let over = Versions {
                netns: &netns,
                load: load_ip,
                state: routing_state,
            };
            let old = [(old.label.clone(), old.ip.as_str())];
            over.assert_each_old_then_new_is_fresh(&new.label, &old, &new.ip, &expected);
        }
    }
}
