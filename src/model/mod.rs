//! The resolved topology: names turned into indices, strings into typed addresses.
//! No serde here; every value keeps the span it came from so checks can point at it.
//!
//! Entities are stored in name order (the raw layer's maps are sorted), so every
//! index and every iteration is deterministic.

mod checked;
mod resolve;

use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;

pub use crate::diagnostic::Span;
pub use checked::CheckedModel;
pub use resolve::{INTERVAL_RANGE, ROUNDS_MAX, is_valid_name, resolve};

/// A value and the span of the TOML text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Ids are indices into the model's vectors; only the crate makes them, so every
/// id a caller holds names an entity that exists.
macro_rules! index {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub(crate) usize);

        impl $name {
            /// The position in the model's vector of this kind (name order).
            pub fn index(self) -> usize {
                self.0
            }
        }
    )*};
}
index!(UplinkId, PoolId, HostId, ProjectId, VmId);

#[derive(Debug, Default)]
pub struct Model {
    pub uplinks: Vec<Uplink>,
    pub pools: Vec<Pool>,
    pub hosts: Vec<Host>,
    pub projects: Vec<Project>,
    pub vms: Vec<Vm>,
    /// `[failover]`: uplinks are health-checked and decisions fall back.
    pub failover: Option<Failover>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    /// The `[failover]` table, for diagnostics.
    pub span: Span,
    pub interval: Duration,
    pub down_after: u32,
    pub up_after: u32,
}

#[derive(Debug)]
pub struct Uplink {
    pub name: Spanned<String>,
    pub id: Spanned<u8>,
    /// The routing table: the explicit `table`, else 100 + id.
    pub table: Spanned<u32>,
    pub description: Option<String>,
}

#[derive(Debug)]
pub struct Pool {
    pub name: Spanned<String>,
    /// `None` when the named uplink does not exist (already reported).
    pub uplink: Option<UplinkId>,
    pub prefix: Spanned<Ipv4Net>,
    pub reserved: Vec<Spanned<Ipv4Addr>>,
    pub description: Option<String>,
}

#[derive(Debug)]
pub struct Host {
    pub name: Spanned<String>,
    pub lan: Vec<Spanned<String>>,
    /// Sorted by uplink.
    pub attachments: Vec<Attachment>,
    /// Uplinks this host has an attachment to in the file that could not be resolved
    /// (a bad address, gateway or VLAN id, already reported). Checks treat them as
    /// attached so they report no follow-on errors; the topology is invalid anyway.
    pub unresolved_attachments: Vec<UplinkId>,
    /// `[hosts.NAME.ha]`: two machines serve the host.
    pub ha: Option<Ha>,
    /// The host has an `ha` table that could not be resolved (already reported):
    /// checks that depend on whether it is a pair stay silent.
    pub unresolved_ha: bool,
    pub description: Option<String>,
}

/// A pair of machines serving one host (docs/semantics.md §12).
#[derive(Debug)]
pub struct Ha {
    /// The `[hosts.NAME.ha]` table.
    pub span: Span,
    /// The machines' names, the preferred one first.
    pub members: Pair<Spanned<String>>,
    pub vrid: Spanned<u8>,
    pub sync_interface: Spanned<String>,
    /// Each member's address on the sync link.
    pub sync_addresses: Pair<Spanned<Ipv4Net>>,
    /// The VMs' gateways, which move with the active member.
    pub lan_addresses: Vec<Spanned<Ipv4Net>>,
}

/// One value per member of a pair, in members' order (the preferred first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<T>(pub [T; 2]);

impl<T> Pair<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
    /// The value of `member`.
    pub fn get(&self, member: Member) -> &T {
        &self.0[member as usize]
    }
}

/// Which member of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Member {
    Preferred = 0,
    Other = 1,
}

impl Member {
    pub const BOTH: [Member; 2] = [Member::Preferred, Member::Other];
    pub fn peer(self) -> Member {
        match self {
            Member::Preferred => Member::Other,
            Member::Other => Member::Preferred,
        }
    }
}

#[derive(Debug)]
pub struct Attachment {
    pub uplink: UplinkId,
    /// The `[hosts.X.uplinks.NAME]` key.
    pub key_span: Span,
    pub interface: Spanned<String>,
    /// The host's address with the link's prefix length.
    pub address: Spanned<Ipv4Net>,
    pub gateway: Spanned<Ipv4Addr>,
    pub vlan: Option<Vlan>,
    /// ICMP echo targets as written; empty means the gateway.
    pub probe: Vec<Spanned<Ipv4Addr>>,
    /// With `ha`: each member's own address on the link (`address` is the
    /// shared one).
    pub member_addresses: Option<Spanned<Pair<Spanned<Ipv4Net>>>>,
}

#[derive(Debug)]
pub struct Vlan {
    pub parent: Spanned<String>,
    pub id: Spanned<u16>,
    /// The administrator's own .network file for the parent, if named.
    pub parent_unit: Option<Spanned<String>>,
}

#[derive(Debug)]
pub struct Project {
    pub name: Spanned<String>,
    pub pools: Vec<Spanned<PoolId>>,
    pub addresses: Vec<Spanned<Ipv4Addr>>,
    pub networks: Vec<Spanned<Ipv4Net>>,
    pub quota: Vec<(Spanned<PoolId>, Spanned<u32>)>,
    /// In order of preference; empty when there is none.
    pub default: Vec<Spanned<PoolId>>,
    /// A project owns addresses, not any one VM's address: its entries name pools.
    pub egress: Vec<Egress<PoolId>>,
    pub description: Option<String>,
}

#[derive(Debug)]
pub struct Vm {
    pub name: Spanned<String>,
    pub project: ProjectId,
    pub host: HostId,
    pub address: Spanned<Ipv4Addr>,
    pub public: Vec<Spanned<Ipv4Addr>>,
    /// In order of preference; empty when there is none.
    pub default: Vec<Spanned<Via>>,
    pub egress: Vec<Egress<Via>>,
    /// The MAC the VM's address is bound to, if it declares one.
    pub mac: Option<Spanned<Mac>>,
    pub description: Option<String>,
}

/// An Ethernet (EUI-48) address, written `52:54:00:12:34:56`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// The group bit: a multicast or broadcast address, never a frame's source.
    pub fn is_multicast(self) -> bool {
        self.0[0] & 1 == 1
    }
    pub fn is_zero(self) -> bool {
        self.0 == [0; 6]
    }
}

impl std::str::FromStr for Mac {
    type Err = ();
    /// Exactly six colon-separated pairs of hex digits, either case.
    fn from_str(text: &str) -> Result<Mac, ()> {
        let mut octets = [0u8; 6];
        let mut pairs = text.split(':');
        for octet in &mut octets {
            let pair = pairs.next().ok_or(())?;
            if pair.len() != 2 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(());
            }
            *octet = u8::from_str_radix(pair, 16).map_err(|_| ())?;
        }
        match pairs.next() {
            Some(_) => Err(()),
            None => Ok(Mac(octets)),
        }
    }
}

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// One destination of an egress entry; a `to` list becomes one `Egress` per prefix.
/// `V` is what its `via` may name: a pool for a project ([`PoolId`]), a pool or
/// one of the VM's addresses for a VM ([`Via`]).
#[derive(Debug, Clone)]
pub struct Egress<V> {
    pub to: Spanned<Ipv4Net>,
    /// In order of preference; never empty.
    pub via: Vec<Spanned<V>>,
}

/// What a VM's `via` or `default` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    Address(Ipv4Addr),
    Pool(PoolId),
}

impl From<PoolId> for Via {
    fn from(pool: PoolId) -> Via {
        Via::Pool(pool)
    }
}

impl Model {
    pub fn uplink(&self, id: UplinkId) -> &Uplink {
        &self.uplinks[id.0]
    }
    pub fn pool(&self, id: PoolId) -> &Pool {
        &self.pools[id.0]
    }
    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id.0]
    }
    pub fn project(&self, id: ProjectId) -> &Project {
        &self.projects[id.0]
    }

    /// The pool whose prefix contains `address`, if any (pools may overlap only in an
    /// invalid topology; then the first by name wins).
    pub fn pool_of(&self, address: Ipv4Addr) -> Option<PoolId> {
        self.pools
            .iter()
            .position(|pool| pool.prefix.contains(&address))
            .map(PoolId)
    }

    pub fn host_named(&self, name: &str) -> Option<HostId> {
        self.hosts
            .iter()
            .position(|h| h.name.value == name)
            .map(HostId)
    }

    pub fn host_ids(&self) -> impl Iterator<Item = HostId> + '_ {
        (0..self.hosts.len()).map(HostId)
    }

    pub fn vm_ids(&self) -> impl Iterator<Item = VmId> + '_ {
        (0..self.vms.len()).map(VmId)
    }

    pub fn vm(&self, id: VmId) -> &Vm {
        &self.vms[id.0]
    }

    /// The VM's public address in `pool`, if it has one.
    pub fn public_in_pool(&self, vm: &Vm, pool: PoolId) -> Option<Ipv4Addr> {
        vm.public
            .iter()
            .map(|a| a.value)
            .find(|a| self.pools[pool.0].prefix.contains(a))
    }

    /// The pool `via` leaves by for `vm`, if the VM has an address there.
    pub fn via_pool(&self, vm: &Vm, via: Via) -> Option<PoolId> {
        match via {
            Via::Address(address) => vm
                .public
                .iter()
                .any(|p| p.value == address)
                .then(|| self.pool_of(address))
                .flatten(),
            Via::Pool(pool) => self.public_in_pool(vm, pool).map(|_| pool),
        }
    }

    /// Whether an egress entry (or default) with these `via`s applies to `vm`:
    /// at least one names a pool the VM has an address in. A project-wide one
    /// that does not is skipped for the VM (warning SY0904).
    pub fn applies<V: Copy + Into<Via>>(&self, vm: &Vm, vias: &[Spanned<V>]) -> bool {
        vias.iter()
            .any(|via| self.via_pool(vm, via.value.into()).is_some())
    }

    /// The candidates of a decision (docs/semantics.md §10), best first: the
    /// pools of the winning entry's `via`s (none for a default), then of the
    /// VM's default, then of its project's, restricted to pools in which the VM
    /// has an address, each pool once. Lazy and allocation-free: the planner
    /// asks it for every decision of every VM, and often only for the first.
    pub fn candidates<'m, V: Copy + Into<Via>>(
        &'m self,
        vm: &'m Vm,
        entry: &'m [Spanned<V>],
    ) -> impl Iterator<Item = PoolId> + 'm {
        let project = self.project(vm.project);
        let vias = entry.iter().map(|via| via.value.into());
        let vias = vias.chain(vm.default.iter().map(|via| via.value));
        let vias = vias.chain(project.default.iter().map(|pool| Via::Pool(pool.value)));
        let pools = vias.filter_map(move |via| self.via_pool(vm, via));
        // Lists are a few elements long: looking back costs less than a set.
        pools
            .clone()
            .enumerate()
            .filter(move |(i, pool)| !pools.clone().take(*i).any(|earlier| earlier == *pool))
            .map(|(_, pool)| pool)
    }

    /// Every internal network: the project networks (docs/semantics.md §2 rule 1; VM addresses on
    /// a host are added per host by the planner).
    pub fn project_networks(&self) -> impl Iterator<Item = &Spanned<Ipv4Net>> {
        self.projects.iter().flat_map(|p| p.networks.iter())
    }
}
