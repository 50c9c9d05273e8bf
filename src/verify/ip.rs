//! `ip -j rule/route/addr/neigh` → one comparable line per rule, route,
//! address and neighbour entry.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::VerifyError;
use crate::family::Which;
use crate::plan;

/// Fields shown first, in this order (then the rest by name), so that a line
/// reads like `ip route`: `table 101 dst default gateway 192.0.2.1 dev up-a`.
const FIELD_ORDER: &[&str] = &[
    "table", "priority", "dst", "src", "fwmark", "fwmask", "gateway", "dev", "scope", "prefsrc",
    "metric",
];

/// Fields left out: the protocol says who added an entry (the ip batch tags its
/// entries 211, networkd `static`), not what it does, and `flags` reports link
/// state (`linkdown`), not configuration.
const IGNORED_FIELDS: &[&str] = &["protocol", "flags"];

/// One rule or route: its routing table and protocol (numbers, as `ip -N`
/// prints them whatever `/etc/iproute2/rt_tables` and `rt_protos` call them),
/// and the rest as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub table: String,
    pub protocol: String,
    /// A rule's priority.
    pub priority: Option<i64>,
    pub line: String,
    /// The entry as `ip rule`/`ip route` arguments after `add` or `del`.
    pub arguments: String,
}

/// Which listing: `ip rule` or `ip route`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rule,
    Route,
}

impl Kind {
    fn command(self) -> &'static str {
        match self {
            Kind::Rule => "ip -j rule",
            Kind::Route => "ip -j route",
        }
    }
}

/// `ip -N -j rule show` or `ip -N -j route show table all` → its entries.
pub fn entries(text: &str, kind: Kind) -> Result<Vec<Entry>, VerifyError> {
    let command = kind.command();
    array::<Value>(text, command)?
        .iter()
        .map(|entry| {
            let entry = entry
                .as_object()
                .ok_or_else(|| unreadable(command, "an entry is not an object"))?;
            let field = |key| entry.get(key).map(text_of).unwrap_or_default();
            Ok(Entry {
                table: field("table"),
                protocol: field("protocol"),
                priority: entry.get("priority").and_then(Value::as_i64),
                line: line(entry),
                arguments: match kind {
                    Kind::Rule => rule_arguments(entry),
                    Kind::Route => route_arguments(entry),
                },
            })
        })
        .collect()
}

/// `ip route add`'s arguments for a route as `ip -N -j route` lists it.
fn route_arguments(route: &Map<String, Value>) -> String {
    let mut words: Vec<String> = Vec::new();
    let field = |key: &str| route.get(key).map(text_of);
    // `type` is there only when it is not unicast (`unreachable`, `blackhole`, …).
    words.extend(field("type"));
    words.extend(field("dst"));
    push_options(
        &mut words,
        route,
        &[
            ("gateway", "via"),
            ("dev", "dev"),
            ("table", "table"),
            ("protocol", "proto"),
            ("scope", "scope"),
            ("prefsrc", "src"),
            ("metric", "metric"),
        ],
    );
    words.join(" ")
}

/// `word value` for each `(key, word)` whose key the entry has, in order.
fn push_options(words: &mut Vec<String>, entry: &Map<String, Value>, options: &[(&str, &str)]) {
    for (key, word) in options {
        if let Some(value) = entry.get(*key) {
            words.push(format!("{word} {}", text_of(value)));
        }
    }
}

/// `ip rule add`'s arguments for a rule as `ip -N -j rule` lists it.
fn rule_arguments(rule: &Map<String, Value>) -> String {
    let mut words: Vec<String> = Vec::new();
    let field = |key: &str| rule.get(key).map(text_of);
    if let Some(priority) = field("priority") {
        words.push(format!("priority {priority}"));
    }
    if rule.contains_key("not") {
        words.push("not".to_owned());
    }
    for (key, length, word) in [("src", "srclen", "from"), ("dst", "dstlen", "to")] {
        match (field(key), field(length)) {
            (Some(address), Some(length)) => words.push(format!("{word} {address}/{length}")),
            (Some(address), None) if address != "all" => words.push(format!("{word} {address}")),
            _ => {}
        }
    }
    match (field("fwmark"), field("fwmask")) {
        (Some(mark), Some(mask)) => words.push(format!("fwmark {mark}/{mask}")),
        (Some(mark), None) => words.push(format!("fwmark {mark}")),
        _ => {}
    }
    push_options(
        &mut words,
        rule,
        &[
            ("iif", "iif"),
            ("oif", "oif"),
            ("tos", "tos"),
            ("ipproto", "ipproto"),
            ("sport", "sport"),
            ("dport", "dport"),
            ("uidrange", "uidrange"),
        ],
    );
    match field("action") {
        Some(action) if action == "goto" => {
            words.extend(field("target").map(|target| format!("goto {target}")))
        }
        Some(action) => words.push(action),
        None => words.extend(field("table").map(|table| format!("lookup {table}"))),
    }
    if let Some(length) = field("suppress_prefixlen") {
        words.push(format!("suppress_prefixlength {length}"));
    }
    if let Some(protocol) = field("protocol") {
        words.push(format!("proto {protocol}"));
    }
    words.join(" ")
}

/// `ip -j -4 addr show` or `ip -j -6 addr show` → each interface's addresses
/// of `family` (`192.0.2.2/30`), but for IPv6's link-local ones: the kernel
/// gives every interface one, switchyard none.
pub fn addresses(
    text: &str,
    family: Which,
) -> Result<BTreeMap<String, BTreeSet<String>>, VerifyError> {
    let command = "ip -j addr";
    let family = match family {
        Which::V4 => "inet",
        Which::V6 => "inet6",
    };
    let mut out = BTreeMap::new();
    for link in array::<Value>(text, command)? {
        let name = link
            .get("ifname")
            .and_then(Value::as_str)
            .ok_or_else(|| unreadable(command, "an interface without `ifname`"))?;
        let addresses: BTreeSet<String> = link
            .get("addr_info")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|a| a.get("family").and_then(Value::as_str) == Some(family))
            .filter(|a| family == "inet" || a.get("scope").and_then(Value::as_str) != Some("link"))
            .filter_map(|a| {
                Some(format!(
                    "{}/{}",
                    a.get("local")?.as_str()?,
                    a.get("prefixlen")?
                ))
            })
            .collect();
        out.insert(name.to_owned(), addresses);
    }
    Ok(out)
}

/// Switchyard's permanent neighbour entries: (address, interface) → MAC
/// (`None`: an entry without one).
pub type Neighbours = BTreeMap<(String, String), Option<String>>;

/// `ip -N -j -4 neigh show nud permanent proto 211` (or `-6`) → switchyard's entries. The
/// listing is filtered here too, whatever the command asked for: an entry is
/// switchyard's when it is permanent and tagged with its protocol (the ip
/// batch's flush removes exactly those). A stranger's dynamic entry, or a
/// permanent one added by hand, for a bound address is not: it does not stand
/// in for the build's, which is then missing.
pub fn neighbours(text: &str) -> Result<Neighbours, VerifyError> {
    // Read into its own type, not a JSON tree: at 100k bound VMs on two LAN
    // interfaces the listing has 200k entries (20 MB).
    #[derive(serde::Deserialize)]
    struct Listed {
        dst: String,
        dev: String,
        lladdr: Option<String>,
        #[serde(default)]
        state: Vec<String>,
        protocol: Option<String>,
    }
    let protocol = plan::ROUTE_PROTOCOL.to_string();
    Ok(array::<Listed>(text, "ip -j neigh")?
        .into_iter()
        .filter(|entry| {
            entry.state.iter().any(|s| s == "PERMANENT")
                && entry.protocol.as_ref() == Some(&protocol)
        })
        .map(|entry| ((entry.dst, entry.dev), entry.lladdr))
        .collect())
}

/// An entry as `verify` names it: `10.0.0.5 dev lan0`.
pub fn neighbour_name((address, dev): &(String, String)) -> String {
    format!("{address} dev {dev}")
}

/// Its MAC as a report shows it.
pub fn lladdr_text(lladdr: Option<&String>) -> String {
    lladdr.map_or_else(|| "no lladdr".to_owned(), |mac| format!("lladdr {mac}"))
}

/// The items of a listing, a JSON array.
fn array<T: serde::de::DeserializeOwned>(text: &str, command: &str) -> Result<Vec<T>, VerifyError> {
    // `ip -j` prints nothing at all (not `[]`) for some empty listings.
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(text).map_err(|e| unreadable(command, &e.to_string()))
}

fn unreadable(command: &str, why: &str) -> VerifyError {
    VerifyError::Unreadable(format!("{command} output: {why}"))
}

pub(super) fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn line(entry: &Map<String, Value>) -> String {
    let known = FIELD_ORDER
        .iter()
        .filter_map(|key| Some((*key, entry.get(*key)?)));
    let others = entry
        .iter()
        .filter(|(key, _)| {
            !FIELD_ORDER.contains(&key.as_str()) && !IGNORED_FIELDS.contains(&key.as_str())
        })
        .map(|(key, v)| (key.as_str(), v));
    known
        .chain(others)
        .map(|(key, v)| match (key, text_of(v).as_str()) {
            // `-N` numbers scopes too; these are the ones `ip route` names.
            ("scope", "0") => "scope global".to_owned(),
            ("scope", "253") => "scope link".to_owned(),
            ("scope", "254") => "scope host".to_owned(),
            (key, v) => format!("{key} {v}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
