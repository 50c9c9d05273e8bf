//! SY0810, SY0811: what a pair needs beyond its own table. `[failover]`: the
//! monitor is what tells keepalived each member's health (without it neither
//! member would give up being active when its uplinks die). And the VMs'
//! gateways: `lan_addresses` on a host with a LAN interface to put them on.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        let Some(ha) = &host.ha else {
            continue;
        };
        if model.failover.is_none() {
            out.push(
                Diagnostic::new(
                    Code::HaWithoutFailover,
                    format!(
                        "host `{}` is served by a pair, but the topology has no `[failover]`",
                        host.name.value
                    ),
                    ha.span.clone(),
                    "a pair",
                )
                .help(
                    "add `[failover]` (its defaults will do): each member's monitor tells \
                     keepalived how many of its uplinks work",
                ),
            );
        }
        let problem = match (host.lan.is_empty(), ha.lan_addresses.is_empty()) {
            (false, true) => Some(
                "has no `lan_addresses`: the VMs would have no gateway that moves with the active member",
            ),
            (true, false) => Some("has `lan_addresses` but no LAN interface to put them on"),
            _ => None,
        };
        if let Some(problem) = problem {
            out.push(
                Diagnostic::new(
                    Code::HaLanAddresses,
                    format!("the pair of host `{}` {problem}", host.name.value),
                    ha.span.clone(),
                    "the pair",
                )
                .also(host.name.span.clone(), "the host")
                .help(
                    "give `lan_addresses` (the VMs' gateway, with prefix length) and list the \
                     host's LAN interfaces in `lan`: the first carries them",
                ),
            );
        }
    }
}
