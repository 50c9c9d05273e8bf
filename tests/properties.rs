//! Properties of generated valid dual-stack topologies
//! (docs/semantics.md §2, §6, §13):
//!
//! - the artifacts are byte-identical whatever the order of tables, keys and
//!   egress entries in the file;
//! - every interval set and map in the nft script holds disjoint ranges, and so
//!   does the plan, in both families;
//! - the plan (`HostPlan::outcome`, what `trace` answers from) and the rendered nft
//!   maps agree with a brute-force longest-prefix oracle written here, straight
//!   from docs/semantics.md §2 and §13, on the generated topology itself (not
//!   switchyard's model), for IPv4 and IPv6 destinations: a packet's family
//!   picks the entries whose `to` is of it, a pool name means the VM's address
//!   of the packet's family in that pool, an address applies to its own family;
//! - from outside, every pool address of both families is DNATed to the VM
//!   that has it or dropped as unassigned, by the plan, and each host's
//!   rendered DNAT maps hold exactly its VMs' public addresses;
//! - the nft scripts of a sample of cases load with the real `nft -c`;
//! - for pairs of topologies (one VM changed, or unrelated), the earlier
//!   build's script loaded and then the new build's `switchyard.update.nft`
//!   leaves exactly the table the new script leaves;
//! - for such pairs and random (VM, destination) probes of both families,
//!   `changes` lists the probe (in the VM's ranges, its address of the
//!   family, or the host's inbound addresses) exactly when `trace` answers
//!   differently.
//!
//! Pools, project networks and VMs have IPv6 or not by the generator's draw,
//! so IPv4-only, dual-stack and mixed topologies all occur. Every other
//! generated VM is bound to a MAC, so the (MAC, address) sets are in every
//! property too.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use switchyard::diagnostic::Source;
use switchyard::family::{Family, V4, V6};
use switchyard::model::CheckedModel;
use switchyard::nft_table::{Element, NftFamily, Table, Value};
use switchyard::plan::{self, Arrival, Outcome, Refused};

/// Cases for the in-process properties; the `nft -c` one runs fewer (each case
/// starts nft once per host).
const CASES: u32 = 256;
const NFT_CASES: u32 = 20;
/// The update property loads three scripts per host and case into a namespace.
const UPDATE_CASES: u32 = 24;

// ---------------------------------------------------------------------------
// The generated topology: what the oracle reads. Indices point into the vectors.

#[derive(Debug, Clone)]
struct Topo {
    uplinks: Vec<Uplink>,
    pools: Vec<Pool>,
    hosts: Vec<Host>,
    projects: Vec<Project>,
    vms: Vec<Vm>,
}

#[derive(Debug, Clone)]
struct Uplink {
    name: String,
    id: u8,
    /// Ids 153..=155 would default to a reserved table (253..=255).
    table: Option<u32>,
    /// Free text: must not change any artifact.
    description: String,
}

#[derive(Debug, Clone)]
struct Pool {
    name: String,
    uplink: usize,
    prefix: Ipv4Net,
    prefix6: Option<Ipv6Net>,
}

#[derive(Debug, Clone)]
struct Host {
    name: String,
    lan: Vec<String>,
    /// Per uplink (every host is attached to every uplink): a VLAN id or none.
    vlans: Vec<Option<u16>>,
}

#[derive(Debug, Clone)]
struct Project {
    name: String,
    pools: Vec<usize>,
    addresses: Vec<IpAddr>,
    network: Ipv4Net,
    network6: Option<Ipv6Net>,
    /// (pool, limit): the limit holds in each family.
    quota: Option<(usize, usize)>,
    default: Option<usize>,
    egress: Vec<(IpNet, usize)>,
}

#[derive(Debug, Clone)]
struct Vm {
    name: String,
    project: usize,
    host: usize,
    /// At least one of the two.
    address: Option<Ipv4Addr>,
    address6: Option<Ipv6Addr>,
    /// (pool, address), at most one per pool and family.
    public: Vec<(usize, IpAddr)>,
    default: Option<Via>,
    egress: Vec<(IpNet, Via)>,
    /// Every other VM is bound to a MAC (unique: derived from its index).
    mac: Option<String>,
}

impl Vm {
    fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        (self.address.map(IpAddr::V4).into_iter()).chain(self.address6.map(IpAddr::V6))
    }

    /// The VM's private address of family `F`, if it has one.
    fn address_of<F: Family>(&self) -> Option<F::Addr> {
        self.addresses().find_map(F::of_ip)
    }

    /// Without its IPv6 addresses (an IPv6-only VM stays as it is): its
    /// IPv6 entries go, and so does a default naming a dropped address or a
    /// pool the VM has no address in any more.
    fn drop_ipv6(&mut self) {
        if self.address.is_none() {
            return;
        }
        self.address6 = None;
        let kept: Vec<(usize, IpAddr)> = (self.public.iter().copied())
            .filter(|(_, a)| a.is_ipv4())
            .collect();
        let public = std::mem::take(&mut self.public);
        let remap = |via: Via| match via {
            Via::Address(i) => kept
                .iter()
                .position(|kept| *kept == public[i])
                .map(Via::Address),
            Via::Pool(p) => kept.iter().any(|(q, _)| *q == p).then_some(via),
        };
        self.default = self.default.and_then(remap);
        self.egress = (self.egress.iter())
            .filter(|(to, _)| to.addr().is_ipv4())
            .filter_map(|(to, via)| Some((*to, remap(*via)?)))
            .collect();
        self.public = kept;
    }
}

impl Project {
    fn networks(&self) -> impl Iterator<Item = IpNet> + '_ {
        std::iter::once(IpNet::V4(self.network)).chain(self.network6.map(IpNet::V6))
    }
}

#[derive(Debug, Clone, Copy)]
enum Via {
    Pool(usize),
    /// An index into the VM's `public`.
    Address(usize),
}

// ---------------------------------------------------------------------------
// The strategy: raw random choices, then a deterministic construction that keeps
// the topology valid (distinct ids and names, addresses allocated once, vias the
// VM owns of their entry's family, one via per prefix and scope).

#[derive(Debug, Clone)]
struct ProjectChoice {
    pools: u8,
    default: Option<usize>,
    egress: Vec<(PrefixChoice, usize)>,
    quota: bool,
    spare_address: bool,
    network6: bool,
}

#[derive(Debug, Clone)]
struct VmChoice {
    project: usize,
    host: usize,
    public: u8,
    /// Pools (bits of the project's ACL) of the VM's IPv6 public addresses,
    /// with an IPv6 private address; none without.
    public6: Option<u8>,
    /// Without IPv4 (when it has IPv6): no IPv4 address, private or public.
    ipv6_only: bool,
    default: Option<(bool, usize)>,
    egress: Vec<(PrefixChoice, bool, usize)>,
}

/// A prefix inside 100.64.0.0/10, or inside 2001:db8:100::/40 for IPv6, drawn
/// around a few bases so that prefixes nest and touch often.
#[derive(Debug, Clone, Copy)]
struct PrefixChoice {
    base: usize,
    jitter: u32,
    len: u8,
    v6: bool,
}

const BASES: [u32; 6] = [
    0x00_0000, 0x01_0000, 0x01_0100, 0x01_0180, 0x20_0000, 0x3f_ff00,
];

/// Where the generated IPv6 egress prefixes lie.
const EGRESS6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0, 0, 0, 0, 0);

impl PrefixChoice {
    fn net(self) -> IpNet {
        let offset = (BASES[self.base] + self.jitter) & 0x3f_ffff;
        if self.v6 {
            // The IPv4 choice scaled: the 22 offset bits under the /40, and
            // lengths 10..=32 spread over 40..=128.
            let bits =
                u128::from(EGRESS6) + (u128::from(offset) << 66) + u128::from(self.jitter & 0xf);
            let len = 40 + (self.len - 10) * 4;
            IpNet::V6(
                Ipv6Net::new(Ipv6Addr::from(bits), len)
                    .expect("len <= 128")
                    .trunc(),
            )
        } else {
            let address = Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 64, 0, 0)) + offset);
            IpNet::V4(Ipv4Net::new(address, self.len).expect("len <= 32").trunc())
        }
    }
}

fn prefix_choice() -> impl Strategy<Value = PrefixChoice> {
    (0..BASES.len(), 0u32..0x200, 10u8..=32, any::<bool>()).prop_map(|(base, jitter, len, v6)| {
        PrefixChoice {
            base,
            jitter,
            len,
            v6,
        }
    })
}
/// Names from the whole grammar, up to its 63 characters.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z][a-z0-9-]{0,8}",
        1 => "[A-Za-z0-9][A-Za-z0-9._-]{0,62}",
        1 => "[a-z][a-z0-9]{62}",
    ]
}

fn topo() -> impl Strategy<Value = Topo> {
    let uplinks = proptest::sample::subsequence((1u8..=255).collect::<Vec<_>>(), 1..=3);
    // IPv6 three times in four: pools, project networks, VMs.
    let v6 = || proptest::bool::weighted(0.75);
    let pools = proptest::collection::vec((any::<usize>(), 24u8..=28, v6()), 1..=3);
    let hosts = proptest::collection::vec(
        (1usize..=2, proptest::collection::vec(any::<bool>(), 3)),
        1..=2,
    );
    let projects = proptest::collection::vec(
        (
            any::<u8>(),
            proptest::option::of(any::<usize>()),
            proptest::collection::vec((prefix_choice(), any::<usize>()), 0..=4),
            any::<bool>(),
            any::<bool>(),
            v6(),
        )
            .prop_map(|(pools, default, egress, quota, spare_address, network6)| {
                ProjectChoice {
                    pools,
                    default,
                    egress,
                    quota,
                    spare_address,
                    network6,
                }
            }),
        1..=2,
    );
    let vms = proptest::collection::vec(
        (
            any::<usize>(),
            any::<usize>(),
            any::<u8>(),
            proptest::option::weighted(0.75, any::<u8>()),
            proptest::bool::weighted(0.15),
            proptest::option::of((any::<bool>(), any::<usize>())),
            proptest::collection::vec((prefix_choice(), any::<bool>(), any::<usize>()), 0..=5),
        )
            .prop_map(
                |(project, host, public, public6, ipv6_only, default, egress)| VmChoice {
                    project,
                    host,
                    public,
                    public6,
                    ipv6_only,
                    default,
                    egress,
                },
            ),
        1..=4,
    );
    let names = proptest::collection::vec(name(), 16);
    let descriptions = proptest::collection::vec(".{0,20}", 3);
    (uplinks, pools, hosts, projects, vms, (names, descriptions)).prop_map(
        |(ids, pools, hosts, projects, vms, names)| {
            build_topo(ids, pools, hosts, projects, vms, names)
        },
    )
}

/// Makes `names[i]` unique among the names of one table by suffixing its index.
fn unique(names: &[String], i: usize) -> String {
    let mut name = names[i % names.len()].clone();
    name.truncate(60);
    format!("{name}{i}")
}

/// A pool name made of digits and dots would read as an address (SY0013).
fn pool_name(name: String) -> String {
    if name.chars().all(|c| c.is_ascii_digit() || c == '.') {
        format!("p{name}")
    } else {
        name
    }
}

fn dedup_by_prefix<V>(entries: impl Iterator<Item = (IpNet, V)>) -> Vec<(IpNet, V)> {
    let mut out: Vec<(IpNet, V)> = Vec::new();
    for (prefix, via) in entries {
        if !out.iter().any(|(p, _)| *p == prefix) {
            out.push((prefix, via));
        }
    }
    out
}

/// Public addresses handed out in order within each pool and family (a /28 or
/// a /124 has 14 usable addresses, for at most 4 VMs and 2 spares); the
/// first, `prefix::` in IPv6 (SY1004), never.
struct Allocator {
    next: Vec<u32>,
    next6: Vec<u128>,
}

impl Allocator {
    fn new(pools: usize) -> Self {
        Allocator {
            next: vec![1; pools],
            next6: vec![1; pools],
        }
    }

    fn v4(&mut self, pools: &[Pool], pool: usize) -> IpAddr {
        self.next[pool] += 1;
        let network = u32::from(pools[pool].prefix.network());
        IpAddr::V4(Ipv4Addr::from(network + self.next[pool] - 1))
    }

    fn v6(&mut self, pools: &[Pool], pool: usize) -> Option<IpAddr> {
        let prefix = pools[pool].prefix6?;
        self.next6[pool] += 1;
        let network = u128::from(prefix.network());
        Some(IpAddr::V6(Ipv6Addr::from(network + self.next6[pool] - 1)))
    }
}

fn build_topo(
    ids: Vec<u8>,
    pools: Vec<(usize, u8, bool)>,
    hosts: Vec<(usize, Vec<bool>)>,
    project_choices: Vec<ProjectChoice>,
    vm_choices: Vec<VmChoice>,
    (names, descriptions): (Vec<String>, Vec<String>),
) -> Topo {
    let uplinks: Vec<Uplink> = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| Uplink {
            name: unique(&names, i),
            id,
            table: (id >= 153).then_some(1000 + u32::from(id)),
            description: descriptions[i].clone(),
        })
        .collect();
    let pools: Vec<Pool> = pools
        .iter()
        .enumerate()
        .map(|(i, &(uplink, len, v6))| Pool {
            name: pool_name(unique(&names, i + 3)),
            uplink: uplink % uplinks.len(),
            prefix: Ipv4Net::new(Ipv4Addr::new(203, 0, 100 + i as u8, 0), len).expect("len"),
            prefix6: v6.then(|| {
                let network = Ipv6Addr::new(0x2001, 0xdb8, 0xa0 + i as u16, 0, 0, 0, 0, 0);
                Ipv6Net::new(network, 96 + len).expect("len")
            }),
        })
        .collect();
    let hosts: Vec<Host> = hosts
        .iter()
        .enumerate()
        .map(|(i, (lans, vlans))| Host {
            name: unique(&names, i + 6),
            lan: (0..*lans).map(|l| format!("lan{l}")).collect(),
            vlans: (0..uplinks.len())
                .map(|u| vlans[u].then_some(100 + u as u16))
                .collect(),
        })
        .collect();
    let mut projects: Vec<Project> = project_choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let mut acl: Vec<usize> = (0..pools.len())
                .filter(|p| choice.pools & (1 << p) != 0)
                .collect();
            if acl.is_empty() {
                acl = (0..pools.len()).collect();
            }
            let egress = dedup_by_prefix(
                choice
                    .egress
                    .iter()
                    .map(|(prefix, via)| (prefix.net(), acl[via % acl.len()])),
            );
            Project {
                name: unique(&names, i + 8),
                default: choice.default.map(|d| acl[d % acl.len()]),
                pools: acl,
                addresses: Vec::new(),
                network: Ipv4Net::new(Ipv4Addr::new(10, i as u8, 0, 0), 16).expect("/16"),
                network6: choice.network6.then(|| {
                    let network = Ipv6Addr::new(0x2001, 0xdb8, 0x10, i as u16, 0, 0, 0, 0);
                    Ipv6Net::new(network, 64).expect("/64")
                }),
                quota: None,
                egress,
            }
        })
        .collect();
    let mut allocator = Allocator::new(pools.len());
    let vms: Vec<Vm> = vm_choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let project_index = choice.project % projects.len();
            let project = &mut projects[project_index];
            let address6 = project
                .network6
                .filter(|_| choice.public6.is_some())
                .map(|net| Ipv6Addr::from(u128::from(net.network()) + 2 + i as u128));
            let address = (address6.is_none() || !choice.ipv6_only)
                .then(|| Ipv4Addr::new(10, project_index as u8, 0, 2 + i as u8));
            let mut public: Vec<(usize, IpAddr)> = project
                .pools
                .iter()
                .filter(|&&p| address.is_some() && choice.public & (1 << p) != 0)
                .map(|&p| (p, allocator.v4(&pools, p)))
                .collect();
            if address6.is_some() {
                let public6 = choice.public6.unwrap_or(0);
                public.extend(
                    (project.pools.iter())
                        .filter(|&&p| public6 & (1 << p) != 0)
                        .filter_map(|&p| Some((p, allocator.v6(&pools, p)?))),
                );
            }
            project.addresses.extend(public.iter().map(|(_, a)| *a));
            // An entry's via names an address of the VM of its `to`'s family
            // (SY1002), or a pool the VM has such an address in (SY0405): an
            // entry of a family the VM has no public address of is left out.
            // A default has no family: any address or pool of the VM.
            let via = |to: Option<&IpNet>, address: bool, n: usize| {
                let family =
                    |i: &usize| to.is_none_or(|to| public[*i].1.is_ipv6() == to.addr().is_ipv6());
                let owned: Vec<usize> = (0..public.len()).filter(family).collect();
                let i = *owned.get(n % owned.len().max(1))?;
                Some(if address {
                    Via::Address(i)
                } else {
                    Via::Pool(public[i].0)
                })
            };
            let egress =
                dedup_by_prefix(choice.egress.iter().filter_map(|(prefix, address, n)| {
                    let to = prefix.net();
                    Some((to, via(Some(&to), *address, *n)?))
                }));
            let default = choice.default.and_then(|(a, n)| via(None, a, n));
            Vm {
                name: unique(&names, i + 10),
                project: project_index,
                host: choice.host % hosts.len(),
                address,
                address6,
                public,
                default,
                egress,
                mac: (i % 2 == 0).then(|| format!("52:54:00:00:{:02x}:{:02x}", i >> 8, i & 0xff)),
            }
        })
        .collect();
    for (project, choice) in projects.iter_mut().zip(&project_choices) {
        let first_pool = project.pools[0];
        if choice.spare_address {
            project.addresses.push(allocator.v4(&pools, first_pool));
            project.addresses.extend(allocator.v6(&pools, first_pool));
        }
        if choice.quota {
            let pool = &pools[first_pool];
            let used = |v6: bool| {
                (project.addresses.iter())
                    .filter(|a| a.is_ipv6() == v6)
                    .filter(|a| match a {
                        IpAddr::V4(a) => pool.prefix.contains(a),
                        IpAddr::V6(a) => pool.prefix6.is_some_and(|p| p.contains(a)),
                    })
                    .count()
            };
            project.quota = Some((first_pool, used(false).max(used(true))));
        }
    }
    Topo {
        uplinks,
        pools,
        hosts,
        projects,
        vms,
    }
}

// ---------------------------------------------------------------------------
// TOML in a chosen order: tables, entries, keys, egress entries and address lists
// shuffled by `order`; runs of egress entries with one `via` are sometimes
// written as one entry with a `to` list.

/// splitmix64: a deterministic shuffle from one proptest-drawn seed.
struct Order(u64);

impl Order {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn list(order: &mut Order, mut items: Vec<String>) -> String {
    order.shuffle(&mut items);
    format!("[{}]", items.join(", "))
}

/// One value as a string, or sometimes a list of one; more as a list.
fn one_or_list<T: ToString>(order: &mut Order, items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|item| quoted(&item.to_string())).collect();
    if items.len() == 1 && order.coin() {
        items[0].clone()
    } else {
        list(order, items)
    }
}

fn inline(order: &mut Order, mut pairs: Vec<String>) -> String {
    order.shuffle(&mut pairs);
    format!("{{ {} }}", pairs.join(", "))
}

impl Topo {
    fn has_ipv6(&self) -> bool {
        self.pools.iter().any(|p| p.prefix6.is_some())
            || self.projects.iter().any(|p| p.network6.is_some())
    }

    fn via_text(&self, vm: &Vm, via: Via) -> String {
        match via {
            Via::Pool(p) => self.pools[p].name.clone(),
            Via::Address(i) => vm.public[i].1.to_string(),
        }
    }

    /// `egress = [{ to = …, via = … }, …]`, shuffled, runs of equal vias
    /// sometimes joined; no line (and no draw from `order`) without entries.
    fn egress_line(order: &mut Order, mut entries: Vec<(IpNet, String)>) -> Option<String> {
        if entries.is_empty() {
            return None;
        }
        order.shuffle(&mut entries);
        let mut items = Vec::new();
        let mut i = 0;
        while i < entries.len() {
            let mut end = i + 1;
            while end < entries.len() && entries[end].1 == entries[i].1 && order.coin() {
                end += 1;
            }
            let to = if end - i == 1 && order.coin() {
                quoted(&entries[i].0.to_string())
            } else {
                let run = entries[i..end].iter().map(|(p, _)| quoted(&p.to_string()));
                format!("[{}]", run.collect::<Vec<_>>().join(", "))
            };
            items.push(inline(
                order,
                vec![
                    format!("to = {to}"),
                    format!("via = {}", quoted(&entries[i].1)),
                ],
            ));
            i = end;
        }
        Some(format!("egress = [{}]", items.join(", ")))
    }

    fn to_toml(&self, seed: u64) -> String {
        let order = &mut Order(seed);
        // (table header, key lines)
        let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
        for uplink in &self.uplinks {
            let mut lines = vec![
                format!("id = {}", uplink.id),
                format!("description = {}", quoted(&uplink.description)),
            ];
            if let Some(table) = uplink.table {
                lines.push(format!("table = {table}"));
            }
            blocks.push((format!("uplinks.{}", quoted(&uplink.name)), lines));
        }
        for pool in &self.pools {
            let prefixes =
                std::iter::once(IpNet::V4(pool.prefix)).chain(pool.prefix6.map(IpNet::V6));
            let lines = vec![
                format!("uplink = {}", quoted(&self.uplinks[pool.uplink].name)),
                format!("prefix = {}", one_or_list(order, prefixes)),
            ];
            blocks.push((format!("pools.{}", quoted(&pool.name)), lines));
        }
        for host in &self.hosts {
            let lan = host.lan.iter().map(|l| quoted(l)).collect();
            blocks.push((
                format!("hosts.{}", quoted(&host.name)),
                vec![format!("lan = {}", list(order, lan))],
            ));
            for (u, uplink) in self.uplinks.iter().enumerate() {
                let mut lines = vec![format!("interface = \"up{u}\"")];
                let address = format!("192.0.2.{}/30", 4 * u + 2);
                let gateway = format!("192.0.2.{}", 4 * u + 1);
                if self.has_ipv6() {
                    // Link-local gateways and global ones, by turns.
                    let address6 = format!("2001:db8:ff{u}::2/64");
                    let gateway6 = if u % 2 == 0 {
                        "fe80::1".to_owned()
                    } else {
                        format!("2001:db8:ff{u}::1")
                    };
                    lines.push(format!(
                        "address = {}",
                        list(order, vec![quoted(&address), quoted(&address6)])
                    ));
                    lines.push(format!(
                        "gateway = {}",
                        list(order, vec![quoted(&gateway), quoted(&gateway6)])
                    ));
                } else {
                    lines.push(format!("address = {}", quoted(&address)));
                    lines.push(format!("gateway = {}", quoted(&gateway)));
                }
                if let Some(id) = host.vlans[u] {
                    let vlan = vec![format!("parent = \"eth{u}\""), format!("id = {id}")];
                    lines.push(format!("vlan = {}", inline(order, vlan)));
                }
                let header = format!(
                    "hosts.{}.uplinks.{}",
                    quoted(&host.name),
                    quoted(&uplink.name)
                );
                blocks.push((header, lines));
            }
        }
        for project in &self.projects {
            let pool_name = |p: &usize| quoted(&self.pools[*p].name);
            let mut lines = vec![
                format!(
                    "pools = {}",
                    list(order, project.pools.iter().map(pool_name).collect())
                ),
                format!(
                    "addresses = {}",
                    list(
                        order,
                        project
                            .addresses
                            .iter()
                            .map(|a| quoted(&a.to_string()))
                            .collect()
                    )
                ),
                format!(
                    "networks = {}",
                    list(
                        order,
                        project.networks().map(|n| quoted(&n.to_string())).collect()
                    )
                ),
            ];
            if let Some((pool, limit)) = project.quota {
                lines.push(format!("quota = {{ {} = {limit} }}", pool_name(&pool)));
            }
            if let Some(default) = &project.default {
                lines.push(format!("default = {}", pool_name(default)));
            }
            let entries = project
                .egress
                .iter()
                .map(|(prefix, pool)| (*prefix, self.pools[*pool].name.clone()));
            lines.extend(Topo::egress_line(order, entries.collect()));
            blocks.push((format!("projects.{}", quoted(&project.name)), lines));
        }
        for vm in &self.vms {
            let mut lines = vec![
                format!("project = {}", quoted(&self.projects[vm.project].name)),
                format!("host = {}", quoted(&self.hosts[vm.host].name)),
                format!("address = {}", one_or_list(order, vm.addresses())),
                format!(
                    "public = {}",
                    list(
                        order,
                        vm.public
                            .iter()
                            .map(|(_, a)| quoted(&a.to_string()))
                            .collect()
                    )
                ),
            ];
            if let Some(default) = vm.default {
                lines.push(format!("default = {}", quoted(&self.via_text(vm, default))));
            }
            if let Some(mac) = &vm.mac {
                lines.push(format!("mac = {}", quoted(mac)));
            }
            let entries = vm
                .egress
                .iter()
                .map(|(prefix, via)| (*prefix, self.via_text(vm, *via)));
            lines.extend(Topo::egress_line(order, entries.collect()));
            blocks.push((format!("vms.{}", quoted(&vm.name)), lines));
        }
        order.shuffle(&mut blocks);
        let mut text = String::from("version = 1\n");
        for (header, mut lines) in blocks {
            order.shuffle(&mut lines);
            text.push_str(&format!("\n[{header}]\n"));
            for line in lines {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    }
}

// ---------------------------------------------------------------------------
// The oracle: docs/semantics.md §2 and §13 by brute force over the generated
// topology.

/// What a packet from a VM to a destination should get: left alone as internal,
/// SNAT to a public address of a pool, or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    Internal,
    Snat { pool: String, public: IpAddr },
    Unhandled,
}

impl Topo {
    /// For a packet from `vm`'s address of `destination`'s family.
    fn oracle(&self, vm: &Vm, destination: IpAddr) -> Expected {
        let family = destination.is_ipv6();
        // 1. Internal: any project's network, or a VM address on the same host.
        let internal =
            self.projects
                .iter()
                .any(|p| p.networks().any(|n| n.contains(&destination)))
                || self.vms.iter().any(|other| {
                    other.host == vm.host && other.addresses().any(|a| a == destination)
                });
        if internal {
            return Expected::Internal;
        }
        // 4. A via resolves to one of the VM's addresses of the packet's
        // family: an address to itself if it is of that family, a pool to the
        // VM's address of the family in it. A via resolving to nothing does
        // not apply.
        let resolve = |via: Via| match via {
            Via::Address(i) => Some(vm.public[i]).filter(|(_, a)| a.is_ipv6() == family),
            Via::Pool(p) => {
                (vm.public.iter().copied()).find(|(q, a)| *q == p && a.is_ipv6() == family)
            }
        };
        let project = &self.projects[vm.project];
        // 2. Longest prefix of the packet's family containing the destination;
        // at equal length the VM's.
        let candidates = vm
            .egress
            .iter()
            .map(|(prefix, via)| (prefix, true, resolve(*via)))
            .chain(
                project
                    .egress
                    .iter()
                    .map(|(prefix, pool)| (prefix, false, resolve(Via::Pool(*pool)))),
            );
        let mut best: Option<(u8, bool, (usize, IpAddr))> = None;
        for (prefix, is_vm, resolved) in candidates {
            let Some(resolved) = resolved else { continue };
            if prefix.addr().is_ipv6() != family || !prefix.contains(&destination) {
                continue;
            }
            let rank = (prefix.prefix_len(), is_vm);
            if best.is_none_or(|(len, vm_scope, _)| rank > (len, vm_scope)) {
                best = Some((rank.0, rank.1, resolved));
            }
        }
        // 3. Else the VM's default, else the project's: the first that
        // resolves in the packet's family.
        let chosen = match best {
            Some((_, _, resolved)) => Some(resolved),
            None => vm
                .default
                .and_then(resolve)
                .or_else(|| project.default.and_then(|p| resolve(Via::Pool(p)))),
        };
        match chosen {
            Some((pool, public)) => Expected::Snat {
                pool: self.pools[pool].name.clone(),
                public,
            },
            None => Expected::Unhandled,
        }
    }

    /// Destinations worth asking about, of both families: both edges of every
    /// egress prefix and their outer neighbours, every project network's edges,
    /// every VM address.
    fn interesting_destinations(&self) -> Vec<IpAddr> {
        let mut edges: Vec<IpAddr> = Vec::new();
        let prefixes = self
            .vms
            .iter()
            .flat_map(|vm| vm.egress.iter().map(|(p, _)| *p))
            .chain(
                self.projects
                    .iter()
                    .flat_map(|p| p.egress.iter().map(|(p, _)| *p)),
            )
            .chain(self.projects.iter().flat_map(Project::networks));
        for prefix in prefixes {
            match prefix {
                IpNet::V4(net) => {
                    let (first, last) = (u32::from(net.network()), u32::from(net.broadcast()));
                    edges.extend(
                        [first.wrapping_sub(1), first, last, last.wrapping_add(1)]
                            .map(|a| IpAddr::V4(a.into())),
                    );
                }
                IpNet::V6(net) => {
                    let (first, last) = (u128::from(net.network()), u128::from(net.broadcast()));
                    edges.extend(
                        [first.wrapping_sub(1), first, last, last.wrapping_add(1)]
                            .map(|a| IpAddr::V6(a.into())),
                    );
                }
            }
        }
        edges.extend(self.vms.iter().flat_map(Vm::addresses));
        edges.sort();
        edges.dedup();
        edges
    }
}

/// What a packet from outside to a pool address should get
/// (docs/semantics.md §3): DNAT to the VM that has it, on its host, keeping its pool; or a drop,
/// the address being nobody's.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Inbound {
    Dnat {
        host: String,
        private: IpAddr,
        pool: String,
    },
    Unassigned {
        pool: String,
    },
}

impl Topo {
    /// Every public address of a VM, every spare address of a project, and
    /// the next unallocated one of every pool, in both families.
    fn pool_addresses(&self) -> Vec<IpAddr> {
        let mut addresses: Vec<IpAddr> = (self.projects.iter())
            .flat_map(|p| p.addresses.iter().copied())
            .collect();
        for pool in &self.pools {
            // The generator allocates from the bottom: the top address (IPv4:
            // the one below broadcast) is never anybody's.
            addresses.push(IpAddr::V4(Ipv4Addr::from(
                u32::from(pool.prefix.broadcast()) - 1,
            )));
            addresses.extend(pool.prefix6.map(|p| IpAddr::V6(p.broadcast())));
        }
        addresses
    }

    fn inbound_oracle(&self, address: IpAddr) -> Inbound {
        let pool = |p: usize| self.pools[p].name.clone();
        for vm in &self.vms {
            if let Some((p, _)) = vm.public.iter().find(|(_, a)| *a == address) {
                let private = vm.addresses().find(|a| a.is_ipv6() == address.is_ipv6());
                return Inbound::Dnat {
                    host: self.hosts[vm.host].name.clone(),
                    private: private.expect("a public address of a family the VM has"),
                    pool: pool(*p),
                };
            }
        }
        let owner = self.pools.iter().position(|p| match address {
            IpAddr::V4(a) => p.prefix.contains(&a),
            IpAddr::V6(a) => p.prefix6.is_some_and(|prefix| prefix.contains(&a)),
        });
        Inbound::Unassigned {
            pool: pool(owner.expect("a pool address")),
        }
    }
}

/// The plan's answer for a packet from outside to `to`, in the oracle's terms.
fn planned_arrival<F: Family>(
    model: &CheckedModel,
    plan: &plan::Plan,
    from: F::Addr,
    to: F::Addr,
) -> Inbound {
    match plan.arrival::<F>(from, to) {
        Arrival::Dnat {
            host,
            receiver,
            public,
            ..
        } => Inbound::Dnat {
            host: host.name.to_string(),
            private: receiver.private.into(),
            pool: model.pool(public.pool).name.value.to_string(),
        },
        Arrival::Dropped(Refused::Unassigned { pool }) => Inbound::Unassigned {
            pool: pool.name.to_string(),
        },
        other => panic!("{from} → {to}: {other:?}"),
    }
}

/// Host `host`'s map `dnat_addresses` of family `F` (public → private).
fn rendered_dnat<F: NftFamily>(script: &str) -> BTreeSet<(IpAddr, IpAddr)> {
    let table = Table::parse(script).unwrap_or_else(|e| panic!("{e}:\n{script}"));
    let address = |value: &Value| -> IpAddr { value.as_address::<F>().expect("an address").into() };
    (table
        .elements(&format!("dnat_addresses{}", F::SUFFIX))
        .iter())
    .map(|element| {
        let key = element.key.one().expect("a single key");
        (
            address(key),
            address(element.data.as_ref().expect("a map element")),
        )
    })
    .collect()
}

/// A random destination of either family: IPv4 anywhere, IPv6 anywhere or
/// (mostly) in the documentation prefix, where the generated networks are.
fn random_destination(bits: u128) -> IpAddr {
    let documentation = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0);
    // (base, host bits) of an IPv6 draw.
    let (base, span) = match bits % 4 {
        0 => return IpAddr::V4(Ipv4Addr::from((bits >> 2) as u32)),
        1 => return IpAddr::V6(Ipv6Addr::from(bits)),
        2 => (EGRESS6, 88),
        _ => (documentation, 96),
    };
    let host = (bits >> 2) & ((1u128 << span) - 1);
    IpAddr::V6(Ipv6Addr::from(u128::from(base) + host))
}

// ---------------------------------------------------------------------------
// Reading the rendered nft script back.

/// An inclusive address range of family `F`, as integers.
type Interval<F> = (<F as Family>::Bits, <F as Family>::Bits);

/// What a host's nft script says for family `F`, in the structures the
/// dataplane looks up (IPv6's sets and maps are IPv4's with suffix 6).
#[derive(Debug)]
struct Nft<F: NftFamily> {
    internal: Vec<Interval<F>>,
    vm_sources: Vec<Interval<F>>,
    /// The VMs whose decisions are their own, each with the chain that
    /// looks it up (`classify_own_egress`, or its shard's on a sharded host).
    own_egress: BTreeMap<F::Addr, String>,
    /// By such a chain, its map `egress_by_vm` (or shard's): (VM address,
    /// destination range, pool number).
    by_vm: BTreeMap<String, Ranges<F>>,
    /// (project network, destination range, pool number): every other VM's.
    by_project: Ranges<F>,
    /// VM address → pool number: every VM's default, where no range
    /// matched, by the rules of `classify_egress` (for a VM in `own_egress`:
    /// of `classify_own_egress`, with the family's suffix) and their sets.
    defaults: BTreeMap<F::Addr, u8>,
    /// By the chains of `own_egress`, their defaults.
    own_defaults: BTreeMap<String, BTreeMap<F::Addr, u8>>,
    /// Pool number → (pool name, VM address → public address).
    pools: BTreeMap<u8, (String, Snat<F>)>,
}

/// An egress map's elements: (source, destination range, pool number).
type Ranges<F> = Vec<(Interval<F>, Interval<F>, u8)>;

/// A pool's SNAT map: VM address → public address.
type Snat<F> = BTreeMap<<F as Family>::Addr, <F as Family>::Addr>;

impl<F: NftFamily> Nft<F> {
    /// The script read back into the typed model (`Table::parse`), and the
    /// structures of family `F` taken out of it; the pools' names are
    /// `host`'s, by number.
    fn parse(script: &str, host: &plan::HostPlan) -> Nft<F> {
        let table = Table::parse(script).unwrap_or_else(|e| panic!("{e}:\n{script}"));
        let named = |name: &str| format!("{name}{}", F::SUFFIX);
        let interval = |value: &Value| -> Interval<F> {
            let range = value
                .as_range::<F>()
                .unwrap_or_else(|| panic!("no {} address: {value}", F::NAME));
            (range.first, range.last)
        };
        let address = |value: &Value| value.as_address::<F>().expect("an address");
        let one = |element: &Element| element.key.one().expect("a single key").clone();
        let pool_of = |chain: &str| -> Option<u8> { chain.strip_prefix("via_pool_")?.parse().ok() };
        let pool_number = |element: &Element| -> u8 {
            (element.data.as_ref())
                .and_then(Value::goto_chain)
                .and_then(pool_of)
                .unwrap_or_else(|| panic!("verdict of {element}"))
        };
        let defaults = |chain: &str| -> BTreeMap<F::Addr, u8> {
            (common::defaults_in::<F>(&table, chain).into_iter())
                .map(|(vm, target)| {
                    let pool =
                        pool_of(&target).unwrap_or_else(|| panic!("{vm}'s default {target}"));
                    (vm, pool)
                })
                .collect()
        };
        let egress = |map: &str| -> Vec<(Interval<F>, Interval<F>, u8)> {
            (table.elements(map).iter())
                .map(|element| {
                    let (source, range) = element.key.pair().expect("concatenated key");
                    (interval(source), interval(range), pool_number(element))
                })
                .collect()
        };
        let set = |name: &str| -> Vec<Interval<F>> {
            (table.elements(&named(name)).iter())
                .map(|element| interval(&one(element)))
                .collect()
        };
        let address_map = |name: &str| -> Snat<F> {
            (table.elements(name).iter())
                .map(|element| {
                    let value = element.data.as_ref().expect("a map element");
                    (address(&one(element)), address(value))
                })
                .collect()
        };
        // Own-egress VM → (its chain, that chain's map).
        let own: BTreeMap<F::Addr, (String, String)> =
            (table.elements(&named("own_egress")).iter())
                .map(|element| {
                    let vm = address(&one(element));
                    (vm, common::own_egress_chain::<F>(&table, vm))
                })
                .collect();
        let (mut by_vm, mut own_defaults) = (BTreeMap::new(), BTreeMap::new());
        for (chain, map) in own.values() {
            by_vm.entry(chain.clone()).or_insert_with(|| egress(map));
            own_defaults
                .entry(chain.clone())
                .or_insert_with(|| defaults(chain));
        }
        let own_egress = own
            .into_iter()
            .map(|(vm, (chain, _))| (vm, chain))
            .collect();
        Nft {
            internal: set("internal"),
            vm_sources: set("vm_sources"),
            own_egress,
            by_vm,
            defaults: defaults("classify_egress"),
            own_defaults,
            by_project: egress(&named("egress_by_project")),
            pools: (host.family::<F>().pools.iter())
                .map(|pool| {
                    let snat = address_map(&format!("snat{}_pool_{}", F::SUFFIX, pool.number));
                    (pool.number, (pool.name.to_string(), snat))
                })
                .collect(),
        }
    }

    /// The lookup the ruleset does: internal set, then the VM's own ranges
    /// when it is in `own_egress`, else its project's by network, then the
    /// VM's default.
    fn lookup(&self, vm: F::Addr, destination: F::Addr) -> Expected {
        let d = F::bits(destination);
        let inside = |(first, last): &Interval<F>| (*first..=*last).contains(&d);
        if self.internal.iter().any(inside) {
            return Expected::Internal;
        }
        let v = F::bits(vm);
        let of_vm = |(first, last): &Interval<F>| (*first..=*last).contains(&v);
        let ranged = |map: &[(Interval<F>, Interval<F>, u8)]| {
            map.iter()
                .find(|(source, range, _)| of_vm(source) && inside(range))
                .map(|(_, _, pool)| *pool)
        };
        let (ranges, defaults) = match self.own_egress.get(&vm) {
            Some(chain) => (&self.by_vm[chain], &self.own_defaults[chain]),
            None => (&self.by_project, &self.defaults),
        };
        let decided = ranged(ranges).or_else(|| defaults.get(&vm).copied());
        match decided {
            Some(number) => {
                let (pool, snat) = &self.pools[&number];
                Expected::Snat {
                    pool: pool.clone(),
                    public: (*snat.get(&vm).unwrap_or_else(|| {
                        panic!("{vm} is sent to pool {pool} but has no address in its SNAT map")
                    }))
                    .into(),
                }
            }
            None => Expected::Unhandled,
        }
    }
}

/// Sorted and pairwise disjoint (touching is fine: ranges are inclusive).
fn assert_disjoint<F: Family>(what: &str, ranges: &[Interval<F>]) {
    let mut sorted = ranges.to_vec();
    sorted.sort();
    for (first, last) in &sorted {
        assert!(first <= last, "{what}: empty range {first:?}-{last:?}");
    }
    for pair in sorted.windows(2) {
        assert!(
            pair[0].1 < pair[1].0,
            "{what}: {}-{} overlaps {}-{}",
            F::address(pair[0].0),
            F::address(pair[0].1),
            F::address(pair[1].0),
            F::address(pair[1].1)
        );
    }
}

// ---------------------------------------------------------------------------
// Building.

fn build(text: &str) -> switchyard::Build {
    common::build_source(&Source::new("topology.toml", text))
}

/// [`build`], with every host's `egress_by_vm{,6}` in 4 shards.
fn build_in_shards(text: &str) -> switchyard::Build {
    common::build_sharded(&Source::new("topology.toml", text), 4)
}

/// The plan, and the model whose ids it holds.
fn plan(text: &str) -> (CheckedModel, plan::Plan) {
    let validated = switchyard::validate(&Source::new("topology.toml", text))
        .unwrap_or_else(|_| panic!("the generated topology is invalid:\n{text}"));
    let (model, plan, _) = validated.into_parts();
    (model, plan)
}

fn nft_script<'b>(build: &'b switchyard::Build, host: &str) -> &'b str {
    let path = format!("{host}/switchyard.nft");
    build
        .artifacts
        .iter()
        .find(|a| a.path == path)
        .map(|a| a.content.as_str())
        .unwrap_or_else(|| panic!("no {path}"))
}

/// The plan's and the script's ranges of family `F` on `host` are disjoint;
/// egress ranges never reach into internal ones.
fn assert_family_disjoint<F: NftFamily>(model: &CheckedModel, host: &plan::HostPlan, script: &str) {
    let family = host.family::<F>();
    let what = |what: &str| format!("{} {} {what}", host.name, F::NAME);
    let internal: Vec<Interval<F>> = family.internal.iter().map(|r| (r.first, r.last)).collect();
    assert_disjoint::<F>(&what("plan internal"), &internal);
    for vm in &family.vms {
        let name = &model.vm(vm.vm).name.value;
        let ranges: Vec<Interval<F>> = vm.egress.iter().map(|(r, _)| (r.first, r.last)).collect();
        assert_disjoint::<F>(&what(&format!("plan egress of {name}")), &ranges);
        let mut with_internal = ranges.clone();
        with_internal.extend(&internal);
        assert_disjoint::<F>(
            &what(&format!("{name} plan egress and internal")),
            &with_internal,
        );
    }
    let nft = Nft::<F>::parse(script, host);
    assert_disjoint::<F>(&what("nft internal"), &nft.internal);
    assert_disjoint::<F>(&what("nft vm_sources"), &nft.vm_sources);
    // Concatenated keys: two elements overlap when both their sources and
    // their destination ranges do.
    let overlap = |a: &Interval<F>, b: &Interval<F>| a.0 <= b.1 && b.0 <= a.1;
    let by_vm: Vec<_> = nft.by_vm.values().flatten().copied().collect();
    for (name, map) in [
        ("egress_by_vm", &by_vm),
        ("egress_by_project", &nft.by_project),
    ] {
        for (i, (source, range, _)) in map.iter().enumerate() {
            for (other_source, other_range, _) in &map[i + 1..] {
                assert!(
                    !(overlap(source, other_source) && overlap(range, other_range)),
                    "{}: {}{} elements {:?} . {:?} and {:?} . {:?} overlap",
                    host.name,
                    name,
                    F::SUFFIX,
                    source,
                    range,
                    other_source,
                    other_range
                );
            }
        }
    }
}

/// The plan's outcome and the lookup in `nft` (the VM's host's script) for a
/// packet of family `F` from the VM to the destination, in the oracle's
/// terms; `None` for a VM without an address of the family and for the
/// host's own addresses.
fn planned_and_rendered<F: NftFamily>(
    topo: &Topo,
    model: &CheckedModel,
    plan: &plan::Plan,
    nft: &Nft<F>,
    vm: &Vm,
    destination: F::Addr,
) -> Option<(Expected, Expected)> {
    let address = vm.address_of::<F>()?;
    let host_name = &topo.hosts[vm.host].name;
    let host = plan
        .hosts
        .iter()
        .find(|h| &h.name == host_name)
        .expect("host planned");
    let vm_plan = (host.family::<F>().vms.iter())
        .find(|v| model.vm(v.vm).name.value == vm.name)
        .unwrap_or_else(|| panic!("{} has an {} address: planned", vm.name, F::NAME));
    // A hairpin is classified like any outside destination (the DNAT comes
    // after): its source decision is what the maps must agree on.
    let snat = |decision: &plan::Decision<F>| Expected::Snat {
        pool: model.pool(decision.first.pool).name.value.to_string(),
        public: decision.first.public.into(),
    };
    let planned = match host.outcome::<F>(vm_plan, destination) {
        // The host's own addresses are the kernel's local table's business,
        // not the ruleset's, which the oracle models.
        Outcome::Local(_) => return None,
        Outcome::Internal => Expected::Internal,
        Outcome::Egress(decision) => snat(decision),
        Outcome::Hairpin { source, .. } => source.map_or(Expected::Unhandled, snat),
        Outcome::Unhandled => Expected::Unhandled,
    };
    Some((planned, nft.lookup(address, destination)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, .. ProptestConfig::default() })]

    /// (a) Reordering tables, keys, list elements and egress entries, and writing
    /// `to` as a string or a list, changes no byte of any artifact but the
    /// topology's hash in the header.
    #[test]
    fn artifacts_do_not_depend_on_file_order(topo in topo(), a: u64, b: u64) {
        let (first, second) = (topo.to_toml(a), topo.to_toml(b));
        let (first_build, second_build) = (build(&first), build(&second));
        prop_assert_eq!(
            common::artifacts_without_source_hash(&first_build),
            common::artifacts_without_source_hash(&second_build),
            "orders differ:\n{}\n---\n{}",
            first,
            second
        );
    }

    /// (b) Every interval set and map holds disjoint ranges, in the plan and in
    /// the rendered script, in both families; egress ranges never reach into
    /// internal ones.
    #[test]
    fn interval_maps_are_disjoint(topo in topo(), order: u64) {
        let text = topo.to_toml(order);
        let built = build(&text);
        let (model, plan) = plan(&text);
        for host in &plan.hosts {
            let script = nft_script(&built, &host.name);
            assert_family_disjoint::<V4>(&model, host, script);
            assert_family_disjoint::<V6>(&model, host, script);
        }
    }

    /// (c) `HostPlan::outcome` (what `trace` reports) and the rendered nft maps
    /// agree with the oracle for every VM at every prefix edge of both
    /// families, and at random destinations of both; the maps as built, and
    /// laid out as a large host's: `egress_by_vm{,6}` split into 4 shards
    /// (maps, each with its chain) by the VM address's last bits, dispatched
    /// to by `classify_own_egress{,6}`.
    #[test]
    fn decisions_agree_with_the_oracle(
        topo in topo(),
        order: u64,
        random in proptest::collection::vec((any::<usize>(), any::<u128>()), 24),
    ) {
        decisions_agree(&topo, order, &random)?;
    }
}

/// Property (c) on the scripts `build` makes of the topology, in both layouts.
fn decisions_agree(topo: &Topo, order: u64, random: &[(usize, u128)]) -> Result<(), TestCaseError> {
    let text = topo.to_toml(order);
    let (model, plan) = plan(&text);
    let edges = topo.interesting_destinations();
    let mut pairs: Vec<(usize, IpAddr)> = (0..topo.vms.len())
        .flat_map(|vm| edges.iter().map(move |d| (vm, *d)))
        .collect();
    pairs.extend(
        random
            .iter()
            .map(|(vm, d)| (vm % topo.vms.len(), random_destination(*d))),
    );
    for (layout, built) in [
        ("nft", build(&text)),
        ("nft in shards", build_in_shards(&text)),
    ] {
        // Each host's script read back once, per family.
        let scripts: BTreeMap<&str, (Nft<V4>, Nft<V6>)> = (plan.hosts.iter())
            .map(|host| {
                let script = nft_script(&built, &host.name);
                (
                    &*host.name,
                    (Nft::parse(script, host), Nft::parse(script, host)),
                )
            })
            .collect();
        for &(vm_index, destination) in &pairs {
            let vm = &topo.vms[vm_index];
            let (v4, v6) = &scripts[topo.hosts[vm.host].name.as_str()];
            let answers = match destination {
                IpAddr::V4(d) => planned_and_rendered::<V4>(topo, &model, &plan, v4, vm, d),
                IpAddr::V6(d) => planned_and_rendered::<V6>(topo, &model, &plan, v6, vm, d),
            };
            let Some((planned, rendered)) = answers else {
                continue;
            };
            let expected = topo.oracle(vm, destination);
            prop_assert_eq!(
                &planned,
                &expected,
                "plan: {} → {}\n{}",
                vm.name,
                destination,
                text
            );
            prop_assert_eq!(
                &rendered,
                &expected,
                "{}: {} → {}\n{}",
                layout,
                vm.name,
                destination,
                text
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, .. ProptestConfig::default() })]

    /// (g) From outside, a packet to every public address, spare address and
    /// free pool address of both families: `Plan::arrival` (what `trace`
    /// answers inbound) DNATs it to the VM that has it, on its host, or drops
    /// it as unassigned, as the oracle says; and each host's rendered
    /// `dnat_addresses`/`dnat_addresses6` hold exactly its VMs' public
    /// addresses.
    #[test]
    fn inbound_agrees_with_the_oracle(topo in topo(), order: u64) {
        let text = topo.to_toml(order);
        let (model, plan) = plan(&text);
        let built = build(&text);
        let mut dnat: BTreeMap<String, BTreeSet<(IpAddr, IpAddr)>> = BTreeMap::new();
        for address in topo.pool_addresses() {
            let expected = topo.inbound_oracle(address);
            let planned = match address {
                IpAddr::V4(to) => planned_arrival::<V4>(&model, &plan, Ipv4Addr::new(100, 127, 255, 254), to),
                IpAddr::V6(to) => {
                    let outside = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 1);
                    planned_arrival::<V6>(&model, &plan, outside, to)
                }
            };
            prop_assert_eq!(&planned, &expected, "{}\n{}", address, text);
            if let Inbound::Dnat { host, private, .. } = expected {
                dnat.entry(host).or_default().insert((address, private));
            }
        }
        for host in &topo.hosts {
            let script = nft_script(&built, &host.name);
            let mut rendered = rendered_dnat::<V4>(script);
            rendered.extend(rendered_dnat::<V6>(script));
            let expected = dnat.remove(&host.name).unwrap_or_default();
            prop_assert_eq!(rendered, expected, "{}\n{}", host.name, text);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: NFT_CASES, .. ProptestConfig::default() })]

    /// (d) Every host's script loads with the real `nft -c` in a fresh namespace,
    /// also with `egress_by_vm{,6}` in shards.
    #[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
    fn nft_scripts_load(topo in topo(), order: u64) {
        common::require_root();
        let text = topo.to_toml(order);
        let netns = common::Netns::new("props-nft");
        for built in [build(&text), build_in_shards(&text)] {
            for host in &topo.hosts {
                netns.nft_check(nft_script(&built, &host.name));
            }
        }
    }
}

/// The newer topology of an update pair: the older one with one VM changed, or
/// an unrelated one (then the update mostly replaces the whole table).
#[derive(Debug, Clone)]
enum Change {
    Unrelated(Box<Topo>),
    RemoveVm(usize),
    DropEgress(usize),
    DropDefault(usize),
    /// A project's default set to one of its pools (by index into its ACL).
    ProjectDefault(usize, usize),
    /// A project's entries dropped.
    DropProjectEgress(usize),
    /// A VM's IPv6 private and public addresses dropped, with the entries
    /// and default that named them.
    DropIpv6(usize),
    /// None: the same topology (written in another order by the caller).
    Same,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        topo().prop_map(|topo| Change::Unrelated(Box::new(topo))),
        any::<usize>().prop_map(Change::RemoveVm),
        any::<usize>().prop_map(Change::DropEgress),
        any::<usize>().prop_map(Change::DropDefault),
        (any::<usize>(), any::<usize>()).prop_map(|(p, d)| Change::ProjectDefault(p, d)),
        any::<usize>().prop_map(Change::DropProjectEgress),
        any::<usize>().prop_map(Change::DropIpv6),
        Just(Change::Same),
    ]
}

impl Change {
    /// `older` changed; every change keeps the topology valid (a VM without a
    /// default is at most a warning).
    fn apply(&self, older: &Topo) -> Topo {
        let mut newer = older.clone();
        let vm = |i: &usize| i % older.vms.len();
        match self {
            Change::Unrelated(topo) => return (**topo).clone(),
            Change::RemoveVm(i) => {
                newer.vms.remove(vm(i));
            }
            Change::DropEgress(i) => newer.vms[vm(i)].egress.clear(),
            Change::DropDefault(i) => newer.vms[vm(i)].default = None,
            Change::ProjectDefault(p, d) => {
                let project = &mut newer.projects[p % older.projects.len()];
                project.default = Some(project.pools[d % project.pools.len()]);
            }
            Change::DropProjectEgress(p) => {
                newer.projects[p % older.projects.len()].egress.clear();
            }
            Change::DropIpv6(i) => newer.vms[vm(i)].drop_ipv6(),
            Change::Same => {}
        }
        newer
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: UPDATE_CASES, .. ProptestConfig::default() })]

    /// (e) For every host in both builds: the older script, then the newer
    /// build's update, leaves exactly the table the newer script leaves, and
    /// its `nft -j` listing reads into the sets of the newer script.
    #[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
    fn updates_leave_the_new_table(older in topo(), change in change(), order: u64) {
        common::require_root();
        let newer = change.apply(&older);
        let old_build = build(&older.to_toml(order));
        let mut new_build = build(&newer.to_toml(order));
        let earlier: BTreeMap<String, String> = older
            .hosts
            .iter()
            .map(|h| (h.name.clone(), nft_script(&old_build, &h.name).to_owned()))
            .collect();
        new_build.add_updates(&earlier).expect("both builds have build ids");
        let netns = common::Netns::new("props-upd");
        for host in newer.hosts.iter().filter(|h| earlier.contains_key(&h.name)) {
            let load = |script: &str| {
                let output = netns.nft_load(script);
                assert!(output.status.success(), "{}\n{script}", common::describe(&output));
            };
            load(nft_script(&new_build, &host.name));
            let fresh = netns.nft_table_sorted();
            load(&earlier[&host.name]);
            let update = new_build
                .artifacts
                .iter()
                .find(|a| a.path == format!("{}/switchyard.update.nft", host.name))
                .expect("an update for a host in both builds");
            load(&update.content);
            prop_assert_eq!(netns.nft_table_sorted(), fresh, "{}", update.content);
            // The kernel's listing (its IPv6 prefixes and ranges as `nft -j`
            // writes them) reads into the typed model of the new script.
            let listing = common::run_ok(
                netns.exec("nft").args(["-j", "list", "table", "inet", "switchyard"]),
            );
            let listed = switchyard::verify::listed_table(&listing).expect("the listing reads");
            let script = Table::parse(nft_script(&new_build, &host.name)).expect("NEW reads back");
            prop_assert_eq!(listed.sets, script.sets, "{}", update.content);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, .. ProptestConfig::default() })]

    /// (f) `changes` lists a (VM, destination) probe exactly when `trace`
    /// answers it differently in the two topologies (both written in orders
    /// of their own), in both families: outbound from every VM in both at
    /// every prefix edge of either and at random destinations, and inbound to
    /// every public address.
    #[test]
    fn changes_list_exactly_what_trace_answers_differently(
        older in topo(),
        change in change(),
        order_a: u64,
        order_b: u64,
        random in proptest::collection::vec(any::<u128>(), 24),
    ) {
        let newer = change.apply(&older);
        let (old_text, new_text) = (older.to_toml(order_a), newer.to_toml(order_b));
        let (old_source, new_source) =
            (Source::new("old.toml", old_text.as_str()), Source::new("new.toml", new_text.as_str()));
        let changes = common::changes(&old_source, &new_source);
        let old_tracer = switchyard::trace::Tracer::new(&old_source).expect("valid");
        let new_tracer = switchyard::trace::Tracer::new(&new_source).expect("valid");
        let context = || format!("{}\n--- old\n{old_text}\n--- new\n{new_text}", changes.to_human());
        if matches!(change, Change::Same) {
            prop_assert!(changes.is_empty(), "{}", context());
        }
        let host_of = |topo: &Topo, name: &str| {
            topo.vms.iter().find(|vm| vm.name == name).map(|vm| topo.hosts[vm.host].name.clone())
        };
        // On `host` (a hairpin), or on any host (inbound from outside).
        let inbound_listed = |host: Option<&str>, address: IpAddr| {
            changes.hosts.iter().any(|h| {
                host.is_none_or(|host| h.host == host)
                    && h.inbound.iter().any(|i| i.address == address)
            })
        };
        // The VM's private address of `family`'s family changed (or came or went).
        let readdressed = |name: &str, family: IpAddr| {
            changes.hosts.iter().flat_map(|h| &h.vms).any(|vm| {
                let address = match family {
                    IpAddr::V4(_) => Some(&vm.private_address),
                    IpAddr::V6(_) => vm.private_address_v6.as_ref(),
                };
                vm.vm == name && address.is_some_and(|a| a.old != a.new)
            })
        };
        let mut destinations: Vec<IpAddr> = (older.interesting_destinations().into_iter())
            .chain(newer.interesting_destinations())
            .collect();
        destinations.extend(random.iter().map(|d| random_destination(*d)));
        let publics: BTreeSet<IpAddr> = older
            .vms
            .iter()
            .chain(&newer.vms)
            .flat_map(|vm| vm.public.iter().map(|(_, a)| *a))
            .collect();
        destinations.extend(publics.iter().copied());
        // The hosts' own addresses on their uplinks (delivered to the host).
        for u in 0..3u8 {
            destinations.push(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 4 * u + 2)));
            destinations.push(format!("2001:db8:ff{u}::2").parse().expect("an address"));
        }
        // Whether the VM has an address of `family`'s family in `topo`.
        let has_family = |topo: &Topo, name: &str, family: IpAddr| {
            (topo.vms.iter().filter(|vm| vm.name == name))
                .any(|vm| vm.addresses().any(|a| a.is_ipv6() == family.is_ipv6()))
        };
        for vm in &older.vms {
            let (Some(old_host), Some(new_host)) =
                (host_of(&older, &vm.name), host_of(&newer, &vm.name))
            else {
                continue;
            };
            if old_host != new_host {
                // Moved: removed from one host and added to the other.
                let listed = |host: &str, presence| changes.hosts.iter().any(|h| {
                    h.host == host && h.vms.iter().any(|v| v.vm == vm.name && v.presence == presence)
                });
                prop_assert!(
                    listed(&old_host, switchyard::changes::Presence::Removed)
                        && listed(&new_host, switchyard::changes::Presence::Added),
                    "{} moved\n{}", vm.name, context()
                );
                continue;
            }
            let ranges: Vec<&switchyard::changes::RangeChange> = changes
                .hosts
                .iter()
                .filter(|h| h.host == new_host)
                .flat_map(|h| &h.vms)
                .filter(|v| v.vm == vm.name)
                .flat_map(|v| &v.destinations)
                .collect();
            for &destination in &destinations {
                // Probes of a family the VM has in neither are no packets.
                if !has_family(&older, &vm.name, destination)
                    && !has_family(&newer, &vm.name, destination)
                {
                    continue;
                }
                let differs = common::trace_answer(&old_tracer, &vm.name, destination)
                    != common::trace_answer(&new_tracer, &vm.name, destination);
                // IpAddr orders IPv4 before IPv6: a range holds its own family only.
                let listed = readdressed(&vm.name, destination)
                    || inbound_listed(Some(&new_host), destination)
                    || ranges.iter().any(|r| (r.first..=r.last).contains(&destination));
                prop_assert_eq!(
                    differs, listed,
                    "{} → {}: trace differs: {}, listed: {}\n{}",
                    vm.name, destination, differs, listed, context()
                );
            }
        }
        // Inbound, from an outside address of the family no VM has.
        for &address in &publics {
            let outside = if address.is_ipv6() { "2001:db8:ffff::1" } else { "100.127.255.254" };
            let receiver = |tracer: &switchyard::trace::Tracer| {
                let json = common::trace_answer(tracer, outside, address);
                json["vm"].as_str().map(str::to_owned)
            };
            let differs =
                common::trace_answer(&old_tracer, outside, address) != common::trace_answer(&new_tracer, outside, address);
            let listed = inbound_listed(None, address)
                || [receiver(&old_tracer), receiver(&new_tracer)]
                    .iter()
                    .flatten()
                    .any(|vm| readdressed(vm, address));
            prop_assert_eq!(
                differs, listed,
                "inbound {}: trace differs: {}, listed: {}\n{}",
                address, differs, listed, context()
            );
        }
    }
}
