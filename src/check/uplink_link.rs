//! SY0706, SY0707: an uplink's link can carry the routes switchyard generates for
//! it, and the host's address on it is a host address of the link.
//!
//! Every uplink gets, in its own table, a link route to the link's network and a
//! default route via the gateway. Tried on Linux (`ip -batch` and networkd): on a
//! /0 link the link route *is* the default route, so the gateway route fails
//! ("File exists") or networkd silently drops it; on a /32 link the gateway can
//! never be on-link ("Nexthop has invalid gateway"; networkd drops the route). A
//! /31 link (RFC 3021) works: both addresses are hosts.

use ipnet::Ipv4Net;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

/// A link of this prefix length has room for the host and a gateway, and its link
/// route is not a default route.
pub(super) fn is_routable_link(prefix_len: u8) -> bool {
    (1..=31).contains(&prefix_len)
}

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        for attachment in &host.attachments {
            let link = attachment.address.value;
            let uplink = &model.uplink(attachment.uplink).name.value;
            if !is_routable_link(link.prefix_len()) {
                let why = if link.prefix_len() == 0 {
                    "a /0 link route is the default route, which the gateway route needs"
                } else {
                    "a /32 link holds only the host's address and no gateway"
                };
                out.push(
                    Diagnostic::new(
                        Code::UnroutableLinkPrefix,
                        format!(
                            "the link of host `{}` on uplink `{uplink}` is {link}: {why}",
                            host.name.value
                        ),
                        attachment.address.span.clone(),
                        format!("a /{} link", link.prefix_len()),
                    )
                    .help(
                        "give the link's real prefix length, /1 to /31 (a point-to-point \
                         link is a /31 or a /30)",
                    ),
                );
            } else if link.prefix_len() < 31
                && (link.addr() == link.network() || link.addr() == link.broadcast())
            {
                let which = if link.addr() == link.network() {
                    "network"
                } else {
                    "broadcast"
                };
                out.push(
                    Diagnostic::new(
                        Code::UplinkAddressNotUsable,
                        format!(
                            "the address of host `{}` on uplink `{uplink}`, {}, is the \
                             {which} address of its link {}",
                            host.name.value,
                            link.addr(),
                            link.trunc()
                        ),
                        attachment.address.span.clone(),
                        format!("{which} address"),
                    )
                    .help(host_range_help(link)),
                );
            }
        }
    }
}

fn host_range_help(link: Ipv4Net) -> String {
    let mut hosts = link.trunc().hosts();
    match (hosts.next(), hosts.next_back()) {
        (Some(first), Some(last)) => {
            format!("use the address the provider assigned, between {first} and {last}")
        }
        _ => "use the address the provider assigned".to_owned(),
    }
}
