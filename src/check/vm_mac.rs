//! SY0605, SY0606: a VM's MAC can be a frame's source (unicast, not all-zero),
//! and no two VMs on one host claim the same one (each binds its address to it).

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Mac, Model, Spanned};

use super::lookup::FastMap;

pub fn check(model: &Model, out: &mut Diagnostics) {
    let mut on_host: FastMap<_, (&str, &Spanned<Mac>)> = FastMap::default();
    for vm in &model.vms {
        let Some(mac) = &vm.mac else { continue };
        if mac.is_multicast() || mac.is_zero() {
            let what = if mac.is_zero() {
                "all-zero"
            } else {
                "a multicast (or broadcast) address"
            };
            out.push(
                Diagnostic::new(
                    Code::MacNotUnicast,
                    format!(
                        "VM `{}` MAC {} is {what}: no frame carries it as its source",
                        vm.name.value, mac.value
                    ),
                    mac.span.clone(),
                    what,
                )
                .help(
                    "use the unicast MAC of the VM's NIC (the lowest bit of the first octet clear)",
                ),
            );
        }
        if let Some((first, first_mac)) = on_host.insert((vm.host, mac.value), (&vm.name, mac)) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateMac,
                    format!(
                        "VMs `{first}` and `{}` share MAC {} on host `{}`",
                        vm.name.value,
                        mac.value,
                        model.host(vm.host).name.value
                    ),
                    mac.span.clone(),
                    "duplicate MAC",
                )
                .also(first_mac.span.clone(), "first used here")
                .help("each VM's address is bound to its own NIC's MAC: give each VM its own"),
            );
        }
    }
}
