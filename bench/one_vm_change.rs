//! A topology with one VM changed, for the update benchmark (bench/update.sh).
//!
//! ```text
//! cargo run --release --example one_vm_change -- CHANGE < old.toml > new.toml
//! ```
//!
//! Works on any topology from examples/synth.rs (`--dual-stack` too); the VM
//! changed is the one in the middle of the VMs in name order (or the next one,
//! cyclically, that the change applies to). CHANGE is one of:
//!
//! - `removed-vm`: the VM is gone (both of its addresses in a dual-stack file);
//! - `removed-own-vm`: the same for a VM that has its own egress entries (its
//!   elements leave the `egress_by_vm` maps);
//! - `changed-egress`: the first IPv4 egress entry of a VM that has its own
//!   entries now leaves via another of its IPv4 public addresses;
//! - `added-public`: a VM without an IPv4 address in some pool gets that pool's
//!   last usable IPv4 address, allocated to its project first (and its quota
//!   raised);
//! - `changed-egress6`, `added-public6`: the same in IPv6 (a dual-stack file).

use std::io::{Read as _, Write as _};
use std::process::ExitCode;

use std::net::IpAddr;

use ipnet::IpNet;
use toml::{Table, Value};

/// The address family a change is made in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn of(address: &IpAddr) -> Family {
        if address.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }

    /// Whether `value` is an address or prefix (`a/len`) of this family.
    fn holds(self, value: &Value) -> bool {
        let Some(text) = value.as_str() else {
            return false;
        };
        let address = text.split('/').next().unwrap_or(text);
        address
            .parse::<IpAddr>()
            .is_ok_and(|a| Family::of(&a) == self)
    }
}

fn main() -> ExitCode {
    let change = std::env::args().nth(1).unwrap_or_default();
    let mut text = String::new();
    if let Err(error) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("one_vm_change: cannot read standard input: {error}");
        return ExitCode::from(2);
    }
    let mut topology: Table = match text.parse() {
        Ok(table) => table,
        Err(error) => {
            eprintln!("one_vm_change: not TOML: {error}");
            return ExitCode::from(2);
        }
    };
    let changed = match change.as_str() {
        "removed-vm" => removed_vm(&mut topology),
        "removed-own-vm" => removed_own_vm(&mut topology),
        "changed-egress" => changed_egress(&mut topology, Family::V4),
        "added-public" => added_public(&mut topology, Family::V4),
        "changed-egress6" => changed_egress(&mut topology, Family::V6),
        "added-public6" => added_public(&mut topology, Family::V6),
        _ => {
            eprintln!(
                "usage: one_vm_change removed-vm|removed-own-vm|changed-egress|added-public|changed-egress6|added-public6 < old > new"
            );
            return ExitCode::from(2);
        }
    };
    let Some(vm) = changed else {
        eprintln!("one_vm_change: no VM of this topology allows {change}");
        return ExitCode::from(1);
    };
    eprintln!("one_vm_change: {change} on {vm}");
    let out = toml::to_string(&topology).expect("a table serializes");
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("one_vm_change: cannot write: {error}");
            ExitCode::from(2)
        }
    }
}

fn table<'t>(parent: &'t mut Table, key: &str) -> &'t mut Table {
    parent
        .get_mut(key)
        .and_then(Value::as_table_mut)
        .unwrap_or_else(|| panic!("no table {key}"))
}

/// VM names from the middle of the list onwards, then from the start.
fn from_the_middle(topology: &mut Table) -> Vec<String> {
    let mut names: Vec<String> = table(topology, "vms").keys().cloned().collect();
    let middle = names.len() / 2;
    names.rotate_left(middle);
    names
}

fn removed_vm(topology: &mut Table) -> Option<String> {
    let name = from_the_middle(topology).into_iter().next()?;
    table(topology, "vms").remove(&name);
    Some(name)
}

fn removed_own_vm(topology: &mut Table) -> Option<String> {
    let name = from_the_middle(topology).into_iter().find(|name| {
        let vm = table(table(topology, "vms"), name);
        vm.get("egress")
            .and_then(Value::as_array)
            .is_some_and(|entries| !entries.is_empty())
    })?;
    table(topology, "vms").remove(&name);
    Some(name)
}

fn changed_egress(topology: &mut Table, family: Family) -> Option<String> {
    for name in from_the_middle(topology) {
        let vm = table(table(topology, "vms"), &name);
        let public: Vec<Value> = vm
            .get("public")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(entry) = vm
            .get_mut("egress")
            .and_then(Value::as_array_mut)
            .and_then(|entries| {
                entries
                    .iter_mut()
                    .find(|entry| entry.get("to").is_some_and(|to| family.holds(to)))
            })
            .and_then(Value::as_table_mut)
        else {
            continue;
        };
        let Some(other) = public
            .into_iter()
            .find(|p| family.holds(p) && Some(p) != entry.get("via"))
        else {
            continue;
        };
        entry.insert("via".into(), other);
        return Some(name);
    }
    None
}

fn added_public(topology: &mut Table, family: Family) -> Option<String> {
    // A pool's prefix of the family: the string, or the one in the list.
    let pools: Vec<(String, IpNet)> = table(topology, "pools")
        .iter()
        .filter_map(|(name, pool)| {
            let prefix = match pool.get("prefix")? {
                Value::Array(prefixes) => prefixes.iter().find(|p| family.holds(p))?,
                prefix => prefix,
            };
            Some((name.clone(), prefix.as_str()?.parse().ok()?))
        })
        .collect();
    for name in from_the_middle(topology) {
        let vm = table(table(topology, "vms"), &name);
        let held: Vec<String> = vm
            .get("public")
            .and_then(Value::as_array)
            .map(|public| {
                public
                    .iter()
                    .filter_map(|a| Some(a.as_str()?.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let project = vm.get("project")?.as_str()?.to_owned();
        let allowed: Vec<Value> = table(table(topology, "projects"), &project)
            .get("pools")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some((pool, prefix)) = pools.iter().find(|(pool, prefix)| {
            allowed.contains(&Value::from(pool.as_str()))
                && !held.iter().any(|a| {
                    a.parse::<IpAddr>()
                        .is_ok_and(|a| family == Family::of(&a) && prefix.contains(&a))
                })
        }) else {
            continue;
        };
        // Synthetic topologies allocate from the start of each pool: its last
        // usable address is free.
        let address = Value::from(match prefix.broadcast() {
            IpAddr::V4(last) => std::net::Ipv4Addr::from(u32::from(last) - 1).to_string(),
            IpAddr::V6(last) => std::net::Ipv6Addr::from(u128::from(last) - 1).to_string(),
        });
        let vm = table(table(topology, "vms"), &name);
        if let Some(public) = vm.get_mut("public").and_then(Value::as_array_mut) {
            public.push(address.clone());
        } else {
            vm.insert("public".into(), Value::Array(vec![address.clone()]));
        }
        let project = table(table(topology, "projects"), &project);
        if let Some(addresses) = project.get_mut("addresses").and_then(Value::as_array_mut) {
            addresses.push(address);
        }
        if let Some(quota) = project
            .get_mut("quota")
            .and_then(Value::as_table_mut)
            .and_then(|quota| quota.get_mut(pool))
            && let Some(n) = quota.as_integer()
        {
            *quota = Value::Integer(n + 1);
        }
        return Some(name);
    }
    None
}
