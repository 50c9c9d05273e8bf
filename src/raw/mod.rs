//! The topology file as written: serde structs that keep the source span of every
//! key and value. This is the only layer that knows TOML; everything after it works
//! on [`crate::model`]. The JSON schema (`switchyard schema`) is generated from
//! these same types, so the file format and its schema cannot drift apart.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};

use document::{Item, Value};

mod document;
mod patterns;
mod shape;

/// A value together with the byte range it came from in the topology file.
///
/// A thin wrapper over [`serde_spanned::Spanned`] so that the schema generator sees
/// the inner type (a span is not part of the file format).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sp<T>(serde_spanned::Spanned<T>);

impl<T> Sp<T> {
    pub fn new(value: T, span: Range<usize>) -> Self {
        Sp(serde_spanned::Spanned::new(span, value))
    }
    pub fn span(&self) -> Range<usize> {
        self.0.span()
    }
    pub fn get(&self) -> &T {
        self.0.get_ref()
    }
}

impl<T> std::ops::Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.get_ref()
    }
}

impl std::borrow::Borrow<str> for Sp<String> {
    fn borrow(&self) -> &str {
        self.0.get_ref()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_spanned::Spanned::deserialize(deserializer).map(Sp)
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// Names are table keys; kept in a sorted map so iteration order never depends on
/// the order of the file.
pub type Named<T> = BTreeMap<Sp<String>, Sp<T>>;

/// A switchyard topology (file format version 1).
// (Not a doc comment: those become the schema's descriptions.) Not read by serde
// as a whole: `parse` reads the version and every named entity on its own, so that
// one entity of the wrong shape does not hide the problems of the others. The
// serde attributes describe the format to the schema generator.
#[derive(Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "switchyard topology", extend("$id" = "https://switchyard.dev/schema/topology.schema.json"))]
pub struct Topology {
    /// File format version; must be 1.
    #[schemars(required, extend("const" = 1), example = 1)]
    // `None` when it is missing or not an integer (already reported).
    pub version: Option<Sp<i64>>,
    /// External networks (ISPs) a host can send through, by name.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": patterns::NAME_PATTERN }))]
    pub uplinks: Named<Uplink>,
    /// Blocks of public addresses, each leaving through one uplink, by name. At
    /// most 255: the packet mark numbers pools in 8 bits.
    #[serde(default)]
    #[schemars(extend(
        "propertyNames" = { "pattern": patterns::NAME_PATTERN, "not": { "pattern": patterns::ADDRESS_LIKE_PATTERN } },
        "maxProperties" = 255
    ))]
    pub pools: Named<Pool>,
    /// Network hosts that artifacts are rendered for, by name.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": patterns::NAME_PATTERN }))]
    pub hosts: Named<Host>,
    /// Tenants: the pools they may use and the addresses allocated to them.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": patterns::NAME_PATTERN }))]
    pub projects: Named<Project>,
    /// Virtual machines: a private address per family (one NIC), public addresses,
    /// egress preferences.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": patterns::NAME_PATTERN }))]
    pub vms: Named<Vm>,
    /// Uplink health checks and failover; without it nothing is monitored.
    #[serde(default)]
    pub failover: Option<Sp<Failover>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Failover {
    /// Time between two probe rounds of an uplink, e.g. "200ms" or "1s"
    /// (10ms to 60s); default "200ms".
    #[schemars(example = &"200ms")]
    pub interval: Option<Sp<String>>,
    /// Consecutive failed rounds after which an uplink is down; default 3.
    #[schemars(range(min = 1, max = 1000))]
    pub down_after: Option<Sp<i64>>,
    /// Consecutive good rounds after which a down uplink is up again; default 5.
    #[schemars(range(min = 1, max = 1000))]
    pub up_after: Option<Sp<i64>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Uplink {
    /// 1..=255, unique and stable: the uplink's fwmark and routing table derive from it.
    #[schemars(range(min = 1, max = 255), example = 1)]
    pub id: Sp<i64>,
    /// Free text for people; switchyard does not read it.
    pub description: Option<Sp<String>>,
    /// Routing table number; defaults to 100 + id.
    #[schemars(range(min = 1, max = 4294967295u32), example = 101)]
    pub table: Option<Sp<i64>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    /// Name of the uplink this pool's addresses leave through.
    #[schemars(pattern(patterns::NAME_PATTERN), example = &"isp-a")]
    pub uplink: Sp<String>,
    /// The public block, e.g. "198.51.100.0/24" (a bare address is its /32 or
    /// /128), or one block per family.
    #[schemars(example = &"198.51.100.0/24", example = ["198.51.100.0/24", "2001:db8:a::/48"])]
    pub prefix: Sp<PoolPrefixes>,
    /// Addresses of the pool that are never allocatable.
    #[serde(default)]
    #[schemars(inner(pattern(patterns::IP_ADDRESS_PATTERN)), example = ["198.51.100.1"])]
    pub reserved: Vec<Sp<String>>,
    /// Free text for people; switchyard does not read it.
    pub description: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Interfaces facing the VMs; only packets arriving on them are classified.
    #[serde(default)]
    #[schemars(inner(pattern(patterns::INTERFACE_PATTERN)), example = ["lan0"])]
    pub lan: Vec<Sp<String>>,
    /// This host's attachments, keyed by uplink name.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": patterns::NAME_PATTERN }))]
    pub uplinks: Named<Attachment>,
    /// Present when two machines serve the host as a pair (VRRP with keepalived,
    /// connection state synchronised by conntrackd).
    pub ha: Option<Sp<Ha>>,
    /// Free text for people; switchyard does not read it.
    pub description: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ha {
    /// The two machines serving the host, the first preferred. Each gets its
    /// own build directory; neither may be the name of a host.
    #[schemars(inner(pattern(patterns::NAME_PATTERN)), length(min = 2, max = 2), example = ["net1a", "net1b"])]
    pub members: Sp<Vec<Sp<String>>>,
    /// The VRRP virtual router id the pair shares, 1..=255.
    #[schemars(range(min = 1, max = 255), example = 51)]
    pub vrid: Sp<i64>,
    /// The dedicated link between the members that carries VRRP and the
    /// connection state.
    #[schemars(pattern(patterns::INTERFACE_PATTERN), example = &"ha0")]
    pub sync_interface: Sp<String>,
    /// Each member's address on the sync link, with prefix length, in members'
    /// order.
    #[schemars(inner(pattern(patterns::IPV4_LINK_PATTERN)), length(min = 2, max = 2), example = ["10.255.0.1/30", "10.255.0.2/30"])]
    pub sync_addresses: Sp<Vec<Sp<String>>>,
    /// The VMs' gateway address(es), with prefix length, on the host's first
    /// LAN interface: they move with the active member.
    #[serde(default)]
    #[schemars(inner(pattern(patterns::IP_LINK_PATTERN)), example = ["10.0.0.1/24", "2001:db8:10::1/64"])]
    pub lan_addresses: Vec<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// Linux interface name of the link (at most 15 bytes).
    #[schemars(pattern(patterns::INTERFACE_PATTERN), example = &"up-a")]
    pub interface: Sp<String>,
    /// The host's own address on the link, with prefix length, e.g.
    /// "192.0.2.2/30", or one per family.
    #[schemars(example = &"192.0.2.2/30", example = ["192.0.2.2/30", "2001:db8:ffa::2/64"])]
    pub address: Sp<LinkAddresses>,
    /// The next hop towards the uplink, one per family of `address`: inside
    /// `address`'s network, or in IPv6 also a link-local address (fe80::/10)
    /// on `interface`.
    #[schemars(example = &"192.0.2.1", example = ["192.0.2.1", "fe80::1"])]
    pub gateway: Sp<Addresses>,
    /// Present when `interface` is a VLAN on another interface.
    pub vlan: Option<Sp<Vlan>>,
    /// ICMP and ICMPv6 echo targets that tell whether the uplink works (with
    /// `[failover]`); default: the gateways.
    #[serde(default)]
    #[schemars(inner(pattern(patterns::IP_ADDRESS_PATTERN)), example = ["192.0.2.1", "9.9.9.9"])]
    pub probe: Vec<Sp<String>>,
    /// With `[hosts.NAME.ha]`: each member's own address on the link, with
    /// prefix length, in members' order; `address` is then the shared one,
    /// held by the active member.
    #[schemars(inner(pattern(patterns::IPV4_LINK_PATTERN)), length(min = 2, max = 2), example = ["192.0.2.3/29", "192.0.2.4/29"])]
    pub member_addresses: Option<Sp<Vec<Sp<String>>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vlan {
    /// The interface that carries the tagged frames, e.g. "eth1".
    #[schemars(pattern(patterns::INTERFACE_PATTERN), example = &"eth1")]
    pub parent: Sp<String>,
    /// The VLAN id the provider tags the uplink's frames with.
    #[schemars(range(min = 1, max = 4094), example = 100)]
    pub id: Sp<i64>,
    /// The file name of the administrator's own systemd-networkd unit for `parent`,
    /// e.g. "20-eth1.network". With it, switchyard adds its `VLAN=` lines to that
    /// unit as a drop-in (`networkd/20-eth1.network.d/10-switchyard-vlan.conf`)
    /// instead of writing a unit of its own for the parent, which would take the
    /// parent over. Every VLAN on one parent names the same unit, and the parent
    /// must not be an uplink of the host.
    #[schemars(pattern(patterns::NETWORK_UNIT_PATTERN), example = &"20-eth1.network")]
    pub parent_unit: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Pools the project may use (the ACL).
    #[serde(default)]
    #[schemars(inner(pattern(patterns::NAME_PATTERN)), example = ["pool-a", "pool-b"])]
    pub pools: Vec<Sp<String>>,
    /// Public addresses allocated to the project, of either family.
    #[serde(default)]
    #[schemars(inner(pattern(patterns::IP_ADDRESS_PATTERN)), example = ["198.51.100.7", "2001:db8:a::7"])]
    pub addresses: Vec<Sp<String>>,
    /// The project's private networks of either family (a bare address is its
    /// /32 or /128).
    #[serde(default)]
    #[schemars(inner(pattern(patterns::IP_PREFIX_PATTERN)), example = ["10.0.0.0/24", "2001:db8:10::/64"])]
    pub networks: Vec<Sp<String>>,
    /// At most N addresses from a pool, keyed by pool name.
    #[serde(default)]
    #[schemars(
        extend(
            "propertyNames" = { "pattern": patterns::NAME_PATTERN },
            "additionalProperties" = { "type": "integer", "minimum": 0, "maximum": 4294967295u32 }
        ),
        example = serde_json::json!({ "pool-a": 4 })
    )]
    pub quota: BTreeMap<Sp<String>, Sp<i64>>,
    /// Project-wide default egress: a pool name (not an address: each VM has its
    /// own), or pool names in order of preference (failover).
    #[serde(default)]
    #[schemars(
        extend("not" = {
            "anyOf": [
                { "type": "string", "pattern": patterns::ADDRESS_LIKE_PATTERN },
                { "type": "array", "contains": { "type": "string", "pattern": patterns::ADDRESS_LIKE_PATTERN } }
            ]
        }),
        example = &"pool-a",
        example = ["pool-a", "pool-b"]
    )]
    pub default: Option<Sp<Vias>>,
    /// Project-wide egress preferences; `via` names a pool.
    #[serde(default)]
    pub egress: Vec<Sp<Egress>>,
    /// Free text for people; switchyard does not read it.
    pub description: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vm {
    /// The project (tenant) the VM belongs to.
    #[schemars(pattern(patterns::NAME_PATTERN), example = &"acme")]
    pub project: Sp<String>,
    /// The network host that serves the VM.
    #[schemars(pattern(patterns::NAME_PATTERN), example = &"net1")]
    pub host: Sp<String>,
    /// The VM's private address (its one NIC), or one per family.
    #[schemars(example = &"10.0.0.5", example = ["10.0.0.5", "2001:db8:10::5"])]
    pub address: Sp<Addresses>,
    /// Public addresses, at most one from each pool and family.
    #[serde(default)]
    #[schemars(inner(pattern(patterns::IP_ADDRESS_PATTERN)), example = ["198.51.100.7", "203.0.113.9"])]
    pub public: Vec<Sp<String>>,
    /// Default egress: one of this VM's public addresses or a pool name (an
    /// address matches the name grammar too), or a list of them in order of
    /// preference (failover).
    #[serde(default)]
    #[schemars(example = &"198.51.100.7", example = ["pool-a", "pool-b"])]
    pub default: Option<Sp<Vias>>,
    /// Per-destination preferences; `via` is a public address of this VM or a pool.
    #[serde(default)]
    pub egress: Vec<Sp<Egress>>,
    /// The MAC address of the VM's NIC (`52:54:00:12:34:56`): packets the host
    /// forwards from the LAN with the VM's address as source must carry it.
    #[schemars(pattern(patterns::MAC_PATTERN), example = &"52:54:00:12:34:56")]
    pub mac: Option<Sp<String>>,
    /// Free text for people; switchyard does not read it.
    pub description: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Egress {
    /// Destination prefix, or a non-empty list of them, of either family (a
    /// bare address is its /32 or /128).
    #[schemars(example = &"100.65.0.0/16")]
    pub to: Sp<Destinations>,
    /// A public address or a pool name, or a list of them in order of preference
    /// (failover).
    #[schemars(example = &"pool-b", example = ["pool-b", "pool-a"])]
    pub via: Sp<Vias>,
}

/// A key that takes one string or a list of them: `to = "100.65.0.0/16"` or
/// `to = ["100.66.0.0/16", "2001:db8:100::/40"]`. `K` says what each string is
/// (for the schema and serde's messages); [`Sp::items`] gives every string
/// with its own span.
#[derive(Debug)]
pub struct OneOrMany<K> {
    written: Written,
    kind: PhantomData<fn() -> K>,
}

#[derive(Debug)]
enum Written {
    One(String),
    Many(Vec<Sp<String>>),
}

/// What the strings of a [`OneOrMany`] are.
pub trait Listed {
    /// The schema's name for the key's value.
    const SCHEMA_NAME: &'static str;
    /// The schema's description of the key's value.
    const DESCRIPTION: &'static str;
    /// What each string must match.
    const PATTERN: &'static str;
    /// At most this many strings (one per family), if limited.
    const AT_MOST: Option<u32>;
    /// What serde's message says it expected.
    const EXPECTING: &'static str;
}

macro_rules! listed {
    ($(#[$doc:meta])* $kind:ident, $alias:ident, $description:literal, $pattern:expr, $at_most:expr, $expecting:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $kind;
        impl Listed for $kind {
            const SCHEMA_NAME: &'static str = stringify!($alias);
            const DESCRIPTION: &'static str = $description;
            const PATTERN: &'static str = $pattern;
            const AT_MOST: Option<u32> = $at_most;
            const EXPECTING: &'static str = $expecting;
        }
        #[doc = concat!("A key holding [`", stringify!($kind), "`] strings.")]
        pub type $alias = OneOrMany<$kind>;
    };
}

listed!(
    /// An egress destination prefix of either family.
    Destination,
    Destinations,
    "`to = \"100.65.0.0/16\"` or `to = [\"100.66.0.0/16\", \"2001:db8:100::/40\"]`.",
    patterns::IP_PREFIX_PATTERN,
    None,
    "a prefix string or an array of prefix strings"
);
listed!(
    /// A pool name or a public address.
    Via,
    Vias,
    "`via = \"pool-b\"` or `via = [\"pool-b\", \"pool-a\"]` (likewise `default`): a\npublic address or a pool name, or a list of them in order of preference\n(failover).",
    patterns::VIA_PATTERN,
    None,
    "a string or an array of strings"
);
listed!(
    /// A pool's prefix, at most one per family.
    PoolPrefix,
    PoolPrefixes,
    "`prefix = \"198.51.100.0/24\"` or `prefix = [\"198.51.100.0/24\", \"2001:db8:a::/48\"]`:\nat most one prefix per family.",
    patterns::IP_PREFIX_PATTERN,
    Some(2),
    "a string"
);
listed!(
    /// The host's address on a link, at most one per family.
    LinkAddress,
    LinkAddresses,
    "`address = \"192.0.2.2/30\"` or `address = [\"192.0.2.2/30\", \"2001:db8:ffa::2/64\"]`:\nat most one per family, each with the link's prefix length.",
    patterns::IP_LINK_PATTERN,
    Some(2),
    "a string"
);
listed!(
    /// An address, at most one per family.
    Address,
    Addresses,
    "`address = \"10.0.0.5\"` or `address = [\"10.0.0.5\", \"2001:db8:10::5\"]`: at most\none address per family.",
    patterns::IP_ADDRESS_PATTERN,
    Some(2),
    "a string"
);

impl<K: Listed> JsonSchema for OneOrMany<K> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        K::SCHEMA_NAME.into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one = serde_json::json!({ "type": "string", "pattern": K::PATTERN });
        let mut many = serde_json::json!({ "type": "array", "items": one, "minItems": 1 });
        if let Some(at_most) = K::AT_MOST {
            many["maxItems"] = at_most.into();
        }
        schemars::json_schema!({
            "description": K::DESCRIPTION,
            "anyOf": [one, many]
        })
    }
}

impl<K> Sp<OneOrMany<K>> {
    /// Every string with its own span, so a diagnostic can point at one
    /// element of a list.
    pub fn items(&self) -> Vec<Sp<String>> {
        match &self.get().written {
            Written::One(one) => vec![Sp::new(one.clone(), self.span())],
            Written::Many(many) => many.clone(),
        }
    }
}

// Hand-written rather than `#[serde(untagged)]`: untagged enums buffer their input,
// which loses the spans toml attaches to each list element.
impl<'de, K: Listed> Deserialize<'de> for OneOrMany<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor<K>(PhantomData<fn() -> K>);
        impl<'de, K: Listed> Visitor<'de> for OneOrManyVisitor<K> {
            type Value = Written;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(K::EXPECTING)
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Written, E> {
                Ok(Written::One(value.to_owned()))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Written, S::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Written::Many(items))
            }
        }
        let written = deserializer.deserialize_any(OneOrManyVisitor::<K>(PhantomData))?;
        Ok(OneOrMany {
            written,
            kind: PhantomData,
        })
    }
}

/// The keys of the top-level table, in the order of [`Topology`]'s fields.
const TOP_LEVEL_KEYS: &[&str] = &[
    "version", "uplinks", "pools", "hosts", "projects", "vms", "failover",
];

/// A file that is valid TOML, read entity by entity.
#[derive(Debug)]
pub struct Parsed {
    /// The version and every entity that has the right shape.
    pub topology: Topology,
    /// Entities left out of `topology` because their shape is wrong (already
    /// reported), so that references to them are not reported again.
    pub unusable: Unusable,
    /// Whether the semantic checks can judge `topology` without reporting what
    /// follows from a part left out: true unless the version, a section or an
    /// uplink, pool or host could not be read (a VM or project left out leaves
    /// out only what depends on it). Unknown keys, dropped, do not count.
    pub checkable: bool,
}

/// Names of the entities of each kind that were defined but could not be read.
#[derive(Debug, Default)]
pub struct Unusable {
    pub uplinks: Vec<Sp<String>>,
    pub pools: Vec<Sp<String>>,
    pub hosts: Vec<Sp<String>>,
    pub projects: Vec<Sp<String>>,
    pub vms: Vec<Sp<String>>,
}

impl Unusable {
    pub fn is_empty(&self) -> bool {
        [
            &self.uplinks,
            &self.pools,
            &self.hosts,
            &self.projects,
            &self.vms,
        ]
        .iter()
        .all(|left_out| left_out.is_empty())
    }
}

/// Reads the file. A file that is not TOML yields one diagnostic (SY0001) and
/// `None`: nothing after a syntax error can be trusted. Otherwise the version and
/// each named entity (`[vms.web-1]`, …) are read on their own, so every unknown
/// key, wrong type and missing key of the file is reported in one run. An
/// unknown key is dropped; an entity with a wrong type or missing key, or with
/// an unknown key that may be a misspelling of a key it lacks, is left out.
pub fn parse(text: &str, diagnostics: &mut Diagnostics) -> Option<Parsed> {
    let root = match document::parse(text) {
        Ok(root) => root,
        Err(refused) => {
            diagnostics.push(not_toml(text, refused));
            return None;
        }
    };
    let Read { parsed, problems } = read(root);
    for problem in problems {
        diagnostics.push(problem);
    }
    Some(parsed)
}

/// The diagnostic for a text the document refused, in toml's words: toml's
/// document parser says what is wrong with the syntax or structure, its typed
/// one what does not fit in 64 bits. Both accepting it would be a defect of
/// the document's; it is then reported as the document found it.
fn not_toml(text: &str, refused: document::Refused) -> Diagnostic {
    let error = match toml::de::DeTable::parse(text) {
        Err(error) => Some(error),
        Ok(_) => text.parse::<toml::Table>().err(),
    };
    match error {
        Some(error) => syntax_error(&error),
        None => Diagnostic::new(
            Code::TomlSyntax,
            refused.message,
            refused.span,
            "invalid TOML here",
        ),
    }
}

/// One document read into typed entities, with what did not fit.
struct Read {
    parsed: Parsed,
    problems: Vec<Diagnostic>,
}

fn read(root: document::Table) -> Read {
    let mut reader = Reader::default();
    let mut topology = Topology::default();
    let mut unusable = Unusable::default();
    let has_version = root.contains_key("version");
    for document::Entry { key, value } in root.into_entries() {
        match key.name.as_ref() {
            "version" => {
                topology.version = reader.value(value);
                reader.incomplete |= topology.version.is_none();
            }
            "uplinks" => topology.uplinks = reader.section(value, &mut unusable.uplinks, NO_CHECKS),
            "pools" => topology.pools = reader.section(value, &mut unusable.pools, NO_CHECKS),
            "hosts" => topology.hosts = reader.section(value, &mut unusable.hosts, NO_CHECKS),
            "projects" => {
                topology.projects = reader.section(value, &mut unusable.projects, PROJECT_LEFT_OUT)
            }
            "vms" => topology.vms = reader.section(value, &mut unusable.vms, VM_LEFT_OUT),
            "failover" => {
                topology.failover = reader.table(value, NO_CHECKS);
                reader.incomplete |= topology.failover.is_none();
            }
            other => reader
                .problems
                .push(unknown_key(other, TOP_LEVEL_KEYS, key.span.range())),
        }
    }
    if !has_version {
        reader.problems.push(missing_key("`version`", 0..0));
        reader.incomplete = true;
    }
    // Whatever refers to a VM or project left out is left out with it; an
    // uplink, pool or host left out would be missed (an address outside every
    // pool, an uplink attached nowhere).
    let checkable = !reader.incomplete
        && [&unusable.uplinks, &unusable.pools, &unusable.hosts]
            .iter()
            .all(|left_out| left_out.is_empty());
    Read {
        parsed: Parsed {
            topology,
            unusable,
            checkable,
        },
        problems: reader.problems,
    }
}

/// Reads values out of the document, collecting a diagnostic for each that does
/// not have the right shape.
#[derive(Default)]
struct Reader {
    problems: Vec<Diagnostic>,
    /// The version or a whole section could not be read.
    incomplete: bool,
}

impl Reader {
    fn value<T: DeserializeOwned>(&mut self, value: Item) -> Option<T> {
        shape::read(value)
            .map_err(|error| self.problems.push(shape_error(error)))
            .ok()
    }

    /// A table read as `T` once its unknown keys are reported and dropped, or
    /// `None` when it cannot be read: its shape is wrong, or an unknown key may
    /// be a misspelt key it lacks (`adresses` in a project without
    /// `addresses`), so what it means is in doubt.
    /// `left_out` says, in the help of a misspelt key, what follows from it.
    fn table<T: Table>(&mut self, mut value: Item, left_out: &str) -> Option<Sp<T>> {
        let in_doubt = drop_unknown_keys::<T>(&mut value.value, &mut self.problems, left_out);
        if in_doubt {
            return None;
        }
        self.value(value)
    }

    /// A table of named entities; those that cannot be read are reported, left
    /// out and listed in `unusable`. The entities are read in parallel (a
    /// section may hold 100k VMs), their problems kept in the table's order.
    fn section<T: Table>(
        &mut self,
        value: Item,
        unusable: &mut Vec<Sp<String>>,
        left_out: &str,
    ) -> Named<T> {
        let table = match value.value {
            Value::Table(table) => table,
            other => {
                self.problems.push(Diagnostic::new(
                    Code::WrongType,
                    format!("invalid type: {}, expected a table", other.type_str()),
                    value.span.range(),
                    "wrong type",
                ));
                self.incomplete = true;
                return Named::new();
            }
        };
        let read: Vec<_> = table
            .into_entries()
            .into_par_iter()
            .map(|document::Entry { key, value }| {
                let mut reader = Reader::default();
                let entity = reader.table::<T>(value, left_out);
                (
                    Sp::new(key.name.into_owned(), key.span.range()),
                    entity,
                    reader.problems,
                )
            })
            .collect();
        let mut entities = Vec::with_capacity(read.len());
        for (name, entity, problems) in read {
            self.problems.extend(problems);
            match entity {
                Some(entity) => entities.push((name, entity)),
                None => unusable.push(name),
            }
        }
        entities.into_iter().collect()
    }
}

/// A table of the file that serde reads into a struct. Its unknown keys are
/// reported and dropped before serde sees it: serde's `deny_unknown_fields`
/// (there for the schema, which says `additionalProperties: false`) would
/// refuse the whole entity over one typo.
trait Table: DeserializeOwned + Send {
    /// Keys whose values hold more such tables, so unknown keys are found at
    /// every depth.
    const INNER: &'static [(&'static str, Inner)] = &[];
}

/// Where a key's value holds tables of the file's structs.
enum Inner {
    /// The value is one such table (`vlan`).
    One(DropUnknownKeys),
    /// Each element of an array (`egress`), or each value of a table (a host's
    /// `uplinks`), is one.
    Each(DropUnknownKeys),
}

type DropUnknownKeys = fn(&mut Value, &mut Vec<Diagnostic>, &str) -> bool;

/// What a misspelt key leaves out, by where it is (see [`Parsed::checkable`]).
const NO_CHECKS: &str = "until then, the other checks do not run";
const PROJECT_LEFT_OUT: &str =
    "until then, this project and its VMs are left out of the other checks";
const VM_LEFT_OUT: &str = "until then, this VM is left out of the other checks";

impl Table for Failover {}
impl Table for Uplink {}
impl Table for Pool {}
impl Table for Host {
    const INNER: &'static [(&'static str, Inner)] = &[
        ("uplinks", Inner::Each(drop_unknown_keys::<Attachment>)),
        ("ha", Inner::One(drop_unknown_keys::<Ha>)),
    ];
}
impl Table for Ha {}
impl Table for Attachment {
    const INNER: &'static [(&'static str, Inner)] =
        &[("vlan", Inner::One(drop_unknown_keys::<Vlan>))];
}
impl Table for Vlan {}
impl Table for Project {
    const INNER: &'static [(&'static str, Inner)] =
        &[("egress", Inner::Each(drop_unknown_keys::<Egress>))];
}
impl Table for Vm {
    const INNER: &'static [(&'static str, Inner)] = Project::INNER;
}
impl Table for Egress {}

/// Reports and removes the keys of `value` (a table read as `T`; anything else
/// is left to serde) that `T` does not have, at every depth. `true` when one is
/// a near miss of a key the table lacks: the table may not mean what it says,
/// and that key's help ends with `left_out`.
fn drop_unknown_keys<T: Table>(
    value: &mut Value,
    problems: &mut Vec<Diagnostic>,
    left_out: &str,
) -> bool {
    let Value::Table(table) = value else {
        return false;
    };
    let valid = keys_of::<T>();
    let mut in_doubt = false;
    let mut unknown = Vec::new();
    for key in table
        .entries()
        .iter()
        .map(|entry| &entry.key)
        .filter(|key| !valid.contains(&key.name.as_ref()))
    {
        let mut problem = unknown_key(&key.name, valid, key.span.range());
        let misspelt = crate::diagnostic::closest(&key.name, valid.iter().copied())
            .is_some_and(|meant| !table.contains_key(meant));
        if misspelt {
            problem.help = problem.help.map(|help| format!("{help}; {left_out}"));
        }
        in_doubt |= misspelt;
        problems.push(problem);
        unknown.push(key.name.to_string());
    }
    if !unknown.is_empty() {
        table.remove_all(&unknown);
    }
    for (key, inner) in T::INNER {
        let Some(item) = table.get_mut(key) else {
            continue;
        };
        in_doubt |= match (inner, &mut item.value) {
            (Inner::One(drop), value) => drop(value, problems, left_out),
            (Inner::Each(drop), Value::Array(array)) => {
                array.items.iter_mut().fold(false, |doubt, item| {
                    drop(&mut item.value, problems, left_out) | doubt
                })
            }
            (Inner::Each(drop), Value::Table(items)) => {
                items.entries_mut().iter_mut().fold(false, |doubt, entry| {
                    drop(&mut entry.value.value, problems, left_out) | doubt
                })
            }
            (Inner::Each(_), _) => false,
        };
    }
    in_doubt
}

/// The keys serde reads into `T`, as its derive lists them.
fn keys_of<T: DeserializeOwned>() -> &'static [&'static str] {
    /// Answers serde's first question, which for a derived struct names its
    /// keys, and stops there.
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("only the keys were asked for"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut keys: &'static [&'static str] = &[];
    // The error is the probe's own way of stopping.
    let _ = T::deserialize(Probe(&mut keys));
    keys
}

fn syntax_error(error: &toml::de::Error) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    let message = plain(error.message().trim_end());
    Diagnostic::new(Code::TomlSyntax, message, span, "invalid TOML here")
}

/// A value that is valid TOML but has the wrong shape.
fn shape_error(error: shape::ShapeError) -> Diagnostic {
    let span = error.span.clone().unwrap_or(0..0);
    match error.problem {
        shape::Problem::Missing(key) => missing_key(&format!("`{key}`"), span),
        shape::Problem::Unknown { key, keys } => unknown_key(&key, keys, span),
        shape::Problem::WrongType { .. } | shape::Problem::Other(_) => {
            Diagnostic::new(Code::WrongType, error.to_string(), span, "wrong type")
        }
    }
}

fn missing_key(key: &str, span: Range<usize>) -> Diagnostic {
    Diagnostic::new(
        Code::WrongType,
        format!("missing required key {key}"),
        span,
        format!("this table needs {key}"),
    )
}

/// An unknown key, with the valid keys of its table and the closest one as a
/// suggestion.
fn unknown_key(key: &str, valid: &[&str], span: Range<usize>) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::UnknownKey,
        format!("unknown key `{key}`"),
        span,
        "not a key of this table",
    );
    if valid.is_empty() {
        return diagnostic.help("this table takes no keys");
    }
    let list = valid
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match crate::diagnostic::closest(key, valid.iter().copied()) {
        Some(k) => diagnostic.help(format!("did you mean `{k}`? (valid keys: {list})")),
        None => diagnostic.help(format!("valid keys: {list}")),
    }
}

/// toml's syntax errors name Rust types where a value is out of range (an
/// integer past 64 bits); operators know TOML's.
fn plain(message: &str) -> String {
    if let Some(number) = message
        .strip_prefix("invalid type: integer ")
        .and_then(|m| m.strip_suffix(" as i128, expected i64"))
    {
        return format!("integer {number} does not fit in 64 bits");
    }
    message
        .replace("expected i64", "expected an integer")
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected a table")
}
