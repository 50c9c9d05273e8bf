//! SY0708: no project or VM address is also an address of an uplink link: a host's
//! own address there or the gateway. A public address equal to one is DNATed to a
//! VM while it belongs to a router (the provider's or this host's own, breaking the
//! uplink); a private one is routed to the uplink instead of the VM.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::model::{Model, Spanned};

/// One end of an uplink link, as a secondary label.
struct LinkEnd<'m> {
    role: &'static str,
    host: &'m str,
    uplink: &'m str,
    span: Span,
}

const PUBLIC_HELP: &str = "a router's address cannot also be a VM's: reserve it in its pool \
                           (`reserved`) and allocate another";
const PRIVATE_HELP: &str = "give the VM another address: packets to this one go to the uplink";

pub fn check(model: &Model, out: &mut Diagnostics) {
    let mut link_ends: HashMap<Ipv4Addr, LinkEnd> = HashMap::new();
    for host in &model.hosts {
        for attachment in &host.attachments {
            let uplink = &model.uplink(attachment.uplink).name.value;
            let ends = [
                (
                    "own address",
                    attachment.address.addr(),
                    &attachment.address.span,
                ),
                (
                    "gateway",
                    attachment.gateway.value,
                    &attachment.gateway.span,
                ),
            ];
            for (role, address, span) in ends {
                link_ends.entry(address).or_insert_with(|| LinkEnd {
                    role,
                    host: &host.name.value,
                    uplink,
                    span: span.clone(),
                });
            }
        }
    }
    // `what` names the address only when it conflicts: most of 100k never do.
    let mut check_one = |address: &Spanned<Ipv4Addr>, what: &dyn Fn() -> String, help: &str| {
        if let Some(end) = link_ends.get(&address.value) {
            out.push(
                Diagnostic::new(
                    Code::AddressIsUplinkAddress,
                    format!(
                        "{} {} is also the {} of host `{}` on uplink `{}`",
                        what(),
                        address.value,
                        end.role,
                        end.host,
                        end.uplink
                    ),
                    address.span.clone(),
                    format!("an uplink's {}", end.role),
                )
                .also(end.span.clone(), format!("{} here", end.role))
                .help(help),
            );
        }
    };
    for project in &model.projects {
        let what = || format!("project `{}` address", project.name.value);
        for address in &project.addresses {
            check_one(address, &what, PUBLIC_HELP);
        }
    }
    for vm in &model.vms {
        let public = || format!("VM `{}` public address", vm.name.value);
        for address in &vm.public {
            check_one(address, &public, PUBLIC_HELP);
        }
        let private = || format!("VM `{}` private address", vm.name.value);
        check_one(&vm.address, &private, PRIVATE_HELP);
    }
}
