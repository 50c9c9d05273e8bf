//! SY1002: a `via` address in a VM's egress entry is of the family of the
//! entry's `to`. An address applies to its own family only, so one of the
//! other family would never be chosen for the entry's destinations. A pool
//! name fits either family, and a `default` has no `to`: any family is fine.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::Which;
use crate::model::{Model, Via};

pub fn check(model: &Model, out: &mut Diagnostics) {
    for vm in &model.vms {
        for entry in &vm.egress {
            let to = Which::of_net(&entry.to.value);
            for via in &entry.via {
                let Via::Address(address) = via.value else {
                    continue;
                };
                if Which::of(address) == to {
                    continue;
                }
                out.push(
                    Diagnostic::new(
                        Code::ViaOtherFamily,
                        format!(
                            "VM `{}` sends {} ({}) via {address} ({})",
                            vm.name.value,
                            entry.to.value,
                            to.name(),
                            Which::of(address).name()
                        ),
                        via.span.clone(),
                        format!("an {} address", Which::of(address).name()),
                    )
                    .also(
                        entry.to.span.clone(),
                        format!("an {} destination", to.name()),
                    )
                    .help(format!(
                        "an address carries packets of its own family only: name the VM's {} \
                         address, or a pool (which means the VM's address of the packet's \
                         family there)",
                        to.name()
                    )),
                );
            }
        }
    }
}
