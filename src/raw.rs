//! The topology file as written: serde structs that keep the source span of every
//! key and value. This is the only layer that knows TOML; everything after it works
//! on [`crate::model`]. The JSON schema (`switchyard schema`) is generated from
//! these same types, so the file format and its schema cannot drift apart.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

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
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "switchyard topology", extend("$id" = "https://switchyard.dev/schema/topology.schema.json"))]
pub struct Topology {
    /// File format version; must be 1.
    pub version: Sp<i64>,
    /// External networks (ISPs) a host can send through, by name.
    #[serde(default)]
    pub uplinks: Named<Uplink>,
    /// Blocks of public addresses, each leaving through one uplink, by name.
    #[serde(default)]
    pub pools: Named<Pool>,
    /// Network hosts that artifacts are rendered for, by name.
    #[serde(default)]
    pub hosts: Named<Host>,
    /// Tenants: the pools they may use and the addresses allocated to them.
    #[serde(default)]
    pub projects: Named<Project>,
    /// Virtual machines: one private address, public addresses, egress preferences.
    #[serde(default)]
    pub vms: Named<Vm>,
    /// Uplink health checks and failover; without it nothing is monitored.
    pub failover: Option<Sp<Failover>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Failover {
    /// Time between two probe rounds of an uplink, e.g. "200ms" or "1s"
    /// (10ms to 60s); default "200ms".
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
    #[schemars(range(min = 1, max = 255))]
    pub id: Sp<i64>,
    pub description: Option<Sp<String>>,
    /// Routing table number; defaults to 100 + id.
    #[schemars(range(min = 1, max = 4294967295u32))]
    pub table: Option<Sp<i64>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    /// Name of the uplink this pool's addresses leave through.
    pub uplink: Sp<String>,
    /// The public block, e.g. "198.51.100.0/24".
    pub prefix: Sp<String>,
    /// Addresses of the pool that are never allocatable.
    #[serde(default)]
    pub reserved: Vec<Sp<String>>,
    pub description: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Interfaces facing the VMs.
    #[serde(default)]
    pub lan: Vec<Sp<String>>,
    /// This host's attachments, keyed by uplink name.
    #[serde(default)]
    pub uplinks: Named<Attachment>,
    pub description: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// Linux interface name of the link (at most 15 bytes).
    pub interface: Sp<String>,
    /// The host's own address on the link, with prefix length, e.g. "192.0.2.2/30".
    pub address: Sp<String>,
    /// The next hop towards the uplink; must lie inside `address`'s network.
    pub gateway: Sp<String>,
    /// Present when `interface` is a VLAN on another interface.
    pub vlan: Option<Sp<Vlan>>,
    /// ICMP echo targets that tell whether the uplink works (with `[failover]`);
    /// default: the gateway.
    #[serde(default)]
    pub probe: Vec<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vlan {
    pub parent: Sp<String>,
    #[schemars(range(min = 1, max = 4094))]
    pub id: Sp<i64>,
    /// The file name of the administrator's own systemd-networkd unit for `parent`,
    /// e.g. "20-eth1.network". With it, switchyard adds its `VLAN=` lines to that
    /// unit as a drop-in (`networkd/20-eth1.network.d/10-switchyard-vlan.conf`)
    /// instead of writing a unit of its own for the parent, which would take the
    /// parent over. Every VLAN on one parent names the same unit, and the parent
    /// must not be an uplink of the host.
    pub parent_unit: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Pools the project may use (the ACL).
    #[serde(default)]
    pub pools: Vec<Sp<String>>,
    /// Public addresses allocated to the project.
    #[serde(default)]
    pub addresses: Vec<Sp<String>>,
    /// The project's private networks.
    #[serde(default)]
    pub networks: Vec<Sp<String>>,
    /// At most N addresses from a pool, keyed by pool name.
    #[serde(default)]
    pub quota: BTreeMap<Sp<String>, Sp<i64>>,
    /// Project-wide default egress: a pool name, or pool names in order of
    /// preference (failover).
    pub default: Option<Sp<OneOrMany>>,
    /// Project-wide egress preferences; `via` names a pool.
    #[serde(default)]
    pub egress: Vec<Sp<Egress>>,
    pub description: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vm {
    pub project: Sp<String>,
    pub host: Sp<String>,
    /// The VM's private address (its one NIC).
    pub address: Sp<String>,
    /// Public addresses, at most one from each pool.
    #[serde(default)]
    pub public: Vec<Sp<String>>,
    /// Default egress: one of this VM's public addresses or a pool name, or a list
    /// of them in order of preference (failover).
    pub default: Option<Sp<OneOrMany>>,
    /// Per-destination preferences; `via` is a public address of this VM or a pool.
    #[serde(default)]
    pub egress: Vec<Sp<Egress>>,
    pub description: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Egress {
    /// Destination prefix, or a list of them.
    pub to: Sp<OneOrMany>,
    /// A public address or a pool name, or a list of them in order of preference
    /// (failover).
    pub via: Sp<OneOrMany>,
}

/// A string or an array of strings: `to = "100.65.0.0/16"` or `to =
/// ["100.66.0.0/16", "100.67.0.0/16"]`; `via = "pool-b"` or `via = ["pool-b",
/// "pool-a"]`.
#[derive(Debug, JsonSchema)]
#[schemars(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<Sp<String>>),
}

impl Sp<OneOrMany> {
    /// Every string with its own span, so a diagnostic can point at one element
    /// of a list.
    pub fn items(&self) -> Vec<Sp<String>> {
        match self.get() {
            OneOrMany::One(one) => vec![Sp::new(one.clone(), self.span())],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

// Hand-written rather than `#[serde(untagged)]`: untagged enums buffer their input,
// which loses the spans toml attaches to each list element.
impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;
        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(value.to_owned()))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<OneOrMany, S::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany::Many(items))
            }
        }
        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// Reads the file into [`Topology`]. serde stops at the first problem, so this
/// yields at most one diagnostic; every later stage collects all of them.
pub fn parse(text: &str) -> Result<Topology, crate::diagnostic::Diagnostic> {
    use crate::diagnostic::{Code, Diagnostic};
    toml::from_str::<Topology>(text).map_err(|error| {
        let span = error.span().unwrap_or(0..0);
        let message = error.message().trim_end();
        if let Some(rest) = message.strip_prefix("unknown field ") {
            return unknown_key(rest, span);
        }
        if let Some(key) = message.strip_prefix("missing field ") {
            return Diagnostic::new(
                Code::WrongType,
                format!("missing required key {key}"),
                span,
                format!("this table needs {key}"),
            );
        }
        // A syntax error fails as early as an untyped parse does; otherwise the
        // TOML is fine and the problem is its shape.
        if text.parse::<toml::Table>().is_err() {
            Diagnostic::new(Code::TomlSyntax, plain(message), span, "invalid TOML here")
        } else {
            Diagnostic::new(Code::WrongType, plain(message), span, "wrong type")
        }
    })
}

/// serde's `unknown field `prefx`, expected one of `uplink`, `prefix``: the key,
/// with the valid keys of that table and the closest one as a suggestion.
fn unknown_key(rest: &str, span: Range<usize>) -> crate::diagnostic::Diagnostic {
    use crate::diagnostic::{Code, Diagnostic};
    let (key, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
    let key_name = key.trim_matches('`');
    let valid: Vec<&str> = expected
        .trim_start_matches("one of ")
        .split(", ")
        .map(|k| k.trim_matches('`'))
        .filter(|k| !k.is_empty() && !k.contains(' '))
        .collect();
    let diagnostic = Diagnostic::new(
        Code::UnknownKey,
        format!("unknown key {key}"),
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
    match crate::diagnostic::closest(key_name, valid.iter().copied()) {
        Some(k) => diagnostic.help(format!("did you mean `{k}`? (valid keys: {list})")),
        None => diagnostic.help(format!("valid keys: {list}")),
    }
}

/// serde's messages name Rust types; operators know TOML's.
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
