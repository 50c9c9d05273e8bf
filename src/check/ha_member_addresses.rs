//! SY0809: a pair's host gives every uplink `member_addresses` (each member
//! needs its own address there to probe and route from), and a host without
//! `ha` gives none (it would mean nothing).

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in model.hosts.iter().filter(|host| !host.unresolved_ha) {
        for attachment in &host.attachments {
            let uplink = &model.uplink(attachment.uplink).name.value;
            match (&host.ha, &attachment.member_addresses) {
                (Some(ha), None) => out.push(
                    Diagnostic::new(
                        Code::HaMemberAddresses,
                        format!(
                            "uplink `{uplink}` of host `{}` has no `member_addresses`, but two machines serve the host",
                            host.name.value
                        ),
                        attachment.key_span.clone(),
                        "no member_addresses",
                    )
                    .also(ha.span.clone(), "the pair")
                    .help(format!(
                        "add `member_addresses = [\"…\", \"…\"]`: the own addresses of `{}` and `{}` on the link, beside the shared `address`",
                        ha.members.0[0].value, ha.members.0[1].value
                    )),
                ),
                (None, Some(own)) => out.push(
                    Diagnostic::new(
                        Code::HaMemberAddresses,
                        format!(
                            "uplink `{uplink}` of host `{}` has `member_addresses`, but the host is not a pair",
                            host.name.value
                        ),
                        own.span.clone(),
                        "no members to give them to",
                    )
                    .help(
                        "add `[hosts.NAME.ha]` with the two machines, or remove `member_addresses`",
                    ),
                ),
                _ => {}
            }
        }
    }
}
