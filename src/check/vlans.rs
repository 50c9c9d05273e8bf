//! SY0704, SY0705: a VLAN uplink sits on another interface, and no parent carries
//! the same VLAN id twice on one host (the kernel refuses the second VLAN device,
//! so one uplink would never come up).

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Model, Vlan};

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        let mut by_parent_and_id: HashMap<(&str, u16), &Vlan> = HashMap::new();
        for attachment in &host.attachments {
            let Some(vlan) = &attachment.vlan else {
                continue;
            };
            if vlan.parent.value == attachment.interface.value {
                out.push(
                    Diagnostic::new(
                        Code::VlanOwnParent,
                        format!(
                            "VLAN interface `{}` of host `{}` names itself as its parent",
                            attachment.interface.value, host.name.value
                        ),
                        vlan.parent.span.clone(),
                        "its own parent",
                    )
                    .also(attachment.interface.span.clone(), "the VLAN interface")
                    .help(
                        "`parent` is the physical interface that carries the tagged \
                         frames (e.g. `eth1` for `eth1.100`)",
                    ),
                );
            }
            if let Some(first) = by_parent_and_id.insert((&vlan.parent.value, vlan.id.value), vlan)
            {
                out.push(
                    Diagnostic::used_again(
                        Code::DuplicateVlanId,
                        format!(
                            "VLAN {} on `{}` is used twice on host `{}`",
                            vlan.id.value, vlan.parent.value, host.name.value
                        ),
                        vlan.id.span.clone(),
                        first.id.span.clone(),
                    )
                    .help(
                        "a parent carries each VLAN id once; give each uplink the id \
                         its provider tags it with",
                    ),
                );
            }
        }
    }
}
