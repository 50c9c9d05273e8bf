//! The typed model of switchyard's nft table (`inet switchyard`): its sets and
//! maps with typed, sorted elements (addresses, intervals, concatenations,
//! interface names, MACs, marks, verdicts), its named counters and its chains.
//!
//! One model, three sources: `render` builds the sets from the plan and writes
//! their elements from it, [`Table::parse`] reads a rendered script back (the
//! inverse of rendering: `build --since` reads the earlier build with it, the
//! tests query a build through it), and `verify` reads `nft -j list table`
//! into it. A rule stays the text it was written as (typing every nft
//! statement would buy nothing: rules are compared whole, never taken apart).

mod script;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Display, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

pub use script::ParseError;

use crate::family::{Family, V4, V6};
use crate::intervals::Range;
use crate::layout::hex;

/// An address family as the table writes it: its data type and the value
/// that holds its addresses and intervals.
pub trait NftFamily: Family {
    /// `ipv4_addr` or `ipv6_addr`.
    const DATA_TYPE: DataType;
    /// The expression keyword of the family's header: `ip` or `ip6`.
    const KEYWORD: &'static str;
    /// What the names of the family's sets and chains end with: IPv4's have
    /// none (they were there first), IPv6's `6` (`internal6`).
    const SUFFIX: &'static str;
    fn value(range: Range<Self>) -> Value;
    fn range(value: &Value) -> Option<Range<Self>>;
    fn write_address(out: &mut impl Write, address: Self::Addr) -> fmt::Result;
}

impl NftFamily for V4 {
    const DATA_TYPE: DataType = DataType::Ipv4Addr;
    const KEYWORD: &'static str = "ip";
    const SUFFIX: &'static str = "";
    fn value(range: Range<V4>) -> Value {
        Value::Ipv4(range)
    }
    fn range(value: &Value) -> Option<Range<V4>> {
        match value {
            Value::Ipv4(range) => Some(*range),
            _ => None,
        }
    }
    fn write_address(out: &mut impl Write, address: Ipv4Addr) -> fmt::Result {
        Addr(address).write(out)
    }
}

impl NftFamily for V6 {
    const DATA_TYPE: DataType = DataType::Ipv6Addr;
    const KEYWORD: &'static str = "ip6";
    const SUFFIX: &'static str = "6";
    fn value(range: Range<V6>) -> Value {
        Value::Ipv6(range)
    }
    fn range(value: &Value) -> Option<Range<V6>> {
        match value {
            Value::Ipv6(range) => Some(*range),
            _ => None,
        }
    }
    fn write_address(out: &mut impl Write, address: Ipv6Addr) -> fmt::Result {
        Addr6(address).write(out)
    }
}

/// One nft table: sets and maps, counters and chains, each by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub sets: BTreeMap<String, Set>,
    pub counters: BTreeMap<String, Counter>,
    pub chains: BTreeMap<String, Chain>,
}

/// A set, or a map when it has a data type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    /// One type, or several for a concatenation (`ipv4_addr . ipv4_addr`).
    pub key: Vec<DataType>,
    /// A map's data type (`verdict`, `ipv4_addr`); `None` for a set.
    pub data: Option<DataType>,
    /// `interval`, …; sorted.
    pub flags: BTreeSet<String>,
    /// A hash set's declared size.
    pub size: Option<usize>,
    /// Sorted by key, then data; no two alike.
    pub elements: Vec<Element>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DataType {
    Ipv4Addr,
    Ipv6Addr,
    Ifname,
    EtherAddr,
    Mark,
    Verdict,
    /// A type switchyard does not write (found in a table edited by hand).
    Other(String),
}

/// One element: a key (one value or a concatenation), a map's data, and the
/// comment a script writes after it. The comment is the script's, not the
/// table's (nft drops it): it takes no part in comparing elements.
#[derive(Debug, Clone)]
pub struct Element {
    pub key: Key,
    pub data: Option<Value>,
    pub comment: Option<String>,
}

/// A key: one value, or a concatenation of two (all switchyard declares).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    One(Value),
    Concat(Value, Value),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// An address, or in an interval set an interval (written as a prefix
    /// when it is one).
    Ipv4(Range),
    Ipv6(Range<V6>),
    Ifname(String),
    Ether([u8; 6]),
    Mark(u32),
    Verdict(Verdict),
    /// A value of a type switchyard does not write, as nft printed it.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    Accept,
    Drop,
    Continue,
    Return,
    Jump(String),
    Goto(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counter {
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    /// A base chain's type, hook, priority and policy; `None` for a chain
    /// reached only by jumps.
    pub base: Option<BaseChain>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseChain {
    /// `filter`, `nat`, …
    pub kind: String,
    pub hook: String,
    /// As a number (a script's `mangle` is -150, as nft lists it).
    pub priority: i64,
    pub policy: String,
}

/// A rule as written: what is compared (`key`) and what is shown (`text`).
/// In a script both are the rule's line; from `nft -j` the key is its JSON
/// and the text that JSON in nft's syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub key: String,
    pub text: String,
}

impl Table {
    /// The one element of set `build`, unquoted: the build id.
    pub fn build_id(&self) -> Option<&str> {
        match self.sets.get(BUILD_SET)?.elements.as_slice() {
            [
                Element {
                    key: Key::One(Value::Ifname(id)),
                    data: None,
                    ..
                },
            ] => Some(id),
            _ => None,
        }
    }

    /// The elements of set or map `name`, or none when there is no such set.
    pub fn elements(&self, name: &str) -> &[Element] {
        self.sets.get(name).map_or(&[], |set| &set.elements)
    }

    /// The table without its elements (and so without its build id) equals
    /// `other`'s: an update can turn one into the other by elements alone.
    pub fn same_structure(&self, other: &Table) -> bool {
        self.counters == other.counters
            && self.chains == other.chains
            && self.sets.len() == other.sets.len()
            && self
                .sets
                .iter()
                .zip(&other.sets)
                .all(|((name, set), (other_name, other))| {
                    name == other_name && set.same_declaration(other)
                })
    }
}

/// The set holding a build's id (templates/switchyard.nft).
pub const BUILD_SET: &str = "build";

impl Set {
    pub fn new(key: Vec<DataType>, data: Option<DataType>) -> Self {
        Set {
            key,
            data,
            flags: BTreeSet::new(),
            size: None,
            elements: Vec::new(),
        }
    }

    /// `set` or `map`.
    pub fn kind(&self) -> &'static str {
        if self.data.is_some() { "map" } else { "set" }
    }

    pub fn is_interval(&self) -> bool {
        self.flags.contains("interval")
    }

    /// Everything but the elements equals `other`'s.
    pub fn same_declaration(&self, other: &Set) -> bool {
        (&self.key, &self.data, &self.flags, self.size)
            == (&other.key, &other.data, &other.flags, other.size)
    }

    /// Sorts the elements and drops duplicates: what the kernel holds is a set.
    pub fn sort(&mut self) {
        self.elements.sort_unstable();
        self.elements.dedup();
    }

    /// `type …` as declared: `ipv4_addr . ipv4_addr : verdict`.
    pub fn type_text(&self) -> String {
        let mut text = self
            .key
            .iter()
            .map(DataType::to_string)
            .collect::<Vec<_>>()
            .join(" . ");
        if let Some(data) = &self.data {
            let _ = write!(text, " : {data}");
        }
        text
    }

    /// `flags …` as declared: `interval`, or empty.
    pub fn flags_text(&self) -> String {
        let flags: Vec<&str> = self.flags.iter().map(String::as_str).collect();
        flags.join(", ")
    }

    /// The declaration in nft's syntax, one line: `type …; flags …; size N`.
    pub fn declaration(&self) -> String {
        let mut text = format!("type {}", self.type_text());
        if !self.flags.is_empty() {
            let _ = write!(text, "; flags {}", self.flags_text());
        }
        if let Some(size) = self.size {
            let _ = write!(text, "; size {size}");
        }
        text
    }
}

/// Writes `elements` one a line, as a script's `elements = {` block holds
/// them: `\n\t\t\tELEMENT,` with its ` # comment`. Straight into the
/// script: a large host's sets hold hundreds of thousands of elements, and
/// lines written apart would be copied together again.
pub fn write_element_lines(elements: &[Element], out: &mut String) {
    for element in elements {
        out.push_str("\n\t\t\t");
        let _ = element.write(out);
        out.push(',');
        if let Some(comment) = &element.comment {
            out.push_str(" # ");
            out.push_str(comment);
        }
    }
}

/// The elements only in `old` and those only in `new`, both sorted lists.
pub fn difference<'a>(
    old: &'a [Element],
    new: &'a [Element],
) -> (Vec<&'a Element>, Vec<&'a Element>) {
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let (mut old, mut new) = (old.iter().peekable(), new.iter().peekable());
    loop {
        match (old.peek(), new.peek()) {
            (Some(o), Some(n)) if o == n => {
                old.next();
                new.next();
            }
            (Some(o), Some(n)) if o < n => removed.extend(old.next()),
            (Some(_), Some(_)) | (None, Some(_)) => added.extend(new.next()),
            (Some(_), None) => removed.extend(old.next()),
            (None, None) => return (removed, added),
        }
    }
}

impl PartialEq for Element {
    fn eq(&self, other: &Self) -> bool {
        (&self.key, &self.data) == (&other.key, &other.data)
    }
}

impl Eq for Element {}

impl PartialOrd for Element {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Element {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.key, &self.data).cmp(&(&other.key, &other.data))
    }
}

impl Element {
    pub fn new(key: Key, data: Option<Value>) -> Self {
        Element {
            key,
            data,
            comment: None,
        }
    }

    pub fn commented(mut self, comment: impl Display) -> Self {
        self.comment = Some(comment.to_string());
        self
    }
}

// The text of elements, keys and values is written by `write`, generic over
// where it goes, and `Display` is that `write` into a formatter: a script's
// element lines call it directly into a `String`, without the formatting
// machinery per value (a large host's script holds about a million of them).
macro_rules! display_by_write {
    ($($type:ty),*) => {$(
        impl Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.write(f)
            }
        }
    )*};
}

display_by_write!(Element, Key, Value, Verdict, Addr, Addr6);

impl Element {
    /// `KEY` or `KEY : DATA`, as a script writes the element.
    fn write(&self, out: &mut impl Write) -> fmt::Result {
        self.key.write(out)?;
        match &self.data {
            Some(data) => {
                out.write_str(" : ")?;
                data.write(out)
            }
            None => Ok(()),
        }
    }
}

impl Key {
    /// The value of a key that is no concatenation.
    pub fn one(&self) -> Option<&Value> {
        match self {
            Key::One(value) => Some(value),
            Key::Concat(..) => None,
        }
    }

    /// The two values of a concatenated key.
    pub fn pair(&self) -> Option<(&Value, &Value)> {
        match self {
            Key::One(_) => None,
            Key::Concat(first, second) => Some((first, second)),
        }
    }
}

impl Key {
    fn write(&self, out: &mut impl Write) -> fmt::Result {
        match self {
            Key::One(value) => value.write(out),
            Key::Concat(first, second) => {
                first.write(out)?;
                out.write_str(" . ")?;
                second.write(out)
            }
        }
    }
}

impl Value {
    fn write(&self, out: &mut impl Write) -> fmt::Result {
        match self {
            Value::Ipv4(range) => RangeText(*range).write(out),
            Value::Ipv6(range) => RangeText(*range).write(out),
            Value::Ifname(name) => write!(out, "\"{name}\""),
            Value::Ether(octets) => {
                let [a, b, c, d, e, g] = octets;
                write!(out, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
            }
            Value::Mark(mark) => out.write_str(&hex(*mark)),
            Value::Verdict(verdict) => verdict.write(out),
            Value::Other(text) => out.write_str(text),
        }
    }
}

impl Verdict {
    fn write(&self, out: &mut impl Write) -> fmt::Result {
        match self {
            Verdict::Accept => out.write_str("accept"),
            Verdict::Drop => out.write_str("drop"),
            Verdict::Continue => out.write_str("continue"),
            Verdict::Return => out.write_str("return"),
            Verdict::Jump(chain) => {
                out.write_str("jump ")?;
                out.write_str(chain)
            }
            Verdict::Goto(chain) => {
                out.write_str("goto ")?;
                out.write_str(chain)
            }
        }
    }
}

impl Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataType::Ipv4Addr => "ipv4_addr",
            DataType::Ipv6Addr => "ipv6_addr",
            DataType::Ifname => "ifname",
            DataType::EtherAddr => "ether_addr",
            DataType::Mark => "mark",
            DataType::Verdict => "verdict",
            DataType::Other(name) => name,
        })
    }
}

impl DataType {
    pub fn named(name: &str) -> DataType {
        match name {
            "ipv4_addr" => DataType::Ipv4Addr,
            "ipv6_addr" => DataType::Ipv6Addr,
            "ifname" => DataType::Ifname,
            "ether_addr" => DataType::EtherAddr,
            "mark" => DataType::Mark,
            "verdict" => DataType::Verdict,
            other => DataType::Other(other.to_owned()),
        }
    }
}

impl Display for BaseChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "type {} hook {} priority {}; policy {};",
            self.kind, self.hook, self.priority, self.policy
        )
    }
}

impl Value {
    /// An address (a one-address interval).
    pub fn address<F: NftFamily>(address: F::Addr) -> Value {
        F::value(Range::single(address))
    }

    /// The interval (or address) of family `F` this value is.
    pub fn as_range<F: NftFamily>(&self) -> Option<Range<F>> {
        F::range(self)
    }

    /// The chain a `goto` verdict continues in.
    pub fn goto_chain(&self) -> Option<&str> {
        match self {
            Value::Verdict(Verdict::Goto(chain)) => Some(chain),
            _ => None,
        }
    }

    /// The address of family `F` this value is, when it is one address.
    pub fn as_address<F: NftFamily>(&self) -> Option<F::Addr> {
        F::range(self)
            .filter(|range| range.first == range.last)
            .map(|range| range.first_address())
    }

    /// A MAC address, `52:54:00:12:34:56`.
    pub fn ether(text: &str) -> Option<Value> {
        let mut octets = [0u8; 6];
        let mut parts = text.split(':');
        for octet in &mut octets {
            let part = parts.next()?;
            if part.is_empty() || part.len() > 2 {
                return None;
            }
            *octet = u8::from_str_radix(part, 16).ok()?;
        }
        parts.next().is_none().then_some(Value::Ether(octets))
    }
}

/// An interval as nft writes it: an address, a prefix when the range is one
/// (`100.64.0.0/10`), else `first-last`.
pub struct RangeText<F: NftFamily = V4>(pub Range<F>);

impl<F: NftFamily> Display for RangeText<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f)
    }
}

impl<F: NftFamily> RangeText<F> {
    fn write(&self, out: &mut impl Write) -> fmt::Result {
        let range = self.0;
        F::write_address(out, range.first_address())?;
        if range.first == range.last {
            return Ok(());
        }
        match range.as_prefix() {
            Some(prefix) => {
                let len = F::prefix_len(&prefix);
                let digits = [b'0' + len / 100, b'0' + len / 10 % 10, b'0' + len % 10];
                let start = match len {
                    100.. => 0,
                    10.. => 1,
                    _ => 2,
                };
                out.write_str("/")?;
                out.write_str(std::str::from_utf8(&digits[start..]).expect("digits"))
            }
            None => {
                out.write_str("-")?;
                F::write_address(out, range.last_address())
            }
        }
    }
}

/// An IPv6 address exactly as std writes it (RFC 5952: lower-case hex without
/// leading zeros, the first longest run of two or more zero groups as `::`),
/// without the formatting machinery per group: a dual-stack script of a host
/// with 100k VMs holds about a million of them. An address whose first five
/// groups are zero (`::`, `::1`, IPv4-mapped) is std's to write.
pub struct Addr6(pub Ipv6Addr);

impl Addr6 {
    fn write(&self, out: &mut impl Write) -> fmt::Result {
        let groups = self.0.segments();
        if groups[..5] == [0; 5] {
            return write!(out, "{}", self.0);
        }
        // The first longest run of zero groups, if it is two or more long.
        let (mut run_start, mut run_len, mut start) = (0, 0, 0);
        for (i, group) in groups.iter().enumerate() {
            if *group != 0 {
                start = i + 1;
            } else if i + 1 - start > run_len {
                (run_start, run_len) = (start, i + 1 - start);
            }
        }
        let mut text = [0u8; 39];
        let mut len = 0;
        let mut i = 0;
        while i < 8 {
            if run_len >= 2 && i == run_start {
                text[len..len + 2].copy_from_slice(b"::");
                len += 2;
                i += run_len;
                continue;
            }
            if i > 0 && !(run_len >= 2 && i == run_start + run_len) {
                text[len] = b':';
                len += 1;
            }
            let group = groups[i];
            let digits = (4 - group.leading_zeros() as usize / 4).max(1);
            for d in (0..digits).rev() {
                text[len] = b"0123456789abcdef"[usize::from(group >> (4 * d) & 0xf)];
                len += 1;
            }
            i += 1;
        }
        out.write_str(std::str::from_utf8(&text[..len]).expect("hex digits and colons"))
    }
}

/// An address in dotted quad, written without the formatting machinery per
/// octet: the script of a host with 100k VMs holds about a million of them.
pub struct Addr(pub Ipv4Addr);

impl Addr {
    fn write(&self, out: &mut impl Write) -> fmt::Result {
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
        out.write_str(std::str::from_utf8(&text[..len]).expect("digits and dots"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses with every pattern of zero groups (each group 0 or one of a
    /// few values), checked against std's text.
    #[test]
    fn addr6_writes_what_std_writes() {
        let values = [0x2001, 0xdb8, 0x1, 0xf, 0x10, 0xabc, 0xffff];
        for zeros in 0u32..256 {
            for pick in 0..values.len() {
                let groups: Vec<u16> = (0..8)
                    .map(|i| match zeros >> i & 1 {
                        1 => 0,
                        _ => values[(pick + i) % values.len()],
                    })
                    .collect();
                let address = Ipv6Addr::from(<[u16; 8]>::try_from(groups).expect("eight"));
                assert_eq!(Addr6(address).to_string(), address.to_string());
            }
        }
    }
}
