//! SY0708: no project or VM address is also an address of an uplink link: a host's
//! own address there or the gateway. A public address equal to one is DNATed to a
//! VM while it belongs to a router (the provider's or this host's own, breaking the
//! uplink); a private one is routed to the uplink instead of the VM.

use std::net::IpAddr;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::family::{Family, V4, V6};
use crate::model::{Attachment, Model, Spanned};

use super::family::{gateway, link};
use super::lookup::AddressMap;

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
    let mut link_ends: AddressMap<(), LinkEnd> = AddressMap::default();
    for host in &model.hosts {
        for attachment in &host.attachments {
            let uplink = &model.uplink(attachment.uplink).name.value;
            for (role, address, span) in ends::<V4>(attachment).chain(ends::<V6>(attachment)) {
                let end = LinkEnd {
                    role,
                    host: &host.name.value,
                    uplink,
                    span: span.clone(),
                };
                link_ends.insert_if_absent((), address, end);
            }
        }
    }
    // `what` names the address only when it conflicts: most of 100k never do.
    let mut check_one = |address: &Spanned<IpAddr>, what: &dyn Fn() -> String, help: &str| {
        if let Some(end) = link_ends.get((), address.value) {
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
        let addresses = [
            spanned_ip::<V4>(&vm.address.v4),
            spanned_ip::<V6>(&vm.address.v6),
        ];
        for address in addresses.iter().flatten() {
            check_one(address, &private, PRIVATE_HELP);
        }
    }
}

/// The attachment's addresses of family `F`: the host's own and the gateway.
fn ends<F: Family>(attachment: &Attachment) -> impl Iterator<Item = (&'static str, IpAddr, &Span)> {
    let own = link::<F>(attachment).map(|l| ("own address", F::net_address(l).into(), &l.span));
    let gateway = gateway::<F>(attachment).map(|g| ("gateway", g.value.into(), &g.span));
    own.into_iter().chain(gateway)
}

/// An address of family `F` as an address of either.
fn spanned_ip<F: Family>(address: &Option<Spanned<F::Addr>>) -> Option<Spanned<IpAddr>> {
    let address = address.as_ref()?;
    Some(Spanned::new(address.value.into(), address.span.clone()))
}
