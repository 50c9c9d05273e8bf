//! The artifacts of a member of a pair (docs/semantics.md §12): keepalived's
//! configuration (one VRRP instance moving every shared address), conntrackd's
//! (reliable sync of the connection table over the sync link), the script
//! keepalived runs on every state change, and the units that start both.

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use super::{Header, Verbatim};
use crate::layout::{CONFIG_DIR, HEALTH_FILE};
use crate::model::{InterfaceName, Member};
use crate::monitor::ha::HEALTH_WEIGHT;
use crate::plan::HostPlan;
use crate::plan::ha::HaPlan;

pub const KEEPALIVED_CONF: &str = "keepalived.conf";

/// The files, below the member's directory, each rendered from the template
/// of its name.
pub const FILES: [&str; 5] = [
    KEEPALIVED_CONF,
    "conntrackd.conf",
    "ha-notify.sh",
    "systemd/switchyard-keepalived.service",
    "systemd/switchyard-conntrackd.service",
];

/// conntrackd's lock file and control socket live in its unit's runtime
/// directory, which systemd removes whenever the daemon stops, killed or not:
/// a stale lock file never keeps it from starting again.
const CONNTRACKD_RUNTIME: &str = "switchyard-conntrackd";
const CONNTRACKD_RUN_DIR: &str = "/run/switchyard-conntrackd";
/// VRRPv3 advertisement interval: a backup takes over after three missed
/// adverts and its skew, about 0.7 s, within the 1.4 s a 2 s TCP gap allows.
const ADVERT_INTERVAL: &str = "0.2";
/// Seconds a returning preferred member waits before it takes the role back:
/// time for conntrackd to fetch the peer's connections (measured: a fail-back
/// after 3 s leaves a 0.1 s TCP gap).
const PREEMPT_DELAY_S: u32 = 3;
/// conntrackd's sync port (its default).
const SYNC_PORT: u16 = 3780;

#[derive(Serialize)]
struct Context<'a> {
    header: Verbatim<'a>,
    host: &'a str,
    member: &'a str,
    peer: &'a str,
    config_dir: &'static str,
    vrid: u8,
    priority: u8,
    advert_interval: &'static str,
    preempt_delay: u32,
    health_file: &'static str,
    health_weight: i32,
    sync_interface: &'a str,
    sync_address: Ipv4Addr,
    peer_sync_address: Ipv4Addr,
    sync_port: u16,
    conntrackd_run_dir: &'static str,
    conntrackd_runtime: &'static str,
    /// `ADDRESS/LEN dev INTERFACE` and whether its interface's carrier counts:
    /// the IPv4 ones (the instance's family, in its adverts) …
    shared: Vec<Shared>,
    /// … and the IPv6 ones, which keepalived moves with the instance but
    /// does not advertise (`virtual_ipaddress_excluded`: one instance, one
    /// family).
    shared_other_family: Vec<Shared>,
    /// Addresses whose connections are not synchronised: the pair's own
    /// (the machines', the shared ones, loopback), with conntrackd's key.
    ignored: Vec<Ignored>,
}

#[derive(Serialize)]
struct Ignored {
    /// `IPv4_address` or `IPv6_address`.
    key: &'static str,
    address: IpAddr,
}

#[derive(Serialize)]
struct Shared {
    address: String,
    interface: String,
    /// The VMs' gateways: a member whose LAN link is down cannot serve (its
    /// instance faults). Uplinks are judged by the monitor's health instead.
    track: bool,
}

/// The context of every HA artifact of `member` of `host`'s pair, from the
/// member's plan ([`HostPlan::for_member`]).
pub fn member_context<'a>(
    host: &'a str,
    plan: &'a HostPlan,
    ha: &'a HaPlan,
    member: Member,
    header: &'a Header,
) -> impl Serialize + 'a {
    let own = ha.member(member);
    let lan: Vec<&str> = plan.lan.iter().map(InterfaceName::as_str).collect();
    let shared = ha.shared.iter().map(|shared| shared.address.addr());
    let machines = ha.own_addresses().map(IpAddr::V4);
    let mut ignored: Vec<IpAddr> = machines.chain(shared).collect();
    ignored.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    ignored.sort_unstable();
    ignored.dedup();
    let ignored = ignored
        .into_iter()
        .map(|address| Ignored {
            key: if address.is_ipv4() {
                "IPv4_address"
            } else {
                "IPv6_address"
            },
            address,
        })
        .collect();
    let shared = |v4: bool| -> Vec<Shared> {
        ha.shared
            .iter()
            .filter(|shared| shared.address.addr().is_ipv4() == v4)
            .map(|shared| Shared {
                address: shared.address.to_string(),
                interface: shared.interface.to_string(),
                track: lan.contains(&shared.interface.as_str()),
            })
            .collect()
    };
    Context {
        header: header.verbatim(),
        host,
        member: &own.name,
        peer: &ha.member(member.peer()).name,
        config_dir: CONFIG_DIR,
        vrid: ha.vrid,
        priority: own.priority,
        advert_interval: ADVERT_INTERVAL,
        preempt_delay: PREEMPT_DELAY_S,
        health_file: HEALTH_FILE,
        health_weight: HEALTH_WEIGHT,
        sync_interface: &ha.sync_interface,
        sync_address: own.sync_address.addr(),
        peer_sync_address: ha.peer_sync_address(member),
        sync_port: SYNC_PORT,
        conntrackd_run_dir: CONNTRACKD_RUN_DIR,
        conntrackd_runtime: CONNTRACKD_RUNTIME,
        shared: shared(true),
        shared_other_family: shared(false),
        ignored,
    }
}
