//! The systemd-networkd backend: one .network per interface the host configures
//! (an uplink's addresses, routes in its table and RoutingPolicyRule, of each
//! family it has an address of; the `VLAN=`
//! lines of the VLAN uplinks on it; or both, when a VLAN's parent is itself an
//! uplink), and a .netdev per VLAN uplink. A VLAN parent whose administrator's
//! own unit is named (`parent_unit`) gets a drop-in for that unit instead.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ip::{Uplink, uplink};
use super::{Header, Verbatim};
use crate::family::{V4, V6};
use crate::layout::{self, UNIT_PREFIX};
use crate::plan::{HostPlan, UplinkPlan};

pub struct Unit {
    pub template: &'static str,
    /// Relative to the host's directory.
    pub file: String,
    pub context: minijinja::Value,
}

#[derive(Serialize)]
struct NetdevContext<'a> {
    header: Verbatim<'a>,
    uplink: Uplink<'a>,
}

/// networkd applies only the first .network file matching an interface, so all
/// an interface needs goes into one unit: the uplink it carries untagged, if any,
/// and the VLANs on it.
#[derive(Serialize)]
struct InterfaceContext<'a> {
    header: Verbatim<'a>,
    interface: &'a str,
    /// The uplink carried untagged, in IPv4 if it has an address of it, else
    /// in IPv6: its name, table, mark and rule priority.
    uplink: Option<Uplink<'a>>,
    /// Its link in each family.
    ipv4: Option<Uplink<'a>>,
    ipv6: Option<Uplink<'a>>,
    /// The rule's `Family=` when it is not networkd's default (IPv4): `ipv6`
    /// or `both`.
    rule_family: Option<&'static str>,
    uplink_mask_decimal: u32,
    vlans: Vec<&'a str>,
    /// On a member of a pair: keepalived adds the shared address to the uplink.
    keeps_shared_address: bool,
}

#[derive(Serialize)]
struct SyncContext<'a> {
    header: Verbatim<'a>,
    sync: super::ip::Sync<'a>,
}

/// The `VLAN=` lines for a parent the administrator's own unit configures.
#[derive(Serialize)]
struct DropInContext<'a> {
    header: Verbatim<'a>,
    interface: &'a str,
    parent_unit: &'a str,
    vlans: Vec<&'a str>,
}

#[derive(Default)]
struct Interface<'a> {
    uplink: Option<&'a UplinkPlan>,
    vlans: Vec<&'a str>,
    /// The administrator's unit for this VLAN parent (the same for all its VLANs).
    parent_unit: Option<&'a str>,
}

pub fn units(host: &HostPlan, header: &Header) -> Vec<Unit> {
    let mut units = Vec::new();
    // By name: one entry (and so one file) per interface, in a stable order.
    let mut interfaces: BTreeMap<&str, Interface> = BTreeMap::new();
    for plan_uplink in &host.uplinks {
        let interface = plan_uplink.interface.as_str();
        interfaces.entry(interface).or_default().uplink = Some(plan_uplink);
        if let Some(vlan) = &plan_uplink.vlan {
            let parent = interfaces.entry(&vlan.parent).or_default();
            parent.vlans.push(interface);
            parent.parent_unit = parent.parent_unit.or(vlan.parent_unit.as_deref());
            let context = NetdevContext {
                header: header.verbatim(),
                uplink: uplink::<V4>(plan_uplink)
                    .or_else(|| uplink::<V6>(plan_uplink))
                    .expect("checked: an attachment has an address"),
            };
            units.push(Unit {
                template: "networkd/vlan.netdev",
                file: format!("networkd/{UNIT_PREFIX}{interface}.netdev"),
                context: to_value(context),
            });
        }
    }
    for (interface, found) in interfaces {
        let unit = match (found.uplink, found.parent_unit) {
            // check rejects a parent_unit on an uplink's interface; should one get
            // here, switchyard's unit for the uplink still wins and carries the VLANs.
            (None, Some(parent_unit)) => Unit {
                template: "networkd/vlan-drop-in.conf",
                file: format!("networkd/{parent_unit}.d/{UNIT_PREFIX}vlan.conf"),
                context: to_value(DropInContext {
                    header: header.verbatim(),
                    interface,
                    parent_unit,
                    vlans: found.vlans,
                }),
            },
            (carried, _) => Unit {
                template: "networkd/interface.network",
                file: format!("networkd/{UNIT_PREFIX}{interface}.network"),
                context: to_value(InterfaceContext {
                    header: header.verbatim(),
                    interface,
                    uplink: carried.and_then(|u| uplink::<V4>(u).or_else(|| uplink::<V6>(u))),
                    ipv4: carried.and_then(uplink::<V4>),
                    ipv6: carried.and_then(uplink::<V6>),
                    rule_family: carried.and_then(rule_family),
                    uplink_mask_decimal: layout::UPLINK_MARK_MASK,
                    vlans: found.vlans,
                    keeps_shared_address: host.member.is_some() && carried.is_some(),
                }),
            },
        };
        units.push(unit);
    }
    if let (Some(link), Some(sync)) = (host.sync_link(), super::ip::sync(host)) {
        units.push(Unit {
            template: "networkd/sync.network",
            file: format!("networkd/{UNIT_PREFIX}{}.network", link.interface),
            context: to_value(SyncContext {
                header: header.verbatim(),
                sync,
            }),
        });
    }
    units
}

/// `Family=` of an uplink's RoutingPolicyRule: networkd makes an IPv4 rule
/// unless told otherwise.
fn rule_family(uplink: &UplinkPlan) -> Option<&'static str> {
    match (uplink.link::<V4>(), uplink.link::<V6>()) {
        (_, None) => None,
        (None, Some(_)) => Some("ipv6"),
        (Some(_), Some(_)) => Some("both"),
    }
}

fn to_value(context: impl Serialize) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(context))
}
