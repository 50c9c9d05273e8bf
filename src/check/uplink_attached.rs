//! SY0406: a VM's host is attached to the uplink of every pool the VM has an address
//! in; otherwise neither its outbound nor its inbound traffic has a way out.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for vm in &model.vms {
        let host = model.host(vm.host);
        for public in &vm.public {
            let Some(uplink) = model
                .pool_of_ip(public.value)
                .and_then(|p| model.pool(p).uplink)
            else {
                continue;
            };
            let attached = host.attachments.iter().any(|a| a.uplink == uplink)
                || host.unresolved_attachments.contains(&uplink);
            if !attached {
                let uplink = &model.uplink(uplink).name.value;
                out.push(
                    Diagnostic::new(
                        Code::UplinkNotAttached,
                        format!("host `{}` has no attachment to uplink `{uplink}`, which VM `{}` needs for {}", host.name.value, vm.name.value, public.value),
                        public.span.clone(),
                        format!("leaves through `{uplink}`"),
                    )
                    .also(host.name.span.clone(), "this host")
                    .help(format!(
                        "is {} the address you meant? It leaves through `{uplink}`, which \
                         host `{host}` has no attachment to. Otherwise add \
                         [hosts.{host}.uplinks.{uplink}], or move the VM to a host attached to it",
                        public.value,
                        host = host.name.value
                    )),
                );
            }
        }
    }
}
