//! Synthetic topology generator for scale tests.
//!
//! ```text
//! cargo run --release --example synth -- --vms 100000 --hosts 4 [--seed N] [--dual-stack] > big.toml
//! switchyard check big.toml
//! ```
//!
//! Prints a valid topology that checks clean (no errors, no warnings): three
//! uplinks, three pools, `--hosts` network hosts attached to every uplink, projects
//! of about 100 VMs with ACLs, quotas, project-wide defaults and preferences, and
//! VMs with two or three public addresses of which about 20% override the project
//! (their own default, preferences at equal length, nested prefixes).
//!
//! With `--dual-stack` every address and prefix gets an IPv6 twin (docs/semantics.md
//! §13), mapped so that containment and nesting are the same in both families:
//! the topology decides IPv6 exactly as it decides IPv4.
//!
//! Output depends only on the arguments: the same seed gives the same bytes. The
//! generator is a function ([`generate`]) so `tests/synth.rs` can include this file
//! and validate small outputs without building the example.

use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Uplinks: name, id, the interface each host uses for it, and whether that
/// interface is a VLAN (id 100 on `eth1`).
const UPLINKS: [(&str, u8, &str, bool); 3] = [
    ("isp-a", 1, "up-a", false),
    ("isp-b", 2, "up-b", false),
    ("isp-c", 3, "eth1.100", true),
];

/// Pools: name, prefix (a /12 each: 2^20 - 2 usable addresses), one per uplink.
const POOLS: [(&str, u32); 3] = [
    ("pool-a", 0x0B00_0000), // 11.0.0.0/12
    ("pool-b", 0x0C00_0000), // 12.0.0.0/12
    ("pool-c", 0x0D00_0000), // 13.0.0.0/12
];
const POOL_LEN: u8 = 12;

/// Egress destinations ("partners") are drawn from 100.64.0.0/10, which overlaps
/// neither the pools nor the private networks (10.0.0.0/8).
const PARTNERS: Prefix = Prefix {
    net: 0x6440_0000,
    len: 10,
};

/// Host links: a /30 per host and uplink inside 198.18.0.0/15, 2^15 addresses per
/// uplink, so at most 8192 hosts.
const LINKS: u32 = 0xC612_0000;
pub const MAX_HOSTS: usize = 8192;
/// Every VM may hold an address of every pool; sequential allocation from a /12.
pub const MAX_VMS: usize = (1 << (32 - POOL_LEN)) - 2;

/// Where the IPv6 twins of `--dual-stack` live: each pool's in
/// 2001:db8:0:N::/64 (N = 1, 2, 3: an address keeps its offset in the pool),
/// each project network's in 2001:db8:1:P::/64, each partner prefix inside
/// 2001:db8:100::/40 (the /10 of partners maps onto the /40, so a /L partner
/// prefix is a /(L + 30)), each host link 2001:db8:fN:H::/64 (host ::2, the
/// gateway link-local fe80::1).
const POOLS6: u128 = 0x2001_0db8_0000_0000 << 64;
const NETWORKS6: u128 = 0x2001_0db8_0001_0000 << 64;
const PARTNERS6: (u128, u8) = (0x2001_0db8_0100 << 80, 40);

/// The IPv6 twin of pool `pool`'s address `address`.
fn pool_twin(pool: usize, address: u32) -> Ipv6Addr {
    let offset = address - POOLS[pool].1;
    Ipv6Addr::from(POOLS6 | ((pool as u128 + 1) << 64) | u128::from(offset))
}

/// The IPv6 twin of a private address in project network `network` (a /24).
fn private_twin(network: u32, address: u32) -> Ipv6Addr {
    let project = u128::from(network >> 8 & 0xffff);
    Ipv6Addr::from(NETWORKS6 | (project << 64) | u128::from(address - network))
}

/// A VM `via` or `default`'s IPv6 twin: a pool name is its own twin.
fn via_twin(via: &str, public: &[(usize, u32)]) -> Option<String> {
    let address: Ipv4Addr = via.parse().ok()?;
    let (pool, _) = public.iter().find(|(_, a)| *a == u32::from(address))?;
    Some(pool_twin(*pool, u32::from(address)).to_string())
}

/// Projects get between these many VMs (the last one takes the remainder); each
/// project's VMs live in its own 10.x.y.0/24 from .10 upwards.
const PROJECT_SIZE: (u64, u64) = (60, 140);

/// The generator's entire randomness: xorshift64*, seeded through splitmix64 so
/// that small seeds (0, 1, 2...) still give unrelated streams.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n < 2^32), by multiply-shift on the high bits.
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Prefix {
    net: u32,
    len: u8,
}

impl Prefix {
    fn mask(len: u8) -> u32 {
        if len == 0 { 0 } else { u32::MAX << (32 - len) }
    }

    fn first(self) -> u32 {
        self.net
    }

    fn last(self) -> u32 {
        self.net | !Prefix::mask(self.len)
    }

    fn contains(self, other: Prefix) -> bool {
        other.len >= self.len && other.net & Prefix::mask(self.len) == self.net
    }

    /// A random prefix of length `len` inside `self`.
    fn random_inside(self, len: u8, rng: &mut Rng) -> Prefix {
        let bits = rng.next() as u32 & !Prefix::mask(self.len);
        Prefix {
            net: (self.net | bits) & Prefix::mask(len),
            len,
        }
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.net), self.len)
    }
}

/// A partner prefix's IPv6 twin: the /10 of partners is the /40 of
/// [`PARTNERS6`], so nesting and cover are the same as in IPv4.
struct PartnerTwin(Prefix);

impl std::fmt::Display for PartnerTwin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (base, base_len) = PARTNERS6;
        let offset = u128::from(self.0.net - PARTNERS.net);
        let shift = 128 - u32::from(base_len) - (32 - u32::from(PARTNERS.len));
        let len = base_len + (self.0.len - PARTNERS.len);
        write!(f, "{}/{len}", Ipv6Addr::from(base | offset << shift))
    }
}

/// Can `entry` never win, because prefixes longer than it cover all of it? The
/// same judgement as `check`'s SY0903, so the generator never triggers it.
fn covered(entry: Prefix, all: &[Prefix]) -> bool {
    let mut inside: Vec<(u32, u32)> = all
        .iter()
        .filter(|p| p.len > entry.len && entry.contains(**p))
        .map(|p| (p.first(), p.last()))
        .collect();
    inside.sort_unstable();
    let mut next = entry.first() as u64;
    for (first, last) in inside {
        if first as u64 > next {
            return false;
        }
        next = next.max(last as u64 + 1);
    }
    next > entry.last() as u64
}

/// A random partner destination, /12 to /24.
fn random_destination(rng: &mut Rng) -> Prefix {
    let len = *rng.pick(&[12, 14, 16, 16, 18, 20, 22, 24]);
    PARTNERS.random_inside(len, rng)
}

/// A random prefix strictly inside `parent`, at most /28.
fn nested_in(parent: Prefix, rng: &mut Rng) -> Prefix {
    let len = (parent.len + rng.between(2, 8) as u8).min(28);
    parent.random_inside(len, rng)
}

struct Project {
    /// Pools every VM of the project has an address in; project-wide `default`
    /// and `egress` only name these, so they apply to every VM.
    core: [usize; 2],
    /// The third pool when the ACL allows it (some VMs use it); `None`: denied.
    extra: Option<usize>,
    default: usize,
    egress: Vec<(Prefix, usize)>,
}

struct Vm {
    host: usize,
    /// (pool, address), in pool order.
    public: Vec<(usize, u32)>,
    default: Option<String>,
    egress: Vec<(Prefix, String)>,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Writes a topology with `vms` VMs on `hosts` hosts to `out`. Identical
/// arguments give identical bytes.
pub fn generate(
    vms: usize,
    hosts: usize,
    seed: u64,
    dual_stack: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    if !(1..=MAX_HOSTS).contains(&hosts) {
        return Err(invalid(format!("--hosts must be 1..={MAX_HOSTS}")));
    }
    if vms > MAX_VMS {
        return Err(invalid(format!("--vms must be at most {MAX_VMS}")));
    }
    let mut rng = Rng::new(seed);

    let flag = if dual_stack { " --dual-stack" } else { "" };
    writeln!(
        out,
        "# Generated by examples/synth.rs --vms {vms} --hosts {hosts} --seed {seed}{flag}\nversion = 1\n"
    )?;
    for (name, id, _, _) in UPLINKS {
        writeln!(
            out,
            "[uplinks.{name}]\nid = {id}\ndescription = \"synthetic uplink {id}\"\n"
        )?;
    }
    for (i, (name, net)) in POOLS.iter().enumerate() {
        let prefix = Prefix {
            net: *net,
            len: POOL_LEN,
        };
        let twin = dual_stack.then(|| format!("{}/64", pool_twin(i, *net)));
        writeln!(
            out,
            "[pools.{name}]\nuplink = \"{}\"\nprefix = {}\n",
            UPLINKS[i].0,
            one_per_family(&prefix.to_string(), twin)
        )?;
    }
    for host in 0..hosts {
        writeln!(out, "[hosts.net{}]\nlan = [\"lan0\"]", host + 1)?;
        for (u, (uplink, _, interface, vlan)) in UPLINKS.iter().enumerate() {
            let base = LINKS + (u as u32) * 0x8000 + (host as u32) * 4;
            writeln!(out, "[hosts.net{}.uplinks.{uplink}]", host + 1)?;
            writeln!(out, "interface = \"{interface}\"")?;
            if *vlan {
                writeln!(out, "vlan = {{ parent = \"eth1\", id = 100 }}")?;
            }
            let link6 = |last: u128| {
                let link = 0x2001_0db8_00f0_u128 + u as u128;
                Ipv6Addr::from(link << 80 | (host as u128) << 64 | last)
            };
            let address6 = dual_stack.then(|| format!("{}/64", link6(2)));
            let gateway6 = dual_stack.then(|| "fe80::1".to_owned());
            writeln!(
                out,
                "address = {}\ngateway = {}",
                one_per_family(&format!("{}/30", Ipv4Addr::from(base + 2)), address6),
                one_per_family(&Ipv4Addr::from(base + 1).to_string(), gateway6)
            )?;
        }
        writeln!(out)?;
    }

    // Projects and their VMs, one project at a time (a project's table, then its
    // VMs' tables): memory stays bounded by one project whatever `vms` is.
    let vm_width = digits(vms);
    let project_width = digits(vms.div_ceil(PROJECT_SIZE.0 as usize));
    let mut next_in_pool = [1u32; 3]; // skip each pool's network address
    let mut vm_index = 0;
    let mut project_index = 0;
    while vm_index < vms {
        let size = (rng.between(PROJECT_SIZE.0, PROJECT_SIZE.1) as usize).min(vms - vm_index);
        let project = plan_project(&mut rng);
        let members: Vec<Vm> = (0..size)
            .map(|_| plan_vm(&project, hosts, &mut next_in_pool, &mut rng))
            .collect();
        let name = format!("proj-{project_index:0project_width$}");
        // 10.x.y.0/24 for project x * 256 + y.
        let network = 0x0A00_0000 | ((project_index as u32) << 8);
        write_project(
            out, &name, network, &project, &members, dual_stack, &mut rng,
        )?;
        for (i, vm) in members.iter().enumerate() {
            let vm_name = format!("vm-{:0vm_width$}", vm_index + i);
            let address = network + 10 + i as u32;
            let twin = dual_stack.then(|| private_twin(network, address));
            write_vm(out, &vm_name, &name, address, twin, vm)?;
        }
        vm_index += size;
        project_index += 1;
    }
    Ok(())
}

/// A one-per-family key: the IPv4 value alone as a string (as a file without
/// IPv6 writes it), or both in a list.
fn one_per_family(v4: &str, v6: Option<String>) -> String {
    match v6 {
        Some(v6) => format!("[\"{v4}\", \"{v6}\"]"),
        None => format!("\"{v4}\""),
    }
}

fn digits(n: usize) -> usize {
    n.max(1).to_string().len()
}

fn plan_project(rng: &mut Rng) -> Project {
    // Which pool is not core; 60% of projects may use it too, the rest are denied it.
    let other = rng.below(3) as usize;
    let core = match other {
        0 => [1, 2],
        1 => [0, 2],
        _ => [0, 1],
    };
    let extra = rng.percent(60).then_some(other);
    let default = *rng.pick(&core);
    let mut egress: Vec<(Prefix, usize)> = Vec::new();
    let wanted = rng.between(1, 3);
    for _ in 0..wanted * 4 {
        if egress.len() as u64 == wanted {
            break;
        }
        let to = match egress.last() {
            Some((last, _)) if rng.percent(40) && last.len < 28 => nested_in(*last, rng),
            _ => random_destination(rng),
        };
        if egress.iter().any(|(p, _)| *p == to) {
            continue;
        }
        let mut prefixes: Vec<Prefix> = egress.iter().map(|(p, _)| *p).collect();
        prefixes.push(to);
        if prefixes.iter().any(|p| covered(*p, &prefixes)) {
            continue;
        }
        egress.push((to, *rng.pick(&core)));
    }
    Project {
        core,
        extra,
        default,
        egress,
    }
}

fn plan_vm(project: &Project, hosts: usize, next_in_pool: &mut [u32; 3], rng: &mut Rng) -> Vm {
    let mut pools: Vec<usize> = project.core.to_vec();
    if let Some(extra) = project.extra
        && rng.percent(50)
    {
        pools.push(extra);
    }
    pools.sort_unstable();
    let public: Vec<(usize, u32)> = pools
        .iter()
        .map(|&pool| {
            let address = POOLS[pool].1 + next_in_pool[pool];
            next_in_pool[pool] += 1;
            (pool, address)
        })
        .collect();
    let mut vm = Vm {
        host: rng.below(hosts as u64) as usize,
        public,
        default: None,
        egress: Vec::new(),
    };
    // About 20% of VMs override the project: their own default (by address or by
    // pool), their own preferences, or both.
    if rng.percent(20) {
        let (own_default, own_egress) = match rng.below(10) {
            0..=3 => (true, false),
            4..=7 => (false, true),
            _ => (true, true),
        };
        if own_default {
            vm.default = Some(random_via(&vm.public, rng));
        }
        if own_egress {
            plan_vm_egress(project, &mut vm, rng);
        }
    }
    vm
}

/// A VM `via`: one of its public addresses, or the name of one of its pools.
fn random_via(public: &[(usize, u32)], rng: &mut Rng) -> String {
    let (pool, address) = *rng.pick(public);
    if rng.percent(50) {
        Ipv4Addr::from(address).to_string()
    } else {
        POOLS[pool].0.to_owned()
    }
}

fn plan_vm_egress(project: &Project, vm: &mut Vm, rng: &mut Rng) {
    let wanted = rng.between(1, 3) as usize;
    for _ in 0..wanted * 4 {
        if vm.egress.len() == wanted {
            break;
        }
        let project_prefix = rng.pick(&project.egress).0;
        let to = match rng.below(4) {
            // Equal length: overrides the project's entry for this VM.
            0 => project_prefix,
            // Nested inside a project entry, or inside one of the VM's own.
            1 => nested_in(project_prefix, rng),
            2 if !vm.egress.is_empty() => {
                let parent = rng.pick(&vm.egress).0;
                if parent.len >= 28 {
                    continue;
                }
                nested_in(parent, rng)
            }
            _ => random_destination(rng),
        };
        if vm.egress.iter().any(|(p, _)| *p == to) {
            continue;
        }
        let mut prefixes: Vec<Prefix> = vm.egress.iter().map(|(p, _)| *p).collect();
        prefixes.push(to);
        let own = prefixes.len();
        prefixes.extend(project.egress.iter().map(|(p, _)| *p));
        // Only VM entries are judged against both scopes (as `check` does).
        if prefixes[..own].iter().any(|p| covered(*p, &prefixes)) {
            continue;
        }
        let via = random_via(&vm.public, rng);
        vm.egress.push((to, via));
    }
}

fn write_project(
    out: &mut impl Write,
    name: &str,
    network: u32,
    project: &Project,
    members: &[Vm],
    dual_stack: bool,
    rng: &mut Rng,
) -> io::Result<()> {
    let mut acl: Vec<usize> = project.core.to_vec();
    acl.extend(project.extra);
    acl.sort_unstable();
    writeln!(out, "[projects.{name}]")?;
    write!(out, "pools = [")?;
    for (i, pool) in acl.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        write!(out, "{sep}\"{}\"", POOLS[*pool].0)?;
    }
    writeln!(out, "]")?;
    match dual_stack {
        true => writeln!(
            out,
            "networks = [\"{}/24\", \"{}/64\"]",
            Ipv4Addr::from(network),
            private_twin(network, network)
        )?,
        false => writeln!(out, "networks = [\"{}/24\"]", Ipv4Addr::from(network))?,
    }
    // Every address a member uses, pool by pool, eight to a line.
    let mut held = [0usize; 3];
    writeln!(out, "addresses = [")?;
    for (pool, held) in held.iter_mut().enumerate() {
        let addresses: Vec<u32> = members
            .iter()
            .flat_map(|vm| vm.public.iter())
            .filter(|(p, _)| *p == pool)
            .map(|(_, a)| *a)
            .collect();
        *held = addresses.len();
        for line in addresses.chunks(8) {
            write!(out, " ")?;
            for address in line {
                write!(out, " \"{}\",", Ipv4Addr::from(*address))?;
            }
            writeln!(out)?;
            if dual_stack {
                write!(out, " ")?;
                for address in line {
                    write!(out, " \"{}\",", pool_twin(pool, *address))?;
                }
                writeln!(out)?;
            }
        }
    }
    writeln!(out, "]")?;
    // A third of the projects have a quota on one of their pools, with some room.
    if rng.percent(33) {
        let pool = *rng.pick(&acl);
        let limit = held[pool] as u64 + rng.below(5);
        writeln!(out, "quota = {{ {} = {limit} }}", POOLS[pool].0)?;
    }
    writeln!(out, "default = \"{}\"", POOLS[project.default].0)?;
    let entries = project
        .egress
        .iter()
        .map(|(to, pool)| (*to, POOLS[*pool].0));
    let twins = entries
        .clone()
        .filter(|_| dual_stack)
        .map(|(to, pool)| (PartnerTwin(to).to_string(), pool.to_owned()));
    let entries: Vec<(String, String)> = entries
        .map(|(to, pool)| (to.to_string(), pool.to_owned()))
        .chain(twins)
        .collect();
    write_egress(out, &entries)?;
    writeln!(out)
}

/// `twin`: the VM's IPv6 address with `--dual-stack`; its public addresses,
/// default and entries then get their IPv6 twins too.
fn write_vm(
    out: &mut impl Write,
    name: &str,
    project: &str,
    address: u32,
    twin: Option<Ipv6Addr>,
    vm: &Vm,
) -> io::Result<()> {
    writeln!(
        out,
        "[vms.{name}]\nproject = \"{project}\"\nhost = \"net{}\"\naddress = {}",
        vm.host + 1,
        one_per_family(
            &Ipv4Addr::from(address).to_string(),
            twin.map(|t| t.to_string())
        )
    )?;
    let dual_stack = twin.is_some();
    let twins = vm.public.iter().filter(|_| dual_stack);
    let public = (vm
        .public
        .iter()
        .map(|(_, a)| Ipv4Addr::from(*a).to_string()))
    .chain(twins.map(|(pool, a)| pool_twin(*pool, *a).to_string()));
    write!(out, "public = [")?;
    for (i, public) in public.enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        write!(out, "{sep}\"{public}\"")?;
    }
    writeln!(out, "]")?;
    if let Some(default) = &vm.default {
        match via_twin(default, &vm.public).filter(|_| dual_stack) {
            Some(twin) => writeln!(out, "default = [\"{default}\", \"{twin}\"]")?,
            None => writeln!(out, "default = \"{default}\"")?,
        }
    }
    let entries = vm
        .egress
        .iter()
        .map(|(to, via)| (to.to_string(), via.clone()));
    let twins = vm.egress.iter().filter(|_| dual_stack).map(|(to, via)| {
        let via = via_twin(via, &vm.public).unwrap_or_else(|| via.clone());
        (PartnerTwin(*to).to_string(), via)
    });
    write_egress(out, &entries.chain(twins).collect::<Vec<_>>())?;
    writeln!(out)
}

fn write_egress(out: &mut impl Write, entries: &[(String, String)]) -> io::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    writeln!(out, "egress = [")?;
    for (to, via) in entries {
        writeln!(out, "  {{ to = \"{to}\", via = \"{via}\" }},")?;
    }
    writeln!(out, "]")
}

#[cfg_attr(test, allow(dead_code))]
fn main() -> std::process::ExitCode {
    use clap::Parser;

    /// Print a synthetic switchyard topology to stdout.
    #[derive(Parser)]
    #[command(name = "synth")]
    struct Args {
        /// Number of VMs.
        #[arg(long, default_value_t = 1000)]
        vms: usize,
        /// Number of network hosts (every one attached to all three uplinks).
        #[arg(long, default_value_t = 2)]
        hosts: usize,
        /// PRNG seed: the same seed gives byte-identical output.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Give every address and prefix an IPv6 twin.
        #[arg(long)]
        dual_stack: bool,
    }

    let args = Args::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let generated = generate(args.vms, args.hosts, args.seed, args.dual_stack, &mut out);
    match generated.and_then(|()| out.flush()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("synth: {error}");
            std::process::ExitCode::from(2)
        }
    }
}
