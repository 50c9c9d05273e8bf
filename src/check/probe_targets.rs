//! SY0712: a failover probe target must be an address an ICMP echo can reach
//! through the uplink and be answered from. Its own link address would answer
//! from the host itself and keep a dead uplink up forever.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for attachment in model.hosts.iter().flat_map(|h| &h.attachments) {
        for target in &attachment.probe {
            let address = target.value;
            let problem = if address.is_unspecified()
                || address.is_broadcast()
                || address.is_multicast()
                || address.is_loopback()
            {
                "not a unicast address"
            } else if address == attachment.address.value.addr() {
                "the host's own address on this link"
            } else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    Code::BadProbeTarget,
                    format!("probe target {address} is {problem}"),
                    target.span.clone(),
                    problem,
                )
                .help("probe the gateway (the default) or a well-connected address beyond it"),
            );
        }
    }
}
