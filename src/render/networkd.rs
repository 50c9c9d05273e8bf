//! The systemd-networkd backend: per uplink a .network (address, routes in its
//! table, RoutingPolicyRule); VLAN uplinks also a .netdev and a `VLAN=` line on the
//! parent's .network.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Header;
use super::ip::{Uplink, uplink};
use crate::plan::{self, HostPlan};

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
struct UplinkContext<'a> {
    header: &'a str,
    uplink: Uplink<'a>,
    uplink_mask_decimal: u32,
}

#[derive(Serialize)]
struct ParentContext<'a> {
    header: &'a str,
    parent: &'a str,
    vlans: Vec<&'a str>,
}

pub fn units(host: &HostPlan, header: &Header) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut parents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for plan_uplink in &host.uplinks {
        let context = UplinkContext {
            header: header.text(),
            uplink: uplink(plan_uplink),
            uplink_mask_decimal: plan::UPLINK_MARK_MASK,
        };
        let context = serde_json::to_value(context).expect("context serializes");
        let interface = &plan_uplink.interface;
        if let Some(vlan) = &plan_uplink.vlan {
            parents.entry(&vlan.parent).or_default().push(interface);
            units.push(Unit {
                template: "networkd/vlan.netdev",
                file: format!("networkd/{UNIT_PREFIX}{interface}.netdev"),
                context: context.clone(),
            });
        }
        units.push(Unit {
            template: "networkd/uplink.network",
            file: format!("networkd/{UNIT_PREFIX}{interface}.network"),
            context,
        });
    }
    for (parent, vlans) in parents {
        let context = ParentContext {
            header: header.text(),
            parent,
            vlans,
        };
        units.push(Unit {
            template: "networkd/parent.network",
            file: format!("networkd/{UNIT_PREFIX}{parent}.network"),
            context: serde_json::to_value(context).expect("context serializes"),
        });
    }
    units
}
