//! The systemd-networkd backend: one .network per interface the host configures
//! (an uplink's address, routes in its table and RoutingPolicyRule; the `VLAN=`
//! lines of the VLAN uplinks on it; or both, when a VLAN's parent is itself an
//! uplink), and a .netdev per VLAN uplink.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Header;
use super::ip::{Uplink, uplink};
use crate::plan::{self, HostPlan, UplinkPlan};

/// Prefix of every unit file name: sorts before most distribution defaults, so
/// these units win for their interfaces.
const UNIT_PREFIX: &str = "10-switchyard-";

pub struct Unit {
    pub template: &'static str,
    /// Relative to the host's directory.
    pub file: String,
    pub context: serde_json::Value,
}

#[derive(Serialize)]
struct NetdevContext<'a> {
    header: &'a str,
    uplink: Uplink<'a>,
}

/// networkd applies only the first .network file matching an interface, so all
/// an interface needs goes into one unit: the uplink it carries untagged, if any,
/// and the VLANs on it.
#[derive(Serialize)]
struct InterfaceContext<'a> {
    header: &'a str,
    interface: &'a str,
    uplink: Option<Uplink<'a>>,
    uplink_mask_decimal: u32,
    vlans: Vec<&'a str>,
}

#[derive(Default)]
struct Interface<'a> {
    uplink: Option<&'a UplinkPlan>,
    vlans: Vec<&'a str>,
}

pub fn units(host: &HostPlan, header: &Header) -> Vec<Unit> {
    let mut units = Vec::new();
    // By name: one entry (and so one file) per interface, in a stable order.
    let mut interfaces: BTreeMap<&str, Interface> = BTreeMap::new();
    for plan_uplink in &host.uplinks {
        let interface = plan_uplink.interface.as_str();
        interfaces.entry(interface).or_default().uplink = Some(plan_uplink);
        if let Some(vlan) = &plan_uplink.vlan {
            interfaces
                .entry(&vlan.parent)
                .or_default()
                .vlans
                .push(interface);
            let context = NetdevContext {
                header: header.text(),
                uplink: uplink(plan_uplink),
            };
            units.push(Unit {
                template: "networkd/vlan.netdev",
                file: format!("networkd/{UNIT_PREFIX}{interface}.netdev"),
                context: serde_json::to_value(context).expect("context serializes"),
            });
        }
    }
    for (
        interface,
        Interface {
            uplink: carried,
            vlans,
        },
    ) in interfaces
    {
        let context = InterfaceContext {
            header: header.text(),
            interface,
            uplink: carried.map(uplink),
            uplink_mask_decimal: plan::UPLINK_MARK_MASK,
            vlans,
        };
        units.push(Unit {
            template: "networkd/interface.network",
            file: format!("networkd/{UNIT_PREFIX}{interface}.network"),
            context: serde_json::to_value(context).expect("context serializes"),
        });
    }
    units
}
