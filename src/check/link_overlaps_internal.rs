//! SY0714: no uplink link subnet overlaps a project network or a pool, or
//! holds a VM of the host (of a project that declares no networks, whose VMs
//! the networks do not cover). The link's connected route would take packets
//! for the overlapping VM addresses to the uplink instead of the LAN; and the provider's router finds the
//! addresses of a pool on the link by ARP, which no VM answers there (the host
//! only DNATs what is routed to it), so inbound traffic to them is lost.

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::intervals::PrefixIndex;
use crate::model::{Attachment, Host, Model};
use ipnet::Ipv4Net;

use super::uplink_link::is_routable_link;

pub fn check(model: &Model, out: &mut Diagnostics) {
    let networks = PrefixIndex::new(model.project_networks().map(|n| (n.value, n)));
    let pools = PrefixIndex::new(model.pools.iter().map(|p| (p.prefix.value, p)));
    for host in &model.hosts {
        // A /0 or /32 link is SY0706's: a /0 would overlap everything.
        let links = host.attachments.iter();
        for attachment in links.filter(|a| is_routable_link(a.address.prefix_len())) {
            let link = attachment.address.value.trunc();
            let overlaps = [
                networks.overlapping(&link).map(|network| {
                    (
                        format!("project network {}", network.value),
                        network.span.clone(),
                        "give the link its real subnet or renumber the network: packets to VMs in the \
                         overlap would be routed to the uplink, not the LAN",
                    )
                }),
                pools.overlapping(&link).map(|pool| {
                    (
                        format!("pool `{}` ({})", pool.name.value, pool.prefix.value),
                        pool.prefix.span.clone(),
                        "the provider would look for its addresses on the link by ARP, \
                         which nothing answers: have it route the pool to the host's \
                         address on the link instead",
                    )
                }),
            ];
            for (what, span, why) in overlaps.into_iter().flatten() {
                out.push(overlap(model, host, attachment, link, what, span, why));
            }
        }
    }
    for vm in &model.vms {
        if !model.project(vm.project).networks.is_empty() {
            continue;
        }
        let host = model.host(vm.host);
        let address = vm.address.value;
        // The link's own ends are SY0708's.
        let links = host.attachments.iter().filter(|a| {
            is_routable_link(a.address.prefix_len())
                && a.address.trunc().contains(&address)
                && address != a.address.addr()
                && address != a.gateway.value
        });
        for attachment in links {
            out.push(overlap(
                model,
                host,
                attachment,
                attachment.address.trunc(),
                format!("VM `{}` at {address}", vm.name.value),
                vm.address.span.clone(),
                "give the VM an address off the link: packets to it would be routed to the \
                 uplink, not the LAN",
            ));
        }
    }
}

fn overlap(
    model: &Model,
    host: &Host,
    attachment: &Attachment,
    link: Ipv4Net,
    what: String,
    span: Span,
    why: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::LinkOverlapsInternal,
        format!(
            "the link of host `{}` on uplink `{}` ({link}) overlaps {what}",
            host.name.value,
            model.uplink(attachment.uplink).name.value,
        ),
        attachment.address.span.clone(),
        "overlapping link",
    )
    .also(span, "overlapped here")
    .help(why)
}
