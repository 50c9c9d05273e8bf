//! SY0709: a host that serves VMs lists its LAN interfaces. The nft ruleset
//! classifies only packets arriving on them, so without one every VM's traffic
//! would be left alone (no SNAT, no marks) while the plan and `trace` promise it.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Model, Vm};

pub fn check(model: &Model, out: &mut Diagnostics) {
    let mut first_vm: Vec<Option<&Vm>> = vec![None; model.hosts.len()];
    for vm in &model.vms {
        first_vm[vm.host.0].get_or_insert(vm);
    }
    for (host, vm) in model.hosts.iter().zip(first_vm) {
        let Some(vm) = vm else {
            continue;
        };
        if host.lan.is_empty() && !host.lan_left_out {
            out.push(
                Diagnostic::new(
                    Code::VmsWithoutLan,
                    format!(
                        "host `{}` serves VMs but has no LAN interface",
                        host.name.value
                    ),
                    host.name.span.clone(),
                    "no `lan`",
                )
                .also(vm.name.span.clone(), "a VM on this host")
                .help(
                    "list the interfaces facing the VMs in `lan`: only packets arriving \
                     on them are NATed and routed by uplink",
                ),
            );
        }
    }
}
