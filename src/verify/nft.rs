//! `nft -j list table …` → a table whose parts compare the way the kernel treats
//! them: chains by name with their rules in order, sets and maps by name with
//! their elements as sets, other named objects (counters, quotas, …) by name.
//! Handles, counter values and element expiry change on their own and are left
//! out; everything else is compared exactly as nft printed it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use similar::ChangeTag;

use super::ip::text_of;
use super::{Difference, VerifyError};
use crate::render::DOWN_UPLINKS_SET;

/// Keys whose values the kernel changes by itself (or assigns at load time).
const VOLATILE_KEYS: &[&str] = &["handle", "packets", "bytes", "used", "expires"];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Table {
    chains: BTreeMap<String, Chain>,
    sets: BTreeMap<String, Set>,
    /// Counters, quotas, limits, flowtables, …: `kind name` → their JSON.
    objects: BTreeMap<String, String>,
    /// The elements of set `down_uplinks`: the monitor's, never compared.
    pub down_uplinks: BTreeSet<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Chain {
    /// Type, hook, priority and policy of a base chain (empty for a regular one).
    definition: String,
    /// A base chain's hook and priority.
    hook: Option<(String, i64)>,
    rules: Vec<Rule>,
}

/// A base chain of another table than switchyard's, as far as it can stop a
/// packet before or beside switchyard's chain on the same hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherChain {
    pub family: String,
    pub table: String,
    pub name: String,
    pub hook: String,
    pub priority: i64,
    /// Its policy is drop, or one of its rules drops or rejects.
    pub drops: bool,
}

#[derive(Debug, PartialEq, Eq)]
struct Rule {
    /// The rule's JSON without volatile keys: what is compared.
    key: String,
    /// Close to nft's own syntax: what is shown.
    text: String,
}

#[derive(Debug, PartialEq, Eq)]
struct Set {
    /// `set` or `map`.
    kind: String,
    /// Type, flags, size, policy…: everything but the elements.
    definition: String,
    elements: BTreeSet<String>,
}

impl Table {
    /// Parses nft's JSON listing of one table.
    pub fn from_json(text: &str) -> Result<Table, VerifyError> {
        let invalid = |why: &str| VerifyError::Unreadable(format!("nft -j output: {why}"));
        let mut document: Value =
            serde_json::from_str(text).map_err(|e| invalid(&e.to_string()))?;
        let Some(Value::Array(entries)) = document.get_mut("nftables").map(Value::take) else {
            return Err(invalid("no `nftables` array"));
        };
        let mut table = Table::default();
        // Entries are taken apart, not copied: at 100k VMs one map is ~10 MB.
        for entry in entries {
            let Value::Object(entry) = entry else {
                return Err(invalid("an entry is not an object"));
            };
            let Some((kind, mut body)) = entry.into_iter().next() else {
                return Err(invalid("an empty entry"));
            };
            strip_volatile(&mut body);
            let Value::Object(mut body) = body else {
                return Err(invalid("an entry is not an object"));
            };
            let name = take_string(&mut body, "name");
            drop_keys(&mut body, &["family", "table"]);
            match kind.as_str() {
                "metainfo" | "table" => {}
                "chain" => {
                    let chain = table.chains.entry(name).or_default();
                    chain.hook = hook(&body);
                    chain.definition = compact(&body);
                }
                "rule" => {
                    let chain = take_string(&mut body, "chain");
                    let rule = Rule {
                        text: rule_text(&body),
                        key: compact(&body),
                    };
                    table.chains.entry(chain).or_default().rules.push(rule);
                }
                "set" | "map" => {
                    let mut elements = match body.remove("elem") {
                        Some(Value::Array(elements)) => elements.iter().map(element).collect(),
                        _ => BTreeSet::new(),
                    };
                    if name == DOWN_UPLINKS_SET {
                        table.down_uplinks = std::mem::take(&mut elements);
                    }
                    let set = Set {
                        kind,
                        definition: compact(&body),
                        elements,
                    };
                    table.sets.insert(name, set);
                }
                _ => {
                    table
                        .objects
                        .insert(format!("{kind} {name}"), compact(&body));
                }
            }
        }
        Ok(table)
    }

    /// The elements of set `name` (e.g. `build`, whose one element is the
    /// build id).
    pub fn set_elements(&self, name: &str) -> Option<&BTreeSet<String>> {
        self.sets.get(name).map(|set| &set.elements)
    }

    /// The hooks of this table's base chains, each with the lowest priority
    /// (the first to run) of its chains on it.
    pub fn hooks(&self) -> BTreeMap<&str, i64> {
        let mut hooks = BTreeMap::new();
        for (hook, priority) in self.chains.values().filter_map(|c| c.hook.as_ref()) {
            let first = hooks.entry(hook.as_str()).or_insert(*priority);
            *first = (*first).min(*priority);
        }
        hooks
    }

    /// What `live` lacks (missing) and has in addition (extra) compared with
    /// `self`, the expected table.
    pub fn compare(&self, live: &Table, out: &mut Vec<Difference>) {
        for (name, expected, live) in pairs(&self.chains, &live.chains) {
            let what = format!("chain {name}");
            match (expected, live) {
                (Some(_), None) => out.push(Difference::Missing(what)),
                (None, Some(_)) => out.push(Difference::Extra(what)),
                (Some(expected), Some(live)) => expected.compare(&what, live, out),
                (None, None) => {}
            }
        }
        for (name, expected, live) in pairs(&self.sets, &live.sets) {
            match (expected, live) {
                (Some(set), None) => out.push(Difference::Missing(format!("{} {name}", set.kind))),
                (None, Some(set)) => out.push(Difference::Extra(format!("{} {name}", set.kind))),
                (Some(expected), Some(live)) => expected.compare(name, live, out),
                (None, None) => {}
            }
        }
        for (name, expected, live) in pairs(&self.objects, &live.objects) {
            match (expected, live) {
                (Some(_), None) => out.push(Difference::Missing(name.clone())),
                (None, Some(_)) => out.push(Difference::Extra(name.clone())),
                (Some(expected), Some(live)) if expected != live => {
                    out.push(Difference::changed(name.clone(), expected, live))
                }
                _ => {}
            }
        }
    }
}

impl Chain {
    fn compare(&self, what: &str, live: &Chain, out: &mut Vec<Difference>) {
        if self.definition != live.definition {
            out.push(Difference::changed(
                what.to_owned(),
                &self.definition,
                &live.definition,
            ));
        }
        let expected: Vec<&str> = self.rules.iter().map(|r| r.key.as_str()).collect();
        let actual: Vec<&str> = live.rules.iter().map(|r| r.key.as_str()).collect();
        // Rule order matters within a chain: a line diff names each rule that is
        // missing or extra at its position (1-based, as in the build's script).
        let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &expected, &actual);
        for change in ops
            .iter()
            .flat_map(|op| op.iter_changes(&expected, &actual))
        {
            let rule = |rules: &[Rule], index: usize| {
                format!("{what} rule {}: {}", index + 1, rules[index].text)
            };
            match (change.tag(), change.old_index(), change.new_index()) {
                (ChangeTag::Delete, Some(index), _) => {
                    out.push(Difference::Missing(rule(&self.rules, index)))
                }
                (ChangeTag::Insert, _, Some(index)) => {
                    out.push(Difference::Extra(rule(&live.rules, index)))
                }
                _ => {}
            }
        }
    }
}

impl Set {
    fn compare(&self, name: &str, live: &Set, out: &mut Vec<Difference>) {
        let what = format!("{} {name}", self.kind);
        if (&self.kind, &self.definition) != (&live.kind, &live.definition) {
            out.push(Difference::changed(
                what.clone(),
                &format!("{} {}", self.kind, self.definition),
                &format!("{} {}", live.kind, live.definition),
            ));
        }
        for element in self.elements.difference(&live.elements) {
            out.push(Difference::Missing(format!("{what} element {element}")));
        }
        for element in live.elements.difference(&self.elements) {
            out.push(Difference::Extra(format!("{what} element {element}")));
        }
    }
}

/// The base chains of one table as `nft -j list table FAMILY NAME` prints it.
pub fn other_chains(text: &str) -> Result<Vec<OtherChain>, VerifyError> {
    let invalid = |why: &str| VerifyError::Unreadable(format!("nft -j output: {why}"));
    let document: Value = serde_json::from_str(text).map_err(|e| invalid(&e.to_string()))?;
    let Some(Value::Array(entries)) = document.get("nftables") else {
        return Err(invalid("no `nftables` array"));
    };
    let field = |body: &Value, key: &str| body.get(key).map(text_of).unwrap_or_default();
    let mut chains: Vec<OtherChain> = Vec::new();
    let mut dropping: BTreeSet<String> = BTreeSet::new();
    for entry in entries {
        if let Some(chain @ Value::Object(body)) = entry.get("chain") {
            if let Some((hook, priority)) = hook(body) {
                chains.push(OtherChain {
                    family: field(chain, "family"),
                    table: field(chain, "table"),
                    name: field(chain, "name"),
                    hook,
                    priority,
                    drops: field(chain, "policy") == "drop",
                });
            }
        } else if let Some(rule) = entry.get("rule") {
            let statements = rule.get("expr").and_then(Value::as_array);
            if statements.is_some_and(|statements| {
                statements
                    .iter()
                    .any(|s| s.get("drop").is_some() || s.get("reject").is_some())
            }) {
                dropping.insert(field(rule, "chain"));
            }
        }
    }
    for chain in &mut chains {
        chain.drops |= dropping.contains(&chain.name);
    }
    Ok(chains)
}

/// The tables of `nft -j list tables` other than switchyard's, in the families
/// whose hooks IPv4 packets pass: (family, name).
pub fn other_tables(text: &str) -> Result<Vec<(String, String)>, VerifyError> {
    let document: Value = serde_json::from_str(text)
        .map_err(|e| VerifyError::Unreadable(format!("nft -j list tables: {e}")))?;
    let tables = document
        .get("nftables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get("table"))
        .filter_map(|table| {
            Some((
                table.get("family")?.as_str()?.to_owned(),
                table.get("name")?.as_str()?.to_owned(),
            ))
        })
        .filter(|(family, name)| {
            matches!(family.as_str(), "ip" | "inet")
                && !(family == "inet" && name == crate::render::NFT_TABLE)
        })
        .collect();
    Ok(tables)
}

/// A base chain's hook and priority (nft -j gives the priority as a number).
fn hook(body: &Map<String, Value>) -> Option<(String, i64)> {
    Some((
        body.get("hook")?.as_str()?.to_owned(),
        body.get("prio")?.as_i64()?,
    ))
}

/// Every name of either map with its value on each side, in name order.
fn pairs<'a, T>(
    expected: &'a BTreeMap<String, T>,
    live: &'a BTreeMap<String, T>,
) -> impl Iterator<Item = (&'a String, Option<&'a T>, Option<&'a T>)> {
    let names: BTreeSet<&String> = expected.keys().chain(live.keys()).collect();
    names
        .into_iter()
        .map(|name| (name, expected.get(name), live.get(name)))
}

fn strip_volatile(value: &mut Value) {
    match value {
        Value::Object(object) => {
            drop_keys(object, VOLATILE_KEYS);
            object.values_mut().for_each(strip_volatile);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

fn drop_keys(object: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        object.remove(*key);
    }
}

fn take_string(object: &mut Map<String, Value>, key: &str) -> String {
    match object.remove(key) {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

fn compact(object: &Map<String, Value>) -> String {
    serde_json::to_string(object).expect("a JSON object serializes")
}

/// A set element (`a`) or a map element (`[key, value]`) as nft writes it.
fn element(value: &Value) -> String {
    match value {
        Value::Array(pair) if pair.len() == 2 => {
            format!("{} : {}", expression(&pair[0]), expression(&pair[1]))
        }
        other => expression(other),
    }
}

/// A rule as nft writes it: its statements, then its comment.
fn rule_text(rule: &Map<String, Value>) -> String {
    let mut words: Vec<String> = match rule.get("expr") {
        Some(Value::Array(statements)) => statements.iter().map(expression).collect(),
        _ => Vec::new(),
    };
    if let Some(comment) = rule.get("comment") {
        words.push(format!("comment {comment}"));
    }
    words.join(" ")
}

/// An expression or statement of nft's JSON in (close to) nft's own syntax, for
/// people; anything this does not know is shown as its JSON. Display only: what
/// is compared is the JSON itself.
fn expression(value: &Value) -> String {
    let Value::Object(object) = value else {
        return match value {
            Value::String(s) => s.clone(),
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(expression).collect();
                format!("{{ {} }}", items.join(", "))
            }
            other => other.to_string(),
        };
    };
    let Some((kind, body)) = object.iter().next().filter(|_| object.len() == 1) else {
        return value.to_string();
    };
    let field = |name: &str| body.get(name).map(expression).unwrap_or_default();
    match kind.as_str() {
        "prefix" => format!("{}/{}", field("addr"), field("len")),
        "range" | "concat" | "&" | "|" | "^" | "<<" | ">>" => {
            let separator = match kind.as_str() {
                "range" => "-".to_owned(),
                "concat" => " . ".to_owned(),
                operator => format!(" {operator} "),
            };
            match body {
                Value::Array(parts) => parts
                    .iter()
                    .map(expression)
                    .collect::<Vec<_>>()
                    .join(&separator),
                other => other.to_string(),
            }
        }
        "set" => match body {
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(element).collect();
                format!("{{ {} }}", items.join(", "))
            }
            other => expression(other),
        },
        "elem" => field("val"),
        "payload" => format!("{} {}", field("protocol"), field("field")),
        "meta" | "ct" => format!("{kind} {}", field("key")),
        "match" => match body.get("op").and_then(Value::as_str) {
            Some("==" | "in") | None => format!("{} {}", field("left"), field("right")),
            Some(op) => format!("{} {op} {}", field("left"), field("right")),
        },
        "mangle" => format!("{} set {}", field("key"), field("value")),
        "vmap" | "map" => format!("{} {kind} {}", field("key"), field("data")),
        "snat" | "dnat" | "masquerade" | "redirect" => {
            let family = body.get("family").map(expression);
            let addr = body.get("addr").map(expression);
            let mut words = vec![kind.clone()];
            words.extend(family);
            if let Some(addr) = addr {
                words.push(format!("to {addr}"));
            }
            words.join(" ")
        }
        "jump" | "goto" => format!("{kind} {}", field("target")),
        // A named counter is referenced by its name, an anonymous one is `{}`
        // once its values are stripped.
        "counter" => match body {
            Value::String(name) => format!("counter name {name}"),
            _ => "counter".to_owned(),
        },
        "accept" | "drop" | "return" | "continue" | "notrack" => kind.clone(),
        _ => value.to_string(),
    }
}
