//! SY0702: an uplink's gateway lies on its link: inside the attachment's prefix,
//! not the host's own address, not the link's network or broadcast address.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        for attachment in &host.attachments {
            let link = attachment.address.value;
            if !super::uplink_link::is_routable_link(link.prefix_len()) {
                // SY0706 says why no gateway fits on this link.
                continue;
            }
            let gateway = attachment.gateway.value;
            let problem = if !link.contains(&gateway) {
                Some(format!("outside the link {}", link.trunc()))
            } else if gateway == link.addr() {
                Some("the host's own address".to_owned())
            } else if link.prefix_len() < 31
                && (gateway == link.network() || gateway == link.broadcast())
            {
                Some("the link's network or broadcast address".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                out.push(
                    Diagnostic::new(
                        Code::GatewayOutsideLink,
                        format!(
                            "gateway {gateway} of host `{}` on uplink `{}` is {problem}",
                            host.name.value,
                            model.uplink(attachment.uplink).name.value
                        ),
                        attachment.gateway.span.clone(),
                        "unreachable gateway",
                    )
                    .also(attachment.address.span.clone(), "the link"),
                );
            }
        }
    }
}
