//! SY0715: a LAN interface that carries VLAN uplinks names its own unit in
//! `parent_unit`. Without one, switchyard writes a `10-switchyard-` unit for the
//! parent holding only its `VLAN=` lines, which networkd applies instead of the
//! administrator's: the LAN would lose its addresses, and every VM its gateway.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        for vlan in host.attachments.iter().filter_map(|a| a.vlan.as_ref()) {
            let Some(lan) = host.lan.iter().find(|lan| lan.value == vlan.parent.value) else {
                continue;
            };
            if vlan.parent_unit.is_some() {
                continue;
            }
            out.push(
                Diagnostic::new(
                    Code::LanIsVlanParent,
                    format!(
                        "`{}` on host `{}` is a LAN interface: switchyard's unit for this \
                         VLAN's parent would replace the LAN's own",
                        vlan.parent.value, host.name.value
                    ),
                    vlan.parent.span.clone(),
                    "a LAN interface as parent, without parent_unit",
                )
                .also(lan.span.clone(), "the LAN interface")
                .help(format!(
                    "name the LAN's own .network file, e.g. `parent_unit = \"20-{}.network\"`: \
                     switchyard then adds the `VLAN=` lines to it in a drop-in",
                    vlan.parent.value
                )),
            );
        }
    }
}
