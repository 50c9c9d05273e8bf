//! The kernel settings a host's dataplane needs, as a sysctl.d file
//! (templates/sysctl.d/90-switchyard.conf): forwarding, reverse-path filtering
//! off on the uplinks, no redirects from the LAN interfaces; with IPv6, its
//! forwarding, and on the uplinks no router advertisements accepted and their
//! addresses kept when the link goes down.

use serde::Serialize;

use super::{Header, Verbatim, nft};
use crate::family::V6;
use crate::model::InterfaceName;
use crate::plan::HostPlan;

/// The file, below the host's directory.
pub const SYSCTL_FILE: &str = "sysctl.d/90-switchyard.conf";

#[derive(Serialize)]
struct Context<'a> {
    header: Verbatim<'a>,
    table: &'static str,
    /// `net.ipv4.conf.IFACE.rp_filter` of every uplink interface.
    uplink_rp_filter: Vec<String>,
    /// `net.ipv4.conf.IFACE.send_redirects` of every LAN interface.
    lan_send_redirects: Vec<String>,
    /// A member of a pair: keepalived's shared addresses sit beside its own.
    pair_member: bool,
    /// The host forwards IPv6 ([`HostPlan::forwards`]).
    ipv6: bool,
    /// `net.ipv6.conf.IFACE.accept_ra` of every uplink interface with an IPv6
    /// address (and so a static IPv6 gateway).
    uplink_accept_ra: Vec<String>,
    /// `net.ipv6.conf.IFACE.keep_addr_on_down` of the same interfaces.
    uplink_keep_addr: Vec<String>,
}

pub fn conf_context<'a>(host: &'a HostPlan, header: &'a Header) -> impl Serialize + 'a {
    // Sorted: the plan keeps uplinks by id and LAN interfaces as written.
    let sorted = |names: Vec<&'a str>| {
        let mut names = names;
        names.sort_unstable();
        names.dedup();
        names
    };
    let uplinks = sorted(host.uplinks.iter().map(|u| u.interface.as_str()).collect());
    let ipv6_uplinks = sorted(
        host.uplinks
            .iter()
            .filter(|u| u.link::<V6>().is_some())
            .map(|u| u.interface.as_str())
            .collect(),
    );
    let lan = sorted(host.lan.iter().map(InterfaceName::as_str).collect());
    let keys = |names: Vec<&str>, family, setting| {
        names
            .into_iter()
            .map(|name| interface_key(family, name, setting))
            .collect()
    };
    Context {
        header: header.verbatim(),
        table: nft::TABLE,
        uplink_rp_filter: keys(uplinks, "ipv4", "rp_filter"),
        lan_send_redirects: keys(lan, "ipv4", "send_redirects"),
        pair_member: host.member.is_some(),
        ipv6: host.forwards::<V6>(),
        uplink_accept_ra: keys(ipv6_uplinks.clone(), "ipv6", "accept_ra"),
        uplink_keep_addr: keys(ipv6_uplinks, "ipv6", "keep_addr_on_down"),
    }
}

/// `net.FAMILY.conf.IFACE.SETTING` (FAMILY `ipv4` or `ipv6`), or with slashes
/// when the name holds a dot (a VLAN, `eth1.100`): sysctl.d reads a key whose
/// first separator is `/` as a path, where a dot is part of a name
/// (sysctl.d(5)).
fn interface_key(family: &str, interface: &str, setting: &str) -> String {
    if interface.contains('.') {
        format!("net/{family}/conf/{interface}/{setting}")
    } else {
        format!("net.{family}.conf.{interface}.{setting}")
    }
}
