//! The nftables backend: one `inet switchyard` table per host (templates/switchyard.nft).

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Display};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Header, Verbatim};
use crate::family::{Family, V4, V6};
use crate::intervals::Range;
use crate::layout::{self, hex};
use crate::model::{InterfaceName, Model, Scope};
use crate::nft_table::{
    Addr, Addr6, BUILD_SET, DataType, Element, Key, NftFamily, Set, Table, Value, Verdict,
    write_element_lines,
};
use crate::plan::{Decision, FamilyPlan, HostPlan, PoolPlan, UplinkNumber, VmPlan};
use ipnet::IpNet;

/// The nft table switchyard owns; nothing outside it is touched.
pub const TABLE: &str = "switchyard";
/// The set of down uplinks' marks in it, which the monitor keeps.
pub const DOWN_UPLINKS_SET: &str = "down_uplinks";

/// Length of a build id: an `ifname` element holds at most 15 bytes.
pub(super) const BUILD_ID_LEN: usize = 15;

/// What the template receives as the build id; [`ElementLines::stamped_script`]
/// replaces it with [`build_id`].
/// A control character never occurs in a rendered script otherwise (names
/// exclude them, comments and headers replace them), so this is found only
/// where the template placed the id.
pub const BUILD_ID_PLACEHOLDER: &str = "\u{1}build-id-here\u{1}";

/// The build id of the nft script: the first hex digits of the SHA-256 of
/// the script as rendered around the build-id placeholder, without its first
/// line. So the id follows from what the script loads, the same build always
/// gets the same id, and it does not change with the header (a topology
/// renamed, or built by another version of switchyard, that loads the same
/// table has the same id).
fn build_id(script: &str) -> String {
    let body = script.split_once('\n').map_or("", |(_, body)| body);
    (Sha256::digest(body.as_bytes()).iter())
        .flat_map(|byte| [byte >> 4, byte & 0xf])
        .take(BUILD_ID_LEN)
        .map(|nibble| char::from_digit(u32::from(nibble), 16).expect("a nibble"))
        .collect()
}

/// A whole rendered script stamped with its id, as [`ElementLines::stamped_script`]
/// stamps the one it writes.
#[cfg(test)]
pub(super) fn stamp_build_id(script: &mut String) {
    let id = build_id(script);
    stamp(script, &id);
}

/// Writes `id` over the script's build-id placeholder, if it has one (a
/// template override may leave the set out).
fn stamp(script: &mut String, id: &str) {
    if let Some(start) = script.find(BUILD_ID_PLACEHOLDER) {
        script.replace_range(start..start + BUILD_ID_PLACEHOLDER.len(), id);
    }
}

/// The template lays out the table; its sets and maps come from the typed
/// model ([`table`]), each as a [`SetView`]. The elements are the only part
/// that grows with the number of VMs (hundreds of thousands of lines at
/// scale), so each set's are handed over as ready lines, one string per set
/// instead of a template loop over as many objects.
#[derive(Serialize)]
struct Context<'a> {
    header: Verbatim<'a>,
    table: &'static str,
    mark_mask: String,
    uplink_mask: String,
    pool_mask: String,
    keep_uplink_mask: String,
    keep_failover_mask: String,
    /// Sorted: the set is the same whatever order the topology lists it in.
    lan: Vec<&'a str>,
    uplinks: Vec<Uplink<'a>>,
    pools: Vec<Pool<'a>>,
    /// The families the host forwards, IPv4 first: IPv6 only when the
    /// topology gives the host any (else it drops forwarded IPv6, as a
    /// file without IPv6 always did).
    families: Vec<HostFamily<'a>>,
    ipv6: bool,
    /// Every set and map of the table by name.
    sets: BTreeMap<String, SetView>,
    /// The host runs the monitor: declare the set of down uplinks.
    failover: bool,
    down_uplinks: &'static str,
    failover_chains: Vec<FailoverChain<'a>>,
}

/// One set or map of the model as the template's `declare` macro writes it.
#[derive(Serialize)]
/// Its text is written by the table model, whole: the templates take it as is.
struct SetView {
    /// `set` or `map`.
    kind: &'static str,
    /// `ipv4_addr . ipv4_addr : verdict`.
    r#type: minijinja::Value,
    flags: minijinja::Value,
    size: Option<usize>,
    /// The elements on one line (`"lan0", "lan1"`), for the interface sets.
    inline: Option<minijinja::Value>,
    /// Else one a line, each `\n\t\t\tELEMENT, # comment`: in the context
    /// the set's [`ElementLines`] placeholder, the lines once rendered.
    lines: minijinja::Value,
}

/// The interface sets, written on one line: few elements, no comments.
const INLINE_SETS: [&str; 3] = [
    "lan_interfaces",
    "uplink_interfaces",
    "lan_and_uplink_interfaces",
];

impl SetView {
    fn new(name: &str, set: &Set) -> Self {
        let inline = INLINE_SETS.contains(&name).then(|| {
            let elements: Vec<String> = set.elements.iter().map(|e| e.to_string()).collect();
            elements.join(", ")
        });
        let verbatim = minijinja::Value::from_safe_string;
        SetView {
            kind: set.kind(),
            r#type: verbatim(set.type_text()),
            flags: verbatim(set.flags_text()),
            size: set.size,
            lines: verbatim(match ElementLines::has_lines(name, set) {
                true => ElementLines::placeholder(name),
                false => String::new(),
            }),
            inline: inline.map(verbatim),
        }
    }
}

/// The sets whose elements the script holds one a line, by name, kept out
/// of the template context: at 100k VMs their lines are tens of megabytes,
/// which minijinja would copy into a value, into the `declare` macro's
/// output and again into the script. The context holds a placeholder for
/// each instead (the set's name between two [`ElementLines::MARK`]s), and
/// [`ElementLines::stamped_script`] writes the lines into the script once.
pub(super) struct ElementLines<'t>(BTreeMap<&'t str, &'t Set>);

/// A piece of the script: the rendered template's text, or a set whose
/// lines go there.
enum Piece<'a> {
    Text(&'a str),
    Lines(&'a Set),
}

impl<'t> ElementLines<'t> {
    /// Like the build id's placeholder, a control character: never found in
    /// a rendered script otherwise.
    const MARK: char = '\u{2}';

    /// The sets of `table` written one element a line.
    pub(super) fn of(table: &'t Table) -> Self {
        let sets = table
            .sets
            .iter()
            .filter(|(name, set)| Self::has_lines(name, set));
        ElementLines(sets.map(|(name, set)| (name.as_str(), set)).collect())
    }

    /// The set is written one element a line: it has elements, and it is
    /// none of the [`INLINE_SETS`].
    fn has_lines(name: &str, set: &Set) -> bool {
        !INLINE_SETS.contains(&name) && !set.elements.is_empty()
    }

    fn placeholder(name: &str) -> String {
        format!("{mark}{name}{mark}", mark = Self::MARK)
    }

    /// The script: `rendered` with every placeholder replaced by its set's
    /// lines, and its build id stamped ([`build_id`]), or an error
    /// naming what a template made of a placeholder that is not one. At 100k
    /// VMs the script is ~70 MB: the lines are written into it where they
    /// go, in one allocation, never copied together from pieces.
    pub(super) fn stamped_script(&self, rendered: &str) -> Result<String, String> {
        let pieces = self.pieces(rendered)?;
        let mut script = String::with_capacity(Self::capacity(&pieces));
        for piece in &pieces {
            match piece {
                Piece::Text(text) => script.push_str(text),
                Piece::Lines(set) => write_element_lines(&set.elements, &mut script),
            }
        }
        let id = build_id(&script);
        stamp(&mut script, &id);
        Ok(script)
    }

    /// Room for the script: its text, and for each set's lines more than
    /// its first lines suggest (a line's length varies with its addresses
    /// and comment). Room reserved and never written costs no memory; a
    /// script outgrowing it would be copied once.
    fn capacity(pieces: &[Piece]) -> usize {
        const SAMPLE: usize = 64;
        let mut sample = String::new();
        (pieces.iter())
            .map(|piece| match piece {
                Piece::Text(text) => text.len(),
                Piece::Lines(set) => {
                    let first = &set.elements[..set.elements.len().min(SAMPLE)];
                    sample.clear();
                    write_element_lines(first, &mut sample);
                    let per_line = sample.len() / first.len();
                    set.elements.len() * (per_line * 3 / 2 + 32)
                }
            })
            .sum()
    }

    /// The script's pieces in order: `rendered`'s text, with each
    /// placeholder's place taken by its set.
    fn pieces<'a>(&'a self, rendered: &'a str) -> Result<Vec<Piece<'a>>, String> {
        let mut pieces = Vec::new();
        // Text and set names alternate: a name between each two marks.
        let mut parts = 0;
        for (index, piece) in rendered.split(Self::MARK).enumerate() {
            parts = index + 1;
            if index % 2 == 0 {
                pieces.push(Piece::Text(piece));
                continue;
            }
            match self.0.get(piece) {
                Some(set) => pieces.push(Piece::Lines(set)),
                None => return Err(format!("{piece:?} is no set's element lines")),
            }
        }
        if parts % 2 == 0 {
            return Err("a set's element lines were cut".to_owned());
        }
        Ok(pieces)
    }
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

/// What the template writes for a family: its expressions' keyword (`ip`,
/// `ip6`) and its sets' and chains' suffix (``, `6`).
#[derive(Serialize)]
struct FamilyNames {
    ip: &'static str,
    suffix: &'static str,
}

impl FamilyNames {
    fn of<F: NftFamily>() -> Self {
        FamilyNames {
            ip: F::KEYWORD,
            suffix: F::SUFFIX,
        }
    }
}

/// A family the host forwards: its names, and the rules that send a VM
/// found in no egress range to its default, one per default set.
#[derive(Serialize)]
struct HostFamily<'a> {
    #[serde(flatten)]
    names: FamilyNames,
    defaults: Vec<DefaultRule<'a>>,
    /// The maps of the own-egress VMs' ranges, with their chains: one
    /// (`egress_by_vm`, looked up in `classify_own_egress`) on all but large
    /// hosts (see [`EgressShards`]).
    shards: Vec<ShardView>,
    /// With more than one shard, what `classify_own_egress` masks the
    /// source with to pick its shard (`0.0.0.31`, `::1f`).
    shard_mask: String,
}

/// A shard of the own-egress VMs: its map, its chain, and the value of the
/// masked source address that picks it.
#[derive(Serialize)]
struct ShardView {
    map: String,
    chain: String,
    bits: String,
}

/// `saddr @SET goto CHAIN`: the VMs whose default goes to `chain`.
#[derive(Serialize)]
struct DefaultRule<'a> {
    set: String,
    chain: String,
    /// The names of the pools the chain picks between (one for a pool's).
    pools: Vec<&'a str>,
}

impl<'a> HostFamily<'a> {
    fn of<F: NftFamily>(
        plan: &'a FamilyPlan<F>,
        verdicts: &Verdicts,
        forced_shards: Option<usize>,
    ) -> Self {
        let pool_name = |number: u8| {
            (plan.pools.iter())
                .find(|pool| pool.number == number)
                .map_or("", |pool| &*pool.name)
        };
        let defaults = (verdicts.default_targets(plan).into_iter())
            .map(|target| DefaultRule {
                set: target.default_set::<F>(),
                chain: target.chain(),
                pools: match target {
                    Target::Pool(number) => vec![pool_name(number)],
                    Target::Failover(number) => (verdicts.pools_of(number).iter())
                        .map(|&n| pool_name(n))
                        .collect(),
                },
            })
            .collect();
        let shards = EgressShards::of(plan, forced_shards);
        HostFamily {
            names: FamilyNames::of::<F>(),
            defaults,
            shards: (0..shards.count)
                .map(|index| ShardView {
                    map: shards.map::<F>(index),
                    chain: shards.chain::<F>(index),
                    bits: low_address::<F>(index),
                })
                .collect(),
            shard_mask: low_address::<F>(shards.count - 1),
        }
    }
}

/// A pool of the host, in the families it has a prefix of.
#[derive(Serialize)]
struct Pool<'a> {
    name: &'a str,
    number: u8,
    /// Its prefixes, IPv4 first.
    prefixes: Vec<String>,
    /// The families with a prefix: a line of the SNAT chain each.
    families: Vec<FamilyNames>,
    uplink: &'a str,
    mark: String,
    uplink_mark: String,
    pool_mark: String,
    keep_mask: String,
}

/// The smallest declared hash-map size: a few kilobytes of buckets in the
/// kernel, and small maps keep their size through any change of a few VMs.
const MIN_DECLARED_SIZE: usize = 1024;

/// The `size` a hash set or map is declared with: room for a quarter more
/// elements, rounded up to a power of two, and at least
/// [`MIN_DECLARED_SIZE`]. An update cannot change a map's size (it is part
/// of the table's structure, and nft refuses elements beyond it), so the
/// size must not follow every added or removed element: with this headroom
/// it changes only when the map grows or shrinks past a power of two, and
/// never on a small host. An empty map has the smallest size too, so its
/// first element (a pool's first default, say) is an element update. A map
/// declared with its size gets a fixed-size hash table, which loads markedly
/// faster than a growing one.
fn declared_size(count: usize) -> usize {
    (count + count / 4)
        .next_power_of_two()
        .max(MIN_DECLARED_SIZE)
}

/// How the own-egress VMs' ranges (`vm . range : verdict`) are split into
/// maps, by the last bits of the VM's address: `egress_by_vm_S`, looked up in
/// chain `classify_own_egress_S`, to which `classify_own_egress` dispatches
/// by `saddr & MASK vmap` (`egress_by_vm6_S` and so on for IPv6). The kernel
/// keeps such a map (concatenated intervals: pipapo) as lookup tables that
/// deleting one element scans and rewrites whole, which took ~48 ms per
/// element in a map of 38 830 at 100k VMs: a VM's update deletes from its
/// shard's map only. A map of up to [`UNSHARDED_DECLARED_SIZE`] stays one
/// (the single map and chain of a small host); a larger one gets a shard per
/// [`SHARD_DECLARED_SIZE`] of its declared size (its elements and headroom,
/// rounded to a power of two like [`declared_size`]), so the count changes
/// only where a size would (a change of the table's structure), never with
/// one VM. A VM's address bits do not change with other VMs either, so it
/// stays in its shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EgressShards {
    /// A power of two, at most [`MAX_EGRESS_SHARDS`].
    count: usize,
}

/// The largest declared size of an unsplit `egress_by_vm`: up to 1 639 elements.
const UNSHARDED_DECLARED_SIZE: usize = 2048;

/// The declared size per shard beyond it: about 200 to 400 elements. Smaller
/// maps are not cheaper in proportion: under about 4 096 rules the kernel
/// switches a pipapo map to 8-bit groups, 16 times the buckets a removal
/// walks (at 100k dual-stack VMs, a VM's removal took 77, 57, 44 and 47 ms
/// with 32, 64, 128 and 256 shards, docs/performance.md).
const SHARD_DECLARED_SIZE: usize = 512;

/// At most the last 7 bits of the address pick the shard: 128 chains, and
/// as many elements in the dispatch rule's map.
const MAX_EGRESS_SHARDS: usize = 128;

impl EgressShards {
    /// The shards of `plan`'s own-egress ranges, or `forced` ones (tests lay
    /// out small topologies as large hosts are).
    fn of<F: NftFamily>(plan: &FamilyPlan<F>, forced: Option<usize>) -> Self {
        let count = forced.unwrap_or_else(|| {
            let elements = (plan.vms.iter())
                .filter(|vm| !vm.follows_project)
                .map(|vm| vm.egress.len())
                .sum();
            Self::count_for(elements)
        });
        assert!(
            count.is_power_of_two() && count <= MAX_EGRESS_SHARDS,
            "{count} egress shards"
        );
        EgressShards { count }
    }

    /// How many shards a map of `elements` elements is split into.
    fn count_for(elements: usize) -> usize {
        match declared_size(elements) {
            size if size <= UNSHARDED_DECLARED_SIZE => 1,
            size => (size / SHARD_DECLARED_SIZE).min(MAX_EGRESS_SHARDS),
        }
    }

    /// The shard of a VM's address: its last bits.
    fn of_vm<F: NftFamily>(self, address: F::Addr) -> usize {
        let last_byte = match address.into() {
            IpAddr::V4(address) => address.octets()[3],
            IpAddr::V6(address) => address.octets()[15],
        };
        usize::from(last_byte) & (self.count - 1)
    }

    /// The name of shard `index`'s map: with one shard `egress_by_vm` as
    /// ever, else `egress_by_vm_0` and on.
    fn map<F: NftFamily>(self, index: usize) -> String {
        self.named::<F>("egress_by_vm", index)
    }

    /// The chain that looks up shard `index`'s map.
    fn chain<F: NftFamily>(self, index: usize) -> String {
        self.named::<F>("classify_own_egress", index)
    }

    fn named<F: NftFamily>(self, name: &str, index: usize) -> String {
        match self.count {
            1 => format!("{name}{}", F::SUFFIX),
            _ => format!("{name}{}_{index}", F::SUFFIX),
        }
    }
}

/// `bits` as an address of family `F` (`0.0.0.3`, `::3`): a value of the
/// source address masked to its last bits.
fn low_address<F: NftFamily>(bits: usize) -> String {
    let bits = u8::try_from(bits).expect("at most a byte of bits");
    (F::of_ip(Ipv4Addr::from(u32::from(bits)).into()))
        .or_else(|| F::of_ip(Ipv6Addr::from(u128::from(bits)).into()))
        .expect("an IPv4 or IPv6 family")
        .to_string()
}

/// A set (`data` `None`) or map of `elements`, sorted.
fn set_of(key: Vec<DataType>, data: Option<DataType>, elements: Vec<Element>) -> Set {
    let mut set = Set::new(key, data);
    set.elements = elements;
    set.sort();
    set
}

/// An interval set or map.
fn interval_set_of(key: Vec<DataType>, data: Option<DataType>, elements: Vec<Element>) -> Set {
    let mut set = set_of(key, data, elements);
    set.flags.insert("interval".to_owned());
    set
}

/// A hash set or map declared with its size.
fn sized_set_of(key: Vec<DataType>, data: Option<DataType>, elements: Vec<Element>) -> Set {
    let mut set = set_of(key, data, elements);
    set.size = Some(declared_size(set.elements.len()));
    set
}

fn ranges<F: NftFamily>(ranges: &[Range<F>]) -> Vec<Element> {
    (ranges.iter())
        .map(|range| Element::new(Key::One(F::value(*range)), None))
        .collect()
}

/// The typed model of `host`'s table: its sets and maps, elements sorted and
/// commented with the names `model` (the one `host` was planned from) gives
/// them. The chains and counters are the template's (`Table::parse` of the
/// script has them). The build id is [`BUILD_ID_PLACEHOLDER`] until
/// [`ElementLines::stamped_script`] replaces it in the script.
pub fn model(model: &Model, host: &HostPlan) -> Table {
    table(model, host, &Verdicts::new(host), None)
}

/// The table, with `forced_shards` shards of `egress_by_vm` if given (see
/// [`EgressShards::of`]).
fn table(
    model: &Model,
    host: &HostPlan,
    verdicts: &Verdicts,
    forced_shards: Option<usize>,
) -> Table {
    let ifnames = |names: &mut dyn Iterator<Item = &str>| {
        let elements = names
            .map(|name| Element::new(Key::One(Value::Ifname(name.to_owned())), None))
            .collect();
        set_of(vec![DataType::Ifname], None, elements)
    };
    let lan = || host.lan.iter().map(InterfaceName::as_str);
    let uplinks = || host.uplinks.iter().map(|u| u.interface.as_str());
    let mut sets: BTreeMap<String, Set> = [
        (
            BUILD_SET,
            ifnames(&mut std::iter::once(BUILD_ID_PLACEHOLDER)),
        ),
        ("lan_interfaces", ifnames(&mut lan())),
        ("uplink_interfaces", ifnames(&mut uplinks())),
        (
            "lan_and_uplink_interfaces",
            ifnames(&mut lan().chain(uplinks())),
        ),
    ]
    .into_iter()
    .map(|(name, set)| (name.to_owned(), set))
    .collect();
    // The families' sets side by side: each ends in sorting its sets, one
    // set at a time.
    let (v4, v6) = rayon::join(
        || family_sets::<V4>(model, host.family(), verdicts, forced_shards),
        || {
            (host.forwards::<V6>())
                .then(|| family_sets::<V6>(model, host.family(), verdicts, forced_shards))
        },
    );
    sets.extend(v4.into_iter().chain(v6.into_iter().flatten()));
    if host.failover.is_some() {
        let down = set_of(vec![DataType::Mark], None, Vec::new());
        sets.insert(DOWN_UPLINKS_SET.to_owned(), down);
    }
    Table {
        sets,
        ..Table::default()
    }
}

/// The sets and maps of family `F`, by name (with the family's suffix).
fn family_sets<F: NftFamily>(
    model: &Model,
    plan: &FamilyPlan<F>,
    verdicts: &Verdicts,
    forced_shards: Option<usize>,
) -> Vec<(String, Set)> {
    let shards = EgressShards::of(plan, forced_shards);
    // The address maps are about half of a large host's script and depend on
    // nothing else in it: on a single host this keeps the second core busy.
    let (egress, address_maps) = rayon::join(
        || EgressElements::new(model, plan, verdicts, shards),
        || AddressMaps::new(model, plan),
    );
    let address = F::DATA_TYPE;
    let addresses =
        |ranges: &[Range<F>]| interval_set_of(vec![address.clone()], None, self::ranges(ranges));
    // `source . destinations : verdict`.
    let egress_map = |elements| {
        interval_set_of(
            vec![address.clone(), address.clone()],
            Some(DataType::Verdict),
            elements,
        )
    };
    let address_map =
        |elements| sized_set_of(vec![address.clone()], Some(address.clone()), elements);
    let mut sets = vec![
        ("internal", addresses(&plan.internal)),
        ("vm_sources", addresses(&plan.sources)),
        (
            "bound_sources",
            set_of(vec![address.clone()], None, address_maps.bound_sources),
        ),
        (
            "mac_bindings",
            set_of(
                vec![DataType::EtherAddr, address.clone()],
                None,
                address_maps.mac_bindings,
            ),
        ),
        (
            "own_egress",
            sized_set_of(vec![address.clone()], None, egress.own_egress),
        ),
        ("egress_by_project", egress_map(egress.by_project)),
        ("dnat_addresses", address_map(address_maps.dnat)),
    ]
    .into_iter()
    .map(|(name, set)| (format!("{name}{}", F::SUFFIX), set))
    .collect::<Vec<_>>();
    // Every shard's map, an empty one too: shards come and go with the
    // count only.
    for (index, elements) in egress.by_vm.into_iter().enumerate() {
        sets.push((shards.map::<F>(index), egress_map(elements)));
    }
    for (pool, snat) in plan.pools.iter().zip(address_maps.snat) {
        sets.push((snat_map_name::<F>(pool.number), address_map(snat)));
    }
    // Every default set of the family, an empty one too: a set that came
    // and went with its first and last VM would make that VM's update the
    // whole script.
    let mut defaults = egress.defaults;
    for target in verdicts.default_targets(plan) {
        let elements = defaults.remove(&target).unwrap_or_default();
        let set = sized_set_of(vec![address.clone()], None, elements);
        sets.push((target.default_set::<F>(), set));
    }
    debug_assert!(
        defaults.is_empty(),
        "a default outside the family's targets"
    );
    sets
}

/// The SNAT map of pool `number` in family `F`: `snat_pool_1`, `snat6_pool_1`.
fn snat_map_name<F: NftFamily>(number: u8) -> String {
    format!("snat{}_pool_{number}", F::SUFFIX)
}

/// The script's template context, and the table it was made from, whose
/// sets' element lines [`ElementLines::stamped_script`] writes into the
/// rendered template: at 100k VMs a million elements to free, which the
/// caller can do beside rendering the host's other files. `model` is the
/// one `host` was planned from: it has the names the comments print.
pub(super) fn script_context<'a>(
    model: &'a Model,
    host: &'a HostPlan,
    header: &'a Header,
    forced_shards: Option<usize>,
) -> (impl Serialize + 'a, Table) {
    let verdicts = Verdicts::new(host);
    let table = table(model, host, &verdicts, forced_shards);
    let sets = (table.sets.iter())
        .map(|(name, set)| (name.clone(), SetView::new(name, set)))
        .collect();
    let context = Context {
        header: header.verbatim(),
        table: TABLE,
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
        pools: Pool::all(host),
        families: if host.forwards::<V6>() {
            vec![
                HostFamily::of(host.family::<V4>(), &verdicts, forced_shards),
                HostFamily::of(host.family::<V6>(), &verdicts, forced_shards),
            ]
        } else {
            vec![HostFamily::of(
                host.family::<V4>(),
                &verdicts,
                forced_shards,
            )]
        },
        ipv6: host.forwards::<V6>(),
        sets,
        failover: host.failover.is_some(),
        down_uplinks: DOWN_UPLINKS_SET,
        failover_chains: verdicts.chains(host),
    };
    (context, table)
}

/// The elements of the maps that translate one address into another, each
/// commented with its VM's name: `snat_pool_N` (one per pool of the host, in
/// its order), `dnat_addresses`, `bound_sources` and `mac_bindings`.
struct AddressMaps {
    snat: Vec<Vec<Element>>,
    dnat: Vec<Element>,
    bound_sources: Vec<Element>,
    mac_bindings: Vec<Element>,
}

impl AddressMaps {
    /// The pools' maps and the others side by side; `collect` keeps the pools' order.
    fn new<F: NftFamily>(model: &Model, plan: &FamilyPlan<F>) -> Self {
        // Hundreds of thousands of look-ups of an address the plan made: a
        // fast hasher, not std's DoS-resistant one.
        let vm_names: HashMap<_, _, foldhash::fast::FixedState> = plan
            .vms
            .iter()
            .map(|vm| (vm.private, model.vm(vm.vm).name.value.as_str()))
            .collect();
        let vm_name = |private: &F::Addr| vm_names.get(private).copied().unwrap_or_default();
        // `FROM : TO` elements, commented with the VM whose private address
        // `private_of` picks out of the pair.
        type Pair<F> = (<F as Family>::Addr, <F as Family>::Addr);
        let translations = |pairs: &[Pair<F>], private_of: fn(&Pair<F>) -> F::Addr| {
            (pairs.iter())
                .map(|pair @ (from, to)| {
                    let (from, to) = (Value::address::<F>(*from), Value::address::<F>(*to));
                    Element::new(Key::One(from), Some(to)).commented(vm_name(&private_of(pair)))
                })
                .collect()
        };
        let snat_of = |pool: &PoolPlan<F>| translations(&pool.snat, |(private, _)| *private);
        let dnat = || translations(&plan.dnat, |(_, private)| *private);
        let ((snat, dnat), (bound_sources, mac_bindings)) = rayon::join(
            || rayon::join(|| plan.pools.par_iter().map(snat_of).collect(), dnat),
            || {
                let mut bound_sources = Vec::new();
                let mut mac_bindings = Vec::new();
                for (private, mac) in &plan.mac_bindings {
                    let (address, name) = (Value::address::<F>(*private), vm_name(private));
                    bound_sources
                        .push(Element::new(Key::One(address.clone()), None).commented(name));
                    let key = Key::Concat(Value::Ether(mac.0), address);
                    mac_bindings.push(Element::new(key, None).commented(name));
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
    /// The host's pools of either family, by number.
    fn all(host: &'a HostPlan) -> Vec<Pool<'a>> {
        let mut pools: BTreeMap<u8, Pool<'a>> = BTreeMap::new();
        Pool::add(&mut pools, &host.family::<V4>().pools);
        Pool::add(&mut pools, &host.family::<V6>().pools);
        pools.into_values().collect()
    }

    /// Adds the pools of family `F` to `pools`, or the family to a pool there.
    fn add<F: NftFamily>(pools: &mut BTreeMap<u8, Pool<'a>>, family: &'a [PoolPlan<F>]) {
        for plan in family {
            let pool = pools.entry(plan.number).or_insert_with(|| Pool::new(plan));
            pool.prefixes.push(plan.prefix.to_string());
            pool.families.push(FamilyNames::of::<F>());
        }
    }

    fn new<F: NftFamily>(pool: &'a PoolPlan<F>) -> Self {
        Pool {
            name: &pool.name,
            number: pool.number,
            prefixes: Vec::new(),
            families: Vec::new(),
            uplink: &pool.uplink,
            mark: hex(pool.mark),
            uplink_mark: hex(pool.mark & layout::UPLINK_MARK_MASK),
            pool_mark: hex(pool.mark & layout::POOL_MARK_MASK),
            keep_mask: hex(!layout::MARK_MASK),
        }
    }
}

/// The egress decision's elements (docs/semantics.md §2, layered): a VM that
/// follows its project is found by its project's networks in the project's
/// entry ranges; every other VM by its address in its own ranges. Then every
/// VM's default is found by its address in the hash set of its default's
/// target. A default is never painted into the gaps between the ranges, nor
/// keyed by network: as ranges it would be the most elements of the
/// concatenated interval maps, which the kernel (pipapo) splits into netmasks
/// that every lookup walks, and keyed by network it would be a binary search
/// per new connection; a hash lookup by address costs the same at 10 VMs and
/// at 100 000. Nor is it a verdict map's element: at commit the kernel checks
/// every `goto` element of every verdict map a rule uses whenever an element
/// with a verdict is added, so one VM's update would walk every VM's default.
struct EgressElements {
    /// Set `own_egress`: the VMs that do not follow their project.
    own_egress: Vec<Element>,
    /// Map `egress_by_vm` (or its shards, [`EgressShards`]): `vm . range :
    /// verdict` for those VMs, by shard.
    by_vm: Vec<Vec<Element>>,
    /// Sets `default_pool_N` and `default_failover_N`: `vm` for every VM
    /// with a default, by its target.
    defaults: BTreeMap<Target, Vec<Element>>,
    /// Map `egress_by_project`: `project network . range : verdict`.
    by_project: Vec<Element>,
}

impl EgressElements {
    fn new<F: NftFamily>(
        model: &Model,
        plan: &FamilyPlan<F>,
        verdicts: &Verdicts,
        shards: EgressShards,
    ) -> Self {
        let mut vms: Vec<&VmPlan<F>> = plan.vms.iter().collect();
        vms.sort_by_key(|vm| vm.private);
        let mut elements = EgressElements {
            own_egress: Vec::new(),
            by_vm: vec![Vec::new(); shards.count],
            defaults: BTreeMap::new(),
            by_project: Vec::new(),
        };
        // `KEY : goto CHAIN`.
        let decided = |key, owner, decision: &Decision<F>| {
            let comment = ElementComment::new(owner, decision, verdicts, model);
            Element::new(key, Some(comment.target.verdict())).commented(comment)
        };
        for vm in vms {
            let address = Value::address::<F>(vm.private);
            let owner = Owner::Vm(vm.vm);
            if !vm.follows_project {
                let name = &model.vm(vm.vm).name.value;
                let own = Element::new(Key::One(address.clone()), None).commented(name);
                elements.own_egress.push(own);
                let shard = &mut elements.by_vm[shards.of_vm::<F>(vm.private)];
                for (range, decision) in &vm.egress {
                    let key = Key::Concat(address.clone(), F::value(*range));
                    shard.push(decided(key, owner, decision));
                }
            }
            if let Some(decision) = &vm.default {
                let comment = ElementComment::new(owner, decision, verdicts, model);
                let default = elements.defaults.entry(comment.target).or_default();
                default.push(Element::new(Key::One(address), None).commented(comment));
            }
        }
        for project in &plan.projects {
            let owner = Owner::Project(&model.project(project.project).name.value);
            for network in &project.networks {
                for (range, decision) in &project.egress {
                    let key = Key::Concat(F::value(*network), F::value(*range));
                    elements.by_project.push(decided(key, owner, decision));
                }
            }
        }
        elements
    }
}

/// Where a decision's packets go: chain `via_pool_N` for its first pool, or,
/// when the decision has candidates on more than one uplink (only with
/// `[failover]`), chain `failover_N` for its list. A range's element in a
/// verdict map ends in `goto` it; a default is an element of the target's
/// default set, whose rule ends in `goto` it. Pools first, each by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Pool(u8),
    Failover(usize),
}

impl Target {
    fn chain(self) -> String {
        match self {
            Target::Pool(number) => format!("via_pool_{number}"),
            Target::Failover(number) => format!("failover_{number}"),
        }
    }

    fn verdict(self) -> Value {
        Value::Verdict(Verdict::Goto(self.chain()))
    }

    /// The set of the VMs of family `F` whose default goes here, named like
    /// the SNAT maps: `default_pool_1`, `default6_failover_2`.
    fn default_set<F: NftFamily>(self) -> String {
        match self {
            Target::Pool(number) => format!("default{}_pool_{number}", F::SUFFIX),
            Target::Failover(number) => format!("default{}_failover_{number}", F::SUFFIX),
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
        Self::add(&mut lists, host.family::<V4>());
        Self::add(&mut lists, host.family::<V6>());
        let lists = lists
            .into_iter()
            .enumerate()
            .map(|(i, (list, uplinks))| (list, (i + 1, uplinks)))
            .collect();
        Verdicts { lists }
    }

    /// Adds the failover lists of the family's decisions to `lists`.
    fn add<F: NftFamily>(lists: &mut BTreeMap<Vec<u8>, Vec<UplinkNumber>>, plan: &FamilyPlan<F>) {
        for decision in plan.vms.iter().flat_map(VmPlan::decisions) {
            if let Some(list) = Self::list(decision) {
                lists
                    .entry(list)
                    .or_insert_with(|| decision.failover_uplinks().unwrap_or_default());
            }
        }
    }

    /// The decision's way when it has several pools (never without
    /// `[failover]`: no fallbacks, and no list to build).
    fn list<F: NftFamily>(decision: &Decision<F>) -> Option<Vec<u8>> {
        if decision.fallbacks.is_empty() {
            return None;
        }
        decision.way().failover()
    }

    fn of<F: NftFamily>(&self, decision: &Decision<F>) -> Target {
        match Self::list(decision) {
            Some(list) => Target::Failover(self.lists[&list].0),
            None => Target::Pool(decision.first.pool_number),
        }
    }

    /// The pools of failover list `number`, in order.
    fn pools_of(&self, number: usize) -> &[u8] {
        (self.lists.iter())
            .find(|(_, (n, _))| *n == number)
            .map_or(&[], |(list, _)| list)
    }

    /// Every target a default of family `F` can have, in order: the
    /// family's pools, then the failover lists of only the family's pools
    /// (a decision's candidates are pools of its family). Bounded by the
    /// topology's pools and lists, and the same whichever VMs use them, so
    /// their default sets do not come and go with a VM.
    fn default_targets<F: NftFamily>(&self, plan: &FamilyPlan<F>) -> Vec<Target> {
        let numbers: Vec<u8> = plan.pools.iter().map(|pool| pool.number).collect();
        let mut targets: Vec<Target> = numbers.iter().map(|&n| Target::Pool(n)).collect();
        targets.extend(
            (self.lists.iter())
                .filter(|(list, _)| list.iter().all(|n| numbers.contains(n)))
                .map(|(_, &(number, _))| Target::Failover(number)),
        );
        targets.sort_unstable();
        targets
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
                    .filter_map(|n| {
                        failover_pool::<V4>(host, *n).or_else(|| failover_pool::<V6>(host, *n))
                    })
                    .collect(),
            })
            .collect();
        chains.sort_by_key(|chain| chain.number);
        chains
    }
}

/// Pool `number` of the host in family `F`, as a failover chain names it.
fn failover_pool<F: NftFamily>(host: &HostPlan, number: u8) -> Option<FailoverPool<'_>> {
    let pool = host
        .family::<F>()
        .pools
        .iter()
        .find(|p| p.number == number)?;
    Some(FailoverPool {
        number: pool.number,
        name: &pool.name,
        uplink: &pool.uplink,
    })
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

/// Whose decision an egress element holds.
#[derive(Clone, Copy)]
enum Owner<'a> {
    Vm(crate::model::VmId),
    Project(&'a str),
}

/// An egress element's comment: `VM: scope entry PREFIX via POOL (PUBLIC)`,
/// `VM: scope default via POOL (PUBLIC)`, or for a project's element `project
/// NAME: …` without the public address, which differs from VM to VM.
struct ElementComment<'a, F: NftFamily> {
    owner: Owner<'a>,
    decision: &'a Decision<F>,
    target: Target,
    /// Has the names of the plan's ids.
    model: &'a Model,
}

impl<'a, F: NftFamily> ElementComment<'a, F> {
    fn new(
        owner: Owner<'a>,
        decision: &'a Decision<F>,
        verdicts: &Verdicts,
        model: &'a Model,
    ) -> Self {
        ElementComment {
            owner,
            decision,
            target: verdicts.of(decision),
            model,
        }
    }
}

impl<F: NftFamily> Display for ElementComment<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decision = self.decision;
        let pool_name = |pool| self.model.pool(pool).name.value.as_str();
        let prefix = self.model.entry_prefix(decision.decided_by);
        let scope = match decision.decided_by.scope() {
            Scope::Vm => "vm",
            Scope::Project => "project",
        };
        match self.owner {
            Owner::Vm(vm) => write!(f, "{}: ", self.model.vm(vm).name.value)?,
            Owner::Project(name) => write!(f, "project {name}: ")?,
        }
        let first = &decision.first;
        // Addresses by the table's writers, which write what std does faster.
        match prefix {
            Some(IpNet::V4(prefix)) => write!(f, "{scope} entry {}", Addr(prefix.addr()))?,
            Some(IpNet::V6(prefix)) => write!(f, "{scope} entry {}", Addr6(prefix.addr()))?,
            None => write!(f, "{scope} default")?,
        }
        if let Some(prefix) = prefix {
            write!(f, "/{}", prefix.prefix_len())?;
        }
        write!(f, " via {}", pool_name(first.pool))?;
        if let Owner::Vm(_) = self.owner {
            f.write_str(" (")?;
            F::write_address(f, first.public)?;
            f.write_str(")")?;
        }
        if let Target::Failover(_) = self.target {
            for fallback in decision.reachable().skip(1) {
                write!(f, ", else {}", pool_name(fallback.pool))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table whose set `vm_sources` holds two addresses.
    fn vm_sources() -> Table {
        let elements = ["10.0.0.1", "10.0.0.2"].map(|address| {
            Element::new(
                Key::One(Value::address::<V4>(address.parse().unwrap())),
                None,
            )
        });
        let set = set_of(vec![DataType::Ipv4Addr], None, elements.to_vec());
        Table {
            sets: BTreeMap::from([("vm_sources".to_owned(), set)]),
            ..Table::default()
        }
    }

    /// The script of the pieces `rendered` is made of.
    fn concat(pieces: &[Piece]) -> String {
        let mut script = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(text) => script.push_str(text),
                Piece::Lines(set) => write_element_lines(&set.elements, &mut script),
            }
        }
        script
    }

    #[test]
    fn egress_by_vm_is_split_by_its_declared_size_and_a_vm_by_its_last_bits() {
        // One map up to 1 639 elements (declared 2 048), 128 at 100k
        // dual-stack VMs (38 830 elements, declared 65 536), never more.
        let counts: Vec<usize> = [0, 1639, 1640, 3277, 3278, 38_830, 1_000_000]
            .into_iter()
            .map(EgressShards::count_for)
            .collect();
        assert_eq!(counts, [1, 1, 8, 8, 16, 128, 128]);
        let shards = EgressShards { count: 32 };
        let v4: std::net::Ipv4Addr = "10.1.244.38".parse().unwrap();
        let v6: std::net::Ipv6Addr = "2001:db8:1:1f4::26".parse().unwrap();
        assert_eq!(shards.of_vm::<V4>(v4), 38 % 32);
        assert_eq!(shards.of_vm::<V6>(v6), 0x26 % 32);
        assert_eq!(low_address::<V6>(127), "::7f");
        assert_eq!(shards.map::<V6>(6), "egress_by_vm6_6");
        assert_eq!(shards.chain::<V4>(6), "classify_own_egress_6");
        let one = EgressShards { count: 1 };
        assert_eq!(one.map::<V6>(0), "egress_by_vm6");
        assert_eq!(one.chain::<V4>(0), "classify_own_egress");
        assert_eq!(low_address::<V4>(31), "0.0.0.31");
        assert_eq!(low_address::<V6>(31), "::1f");
    }

    #[test]
    fn every_placeholder_gets_its_sets_lines() {
        let placeholder = ElementLines::placeholder("vm_sources");
        let rendered = format!("a {{{placeholder}\n}} b {{{placeholder}\n}}");
        let lines = "\n\t\t\t10.0.0.1,\n\t\t\t10.0.0.2,";
        let table = vm_sources();
        let script = ElementLines::of(&table)
            .pieces(&rendered)
            .map(|p| concat(&p));
        assert_eq!(script, Ok(format!("a {{{lines}\n}} b {{{lines}\n}}")));
    }

    #[test]
    fn the_build_id_is_that_of_the_script_without_its_first_line() {
        // The header's line ends in the set's lines, after a placeholder.
        let placeholder = ElementLines::placeholder("vm_sources");
        let rendered =
            format!("# header {placeholder} }}\nset build {{ \"{BUILD_ID_PLACEHOLDER}\" }}\n");
        let table = vm_sources();
        let lines = ElementLines::of(&table);
        let stamped = lines.stamped_script(&rendered).expect("lines");
        let whole = concat(&lines.pieces(&rendered).expect("lines"));
        let body = whole.split_once('\n').expect("a header line").1;
        let digest: String = (Sha256::digest(body.as_bytes()).iter())
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let id = &digest[..BUILD_ID_LEN];
        assert_eq!(stamped, whole.replace(BUILD_ID_PLACEHOLDER, id));
    }

    #[test]
    fn a_placeholder_a_template_altered_is_an_error_not_text() {
        let placeholder = ElementLines::placeholder("vm_sources");
        let upper = placeholder.to_uppercase();
        let table = vm_sources();
        let lines = ElementLines::of(&table);
        assert!(lines.pieces(&upper).is_err());
        let cut = &placeholder[..placeholder.len() - 1];
        assert!(lines.pieces(cut).is_err());
    }
}
