//! SY0808: no address twice among a pair's: each uplink's shared address,
//! gateway and members' own, the sync addresses and the VMs' gateways. Two
//! machines, or keepalived and a machine, would claim one address. (On a link
//! too small for a pair, SY0807, the members' addresses are left to it.) (On a link
//! too small for a pair, SY0807, the members' addresses are left to it.)

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        let Some(ha) = &host.ha else {
            continue;
        };
        // Every address of the pair, with its span and what it is, in file order.
        let mut addresses: Vec<(Ipv4Addr, &Span, String)> = Vec::new();
        for (member, address) in ha.members.iter().zip(ha.sync_addresses.iter()) {
            let what = format!("`{}`'s sync address", member.value);
            addresses.push((address.value.addr(), &address.span, what));
        }
        for address in &ha.lan_addresses {
            addresses.push((
                address.value.addr(),
                &address.span,
                "a VMs' gateway".to_owned(),
            ));
        }
        for attachment in &host.attachments {
            let uplink = &model.uplink(attachment.uplink).name.value;
            let shared = (attachment.address.value.addr(), &attachment.address.span);
            addresses.push((
                shared.0,
                shared.1,
                format!("the shared address on `{uplink}`"),
            ));
            let gateway = (attachment.gateway.value, &attachment.gateway.span);
            addresses.push((gateway.0, gateway.1, format!("the gateway of `{uplink}`")));
            let room = super::ha_links::fits_a_pair(attachment.address.value.prefix_len());
            let own = attachment
                .member_addresses
                .iter()
                .filter(|_| room)
                .flat_map(|own| own.value.iter());
            for (member, address) in ha.members.iter().zip(own) {
                let what = format!("`{}`'s own address on `{uplink}`", member.value);
                addresses.push((address.value.addr(), &address.span, what));
            }
        }
        addresses.sort_by_key(|(_, span, _)| span.start);
        let mut first: BTreeMap<Ipv4Addr, (&Span, &str)> = BTreeMap::new();
        for (address, span, what) in &addresses {
            match first.get(address) {
                Some((earlier, earlier_what)) => out.push(
                    Diagnostic::new(
                        Code::HaAddressTwice,
                        format!(
                            "{address} of host `{}`'s pair is both {earlier_what} and {what}",
                            host.name.value
                        ),
                        (*span).clone(),
                        "used again",
                    )
                    .also((*earlier).clone(), "first used here")
                    .help(
                        "every machine, keepalived and the gateway each need an address of \
                         their own: give each a different one",
                    ),
                ),
                None => {
                    first.insert(*address, (span, what));
                }
            }
        }
    }
}
