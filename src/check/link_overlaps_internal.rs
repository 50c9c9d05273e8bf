//! SY0714: no uplink link subnet overlaps a project network or a pool of its
//! family, or holds a VM of the host (of a project that declares no networks
//! of the family, whose VMs the networks do not cover). The link's connected
//! route would take packets for the overlapping VM addresses to the uplink
//! instead of the LAN; and the provider's router finds the addresses of a pool
//! on the link by ARP (neighbour discovery), which no VM answers there (the
//! host only DNATs what is routed to it), so inbound traffic to them is lost.

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::family::{V4, V6};
use crate::intervals::PrefixIndex;
use crate::model::{Attachment, Host, Model, Spanned};

use super::family::{self, Rules};

pub fn check(model: &Model, out: &mut Diagnostics) {
    check_family::<V4>(model, out);
    check_family::<V6>(model, out);
}

fn check_family<F: Rules>(model: &Model, out: &mut Diagnostics) {
    let networks: Vec<Spanned<F::Net>> = model.project_networks::<F>().collect();
    let networks = PrefixIndex::<_, F>::new(networks.iter().map(|n| (n.value, n)));
    let pools = PrefixIndex::<_, F>::new(
        (model.pools.iter()).filter_map(|p| Some((family::prefix::<F>(p)?.value, p))),
    );
    for host in &model.hosts {
        // A /0 or /32 link is SY0706's: a /0 would overlap everything.
        let links = (host.attachments.iter())
            .filter_map(|a| Some((a, family::link::<F>(a)?)))
            .filter(|(_, link)| family::is_routable_link::<F>(F::prefix_len(&link.value)));
        for (attachment, spanned) in links {
            let link = family::trunc::<F>(&spanned.value);
            let overlaps = [
                networks.overlapping(&link).map(|network| {
                    (
                        format!("project network {}", network.value),
                        network.span.clone(),
                        "give the link its real subnet or renumber the network: packets to VMs in the \
                         overlap would be routed to the uplink, not the LAN",
                    )
                }),
                pools.overlapping(&link).and_then(|pool| {
                    let prefix = family::prefix::<F>(pool)?;
                    Some((
                        format!("pool `{}` ({})", pool.name.value, prefix.value),
                        prefix.span.clone(),
                        "the provider would look for its addresses on the link by ARP, \
                         which nothing answers: have it route the pool to the host's \
                         address on the link instead",
                    ))
                }),
            ];
            for (what, span, why) in overlaps.into_iter().flatten() {
                out.push(overlap::<F>(
                    model, host, attachment, spanned, what, span, why,
                ));
            }
        }
    }
    for vm in &model.vms {
        let Some(private) = family::private::<F>(vm) else {
            continue;
        };
        if model
            .project(vm.project)
            .networks_of::<F>()
            .next()
            .is_some()
        {
            continue;
        }
        let host = model.host(vm.host);
        let address = private.value;
        // The link's own ends are SY0708's.
        let links = (host.attachments.iter())
            .filter_map(|a| Some((a, family::link::<F>(a)?)))
            .filter(|(a, link)| {
                let link = &link.value;
                family::is_routable_link::<F>(F::prefix_len(link))
                    && F::contains(link, address)
                    && address != F::net_address(link)
                    && family::gateway::<F>(a).is_none_or(|g| address != g.value)
            });
        for (attachment, link) in links {
            out.push(overlap::<F>(
                model,
                host,
                attachment,
                link,
                format!("VM `{}` at {address}", vm.name.value),
                private.span.clone(),
                "give the VM an address off the link: packets to it would be routed to the \
                 uplink, not the LAN",
            ));
        }
    }
}

fn overlap<F: Rules>(
    model: &Model,
    host: &Host,
    attachment: &Attachment,
    address: &Spanned<F::Net>,
    what: String,
    span: Span,
    why: &str,
) -> Diagnostic {
    let link = family::trunc::<F>(&address.value);
    Diagnostic::new(
        Code::LinkOverlapsInternal,
        format!(
            "the link of host `{}` on uplink `{}` ({link}) overlaps {what}",
            host.name.value,
            model.uplink(attachment.uplink).name.value,
        ),
        address.span.clone(),
        "overlapping link",
    )
    .also(span, "overlapped here")
    .help(why)
}
