//! SY0808: no address twice among a pair's: each uplink's shared address,
//! gateway and members' own, the sync addresses and the VMs' gateways. Two
//! machines, or keepalived and a machine, would claim one address. (On a link
//! too small for a pair, SY0807, the members' addresses are left to it.)

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        let Some(ha) = &host.ha else {
            continue;
        };
        // Every address of the pair, with its span and what it is, in file order.
        let mut addresses: Vec<(IpAddr, &Span, String)> = Vec::new();
        for (member, address) in ha.members.iter().zip(ha.sync_addresses.iter()) {
            let what = format!("`{}`'s sync address", member.value);
            addresses.push((address.value.addr().into(), &address.span, what));
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
            // A pair's uplinks are IPv4 (an IPv6 address there is SY1006's).
            if let Some(shared) = &attachment.address.v4 {
                let what = format!("the shared address on `{uplink}`");
                addresses.push((shared.value.addr().into(), &shared.span, what));
            }
            if let Some(gateway) = &attachment.gateway.v4 {
                let what = format!("the gateway of `{uplink}`");
                addresses.push((gateway.value.into(), &gateway.span, what));
            }
            let room = (attachment.address.v4.as_ref())
                .is_some_and(|link| super::ha_links::fits_a_pair(link.value.prefix_len()));
            let own = attachment
                .member_addresses
                .iter()
                .filter(|_| room)
                .flat_map(|own| own.value.iter());
            for (member, address) in ha.members.iter().zip(own) {
                let what = format!("`{}`'s own address on `{uplink}`", member.value);
                addresses.push((address.value.addr().into(), &address.span, what));
            }
        }
        addresses.sort_by_key(|(_, span, _)| span.start);
        let mut first: BTreeMap<IpAddr, (&Span, &str)> = BTreeMap::new();
        for (address, span, what) in &addresses {
            match first.get(address) {
                Some((earlier, earlier_what)) => out.push(
                    Diagnostic::used_again(
                        Code::HaAddressTwice,
                        format!(
                            "{address} of host `{}`'s pair is both {earlier_what} and {what}",
                            host.name.value
                        ),
                        (*span).clone(),
                        (*earlier).clone(),
                    )
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
