//! SY1006: a pair's uplinks are IPv4 only. The shared address moves between
//! the members by VRRP, and each member's own address, probes and sync link
//! are IPv4 (docs/semantics.md §12); an IPv6 address on such an uplink would
//! have neither a member's own address to probe from nor a way to move.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        let Some(ha) = &host.ha else {
            continue;
        };
        for attachment in &host.attachments {
            let Some(address) = &attachment.address.v6 else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    Code::HaIpv6Uplink,
                    format!(
                        "uplink `{}` of host `{}` has the IPv6 address {}, but two machines \
                         serve the host",
                        model.uplink(attachment.uplink).name.value,
                        host.name.value,
                        address.value
                    ),
                    address.span.clone(),
                    "an IPv6 address on a pair's uplink",
                )
                .also(ha.span.clone(), "the pair")
                .help(
                    "a pair's uplinks carry IPv4 only: remove the IPv6 address (and gateway), \
                     or serve the host by one machine",
                ),
            );
        }
    }
}
