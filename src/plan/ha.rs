//! A pair of machines serving one host (docs/semantics.md §12): what each member
//! configures as its own, what keepalived moves between them, and the VRRP
//! priorities that decide which member is active.

use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};

use crate::model::{Attachment, Host, InterfaceName, Member, Model, Name, Pair};

use super::{HostPlan, UplinkNumber};

/// VRRP priority of the member that is not preferred, before health: the
/// preferred one has one more, so it wins at equal health (the monitor's
/// health, `crate::monitor::ha`, weighs an uplink more than that one point).
pub const BASE_PRIORITY: u8 = 100;
/// The pair's decisions, from `[hosts.NAME.ha]` and the uplinks' `member_addresses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaPlan {
    /// The VRRP virtual router id.
    pub vrid: u8,
    /// The link between the members: VRRP adverts and conntrackd's sync.
    pub sync_interface: InterfaceName,
    /// Every address keepalived moves, with its interface: the VMs' gateways on
    /// the host's first LAN interface, then each uplink's shared address, by
    /// uplink id.
    pub shared: Vec<SharedAddress>,
    /// In members' order, the preferred one first.
    pub members: Pair<MemberPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedAddress {
    pub interface: InterfaceName,
    pub address: IpNet,
}

/// What one member configures as its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPlan {
    /// The machine's name: its build directory.
    pub name: Name,
    /// Its VRRP priority before health.
    pub priority: u8,
    /// Its address on the sync link.
    pub sync_address: Ipv4Net,
    /// Its own address on each uplink, by uplink id.
    pub uplink_addresses: Vec<(UplinkNumber, Ipv4Net)>,
}

impl HaPlan {
    pub fn member(&self, member: Member) -> &MemberPlan {
        self.members.get(member)
    }

    /// Every address of the pair that is a machine's own, never moved: both
    /// members' sync and uplink addresses.
    pub fn own_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.members.iter().flat_map(|member| {
            std::iter::once(member.sync_address.addr())
                .chain(member.uplink_addresses.iter().map(|(_, a)| a.addr()))
        })
    }

    /// The peer's address on the sync link, where `member` sends its adverts
    /// and its connection state.
    pub fn peer_sync_address(&self, member: Member) -> Ipv4Addr {
        self.member(member.peer()).sync_address.addr()
    }
}

/// The plan of `host`'s pair, if it has one.
pub(super) fn plan(model: &Model, host: &Host) -> Option<HaPlan> {
    let ha = host.ha.as_ref()?;
    // By uplink id: (id, the attachment, each member's own address).
    let mut uplinks: Vec<(UplinkNumber, &Attachment, Pair<Ipv4Net>)> = host
        .attachments
        .iter()
        .filter_map(|attachment| {
            let own = attachment.member_addresses.as_ref()?;
            Some((
                UplinkNumber(model.uplink(attachment.uplink).id.value),
                attachment,
                Pair(own.value.0.clone().map(|address| address.value)),
            ))
        })
        .collect();
    uplinks.sort_by_key(|(id, ..)| *id);
    // The first LAN interface as written: the one the VMs' gateways go on.
    let mut gateways: Vec<IpNet> = ha.lan_addresses.iter().map(|a| a.value).collect();
    gateways.sort_unstable();
    let lan_shared = host.lan.first().into_iter().flat_map(|lan| {
        gateways.iter().map(|address| SharedAddress {
            interface: lan.value.clone(),
            address: *address,
        })
    });
    let uplink_shared = uplinks.iter().map(|(_, attachment, _)| SharedAddress {
        interface: attachment.interface.value.clone(),
        address: IpNet::V4(
            attachment
                .address
                .v4
                .as_ref()
                .expect("checked: IPv4 on a pair's uplinks")
                .value,
        ),
    });
    let shared = lan_shared.chain(uplink_shared).collect();
    let members = Pair(Member::BOTH.map(|member| {
        MemberPlan {
            name: ha.members.get(member).value.clone(),
            priority: match member {
                Member::Preferred => BASE_PRIORITY + 1,
                Member::Other => BASE_PRIORITY,
            },
            sync_address: ha.sync_addresses.get(member).value,
            uplink_addresses: uplinks
                .iter()
                .map(|(id, _, own)| (*id, *own.get(member)))
                .collect(),
        }
    }));
    Some(HaPlan {
        vrid: ha.vrid.value,
        sync_interface: ha.sync_interface.value.clone(),
        shared,
        members,
    })
}

/// A member's end of the sync link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLink<'p> {
    pub interface: &'p str,
    /// The member's own address on it.
    pub address: Ipv4Net,
    /// The other member's name.
    pub peer: &'p str,
}

impl HostPlan {
    /// The sync link, when this is a member's plan ([`HostPlan::for_member`]).
    pub fn sync_link(&self) -> Option<SyncLink<'_>> {
        let (ha, member) = (self.ha.as_ref()?, self.member?);
        Some(SyncLink {
            interface: &ha.sync_interface,
            address: ha.member(member).sync_address,
            peer: &ha.member(member.peer()).name,
        })
    }

    /// The plans of the machines that serve this host: its pair's members in
    /// members' order, or the host itself.
    pub fn machines(&self) -> Vec<HostPlan> {
        match self.ha {
            Some(_) => Member::BOTH
                .into_iter()
                .filter_map(|member| self.for_member(member))
                .collect(),
            None => vec![self.clone()],
        }
    }

    /// What `member` of this host's pair configures as its own: this plan,
    /// named after the member, its uplinks carrying the member's own
    /// addresses instead of the shared ones (which are keepalived's). `None`
    /// for a host that is not a pair.
    pub fn for_member(&self, member: Member) -> Option<HostPlan> {
        let ha = self.ha.as_ref()?;
        let own = ha.member(member);
        let mut plan = self.clone();
        plan.name = own.name.clone();
        plan.member = Some(member);
        for uplink in &mut plan.uplinks {
            if let Some((_, address)) = own.uplink_addresses.iter().find(|(id, _)| *id == uplink.id)
                && let Some(link) = &mut uplink.link.v4
            {
                link.address = *address;
            }
        }
        Some(plan)
    }
}
