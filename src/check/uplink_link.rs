//! SY0706, SY0707: an uplink's link of each family can carry the routes
//! switchyard generates for it, and the host's address on it is a host address
//! of the link.
//!
//! Every uplink gets, in its own table, a link route to the link's network and a
//! default route via the gateway. Tried on Linux (`ip -batch` and networkd): on a
//! /0 link the link route *is* the default route, so the gateway route fails
//! ("File exists") or networkd silently drops it; on a /32 link the gateway can
//! never be on-link ("Nexthop has invalid gateway"; networkd drops the route). A
//! /31 link (RFC 3021) works: both addresses are hosts. An IPv6 /128 link works
//! with a link-local gateway (SY0702 refuses any other).

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
            let Some(spanned) = family::link::<F>(attachment) else {
                continue;
            };
            let link = spanned.value;
            let prefix_len = F::prefix_len(&link);
            let uplink = &model.uplink(attachment.uplink).name.value;
            if !family::is_routable_link::<F>(prefix_len) {
                let why = if prefix_len == 0 {
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
                        spanned.span.clone(),
                        format!("a /{prefix_len} link"),
                    )
                    .help(format!(
                        "give the link's real prefix length, {}",
                        F::LINK_LENGTHS
                    )),
                );
            } else if let Some(which) = family::edge::<F>(&link, F::net_address(&link)) {
                let (first, last) = family::usable::<F>(&link);
                out.push(
                    Diagnostic::new(
                        Code::UplinkAddressNotUsable,
                        format!(
                            "the address of host `{}` on uplink `{uplink}`, {}, is the \
                             {which} address of its link {}",
                            host.name.value,
                            F::net_address(&link),
                            family::trunc::<F>(&link)
                        ),
                        spanned.span.clone(),
                        format!("{which} address"),
                    )
                    .help(format!(
                        "use the address the provider assigned, between {first} and {last}"
                    )),
                );
            }
        }
    }
}
