//! Properties of generated valid topologies (docs/semantics.md §2, §6):
//!
//! - the artifacts are byte-identical whatever the order of tables, keys and
//!   egress entries in the file;
//! - every interval set and map in the nft script holds disjoint ranges, and so
//!   does the plan;
//! - the plan (`HostPlan::outcome`, what `trace` answers from) and the rendered nft
//!   maps agree with a brute-force longest-prefix oracle written here, straight
//!   from docs/semantics.md §2, on the generated topology itself (not switchyard's model);
//! - the nft scripts of a sample of cases load with the real `nft -c`;
//! - for pairs of topologies (one VM changed, or unrelated), the earlier
//!   build's script loaded and then the new build's `switchyard.update.nft`
//!   leaves exactly the table the new script leaves;
//! - for such pairs and random (VM, destination) probes, `changes` lists the
//!   probe (in the VM's ranges, its address, or the host's inbound addresses)
//!   exactly when `trace` answers differently.
//!
//! Every other generated VM is bound to a MAC, so the (MAC, address) set is in
//! every property too.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;
use proptest::prelude::*;
use switchyard::diagnostic::Source;
use switchyard::family::V4;
use switchyard::model::CheckedModel;
use switchyard::nft_table::{Element, Table, Value};
use switchyard::plan::{self, Outcome};

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
    addresses: Vec<Ipv4Addr>,
    network: Ipv4Net,
    quota: Option<(usize, usize)>,
    default: Option<usize>,
    egress: Vec<(Ipv4Net, usize)>,
}

#[derive(Debug, Clone)]
struct Vm {
    name: String,
    project: usize,
    host: usize,
    address: Ipv4Addr,
    /// (pool, address), one per pool.
    public: Vec<(usize, Ipv4Addr)>,
    default: Option<Via>,
    egress: Vec<(Ipv4Net, Via)>,
    /// Every other VM is bound to a MAC (unique: derived from its index).
    mac: Option<String>,
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
// VM owns, one via per prefix and scope).

#[derive(Debug, Clone)]
struct ProjectChoice {
    pools: u8,
    default: Option<usize>,
    egress: Vec<(PrefixChoice, usize)>,
    quota: bool,
    spare_address: bool,
}

#[derive(Debug, Clone)]
struct VmChoice {
    project: usize,
    host: usize,
    public: u8,
    default: Option<(bool, usize)>,
    egress: Vec<(PrefixChoice, bool, usize)>,
}

/// A prefix inside 100.64.0.0/10, drawn around a few bases so that prefixes nest
/// and touch often.
#[derive(Debug, Clone, Copy)]
struct PrefixChoice {
    base: usize,
    jitter: u32,
    len: u8,
}

const BASES: [u32; 6] = [
    0x00_0000, 0x01_0000, 0x01_0100, 0x01_0180, 0x20_0000, 0x3f_ff00,
];

impl PrefixChoice {
    fn net(self) -> Ipv4Net {
        let offset = (BASES[self.base] + self.jitter) & 0x3f_ffff;
        let address = Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 64, 0, 0)) + offset);
        Ipv4Net::new(address, self.len).expect("len <= 32").trunc()
    }
}

fn prefix_choice() -> impl Strategy<Value = PrefixChoice> {
    (0..BASES.len(), 0u32..0x200, 10u8..=32).prop_map(|(base, jitter, len)| PrefixChoice {
        base,
        jitter,
        len,
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
    let pools = proptest::collection::vec((any::<usize>(), 24u8..=28), 1..=3);
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
        )
            .prop_map(
                |(pools, default, egress, quota, spare_address)| ProjectChoice {
                    pools,
                    default,
                    egress,
                    quota,
                    spare_address,
                },
            ),
        1..=2,
    );
    let vms = proptest::collection::vec(
        (
            any::<usize>(),
            any::<usize>(),
            any::<u8>(),
            proptest::option::of((any::<bool>(), any::<usize>())),
            proptest::collection::vec((prefix_choice(), any::<bool>(), any::<usize>()), 0..=5),
        )
            .prop_map(|(project, host, public, default, egress)| VmChoice {
                project,
                host,
                public,
                default,
                egress,
            }),
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

fn dedup_by_prefix<V>(entries: impl Iterator<Item = (Ipv4Net, V)>) -> Vec<(Ipv4Net, V)> {
    let mut out: Vec<(Ipv4Net, V)> = Vec::new();
    for (prefix, via) in entries {
        if !out.iter().any(|(p, _)| *p == prefix) {
            out.push((prefix, via));
        }
    }
    out
}

fn build_topo(
    ids: Vec<u8>,
    pools: Vec<(usize, u8)>,
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
        .map(|(i, &(uplink, len))| Pool {
            name: pool_name(unique(&names, i + 3)),
            uplink: uplink % uplinks.len(),
            prefix: Ipv4Net::new(Ipv4Addr::new(203, 0, 100 + i as u8, 0), len).expect("len"),
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
                quota: None,
                egress,
            }
        })
        .collect();
    // Public addresses are handed out in order within each pool (a /28 has 14
    // usable addresses, for at most 4 VMs and 2 spares).
    let mut next = vec![1u32; pools.len()];
    let mut allocate = |pool: usize| {
        next[pool] += 1;
        Ipv4Addr::from(u32::from(pools[pool].prefix.network()) + next[pool] - 1)
    };
    let vms: Vec<Vm> = vm_choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let project_index = choice.project % projects.len();
            let project = &mut projects[project_index];
            let public: Vec<(usize, Ipv4Addr)> = project
                .pools
                .iter()
                .filter(|&&p| choice.public & (1 << p) != 0)
                .map(|&p| (p, allocate(p)))
                .collect();
            project.addresses.extend(public.iter().map(|(_, a)| *a));
            let via = |address: bool, n: usize| {
                if address {
                    Via::Address(n % public.len())
                } else {
                    Via::Pool(public[n % public.len()].0)
                }
            };
            let (default, egress) = if public.is_empty() {
                (None, Vec::new())
            } else {
                let egress = dedup_by_prefix(
                    choice
                        .egress
                        .iter()
                        .map(|(prefix, address, n)| (prefix.net(), via(*address, *n))),
                );
                (choice.default.map(|(a, n)| via(a, n)), egress)
            };
            Vm {
                name: unique(&names, i + 10),
                project: project_index,
                host: choice.host % hosts.len(),
                address: Ipv4Addr::new(10, project_index as u8, 0, 2 + i as u8),
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
            project.addresses.push(allocate(first_pool));
        }
        if choice.quota {
            let used = project
                .addresses
                .iter()
                .filter(|a| pools[first_pool].prefix.contains(*a))
                .count();
            project.quota = Some((first_pool, used));
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

fn inline(order: &mut Order, mut pairs: Vec<String>) -> String {
    order.shuffle(&mut pairs);
    format!("{{ {} }}", pairs.join(", "))
}

impl Topo {
    fn via_text(&self, vm: &Vm, via: Via) -> String {
        match via {
            Via::Pool(p) => self.pools[p].name.clone(),
            Via::Address(i) => vm.public[i].1.to_string(),
        }
    }

    /// `egress = [{ to = …, via = … }, …]`, shuffled, runs of equal vias
    /// sometimes joined; no line (and no draw from `order`) without entries.
    fn egress_line(order: &mut Order, mut entries: Vec<(Ipv4Net, String)>) -> Option<String> {
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
            let lines = vec![
                format!("uplink = {}", quoted(&self.uplinks[pool.uplink].name)),
                format!("prefix = {}", quoted(&pool.prefix.to_string())),
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
                let mut lines = vec![
                    format!("interface = \"up{u}\""),
                    format!("address = \"192.0.2.{}/30\"", 4 * u + 2),
                    format!("gateway = \"192.0.2.{}\"", 4 * u + 1),
                ];
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
                format!("networks = [{}]", quoted(&project.network.to_string())),
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
                format!("address = \"{}\"", vm.address),
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
// The oracle: docs/semantics.md §2 by brute force over the generated topology.

/// What a packet from a VM to a destination should get: left alone as internal,
/// SNAT to a public address of a pool, or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    Internal,
    Snat { pool: String, public: Ipv4Addr },
    Unhandled,
}

impl Topo {
    fn oracle(&self, vm: &Vm, destination: Ipv4Addr) -> Expected {
        // 1. Internal: any project's network, or a VM address on the same host.
        let internal = self
            .projects
            .iter()
            .any(|p| p.network.contains(&destination))
            || self
                .vms
                .iter()
                .any(|other| other.host == vm.host && other.address == destination);
        if internal {
            return Expected::Internal;
        }
        // 4. A via resolves to one of the VM's addresses; a pool the VM has no
        // address in resolves to nothing, and such an entry does not apply.
        let resolve = |via: Via| match via {
            Via::Address(i) => Some(vm.public[i]),
            Via::Pool(p) => vm.public.iter().copied().find(|(q, _)| *q == p),
        };
        let project = &self.projects[vm.project];
        // 2. Longest prefix containing the destination; at equal length the VM's.
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
        let mut best: Option<(u8, bool, (usize, Ipv4Addr))> = None;
        for (prefix, is_vm, resolved) in candidates {
            let Some(resolved) = resolved else { continue };
            if !prefix.contains(&destination) {
                continue;
            }
            let rank = (prefix.prefix_len(), is_vm);
            if best.is_none_or(|(len, vm_scope, _)| rank > (len, vm_scope)) {
                best = Some((rank.0, rank.1, resolved));
            }
        }
        // 3. Else the VM's default, else the project's.
        let chosen = match best {
            Some((_, _, resolved)) => Some(resolved),
            None => match vm.default {
                Some(default) => resolve(default),
                None => project.default.and_then(|p| resolve(Via::Pool(p))),
            },
        };
        match chosen {
            Some((pool, public)) => Expected::Snat {
                pool: self.pools[pool].name.clone(),
                public,
            },
            None => Expected::Unhandled,
        }
    }

    /// Destinations worth asking about for `vm`: both edges of every egress prefix
    /// and their outer neighbours, every VM and project network edge.
    fn interesting_destinations(&self) -> Vec<Ipv4Addr> {
        let mut edges: Vec<u32> = Vec::new();
        let prefixes = self
            .vms
            .iter()
            .flat_map(|vm| vm.egress.iter().map(|(p, _)| *p))
            .chain(
                self.projects
                    .iter()
                    .flat_map(|p| p.egress.iter().map(|(p, _)| *p)),
            )
            .chain(self.projects.iter().map(|p| p.network));
        for prefix in prefixes {
            let (first, last) = (u32::from(prefix.network()), u32::from(prefix.broadcast()));
            edges.extend([first.wrapping_sub(1), first, last, last.wrapping_add(1)]);
        }
        edges.extend(self.vms.iter().map(|vm| u32::from(vm.address)));
        edges.sort();
        edges.dedup();
        edges.into_iter().map(Ipv4Addr::from).collect()
    }
}

// ---------------------------------------------------------------------------
// Reading the rendered nft script back.

/// An inclusive address range, as `u32`s.
type Interval = (u32, u32);

/// What a host's nft script says, in the structures the dataplane looks up.
#[derive(Debug)]
struct Nft {
    internal: Vec<(u32, u32)>,
    vm_sources: Vec<(u32, u32)>,
    /// The VMs whose decisions are their own: looked up in `by_vm`.
    own_egress: BTreeSet<Ipv4Addr>,
    /// (VM address, destination range, pool number).
    by_vm: Vec<(Interval, Interval, u8)>,
    /// VM address → pool number, for those VMs.
    default_by_vm: BTreeMap<Ipv4Addr, u8>,
    /// (project network, destination range, pool number): every other VM's.
    by_project: Vec<(Interval, Interval, u8)>,
    /// Pool number → (pool name, VM address → public address).
    pools: BTreeMap<u8, (String, BTreeMap<Ipv4Addr, Ipv4Addr>)>,
}

impl Nft {
    /// The script read back into the typed model (`Table::parse`), and the
    /// structures taken out of it; the pools' names are `host`'s, by number.
    fn parse(script: &str, host: &plan::HostPlan) -> Nft {
        let table = Table::parse(script).unwrap_or_else(|e| panic!("{e}:\n{script}"));
        let interval = |value: &Value| -> Interval {
            let range = value
                .as_range::<V4>()
                .unwrap_or_else(|| panic!("no address: {value}"));
            (range.first, range.last)
        };
        let address = |value: &Value| value.as_address::<V4>().expect("an address");
        let one = |element: &Element| element.key.one().expect("a single key").clone();
        let pool_number = |element: &Element| -> u8 {
            (element.data.as_ref())
                .and_then(Value::goto_chain)
                .and_then(|chain| chain.strip_prefix("via_pool_")?.parse().ok())
                .unwrap_or_else(|| panic!("verdict of {element}"))
        };
        let egress = |map: &str| -> Vec<(Interval, Interval, u8)> {
            (table.elements(map).iter())
                .map(|element| {
                    let (source, range) = element.key.pair().expect("concatenated key");
                    (interval(source), interval(range), pool_number(element))
                })
                .collect()
        };
        let set = |name: &str| -> Vec<Interval> {
            (table.elements(name).iter())
                .map(|element| interval(&one(element)))
                .collect()
        };
        let address_map = |name: &str| -> BTreeMap<Ipv4Addr, Ipv4Addr> {
            (table.elements(name).iter())
                .map(|element| {
                    let value = element.data.as_ref().expect("a map element");
                    (address(&one(element)), address(value))
                })
                .collect()
        };
        Nft {
            internal: set("internal"),
            vm_sources: set("vm_sources"),
            own_egress: (table.elements("own_egress").iter())
                .map(|element| address(&one(element)))
                .collect(),
            by_vm: egress("egress_by_vm"),
            default_by_vm: (table.elements("default_by_vm").iter())
                .map(|element| (address(&one(element)), pool_number(element)))
                .collect(),
            by_project: egress("egress_by_project"),
            pools: (host.ip.v4.pools.iter())
                .map(|pool| {
                    let snat = address_map(&format!("snat_pool_{}", pool.number));
                    (pool.number, (pool.name.to_string(), snat))
                })
                .collect(),
        }
    }

    /// The lookup the ruleset does: internal set, then the VM's own maps
    /// (ranges, default) when it is in `own_egress`, else the map by project
    /// network.
    fn lookup(&self, vm: Ipv4Addr, destination: Ipv4Addr) -> Expected {
        let d = u32::from(destination);
        let inside = |(first, last): &(u32, u32)| (*first..=*last).contains(&d);
        if self.internal.iter().any(inside) {
            return Expected::Internal;
        }
        let v = u32::from(vm);
        let of_vm = |(first, last): &(u32, u32)| (*first..=*last).contains(&v);
        let ranged = |map: &[(Interval, Interval, u8)]| {
            map.iter()
                .find(|(source, range, _)| of_vm(source) && inside(range))
                .map(|(_, _, pool)| *pool)
        };
        let decided = if self.own_egress.contains(&vm) {
            ranged(&self.by_vm).or_else(|| self.default_by_vm.get(&vm).copied())
        } else {
            ranged(&self.by_project)
        };
        match decided {
            Some(number) => {
                let (pool, snat) = &self.pools[&number];
                Expected::Snat {
                    pool: pool.clone(),
                    public: *snat.get(&vm).unwrap_or_else(|| {
                        panic!("{vm} is sent to pool {pool} but has no address in its SNAT map")
                    }),
                }
            }
            None => Expected::Unhandled,
        }
    }
}

/// Sorted and pairwise disjoint (touching is fine: ranges are inclusive).
fn assert_disjoint(what: &str, ranges: &[(u32, u32)]) {
    let mut sorted = ranges.to_vec();
    sorted.sort();
    for (first, last) in &sorted {
        assert!(first <= last, "{what}: empty range {first}-{last}");
    }
    for pair in sorted.windows(2) {
        assert!(
            pair[0].1 < pair[1].0,
            "{what}: {}-{} overlaps {}-{}",
            Ipv4Addr::from(pair[0].0),
            Ipv4Addr::from(pair[0].1),
            Ipv4Addr::from(pair[1].0),
            Ipv4Addr::from(pair[1].1)
        );
    }
}

// ---------------------------------------------------------------------------
// Building.

fn build(text: &str) -> switchyard::Build {
    common::build_source(&Source::new("topology.toml", text))
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
    /// the rendered script; egress ranges never reach into internal ones.
    #[test]
    fn interval_maps_are_disjoint(topo in topo(), order: u64) {
        let text = topo.to_toml(order);
        let built = build(&text);
        let (model, plan) = plan(&text);
        for host in plan.hosts {
            let internal: Vec<(u32, u32)> =
                host.ip.v4.internal.iter().map(|r| (r.first, r.last)).collect();
            assert_disjoint(&format!("{} plan internal", host.name), &internal);
            for vm in &host.ip.v4.vms {
                let name = &model.vm(vm.vm).name.value;
                let ranges: Vec<(u32, u32)> =
                    vm.egress.iter().map(|(r, _)| (r.first, r.last)).collect();
                assert_disjoint(&format!("{} plan egress of {name}", host.name), &ranges);
                let mut with_internal = ranges.clone();
                with_internal.extend(&internal);
                assert_disjoint(&format!("{name} plan egress and internal"), &with_internal);
            }
            let nft = Nft::parse(nft_script(&built, &host.name), &host);
            assert_disjoint(&format!("{} nft internal", host.name), &nft.internal);
            assert_disjoint(&format!("{} nft vm_sources", host.name), &nft.vm_sources);
            // Concatenated keys: two elements overlap when both their sources
            // and their destination ranges do.
            let overlap = |a: &Interval, b: &Interval| a.0 <= b.1 && b.0 <= a.1;
            for (name, map) in [("egress_by_vm", &nft.by_vm), ("egress_by_project", &nft.by_project)] {
                for (i, (source, range, _)) in map.iter().enumerate() {
                    for (other_source, other_range, _) in &map[i + 1..] {
                        prop_assert!(
                            !(overlap(source, other_source) && overlap(range, other_range)),
                            "{}: {} elements {:?} . {:?} and {:?} . {:?} overlap",
                            host.name, name, source, range, other_source, other_range
                        );
                    }
                }
            }
        }
    }

    /// (c) `HostPlan::outcome` (what `trace` reports) and the rendered nft maps
    /// agree with the oracle for every VM at every prefix edge, and at random
    /// destinations.
    #[test]
    fn decisions_agree_with_the_oracle(
        topo in topo(),
        order: u64,
        random in proptest::collection::vec((any::<usize>(), any::<u32>()), 16),
    ) {
        let text = topo.to_toml(order);
        let (model, plan) = plan(&text);
        let built = build(&text);
        let edges = topo.interesting_destinations();
        let mut pairs: Vec<(usize, Ipv4Addr)> = (0..topo.vms.len())
            .flat_map(|vm| edges.iter().map(move |d| (vm, *d)))
            .collect();
        pairs.extend(random.iter().map(|(vm, d)| (vm % topo.vms.len(), Ipv4Addr::from(*d))));
        for (vm_index, destination) in pairs {
            let vm = &topo.vms[vm_index];
            let expected = topo.oracle(vm, destination);
            let host_name = &topo.hosts[vm.host].name;
            let host = plan.hosts.iter().find(|h| &h.name == host_name).expect("host planned");
            let vm_plan = host
                .ip.v4.vms
                .iter()
                .find(|v| model.vm(v.vm).name.value == vm.name)
                .expect("VM planned");
            // A hairpin is classified like any outside destination (the DNAT
            // comes after): its source decision is what the maps must agree on.
            let snat = |decision: &switchyard::plan::Decision| Expected::Snat {
                pool: model.pool(decision.first.pool).name.value.to_string(),
                public: decision.first.public,
            };
            let planned = match host.outcome(vm_plan, destination) {
                // The host's own addresses are the kernel's local table's
                // business, not the ruleset's, which the oracle models.
                Outcome::Local(_) => continue,
                Outcome::Internal => Expected::Internal,
                Outcome::Egress(decision) => snat(decision),
                Outcome::Hairpin { source, .. } => source.map_or(Expected::Unhandled, snat),
                Outcome::Unhandled => Expected::Unhandled,
            };
            prop_assert_eq!(&planned, &expected, "plan: {} → {}\n{}", vm.name, destination, text);
            let rendered = Nft::parse(nft_script(&built, host_name), host).lookup(vm.address, destination);
            prop_assert_eq!(&rendered, &expected, "nft: {} → {}\n{}", vm.name, destination, text);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: NFT_CASES, .. ProptestConfig::default() })]

    /// (d) Every host's script loads with the real `nft -c` in a fresh namespace.
    #[test]
#[ignore = "needs root, nft and ip: sudo bash .ci/run"]
    fn nft_scripts_load(topo in topo(), order: u64) {
        common::require_root();
        let built = build(&topo.to_toml(order));
        let netns = common::Netns::new("props-nft");
        for host in &topo.hosts {
            netns.nft_check(nft_script(&built, &host.name));
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
            Change::Same => {}
        }
        newer
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: UPDATE_CASES, .. ProptestConfig::default() })]

    /// (e) For every host in both builds: the older script, then the newer
    /// build's update, leaves exactly the table the newer script leaves.
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
        }
    }
}

/// A trace's answer as JSON, without what `changes` reports elsewhere or not at
/// all: the deciding entry (reported, never compared: an entry repeating its
/// project's or overridden by the VM's own changes nothing), and the uplink's
/// interface, table and mark (the host's uplink settings, and pool numbers the
/// dataplane alone sees); `null` for no answer.
fn answer(tracer: &switchyard::trace::Tracer, from: &str, to: Ipv4Addr) -> serde_json::Value {
    // An inbound address in no pool of the topology has no answer.
    let Ok(trace) = tracer.trace(from, to.into(), &[]) else {
        return serde_json::Value::Null;
    };
    let mut json: serde_json::Value = serde_json::from_str(&trace.to_json()).expect("JSON");
    for key in ["decided_by", "interface", "table", "mark"] {
        json.as_object_mut().expect("an object").remove(key);
    }
    json
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, .. ProptestConfig::default() })]

    /// (f) `changes` lists a (VM, destination) probe exactly when `trace`
    /// answers it differently in the two topologies (both written in orders
    /// of their own): outbound from every VM in both at every prefix edge of
    /// either and at random destinations, and inbound to every public address.
    #[test]
    fn changes_list_exactly_what_trace_answers_differently(
        older in topo(),
        change in change(),
        order_a: u64,
        order_b: u64,
        random in proptest::collection::vec(any::<u32>(), 16),
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
        let inbound_listed = |host: Option<&str>, address: Ipv4Addr| {
            changes.hosts.iter().any(|h| {
                host.is_none_or(|host| h.host == host)
                    && h.inbound.iter().any(|i| i.address == IpAddr::V4(address))
            })
        };
        let readdressed = |name: &str| {
            changes.hosts.iter().flat_map(|h| &h.vms).any(|vm| {
                vm.vm == name && vm.private_address.old != vm.private_address.new
            })
        };
        let mut destinations = older.interesting_destinations();
        destinations.extend(newer.interesting_destinations());
        destinations.extend(random.iter().map(|d| Ipv4Addr::from(*d)));
        let publics: BTreeSet<Ipv4Addr> = older
            .vms
            .iter()
            .chain(&newer.vms)
            .flat_map(|vm| vm.public.iter().map(|(_, a)| *a))
            .collect();
        destinations.extend(publics.iter().copied());
        // The hosts' own addresses on their uplinks (delivered to the host).
        destinations.extend((0..3).map(|u| Ipv4Addr::new(192, 0, 2, 4 * u + 2)));
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
                let differs = answer(&old_tracer, &vm.name, destination)
                    != answer(&new_tracer, &vm.name, destination);
                let listed = readdressed(&vm.name)
                    || inbound_listed(Some(&new_host), destination)
                    || ranges.iter().any(|r| (r.first..=r.last).contains(&IpAddr::V4(destination)));
                prop_assert_eq!(
                    differs, listed,
                    "{} → {}: trace differs: {}, listed: {}\n{}",
                    vm.name, destination, differs, listed, context()
                );
            }
        }
        // Inbound, from an outside address no VM has.
        let outside = "100.127.255.254";
        for &address in &publics {
            let receiver = |tracer: &switchyard::trace::Tracer| {
                let json = answer(tracer, outside, address);
                json["vm"].as_str().map(str::to_owned)
            };
            let differs =
                answer(&old_tracer, outside, address) != answer(&new_tracer, outside, address);
            let listed = inbound_listed(None, address)
                || [receiver(&old_tracer), receiver(&new_tracer)]
                    .iter()
                    .flatten()
                    .any(|vm| readdressed(vm));
            prop_assert_eq!(
                differs, listed,
                "inbound {}: trace differs: {}, listed: {}\n{}",
                address, differs, listed, context()
            );
        }
    }
}
