//! `nft -j list table …` → the typed model of the table ([`nft_table::Table`]):
//! sets and maps with typed elements, counters, chains with their rules in
//! order; expected and live compare the way the kernel treats them (elements
//! as sets, rules in order). Handles, counter values and element expiry change
//! on their own and are left out. The listing is read with serde structs of
//! the parts of nft's JSON schema switchyard's tables use; a rule's statements
//! stay JSON, compared whole and shown in nft's syntax (typing every nft
//! statement would buy nothing here). Anything else a live table holds (a
//! quota added by hand) is kept as its JSON, so it is reported too.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value as Json;
use serde_json::value::RawValue;
use similar::ChangeTag;

use super::{Difference, VerifyError};
use crate::family::{V4, V6};
use crate::intervals::Range;
use crate::nft_table::{
    self, BaseChain, Chain, Counter, DataType, Element, Key, NftFamily, Rule, Set, Value, Verdict,
};
use crate::render::DOWN_UPLINKS_SET;

/// Keys whose values the kernel changes by itself (or assigns at load time).
const VOLATILE_KEYS: &[&str] = &["handle", "packets", "bytes", "used", "expires"];

/// A listed table: the model, and what else it holds: other objects (`kind
/// name` → JSON) and the sets' properties the model does not hold (name →
/// `; policy …`, see [`JsonSet::unmodelled`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub model: nft_table::Table,
    others: BTreeMap<String, String>,
    unmodelled: BTreeMap<String, String>,
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

/// `{"nftables": [{"KIND": {…}}, …]}`; each entry read by its kind.
#[derive(Deserialize)]
struct Listing<'a> {
    #[serde(borrow)]
    nftables: Vec<BTreeMap<String, &'a RawValue>>,
}

#[derive(Deserialize)]
struct JsonTable {
    family: String,
    name: String,
}

#[derive(Deserialize)]
struct JsonSet {
    name: String,
    #[serde(rename = "type")]
    key: OneOrMany<String>,
    /// A map's data type.
    map: Option<String>,
    #[serde(default)]
    flags: Option<OneOrMany<String>>,
    size: Option<usize>,
    #[serde(default)]
    elem: Vec<Expression>,
    /// Properties switchyard never declares, read to report them.
    policy: Option<String>,
    timeout: Option<u64>,
    #[serde(rename = "gc-interval")]
    gc_interval: Option<u64>,
    comment: Option<String>,
}

impl JsonSet {
    /// The properties the model does not hold, in nft's syntax; empty when
    /// there are none (always, for a set switchyard declared).
    fn unmodelled(&self) -> String {
        let mut words = Vec::new();
        words.extend(
            self.policy
                .as_ref()
                .map(|policy| format!("; policy {policy}")),
        );
        words.extend(self.timeout.map(|timeout| format!("; timeout {timeout}s")));
        words.extend(self.gc_interval.map(|gc| format!("; gc-interval {gc}s")));
        words.extend(
            self.comment
                .as_ref()
                .map(|comment| format!("; comment {comment:?}")),
        );
        words.concat()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

#[derive(Deserialize)]
struct JsonChain {
    family: Option<String>,
    table: Option<String>,
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    hook: Option<String>,
    prio: Option<i64>,
    policy: Option<String>,
}

#[derive(Deserialize)]
struct JsonRule {
    chain: String,
    #[serde(default)]
    expr: Vec<Json>,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct JsonCounter {
    name: String,
    comment: Option<String>,
}

/// An element's expression as nft's JSON writes it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Expression {
    Text(String),
    Number(u64),
    /// A map element: `[key, data]`.
    Mapping(Box<Expression>, Box<Expression>),
    Prefix {
        prefix: Prefix,
    },
    Range {
        range: (Box<Expression>, Box<Expression>),
    },
    Concat {
        concat: Vec<Expression>,
    },
    /// An element with properties (a timeout, a comment, a counter).
    Elem {
        elem: Elem,
    },
    Goto {
        goto: Target,
    },
    Jump {
        jump: Target,
    },
    Keyword(Keyword),
}

/// A verdict without a target: `{"accept": null}`.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Keyword {
    Accept(()),
    Drop(()),
    Continue(()),
    Return(()),
}

impl Keyword {
    fn verdict(&self) -> Verdict {
        match self {
            Keyword::Accept(()) => Verdict::Accept,
            Keyword::Drop(()) => Verdict::Drop,
            Keyword::Continue(()) => Verdict::Continue,
            Keyword::Return(()) => Verdict::Return,
        }
    }
}

#[derive(Deserialize)]
struct Prefix {
    addr: String,
    len: u8,
}

#[derive(Deserialize)]
struct Elem {
    val: Box<Expression>,
}

#[derive(Deserialize)]
struct Target {
    target: String,
}

fn invalid(why: impl std::fmt::Display) -> VerifyError {
    VerifyError::Unreadable(format!("nft -j output: {why}"))
}

/// Reads one entry's body as `T`.
fn read<'a, T: Deserialize<'a>>(kind: &str, body: &'a RawValue) -> Result<T, VerifyError> {
    serde_json::from_str(body.get()).map_err(|e| invalid(format!("a {kind}: {e}")))
}

/// The entries of a listing, each as (kind, body).
fn entries(text: &str) -> Result<Vec<(String, &RawValue)>, VerifyError> {
    let listing: Listing = serde_json::from_str(text).map_err(invalid)?;
    listing
        .nftables
        .into_iter()
        .map(|entry| {
            let mut entry = entry.into_iter();
            match (entry.next(), entry.next()) {
                (Some(one), None) => Ok(one),
                _ => Err(invalid("an entry that is not one object")),
            }
        })
        .collect()
}

impl Table {
    /// Parses nft's JSON listing of one table.
    pub fn from_json(text: &str) -> Result<Table, VerifyError> {
        let mut table = Table::default();
        for (kind, body) in entries(text)? {
            match kind.as_str() {
                "metainfo" | "table" => {}
                "set" | "map" => {
                    let json: JsonSet = read(&kind, body)?;
                    let unmodelled = json.unmodelled();
                    let (name, set) = set_of(json)?;
                    if !unmodelled.is_empty() {
                        table.unmodelled.insert(name.clone(), unmodelled);
                    }
                    table.model.sets.insert(name, set);
                }
                "chain" => {
                    let chain: JsonChain = read(&kind, body)?;
                    let base = match (chain.kind, chain.hook, chain.prio, chain.policy) {
                        (Some(kind), Some(hook), Some(priority), policy) => Some(BaseChain {
                            kind,
                            hook,
                            priority,
                            policy: policy.unwrap_or_else(|| "accept".to_owned()),
                        }),
                        _ => None,
                    };
                    table.model.chains.entry(chain.name).or_default().base = base;
                }
                "rule" => {
                    let rule: JsonRule = read(&kind, body)?;
                    let chain = table.model.chains.entry(rule.chain.clone()).or_default();
                    chain.rules.push(rule_of(rule));
                }
                "counter" => {
                    let counter: JsonCounter = read(&kind, body)?;
                    let comment = counter.comment;
                    table
                        .model
                        .counters
                        .insert(counter.name, Counter { comment });
                }
                _ => {
                    let mut other: Json = read(&kind, body)?;
                    strip_volatile(&mut other);
                    let name = other.get("name").map_or_else(String::new, text_of);
                    table
                        .others
                        .insert(format!("{kind} {name}"), other.to_string());
                }
            }
        }
        Ok(table)
    }

    /// The hooks of this table's base chains, each with the lowest priority
    /// (the first to run) of its chains on it.
    pub fn hooks(&self) -> BTreeMap<&str, i64> {
        let mut hooks = BTreeMap::new();
        for base in self.model.chains.values().filter_map(|c| c.base.as_ref()) {
            let first = hooks.entry(base.hook.as_str()).or_insert(base.priority);
            *first = (*first).min(base.priority);
        }
        hooks
    }

    /// What `live` lacks (missing) and has in addition (extra) compared with
    /// `self`, the expected table. The elements of set `down_uplinks` are the
    /// monitor's: never compared.
    pub fn compare(&self, live: &Table, out: &mut Vec<Difference>) {
        let (expected, live_model) = (&self.model, &live.model);
        let (expected_rest, live_rest) = (&self.unmodelled, &live.unmodelled);
        for (name, expected, live) in pairs(&expected.chains, &live_model.chains) {
            let what = format!("chain {name}");
            match (expected, live) {
                (Some(_), None) => out.push(Difference::Missing(what)),
                (None, Some(_)) => out.push(Difference::Extra(what)),
                (Some(expected), Some(live)) => compare_chains(&what, expected, live, out),
                (None, None) => {}
            }
        }
        for (name, expected, live) in pairs(&expected.sets, &live_model.sets) {
            match (expected, live) {
                (Some(set), None) => {
                    out.push(Difference::Missing(format!("{} {name}", set.kind())))
                }
                (None, Some(set)) => out.push(Difference::Extra(format!("{} {name}", set.kind()))),
                (Some(expected), Some(live)) => {
                    let declarations = [
                        (expected, expected_rest.get(name).cloned()),
                        (live, live_rest.get(name).cloned()),
                    ];
                    compare_sets(name, declarations, out)
                }
                (None, None) => {}
            }
        }
        for (name, expected, live) in pairs(&expected.counters, &live_model.counters) {
            let what = format!("counter {name}");
            let comment = |counter: &Counter| counter.comment.clone().unwrap_or_default();
            match (expected, live) {
                (Some(_), None) => out.push(Difference::Missing(what)),
                (None, Some(_)) => out.push(Difference::Extra(what)),
                (Some(expected), Some(live)) if expected != live => out.push(Difference::changed(
                    what,
                    &comment(expected),
                    &comment(live),
                )),
                _ => {}
            }
        }
        for (name, expected, live) in pairs(&self.others, &live.others) {
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

fn compare_chains(what: &str, expected: &Chain, live: &Chain, out: &mut Vec<Difference>) {
    if expected.base != live.base {
        let base = |chain: &Chain| {
            chain
                .base
                .as_ref()
                .map_or_else(|| "a regular chain".to_owned(), BaseChain::to_string)
        };
        out.push(Difference::changed(
            what.to_owned(),
            &base(expected),
            &base(live),
        ));
    }
    let keys =
        |chain: &'_ Chain| -> Vec<String> { chain.rules.iter().map(|r| r.key.clone()).collect() };
    let (expected_keys, live_keys) = (keys(expected), keys(live));
    // Rule order matters within a chain: a line diff names each rule that is
    // missing or extra at its position (1-based, as in the build's script).
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &expected_keys, &live_keys);
    for change in ops
        .iter()
        .flat_map(|op| op.iter_changes(&expected_keys, &live_keys))
    {
        let rule = |rules: &[Rule], index: usize| {
            format!("{what} rule {}: {}", index + 1, rules[index].text)
        };
        match (change.tag(), change.old_index(), change.new_index()) {
            (ChangeTag::Delete, Some(index), _) => {
                out.push(Difference::Missing(rule(&expected.rules, index)))
            }
            (ChangeTag::Insert, _, Some(index)) => {
                out.push(Difference::Extra(rule(&live.rules, index)))
            }
            _ => {}
        }
    }
}

/// `declarations`: the expected and the live set, each with the properties
/// the model does not hold.
fn compare_sets(name: &str, declarations: [(&Set, Option<String>); 2], out: &mut Vec<Difference>) {
    let [(expected, expected_rest), (live, live_rest)] = declarations;
    let what = format!("{} {name}", expected.kind());
    if expected.kind() != live.kind()
        || !expected.same_declaration(live)
        || expected_rest != live_rest
    {
        let declaration = |set: &Set, rest: Option<String>| {
            format!(
                "{} {}{}",
                set.kind(),
                set.declaration(),
                rest.unwrap_or_default()
            )
        };
        out.push(Difference::changed(
            what.clone(),
            &declaration(expected, expected_rest),
            &declaration(live, live_rest),
        ));
    }
    if name == DOWN_UPLINKS_SET {
        return;
    }
    let (missing, extra) = nft_table::difference(&expected.elements, &live.elements);
    for element in missing {
        out.push(Difference::Missing(format!("{what} element {element}")));
    }
    for element in extra {
        out.push(Difference::Extra(format!("{what} element {element}")));
    }
}

/// A listed set or map, its elements typed by its declaration.
fn set_of(json: JsonSet) -> Result<(String, Set), VerifyError> {
    let key: Vec<DataType> = json
        .key
        .into_vec()
        .iter()
        .map(|t| DataType::named(t))
        .collect();
    let mut set = Set::new(key, json.map.as_deref().map(DataType::named));
    set.flags = json
        .flags
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
        .into_iter()
        .collect();
    set.size = json.size;
    set.elements = json
        .elem
        .into_iter()
        .map(|element| element_of(&set, element))
        .collect::<Result<_, String>>()
        .map_err(|why| invalid(format!("{} {}: {why}", set.kind(), json.name)))?;
    set.sort();
    Ok((json.name, set))
}

fn element_of(set: &Set, expression: Expression) -> Result<Element, String> {
    let (key, data) = match (expression, &set.data) {
        (Expression::Elem { elem }, _) => return element_of(set, *elem.val),
        (Expression::Mapping(key, data), Some(data_type)) => {
            (*key, Some(value_of(data_type, *data)?))
        }
        (key, _) => (key, None),
    };
    let key = match (set.key.as_slice(), key) {
        ([one], key) => Key::One(value_of(one, key)?),
        ([first, second], Expression::Concat { concat }) if concat.len() == 2 => {
            let [a, b]: [Expression; 2] = concat.try_into().map_err(|_| "a concatenation")?;
            Key::Concat(value_of(first, a)?, value_of(second, b)?)
        }
        (_, key) => return Err(format!("`{}` does not match type {}", key, set.type_text())),
    };
    Ok(Element::new(key, data))
}

/// An address, prefix or range of family `F` as nft -j writes it.
fn address_value<F: NftFamily>(expression: Expression) -> Result<Range<F>, String> {
    match expression {
        Expression::Elem { elem } => address_value(*elem.val),
        Expression::Prefix { prefix } => {
            let net = prefix
                .addr
                .parse()
                .ok()
                .and_then(|addr| F::net(addr, prefix.len))
                .ok_or_else(|| format!("`{}/{}` is no prefix", prefix.addr, prefix.len))?;
            Ok(Range::of(&net))
        }
        Expression::Range {
            range: (first, last),
        } => {
            let address = |end: &Expression| end.to_string().parse::<F::Addr>().ok();
            match (address(&first), address(&last)) {
                (Some(first), Some(last)) if first <= last => Ok(Range {
                    first: F::bits(first),
                    last: F::bits(last),
                }),
                _ => Err(format!("`{first}-{last}` is no range")),
            }
        }
        Expression::Text(text) => text
            .parse()
            .map(Range::single)
            .map_err(|_| format!("`{text}` is no {} address", F::NAME)),
        other => Err(format!("`{other}` is no {} address", F::NAME)),
    }
}

/// A value of `data_type`; one nft writes otherwise is an error.
fn value_of(data_type: &DataType, expression: Expression) -> Result<Value, String> {
    let bad = |expression: &Expression| format!("`{expression}` is no {data_type}");
    Ok(match (data_type, expression) {
        (_, Expression::Elem { elem }) => value_of(data_type, *elem.val)?,
        (DataType::Ipv4Addr, expression) => V4::value(address_value::<V4>(expression)?),
        (DataType::Ipv6Addr, expression) => V6::value(address_value::<V6>(expression)?),
        (DataType::EtherAddr, Expression::Text(text)) => {
            Value::ether(&text).ok_or_else(|| bad(&Expression::Text(text.clone())))?
        }
        (DataType::Ifname, Expression::Text(text)) => Value::Ifname(text),
        (DataType::Mark, Expression::Number(mark)) => {
            Value::Mark(u32::try_from(mark).map_err(|_| format!("mark {mark} is too large"))?)
        }
        (DataType::Verdict, Expression::Goto { goto }) => {
            Value::Verdict(Verdict::Goto(goto.target))
        }
        (DataType::Verdict, Expression::Jump { jump }) => {
            Value::Verdict(Verdict::Jump(jump.target))
        }
        (DataType::Verdict, Expression::Keyword(keyword)) => Value::Verdict(keyword.verdict()),
        (DataType::Other(_), expression) => Value::Other(expression.to_string()),
        (_, expression) => return Err(bad(&expression)),
    })
}

/// As nft writes the expression, for messages and values of unknown types.
impl std::fmt::Display for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expression::Text(text) => f.write_str(text),
            Expression::Number(number) => write!(f, "{number}"),
            Expression::Mapping(key, data) => write!(f, "{key} : {data}"),
            Expression::Prefix { prefix } => write!(f, "{}/{}", prefix.addr, prefix.len),
            Expression::Range {
                range: (first, last),
            } => write!(f, "{first}-{last}"),
            Expression::Concat { concat } => {
                let parts: Vec<String> = concat.iter().map(ToString::to_string).collect();
                f.write_str(&parts.join(" . "))
            }
            Expression::Elem { elem } => write!(f, "{}", elem.val),
            Expression::Goto { goto } => write!(f, "goto {}", goto.target),
            Expression::Jump { jump } => write!(f, "jump {}", jump.target),
            Expression::Keyword(keyword) => write!(f, "{}", keyword.verdict()),
        }
    }
}

/// A rule: its statements' JSON without volatile keys (what is compared) and
/// in nft's syntax (what is shown), then its comment.
fn rule_of(rule: JsonRule) -> Rule {
    let mut statements = Json::Array(rule.expr);
    strip_volatile(&mut statements);
    let Json::Array(statements) = statements else {
        unreachable!("an array stays an array")
    };
    let mut words: Vec<String> = statements.iter().map(expression).collect();
    let key = serde_json::json!({"expr": statements, "comment": rule.comment}).to_string();
    if let Some(comment) = &rule.comment {
        words.push(format!("comment {}", Json::from(comment.as_str())));
    }
    Rule {
        key,
        text: words.join(" "),
    }
}

/// The base chains of one table as `nft -j list table FAMILY NAME` prints it.
pub fn other_chains(text: &str) -> Result<Vec<OtherChain>, VerifyError> {
    let mut chains: Vec<OtherChain> = Vec::new();
    let mut dropping: BTreeSet<String> = BTreeSet::new();
    for (kind, body) in entries(text)? {
        match kind.as_str() {
            "chain" => {
                let chain: JsonChain = read(&kind, body)?;
                if let (Some(hook), Some(priority)) = (chain.hook, chain.prio) {
                    chains.push(OtherChain {
                        family: chain.family.unwrap_or_default(),
                        table: chain.table.unwrap_or_default(),
                        name: chain.name,
                        hook,
                        priority,
                        drops: chain.policy.as_deref() == Some("drop"),
                    });
                }
            }
            "rule" => {
                let rule: JsonRule = read(&kind, body)?;
                let stops = |statement: &Json| {
                    statement.get("drop").is_some() || statement.get("reject").is_some()
                };
                if rule.expr.iter().any(stops) {
                    dropping.insert(rule.chain);
                }
            }
            _ => {}
        }
    }
    for chain in &mut chains {
        chain.drops |= dropping.contains(&chain.name);
    }
    Ok(chains)
}

/// The tables of `nft -j list tables` other than switchyard's, in the families
/// whose hooks IPv4 or IPv6 packets pass: (family, name).
pub fn other_tables(text: &str) -> Result<Vec<(String, String)>, VerifyError> {
    let mut tables = Vec::new();
    for (kind, body) in entries(text)? {
        if kind == "table" {
            let JsonTable { family, name } = read(&kind, body)?;
            if matches!(family.as_str(), "ip" | "ip6" | "inet")
                && !(family == "inet" && name == crate::render::NFT_TABLE)
            {
                tables.push((family, name));
            }
        }
    }
    Ok(tables)
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

fn strip_volatile(value: &mut Json) {
    match value {
        Json::Object(object) => {
            for key in VOLATILE_KEYS {
                object.remove(*key);
            }
            object.values_mut().for_each(strip_volatile);
        }
        Json::Array(items) => items.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

/// A JSON scalar as text (a string without its quotes).
fn text_of(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A set element (`a`) or a map element (`[key, value]`) inside a rule's
/// anonymous set or map, as nft writes it.
fn element(value: &Json) -> String {
    match value {
        Json::Array(pair) if pair.len() == 2 => {
            format!("{} : {}", expression(&pair[0]), expression(&pair[1]))
        }
        other => expression(other),
    }
}

/// An expression or statement of nft's JSON in (close to) nft's own syntax, for
/// people; anything this does not know is shown as its JSON. Display only: what
/// is compared is the JSON itself.
fn expression(value: &Json) -> String {
    let Json::Object(object) = value else {
        return match value {
            Json::String(s) => s.clone(),
            Json::Array(items) => {
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
                Json::Array(parts) => parts
                    .iter()
                    .map(expression)
                    .collect::<Vec<_>>()
                    .join(&separator),
                other => other.to_string(),
            }
        }
        "set" => match body {
            Json::Array(items) => {
                let items: Vec<String> = items.iter().map(element).collect();
                format!("{{ {} }}", items.join(", "))
            }
            other => expression(other),
        },
        "elem" => field("val"),
        "payload" => format!("{} {}", field("protocol"), field("field")),
        "meta" | "ct" => format!("{kind} {}", field("key")),
        "match" => match body.get("op").and_then(Json::as_str) {
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
            Json::String(name) => format!("counter name {name}"),
            _ => "counter".to_owned(),
        },
        "accept" | "drop" | "return" | "continue" | "notrack" => kind.clone(),
        _ => value.to_string(),
    }
}
