//! The nftables backend: one `inet switchyard` table per host (templates/switchyard.nft).

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Display, Write};
use std::net::Ipv4Addr;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Header, Verbatim};
use crate::intervals::{self, Range};
use crate::layout::{self, hex};
use crate::model::{InterfaceName, Model, Scope};
use crate::plan::{Decision, HostPlan, PoolPlan, UplinkNumber, VmPlan};

/// The nft table switchyard owns; nothing outside it is touched.
pub const TABLE: &str = "switchyard";
/// The set of down uplinks' marks in it, which the monitor keeps.
pub const DOWN_UPLINKS_SET: &str = "down_uplinks";

/// Length of a build id: an `ifname` element holds at most 15 bytes.
pub(super) const BUILD_ID_LEN: usize = 15;

/// What the template receives as the build id; [`stamp_build_id`] replaces it.
/// A control character never occurs in a rendered script otherwise (names
/// exclude them, comments and headers replace them), so this is found only
/// where the template placed the id.
pub const BUILD_ID_PLACEHOLDER: &str = "\u{1}build-id-here\u{1}";

/// Replaces the template's build-id placeholder in a rendered nft script with
/// the script's id: the first hex digits of the SHA-256 of the script as
/// rendered around the placeholder, without its first line. So the id follows
/// from what the script loads, the same build always gets the same id, and it
/// does not change with the header (a topology renamed, or built by another
/// version of switchyard, that loads the same table has the same id).
pub fn stamp_build_id(script: &mut String) {
    let Some(start) = script.find(BUILD_ID_PLACEHOLDER) else {
        // A template override without the set: no id to stamp.
        return;
    };
    let body = script.split_once('\n').map_or("", |(_, body)| body);
    let digest = Sha256::digest(body.as_bytes());
    let id: String = digest
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0xf])
        .take(BUILD_ID_LEN)
        .map(|nibble| char::from_digit(u32::from(nibble), 16).expect("a nibble"))
        .collect();
    script.replace_range(start..start + BUILD_ID_PLACEHOLDER.len(), &id);
}

/// Everything but the map elements is a small structure the template lays out.
/// The elements are the only part that grows with the number of VMs (hundreds of
/// thousands of lines at scale), so the generator writes them as ready lines,
/// `\n\t\t\tKEY : VALUE, # comment` (see [`Elements`]), and the template places
/// each block inside its map's `elements = {`: one string per map instead of a
/// template loop over as many objects.
#[derive(Serialize)]
struct Context<'a> {
    header: Verbatim<'a>,
    table: &'static str,
    /// Stamped after rendering ([`stamp_build_id`]).
    build_id: Verbatim<'static>,
    mark_mask: String,
    uplink_mask: String,
    pool_mask: String,
    keep_uplink_mask: String,
    keep_failover_mask: String,
    /// Sorted: the set is the same whatever order the topology lists it in.
    lan: Vec<&'a str>,
    uplinks: Vec<Uplink<'a>>,
    pools: Vec<Pool<'a>>,
    /// Elements of set `internal`: `range`.
    internal: Elements,
    /// Elements of set `own_egress` and maps `egress_by_vm`, `default_by_vm`,
    /// `egress_by_project` (see [`EgressElements`]).
    own_egress: Elements,
    egress_by_vm: Elements,
    default_by_vm: Elements,
    egress_by_project: Elements,
    /// Elements of map `dnat_addresses`: `public : private`.
    dnat: Elements,
    /// Elements of set `vm_sources`: `range` of this host's VM addresses.
    sources: Elements,
    /// Elements of set `bound_sources`: `private`, for VMs bound to a MAC.
    bound_sources: Elements,
    /// Elements of set `mac_bindings`: `mac . private`.
    mac_bindings: Elements,
    /// The host runs the monitor: declare the set of down uplinks.
    failover: bool,
    down_uplinks: &'static str,
    failover_chains: Vec<FailoverChain<'a>>,
}

/// Chain `failover_N`: tries the pools in order, skipping those whose uplink is
/// in set `down_uplinks`. One per distinct list of pools the host's decisions
/// use, so their number is bounded by the topology's lists, not by its VMs.
#[derive(Serialize)]
struct FailoverChain<'a> {
    number: usize,
    /// The failover group's conntrack-mark bits (`FailoverGroup::ct_mark`).
    ct_mark: String,
    pools: Vec<FailoverPool<'a>>,
}

#[derive(Serialize)]
struct FailoverPool<'a> {
    number: u8,
    name: &'a str,
    uplink: &'a str,
}

#[derive(Serialize)]
struct Uplink<'a> {
    name: &'a str,
    id: u8,
    interface: &'a str,
    mark: String,
}

#[derive(Serialize)]
struct Pool<'a> {
    name: &'a str,
    number: u8,
    prefix: String,
    uplink: &'a str,
    mark: String,
    uplink_mark: String,
    pool_mark: String,
    keep_mask: String,
    /// Elements of map `snat_pool_N`: `private : public`.
    snat: Elements,
}

/// Element lines of one set or map, each `\n\t\t\tELEMENT,` with an optional
/// `# comment`, and how many there are: the template omits `elements` when there
/// are none and declares hash maps with a `size` (a map declared with its size
/// gets a fixed-size hash table, which loads markedly faster than a growing one).
#[derive(Default)]
struct Elements {
    lines: String,
    count: usize,
}

/// The smallest declared hash-map size: a few kilobytes of buckets in the
/// kernel, and small maps keep their size through any change of a few VMs.
const MIN_DECLARED_SIZE: usize = 1024;

impl Serialize for Elements {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut elements = serializer.serialize_struct("Elements", 3)?;
        elements.serialize_field("lines", &Verbatim(&self.lines))?;
        elements.serialize_field("count", &self.count)?;
        elements.serialize_field("size", &self.declared_size())?;
        elements.end()
    }
}

impl Elements {
    /// The `size` a hash map is declared with: room for a quarter more elements,
    /// rounded up to a power of two, and at least [`MIN_DECLARED_SIZE`]. An
    /// update cannot change a map's size (it is part of the table's structure,
    /// and nft refuses elements beyond it), so the size must not follow every
    /// added or removed element: with this headroom it changes only when the map
    /// grows or shrinks past a power of two, and never on a small host.
    fn declared_size(&self) -> usize {
        (self.count + self.count / 4)
            .next_power_of_two()
            .max(MIN_DECLARED_SIZE)
    }

    fn of_ranges(ranges: &[Range]) -> Self {
        let mut elements = Elements::default();
        for range in ranges {
            elements.push(RangeText(*range), None);
        }
        elements
    }

    /// `KEY : VERDICT, # comment` of an egress decision.
    fn push_decision(
        &mut self,
        key: impl Display,
        owner: Owner,
        decision: &Decision,
        verdicts: &Verdicts,
        model: &Model,
    ) {
        let verdict = verdicts.of(decision);
        let comment = ElementComment {
            owner,
            decision,
            verdict,
            model,
        };
        self.push(format_args!("{key} : {verdict}"), Some(&comment));
    }

    fn push(&mut self, element: impl Display, comment: Option<&dyn Display>) {
        self.count += 1;
        // Writing to a String cannot fail.
        let _ = match comment {
            Some(comment) => write!(self.lines, "\n\t\t\t{element}, # {comment}"),
            None => write!(self.lines, "\n\t\t\t{element},"),
        };
    }
}

/// `model` is the one `host` was planned from: it has the names the comments print.
pub fn script_context<'a>(
    model: &'a Model,
    host: &'a HostPlan,
    header: &'a Header,
) -> impl Serialize + 'a {
    let verdicts = Verdicts::new(host);
    // The address maps are about half of a large host's script and depend on
    // nothing else in it: on a single host this keeps the second core busy.
    let (egress, address_maps) = rayon::join(
        || EgressElements::new(model, host, &verdicts),
        || AddressMaps::new(model, host),
    );
    Context {
        header: header.verbatim(),
        table: TABLE,
        build_id: Verbatim(BUILD_ID_PLACEHOLDER),
        mark_mask: hex(layout::MARK_MASK),
        uplink_mask: hex(layout::UPLINK_MARK_MASK),
        pool_mask: hex(layout::POOL_MARK_MASK),
        keep_uplink_mask: hex(!layout::UPLINK_MARK_MASK),
        keep_failover_mask: hex(!layout::FAILOVER_MARK_MASK),
        lan: host.lan.iter().map(InterfaceName::as_str).collect(),
        uplinks: host
            .uplinks
            .iter()
            .map(|u| Uplink {
                name: &u.name,
                id: u.id.0,
                interface: &u.interface,
                mark: hex(u.mark),
            })
            .collect(),
        pools: host
            .pools
            .iter()
            .zip(address_maps.snat)
            .map(|(pool, snat)| Pool::new(pool, snat))
            .collect(),
        internal: Elements::of_ranges(&host.internal),
        own_egress: egress.own_egress,
        egress_by_vm: egress.by_vm,
        default_by_vm: egress.default_by_vm,
        egress_by_project: egress.by_project,
        dnat: address_maps.dnat,
        sources: Elements::of_ranges(&host.sources),
        bound_sources: address_maps.bound_sources,
        mac_bindings: address_maps.mac_bindings,
        failover: host.failover.is_some(),
        down_uplinks: DOWN_UPLINKS_SET,
        failover_chains: verdicts.chains(host),
    }
}

/// The elements of the maps that translate one address into another, each
/// commented with its VM's name: `snat_pool_N` (one per pool of the host, in
/// its order), `dnat_addresses`, `bound_sources` and `mac_bindings`.
struct AddressMaps {
    snat: Vec<Elements>,
    dnat: Elements,
    bound_sources: Elements,
    mac_bindings: Elements,
}

impl AddressMaps {
    /// The pools' maps and the others side by side; `collect` keeps the pools' order.
    fn new(model: &Model, host: &HostPlan) -> Self {
        let vm_names: HashMap<_, _> = host
            .vms
            .iter()
            .map(|vm| (vm.private, model.vm(vm.vm).name.value.as_str()))
            .collect();
        let vm_name = |private: &Ipv4Addr| vm_names.get(private).copied().unwrap_or_default();
        // `FROM : TO` elements, commented with the VM whose private address
        // `private_of` picks out of the pair.
        let translations =
            |pairs: &[(Ipv4Addr, Ipv4Addr)], private_of: fn(&(Ipv4Addr, Ipv4Addr)) -> Ipv4Addr| {
                let mut elements = Elements::default();
                for pair @ (from, to) in pairs {
                    elements.push(
                        format_args!("{} : {}", Addr(*from), Addr(*to)),
                        Some(&vm_name(&private_of(pair))),
                    );
                }
                elements
            };
        let snat_of = |pool: &PoolPlan| translations(&pool.snat, |(private, _)| *private);
        let dnat = || translations(&host.dnat, |(_, private)| *private);
        let ((snat, dnat), (bound_sources, mac_bindings)) = rayon::join(
            || rayon::join(|| host.pools.par_iter().map(snat_of).collect(), dnat),
            || {
                let mut bound_sources = Elements::default();
                let mut mac_bindings = Elements::default();
                for (private, mac) in &host.mac_bindings {
                    bound_sources.push(Addr(*private), Some(&vm_name(private)));
                    mac_bindings.push(
                        format_args!("{mac} . {}", Addr(*private)),
                        Some(&vm_name(private)),
                    );
                }
                (bound_sources, mac_bindings)
            },
        );
        AddressMaps {
            snat,
            dnat,
            bound_sources,
            mac_bindings,
        }
    }
}

impl<'a> Pool<'a> {
    fn new(pool: &'a PoolPlan, snat: Elements) -> Self {
        Pool {
            name: &pool.name,
            number: pool.number,
            prefix: pool.prefix.to_string(),
            uplink: &pool.uplink,
            mark: hex(pool.mark),
            uplink_mark: hex(pool.mark & layout::UPLINK_MARK_MASK),
            pool_mark: hex(pool.mark & layout::POOL_MARK_MASK),
            keep_mask: hex(!layout::MARK_MASK),
            snat,
        }
    }
}

/// The egress decision's elements (docs/semantics.md §2, layered): a VM that
/// follows its project is found by its project's networks, in a painting that
/// covers every destination (the default's share included), so one lookup
/// decides. Every other VM is found by its address: its egress ranges, then its
/// default in a hash map (as ranges they would be the most elements of the
/// interval map, whose every element costs the kernel more to load and copy).
struct EgressElements {
    /// Set `own_egress`: the VMs that do not follow their project.
    own_egress: Elements,
    /// Map `egress_by_vm`: `vm . range : verdict` for those VMs.
    by_vm: Elements,
    /// Map `default_by_vm`: `vm : verdict` for those VMs.
    default_by_vm: Elements,
    /// Map `egress_by_project`: `project network . range : verdict`.
    by_project: Elements,
}

impl EgressElements {
    fn new(model: &Model, host: &HostPlan, verdicts: &Verdicts) -> Self {
        let mut own: Vec<&VmPlan> = host.vms.iter().filter(|vm| !vm.follows_project).collect();
        own.sort_by_key(|vm| vm.private);
        let mut elements = EgressElements {
            own_egress: Elements::default(),
            by_vm: Elements::default(),
            default_by_vm: Elements::default(),
            by_project: Elements::default(),
        };
        for vm in own {
            let name = &model.vm(vm.vm).name.value;
            elements.own_egress.push(Addr(vm.private), Some(name));
            let owner = Owner::Vm(vm);
            for (range, decision) in &vm.egress {
                let key = format_args!("{} . {}", Addr(vm.private), RangeText(*range));
                elements
                    .by_vm
                    .push_decision(key, owner, decision, verdicts, model);
            }
            if let Some(decision) = &vm.default {
                let key = Addr(vm.private);
                elements
                    .default_by_vm
                    .push_decision(key, owner, decision, verdicts, model);
            }
        }
        for project in &host.projects {
            let owner = Owner::Project(&model.project(project.project).name.value);
            let painting = intervals::fill_gaps(&project.egress, project.default.as_ref());
            for network in &project.networks {
                for (range, decision) in &painting {
                    let key = format_args!("{} . {}", RangeText(*network), RangeText(*range));
                    elements
                        .by_project
                        .push_decision(key, owner, decision, verdicts, model);
                }
            }
        }
        elements
    }
}

/// What a decision's map elements jump to: `goto via_pool_N` for its first pool,
/// or, when the decision has candidates on more than one uplink (only with
/// `[failover]`), `goto failover_N` for its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Verdict {
    Pool(u8),
    Failover(usize),
}

impl Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pool(number) => write!(f, "goto via_pool_{number}"),
            Verdict::Failover(number) => write!(f, "goto failover_{number}"),
        }
    }
}

/// The host's distinct failover lists (pool numbers of the candidates that can
/// be chosen), numbered in sorted order so the ruleset does not depend on which
/// VM uses a list first.
struct Verdicts {
    /// Pool numbers → the chain's number and the uplinks it falls back between.
    lists: BTreeMap<Vec<u8>, (usize, Vec<UplinkNumber>)>,
}

impl Verdicts {
    fn new(host: &HostPlan) -> Self {
        let mut lists = BTreeMap::new();
        for vm in &host.vms {
            for decision in vm.decisions() {
                if let Some(list) = Self::list(decision) {
                    lists
                        .entry(list)
                        .or_insert_with(|| decision.failover_uplinks().unwrap_or_default());
                }
            }
        }
        let lists = lists
            .into_iter()
            .enumerate()
            .map(|(i, (list, uplinks))| (list, (i + 1, uplinks)))
            .collect();
        Verdicts { lists }
    }

    /// The decision's way when it has several pools (never without
    /// `[failover]`: no fallbacks, and no list to build).
    fn list(decision: &Decision) -> Option<Vec<u8>> {
        if decision.fallbacks.is_empty() {
            return None;
        }
        decision.way().failover()
    }

    fn of(&self, decision: &Decision) -> Verdict {
        match Self::list(decision) {
            Some(list) => Verdict::Failover(self.lists[&list].0),
            None => Verdict::Pool(decision.first.pool_number),
        }
    }

    fn chains<'a>(&self, host: &'a HostPlan) -> Vec<FailoverChain<'a>> {
        let mut chains: Vec<FailoverChain> = self
            .lists
            .iter()
            .map(|(list, &(number, ref uplinks))| FailoverChain {
                number,
                ct_mark: hex(host
                    .failover
                    .as_ref()
                    .and_then(|f| f.group(uplinks))
                    .map_or(0, |group| group.ct_mark)),
                pools: list
                    .iter()
                    .filter_map(|n| host.pools.iter().find(|p| p.number == *n))
                    .map(|pool| FailoverPool {
                        number: pool.number,
                        name: &pool.name,
                        uplink: &pool.uplink,
                    })
                    .collect(),
            })
            .collect();
        chains.sort_by_key(|chain| chain.number);
        chains
    }
}

/// nft refuses a `comment "…"` longer than this many bytes.
pub const COMMENT_MAX_BYTES: usize = 128;

/// The `nft_comment` template filter: text that is safe inside an nft
/// `comment "…"` — no quote, backslash or control character, at most
/// [`COMMENT_MAX_BYTES`] (two 63-byte names overflow it; the end is cut).
pub fn comment(text: String) -> String {
    let safe: String = text
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    if safe.len() <= COMMENT_MAX_BYTES {
        return safe;
    }
    let mut end = COMMENT_MAX_BYTES - "...".len();
    while !safe.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &safe[..end])
}

/// An address, a prefix when the range is one (`100.64.0.0/10`), else `first-last`.
struct RangeText(Range);

impl Display for RangeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.first == self.0.last {
            return write!(f, "{}", Addr(self.0.first_address()));
        }
        match self.0.as_prefix() {
            Some(prefix) => write!(f, "{}/{}", Addr(prefix.network()), prefix.prefix_len()),
            None => write!(
                f,
                "{}-{}",
                Addr(self.0.first_address()),
                Addr(self.0.last_address())
            ),
        }
    }
}

/// An address in dotted quad, written without the formatting machinery per
/// octet: the script of a host with 100k VMs holds about a million of them.
struct Addr(Ipv4Addr);

impl Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; 15];
        let mut len = 0;
        for (i, octet) in self.0.octets().into_iter().enumerate() {
            if i > 0 {
                text[len] = b'.';
                len += 1;
            }
            if octet >= 100 {
                text[len] = b'0' + octet / 100;
                len += 1;
            }
            if octet >= 10 {
                text[len] = b'0' + octet / 10 % 10;
                len += 1;
            }
            text[len] = b'0' + octet % 10;
            len += 1;
        }
        f.write_str(std::str::from_utf8(&text[..len]).expect("digits and dots"))
    }
}

/// Whose decision an egress element holds.
#[derive(Clone, Copy)]
enum Owner<'a> {
    Vm(&'a VmPlan),
    Project(&'a str),
}

/// An egress element's comment: `VM: scope entry PREFIX via POOL (PUBLIC)`,
/// `VM: scope default via POOL (PUBLIC)`, or for a project's element `project
/// NAME: …` without the public address, which differs from VM to VM.
struct ElementComment<'a> {
    owner: Owner<'a>,
    decision: &'a Decision,
    verdict: Verdict,
    /// Has the names of the plan's ids.
    model: &'a Model,
}

impl Display for ElementComment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decision = self.decision;
        let pool_name = |pool| self.model.pool(pool).name.value.as_str();
        let prefix = self.model.entry_prefix(decision.decided_by);
        let scope = match decision.decided_by.scope() {
            Scope::Vm => "vm",
            Scope::Project => "project",
        };
        match self.owner {
            Owner::Vm(vm) => write!(f, "{}: ", self.model.vm(vm.vm).name.value)?,
            Owner::Project(name) => write!(f, "project {name}: ")?,
        }
        let first = &decision.first;
        match prefix {
            Some(prefix) => write!(f, "{scope} entry {prefix} via {}", pool_name(first.pool))?,
            None => write!(f, "{scope} default via {}", pool_name(first.pool))?,
        }
        if let Owner::Vm(_) = self.owner {
            write!(f, " ({})", first.public)?;
        }
        if let Verdict::Failover(_) = self.verdict {
            for fallback in decision.reachable().skip(1) {
                write!(f, ", else {}", pool_name(fallback.pool))?;
            }
        }
        Ok(())
    }
}
