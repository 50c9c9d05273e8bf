//! SY0703: no interface serves two roles on a host (a LAN, an uplink, a pair's
//! sync link). Whether a name is one Linux accepts (SY0701) is decided once,
//! when the model is made ([`crate::model::InterfaceName`]).

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{InterfaceName, Model, Spanned};

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        let sync_link = host.ha.as_ref().map(|ha| &ha.sync_interface);
        let mut seen: HashMap<&str, &Spanned<InterfaceName>> = HashMap::new();
        for name in host
            .lan
            .iter()
            .chain(host.attachments.iter().map(|a| &a.interface))
            .chain(sync_link)
        {
            if let Some(first) = seen.insert(&name.value, name) {
                let (interface, host) = (&name.value, &host.name.value);
                out.push(Diagnostic::used_again(
                    Code::InterfaceUsedTwice,
                    format!("interface `{interface}` is used twice on host `{host}`"),
                    name.span.clone(),
                    first.span.clone(),
                ));
            }
        }
    }
}
