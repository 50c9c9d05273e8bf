//! The kernel settings a host's dataplane needs, as a sysctl.d file
//! (templates/sysctl.d/90-switchyard.conf): forwarding, reverse-path filtering
//! off on the uplinks, no redirects from the LAN interfaces.

use serde::Serialize;

use super::{Header, Verbatim, nft};
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
    let lan = sorted(host.lan.iter().map(InterfaceName::as_str).collect());
    Context {
        header: header.verbatim(),
        table: nft::TABLE,
        uplink_rp_filter: uplinks
            .into_iter()
            .map(|name| interface_key(name, "rp_filter"))
            .collect(),
        lan_send_redirects: lan
            .into_iter()
            .map(|name| interface_key(name, "send_redirects"))
            .collect(),
        pair_member: host.member.is_some(),
    }
}

/// `net.ipv4.conf.IFACE.SETTING`, or with slashes when the name holds a dot (a
/// VLAN, `eth1.100`): sysctl.d reads a key whose first separator is `/` as a
/// path, where a dot is part of a name (sysctl.d(5)).
fn interface_key(interface: &str, setting: &str) -> String {
    if interface.contains('.') {
        format!("net/ipv4/conf/{interface}/{setting}")
    } else {
        format!("net.ipv4.conf.{interface}.{setting}")
    }
}
