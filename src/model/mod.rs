//! The resolved topology: names turned into indices, strings into typed addresses
//! and names ([`Name`], [`InterfaceName`]: checked once, here). Nothing is read
//! with serde here; every value keeps the span it came from so checks can point at it.
//!
//! Entities are stored in name order (the raw layer's maps are sorted), so every
//! index and every iteration is deterministic.

mod checked;
mod entry;
mod names;
mod resolve;

use std::net::IpAddr;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net};

use crate::family::{Both, Family, PerFamily};

pub use crate::diagnostic::Span;
pub use checked::CheckedModel;
pub use entry::{EntryId, Scope};
pub use names::{InterfaceName, Name, NetworkUnitName, interface_problem, is_valid_name};
pub use resolve::{INTERVAL_RANGE, ROUNDS_MAX, resolve};

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

/// A key that holds at most one address per family (`address = ["10.0.0.5",
/// "2001:db8:10::5"]`), each with its span.
pub type Addresses = Both<SpannedAddress>;
/// A key that holds at most one prefix per family, each with its span.
pub type Prefixes = Both<SpannedNet>;

/// [`Addresses`]' value for a family.
#[derive(Debug)]
pub struct SpannedAddress;
impl PerFamily for SpannedAddress {
    type Of<F: Family> = Option<Spanned<F::Addr>>;
}

/// [`Prefixes`]' value for a family.
#[derive(Debug)]
pub struct SpannedNet;
impl PerFamily for SpannedNet {
    type Of<F: Family> = Option<Spanned<F::Net>>;
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
    /// What was left out for a name outside the grammar.
    pub left_out: LeftOut,
}

/// Entities `resolve` left out because their name is outside the grammar
/// (SY0013, already reported): a [`Name`] holds only valid names, and
/// references to such an entity stay silent. As with an entity `raw` could
/// not read ([`crate::raw::Parsed::checkable`]), `validate` then runs no checks
/// when an uplink, pool or host is missing, and keeps only the checks' errors
/// when a project or VM is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LeftOut {
    /// An uplink, pool or host: its absence would come back as errors of its
    /// own (an address outside every pool, …).
    pub needed: bool,
    /// A project or VM, and what depends on it.
    pub with_dependents: bool,
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
    pub name: Spanned<Name>,
    pub id: Spanned<u8>,
    /// The routing table: the explicit `table`, else 100 + id.
    pub table: Spanned<u32>,
    pub description: Option<String>,
}

#[derive(Debug)]
pub struct Pool {
    pub name: Spanned<Name>,
    /// `None` when the named uplink does not exist (already reported).
    pub uplink: Option<UplinkId>,
    /// At least one.
    pub prefix: Prefixes,
    pub reserved: Vec<Spanned<IpAddr>>,
    pub description: Option<String>,
}

#[derive(Debug)]
pub struct Host {
    pub name: Spanned<Name>,
    pub lan: Vec<Spanned<InterfaceName>>,
    /// A `lan` interface was left out: Linux would refuse its name (already
    /// reported). Checks do not report the host as one without a LAN.
    pub lan_left_out: bool,
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
    pub members: Pair<Spanned<Name>>,
    pub vrid: Spanned<u8>,
    pub sync_interface: Spanned<InterfaceName>,
    /// Each member's address on the sync link.
    pub sync_addresses: Pair<Spanned<Ipv4Net>>,
    /// The VMs' gateways, which move with the active member.
    pub lan_addresses: Vec<Spanned<IpNet>>,
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
    pub interface: Spanned<InterfaceName>,
    /// The host's address with the link's prefix length, per family; at
    /// least one, and a gateway of each family it has.
    pub address: Prefixes,
    pub gateway: Addresses,
    pub vlan: Option<Vlan>,
    /// ICMP and ICMPv6 echo targets as written; empty means the gateways.
    pub probe: Vec<Spanned<IpAddr>>,
    /// With `ha`: each member's own address on the link (`address` is the
    /// shared one).
    pub member_addresses: Option<Spanned<Pair<Spanned<Ipv4Net>>>>,
}

#[derive(Debug)]
pub struct Vlan {
    pub parent: Spanned<InterfaceName>,
    pub id: Spanned<u16>,
    /// The administrator's own .network file for the parent, if named.
    pub parent_unit: Option<Spanned<NetworkUnitName>>,
}

#[derive(Debug)]
pub struct Project {
    pub name: Spanned<Name>,
    pub pools: Vec<Spanned<PoolId>>,
    pub addresses: Vec<Spanned<IpAddr>>,
    pub networks: Vec<Spanned<IpNet>>,
    pub quota: Vec<(Spanned<PoolId>, Spanned<u32>)>,
    /// In order of preference; empty when there is none.
    pub default: Vec<Spanned<PoolId>>,
    /// A project owns addresses, not any one VM's address: its entries name pools.
    pub egress: Vec<Egress<PoolId>>,
    pub description: Option<String>,
}

#[derive(Debug)]
pub struct Vm {
    pub name: Spanned<Name>,
    pub project: ProjectId,
    pub host: HostId,
    /// Its private addresses; a VM without one of a family has no traffic
    /// of that family handled.
    pub address: Addresses,
    pub public: Vec<Spanned<IpAddr>>,
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
    pub to: Spanned<IpNet>,
    /// In order of preference; never empty.
    pub via: Vec<Spanned<V>>,
}

/// What a VM's `via` or `default` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    Address(IpAddr),
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

    /// The pool whose prefix of `address`'s family contains it, if any
    /// (pools may overlap only in an invalid topology; then the first by name
    /// wins).
    pub fn pool_of<F: Family>(&self, address: F::Addr) -> Option<PoolId> {
        self.pools
            .iter()
            .position(|pool| pool.prefix::<F>().is_some_and(|p| F::contains(p, address)))
            .map(PoolId)
    }

    /// [`Model::pool_of`] for an address of either family.
    pub fn pool_of_ip(&self, address: IpAddr) -> Option<PoolId> {
        match address {
            IpAddr::V4(a) => self.pool_of::<crate::family::V4>(a),
            IpAddr::V6(a) => self.pool_of::<crate::family::V6>(a),
        }
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

    /// The VM's public address of family `F` in `pool`, if it has one.
    pub fn public_in_pool<F: Family>(&self, vm: &Vm, pool: PoolId) -> Option<F::Addr> {
        let prefix = self.pools[pool.0].prefix::<F>()?;
        vm.public
            .iter()
            .filter_map(|a| F::of_ip(a.value))
            .find(|a| F::contains(prefix, *a))
    }

    /// The pool `via` leaves by for `vm`'s packets of family `F`, if the VM
    /// has an address of that family there (an address names its own family
    /// only).
    pub fn via_pool<F: Family>(&self, vm: &Vm, via: Via) -> Option<PoolId> {
        match via {
            Via::Address(address) => {
                let address = F::of_ip(address)?;
                vm.public
                    .iter()
                    .any(|p| F::of_ip(p.value) == Some(address))
                    .then(|| self.pool_of::<F>(address))
                    .flatten()
            }
            Via::Pool(pool) => self.public_in_pool::<F>(vm, pool).map(|_| pool),
        }
    }

    /// Whether an egress entry (or default) with these `via`s applies to
    /// `vm`'s packets of family `F`: at least one names a pool the VM has an
    /// address of that family in. A project-wide one that does not is skipped
    /// for the VM (warning SY0904).
    pub fn applies<F: Family, V: Copy + Into<Via>>(&self, vm: &Vm, vias: &[Spanned<V>]) -> bool {
        vias.iter()
            .any(|via| self.via_pool::<F>(vm, via.value.into()).is_some())
    }

    /// The candidates of a decision of family `F` (docs/semantics.md §10),
    /// best first: the pools of the winning entry's `via`s (none for a
    /// default), then of the VM's default, then of its project's, restricted
    /// to pools in which the VM has an address of the family, each pool once. Lazy and allocation-free: the planner
    /// asks it for every decision of every VM, and often only for the first.
    pub fn candidates<'m, F: Family, V: Copy + Into<Via>>(
        &'m self,
        vm: &'m Vm,
        entry: &'m [Spanned<V>],
    ) -> impl Iterator<Item = PoolId> + 'm {
        let project = self.project(vm.project);
        let vias = entry.iter().map(|via| via.value.into());
        let vias = vias.chain(vm.default.iter().map(|via| via.value));
        let vias = vias.chain(project.default.iter().map(|pool| Via::Pool(pool.value)));
        first_occurrences(vias.filter_map(move |via| self.via_pool::<F>(vm, via)))
    }

    /// The candidates of a project's decision for a VM that has an address in
    /// every pool and no `default` of its own, best first: the pools of the
    /// entry's `via`s (none for the default), then of the project's default,
    /// each pool once — what [`Model::candidates`] gives such a VM.
    pub fn project_candidates<'m>(
        &'m self,
        project: ProjectId,
        entry: &'m [Spanned<PoolId>],
    ) -> impl Iterator<Item = PoolId> + 'm {
        let pools = entry.iter().chain(&self.project(project).default);
        first_occurrences(pools.map(|pool| pool.value))
    }

    /// Every internal network of family `F`: the project networks
    /// (docs/semantics.md §2 rule 1; VM addresses on a host are added per host
    /// by the planner).
    pub fn project_networks<F: Family>(&self) -> impl Iterator<Item = Spanned<F::Net>> + '_ {
        self.projects.iter().flat_map(|p| p.networks_of::<F>())
    }
}

impl Pool {
    /// The pool's prefix of family `F`, if it has one.
    pub fn prefix<F: Family>(&self) -> Option<&F::Net> {
        F::of(&self.prefix).as_ref().map(|p| &p.value)
    }
}

impl Project {
    /// The project's networks of family `F`.
    pub fn networks_of<F: Family>(&self) -> impl Iterator<Item = Spanned<F::Net>> + '_ {
        of_family(&self.networks, F::of_net)
    }
}

impl Vm {
    /// The VM's private address of family `F`, if it has one.
    pub fn address<F: Family>(&self) -> Option<F::Addr> {
        F::of(&self.address).as_ref().map(|a| a.value)
    }
    /// The VM's public addresses of family `F`.
    pub fn public_of<F: Family>(&self) -> impl Iterator<Item = Spanned<F::Addr>> + '_ {
        of_family(&self.public, F::of_ip)
    }
}

impl<V> Egress<V> {
    /// The entry's destination if it is of family `F`.
    pub fn to<F: Family>(&self) -> Option<F::Net> {
        F::of_net(self.to.value)
    }
}

/// The values of a mixed list that are of family `F`, with their spans.
fn of_family<'a, T: Copy, U>(
    values: &'a [Spanned<T>],
    of: impl Fn(T) -> Option<U> + 'a,
) -> impl Iterator<Item = Spanned<U>> + 'a {
    values
        .iter()
        .filter_map(move |v| Some(Spanned::new(of(v.value)?, v.span.clone())))
}

/// Each pool once, at its first place.
fn first_occurrences(
    pools: impl Iterator<Item = PoolId> + Clone,
) -> impl Iterator<Item = PoolId> + Clone {
    // Lists are a few elements long: looking back costs less than a set.
    pools
        .clone()
        .enumerate()
        .filter(move |(i, pool)| !pools.clone().take(*i).any(|earlier| earlier == *pool))
        .map(|(_, pool)| pool)
}
