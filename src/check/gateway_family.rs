//! SY1005: an uplink attachment has a gateway of each family it has an
//! address of, and an address of each family it has a gateway of. Without
//! the gateway the family's default route in the uplink's table has nowhere
//! to go; without the address the host has no source on the link to reach
//! the gateway from.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::{Family, V4, V6};
use crate::model::Model;

use super::family::{gateway, link};

pub fn check(model: &Model, out: &mut Diagnostics) {
    check_family::<V4>(model, out);
    check_family::<V6>(model, out);
}

fn check_family<F: Family>(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        for attachment in &host.attachments {
            let (has, lacks, span, fix) = match (link::<F>(attachment), gateway::<F>(attachment)) {
                (Some(address), None) => (
                    "address",
                    "gateway",
                    address.span.clone(),
                    format!("add the link's {} gateway to `gateway`", F::NAME),
                ),
                (None, Some(gateway)) => (
                    "gateway",
                    "address",
                    gateway.span.clone(),
                    format!(
                        "add the host's {} address on the link, with its prefix length, to `address`",
                        F::NAME
                    ),
                ),
                _ => continue,
            };
            let name = F::NAME;
            out.push(
                Diagnostic::new(
                    Code::GatewayFamily,
                    format!(
                        "uplink `{}` of host `{}` has an {name} {has} but no {name} {lacks}",
                        model.uplink(attachment.uplink).name.value,
                        host.name.value
                    ),
                    span,
                    format!("no {name} {lacks} beside it"),
                )
                .help(format!(
                    "{fix}; or remove this {has} if the uplink carries no {name}"
                )),
            );
        }
    }
}
