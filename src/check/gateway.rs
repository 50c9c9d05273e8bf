//! SY0702: an uplink's gateway lies on its link, per family: inside the
//! attachment's prefix of its family, not the host's own address, not an edge
//! address of the link (IPv4's network and broadcast addresses, IPv6's
//! subnet-router anycast address). An IPv6 gateway may instead be link-local
//! (fe80::/10): it is reached on the interface whatever the link.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::{V4, V6};
use crate::model::Model;

use super::family::{self, Rules};

pub fn check(model: &Model, out: &mut Diagnostics) {
    check_family::<V4>(model, out);
    check_family::<V6>(model, out);
}

fn check_family<F: Rules>(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        for attachment in &host.attachments {
            // An address without a gateway, or the reverse, is SY1005's.
            let (Some(link), Some(gateway)) = (
                family::link::<F>(attachment),
                family::gateway::<F>(attachment),
            ) else {
                continue;
            };
            let (link_span, link) = (&link.span, link.value);
            let (gateway_span, gateway) = (&gateway.span, gateway.value);
            if F::is_link_local_gateway(gateway)
                || !family::is_routable_link::<F>(F::prefix_len(&link))
            {
                // SY0706 says why no gateway fits on an unroutable link.
                continue;
            }
            let problem = if !F::contains(&link, gateway) {
                Some(format!("outside the link {}", family::trunc::<F>(&link)))
            } else if gateway == F::net_address(&link) {
                Some("the host's own address".to_owned())
            } else {
                family::edge::<F>(&link, gateway).map(edge_problem::<F>)
            };
            if let Some(problem) = problem {
                let diagnostic = Diagnostic::new(
                    Code::GatewayOutsideLink,
                    format!(
                        "gateway {gateway} of host `{}` on uplink `{}` is {problem}",
                        host.name.value,
                        model.uplink(attachment.uplink).name.value
                    ),
                    gateway_span.clone(),
                    "unreachable gateway",
                )
                .also(link_span.clone(), "the link");
                out.push(match F::GATEWAY_HELP {
                    Some(help) => diagnostic.help(help),
                    None => diagnostic,
                });
            }
        }
    }
}

/// SY0702's words for a gateway that is an edge address of its link.
fn edge_problem<F: Rules>(which: &str) -> String {
    if F::BROADCAST {
        "the link's network or broadcast address".to_owned()
    } else {
        format!("the link's {which} address")
    }
}
