//! The monitor's artifacts for a host with `[failover]`: `monitor.json` (the
//! [`monitor::Config`] the daemon reads, written with serde like the manifest)
//! and its systemd unit (templates/systemd/switchyard-monitor.service).

use std::net::IpAddr;

use serde::Serialize;

use super::nft::{DOWN_UPLINKS_SET, TABLE};
use super::{Header, Verbatim};
use crate::family::{Family, V4, V6};
use crate::layout;
use crate::monitor::{Config, Group, Uplink};
use crate::plan::{self, HostPlan, UplinkPlan};

/// Where the unit expects the binary.
pub const BINARY: &str = "/usr/bin/switchyard";

/// The text of `monitor.json`, or `None` for a host without failover.
pub fn config_json(host: &HostPlan, header: &Header) -> Option<String> {
    let failover = host.failover.as_ref()?;
    // The ids are sorted, and so are their marks.
    let groups = failover
        .groups
        .iter()
        .map(|group| Group {
            uplink_marks: group
                .uplinks
                .iter()
                .map(|&id| plan::uplink_mark(id))
                .collect(),
            ct_mark: group.ct_mark,
        })
        .collect();
    let config = Config {
        generated_by: header.text().to_owned(),
        host: host.name.to_string(),
        table: TABLE.to_owned(),
        set: DOWN_UPLINKS_SET.to_owned(),
        interval_ms: u64::try_from(failover.interval.as_millis()).unwrap_or(u64::MAX),
        down_after: failover.down_after,
        up_after: failover.up_after,
        uplink_mark_mask: layout::UPLINK_MARK_MASK,
        failover_mark_mask: layout::FAILOVER_MARK_MASK,
        movable_mark: layout::MOVABLE_MARK,
        uplinks: host
            .uplinks
            .iter()
            .map(|u| {
                let (v4, v6) = (probing::<V4>(u), probing::<V6>(u));
                Uplink {
                    name: u.name.to_string(),
                    mark: u.mark,
                    interface: u.interface.to_string(),
                    address: [&v4, &v6].iter().filter_map(|p| p.0).collect(),
                    probe: v4.1.into_iter().chain(v6.1).collect(),
                }
            })
            .collect(),
        groups,
        vrrp_health_file: host.ha.as_ref().map(|_| layout::HEALTH_FILE.into()),
    };
    let mut json = serde_json::to_string_pretty(&config).expect("the config serializes");
    json.push('\n');
    Some(json)
}

/// The uplink's address of family `F` on the link and the targets probed
/// from it, or nothing when it has no address of `F`.
fn probing<F: Family>(uplink: &UplinkPlan) -> (Option<IpAddr>, Vec<IpAddr>) {
    match uplink.link::<F>() {
        Some(link) => (
            Some(F::net_address(&link.address).into()),
            link.probe.iter().map(|&target| target.into()).collect(),
        ),
        None => (None, Vec::new()),
    }
}

#[derive(Serialize)]
struct UnitContext<'a> {
    header: Verbatim<'a>,
    host: &'a str,
    table: &'static str,
    binary: &'static str,
    config_dir: &'static str,
    /// On a member of a pair: the runtime directory of its VRRP health file.
    health_runtime_directory: Option<&'static str>,
    /// Whether it sends ICMPv6 probes, so needs IPv6 sockets.
    ipv6_probes: bool,
}

pub fn unit_context<'a>(host: &'a HostPlan, header: &'a Header) -> impl Serialize + 'a {
    UnitContext {
        header: header.verbatim(),
        host: &host.name,
        table: TABLE,
        binary: BINARY,
        config_dir: layout::CONFIG_DIR,
        health_runtime_directory: host.ha.as_ref().map(|_| layout::HEALTH_RUNTIME_DIRECTORY),
        ipv6_probes: host.uplinks.iter().any(|u| u.link::<V6>().is_some()),
    }
}
