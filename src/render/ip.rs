//! The `ip -batch` backend: one fwmark rule and one routing table per uplink,
//! and a permanent neighbour entry per MAC-bound VM, per family: IPv4 in
//! templates/switchyard.ip, IPv6 in templates/switchyard6.ip (for `ip -6
//! -batch`: `ip` refuses `-6` inside a batch), written only for a host that
//! forwards IPv6 ([`HostPlan::forwards`]): a topology without IPv6 builds what
//! it built before.

use std::fmt::Write as _;

use minijinja::Value;
use serde::Serialize;

use super::{Header, Verbatim};
use crate::family::{Family, V6};
use crate::layout::{self, hex};
use crate::plan::{self, HostPlan, UplinkPlan};

#[derive(Serialize)]
struct Context<'a> {
    header: Verbatim<'a>,
    protocol: u8,
    uplink_mask: String,
    uplinks: Vec<Uplink<'a>>,
    /// `neigh replace` lines, each starting with a newline.
    neighbours: Value,
    /// On a member of a pair: its end of the sync link.
    sync: Option<Sync<'a>>,
    /// The host forwards IPv6: the IPv4 batch's route and neighbour flushes
    /// name IPv4's space, or in a plain batch they would take IPv6's too.
    ipv6: bool,
}

/// A member's address on the sync link, as the ip batch and networkd set it.
#[derive(Serialize)]
pub(super) struct Sync<'a> {
    interface: &'a str,
    address: String,
    peer: &'a str,
}

pub(super) fn sync(host: &HostPlan) -> Option<Sync<'_>> {
    host.sync_link().map(|link| Sync {
        interface: link.interface,
        address: link.address.to_string(),
        peer: link.peer,
    })
}

/// An uplink as both the ip batch and networkd spell it.
#[derive(Serialize)]
pub(super) struct Uplink<'a> {
    name: &'a str,
    id: u8,
    interface: &'a str,
    mark: String,
    mark_decimal: u32,
    table: u32,
    priority: u32,
    /// The host's address with prefix length: `192.0.2.2/30`.
    address: String,
    host_address: String,
    /// The link's network: `192.0.2.0/30`.
    network: String,
    gateway: String,
    vlan: Option<Vlan<'a>>,
}

#[derive(Serialize)]
pub(super) struct Vlan<'a> {
    parent: &'a str,
    id: u16,
}

/// The uplink in family `F`, if the host has an address of it there.
pub(super) fn uplink<F: Family>(uplink: &UplinkPlan) -> Option<Uplink<'_>> {
    let link = uplink.link::<F>()?;
    Some(Uplink {
        name: &uplink.name,
        id: uplink.id.0,
        interface: &uplink.interface,
        mark: hex(uplink.mark),
        mark_decimal: uplink.mark,
        table: uplink.table,
        priority: uplink.rule_priority,
        address: link.address.to_string(),
        host_address: F::net_address(&link.address).to_string(),
        network: F::first(&link.address).to_string()
            + &format!("/{}", F::prefix_len(&link.address)),
        gateway: link.gateway.to_string(),
        vlan: uplink.vlan.as_ref().map(|v| Vlan {
            parent: &v.parent,
            id: v.id,
        }),
    })
}

/// The batch of family `F`. The sync link of a pair is IPv4 (the template of
/// IPv6 has no place for it).
pub fn batch_context<'a, F: Family>(host: &'a HostPlan, header: &'a Header) -> impl Serialize + 'a {
    Context {
        header: header.verbatim(),
        protocol: plan::ROUTE_PROTOCOL,
        uplink_mask: hex(layout::UPLINK_MARK_MASK),
        uplinks: host.uplinks.iter().filter_map(uplink::<F>).collect(),
        neighbours: Value::from_safe_string(neighbours::<F>(host)),
        sync: sync(host),
        ipv6: host.forwards::<V6>(),
    }
}

/// Every MAC binding of family `F` on every LAN interface: whichever one the
/// host reaches the VM by, ARP or neighbour discovery cannot point its address
/// at another machine (docs/semantics.md §8).
fn neighbours<F: Family>(host: &HostPlan) -> String {
    let mut lines = String::new();
    for lan in &host.lan {
        for (address, mac) in &host.family::<F>().mac_bindings {
            // Writing to a String cannot fail.
            let _ = write!(
                lines,
                "\nneigh replace {address} lladdr {mac} dev {lan} nud permanent protocol {}",
                plan::ROUTE_PROTOCOL
            );
        }
    }
    lines
}
