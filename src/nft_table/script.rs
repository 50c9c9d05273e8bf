//! A rendered nft script read back into a [`Table`]: the inverse of what
//! templates/switchyard.nft writes. It knows the statements the template
//! writes (a set or map with `type`, `flags`, `size` and `elements`, a
//! `counter` with a `comment`, a `chain` with a base-chain line and rules) and
//! refuses anything else with the line it stopped at. `#` comments are
//! dropped, the elements' with them.

use super::{BaseChain, Chain, Counter, DataType, Element, Key, Rule, Set, Table, Value, Verdict};
use crate::family::{Family, V4, V6};
use crate::intervals::Range;

/// Where and why a script is not one the model reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// The script's statements: (line number, text without comment), blank
/// lines left out.
struct Lines<'a> {
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
    /// The last line handed out, for errors at the end of the text.
    last: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        for (index, line) in self.lines.by_ref() {
            self.last = index + 1;
            let statement = without_comment(line).trim();
            if !statement.is_empty() {
                return Some((index + 1, statement));
            }
        }
        None
    }
}

impl<'a> Lines<'a> {
    /// The next statement of a block, `None` at its closing `}`.
    fn in_block(&mut self) -> Result<Option<(usize, &'a str)>, ParseError> {
        let (number, statement) = self.next_or_end()?;
        Ok((statement != "}").then_some((number, statement)))
    }

    fn next_or_end(&mut self) -> Result<(usize, &'a str), ParseError> {
        match self.next() {
            Some(statement) => Ok(statement),
            None => Err(at(self.last, "the script ends inside a block")),
        }
    }
}

fn at(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

impl Table {
    /// Reads the one table `table inet NAME { … }` of a rendered script; the
    /// statements before it that create and delete it are skipped.
    pub fn parse(script: &str) -> Result<Table, ParseError> {
        let mut lines = Lines {
            lines: script.lines().enumerate(),
            last: 0,
        };
        let mut table = None;
        while let Some((number, statement)) = lines.next() {
            let words: Vec<&str> = statement.split_whitespace().collect();
            match words.as_slice() {
                ["table", "inet", _] | ["delete", "table", "inet", _] => {}
                ["table", "inet", _, "{"] if table.is_none() => {
                    table = Some(read_table(&mut lines)?);
                }
                _ => return Err(at(number, format!("unexpected `{statement}`"))),
            }
        }
        table.ok_or_else(|| at(lines.last, "no `table inet NAME {` block"))
    }
}

fn read_table(lines: &mut Lines) -> Result<Table, ParseError> {
    let mut table = Table::default();
    while let Some((number, statement)) = lines.in_block()? {
        let Some((kind, name)) = statement
            .strip_suffix(" {")
            .and_then(|head| head.split_once(' '))
        else {
            return Err(at(number, format!("unexpected `{statement}`")));
        };
        let duplicate = match kind {
            "set" | "map" => table
                .sets
                .insert(name.to_owned(), read_set(lines, kind)?)
                .is_some(),
            "counter" => table
                .counters
                .insert(name.to_owned(), read_counter(lines)?)
                .is_some(),
            "chain" => table
                .chains
                .insert(name.to_owned(), read_chain(lines)?)
                .is_some(),
            _ => return Err(at(number, format!("unexpected `{statement}`"))),
        };
        if duplicate {
            return Err(at(number, format!("{kind} {name} is declared twice")));
        }
    }
    Ok(table)
}

fn read_set(lines: &mut Lines, kind: &str) -> Result<Set, ParseError> {
    let mut set: Option<Set> = None;
    while let Some((number, statement)) = lines.in_block()? {
        if let Some(types) = statement.strip_prefix("type ") {
            let (key, data) = match types.split_once(" : ") {
                Some((key, data)) => (key, Some(DataType::named(data))),
                None => (types, None),
            };
            if data.is_some() != (kind == "map") {
                return Err(at(number, format!("a {kind} declared `{statement}`")));
            }
            set = Some(Set::new(
                key.split(" . ").map(DataType::named).collect(),
                data,
            ));
            continue;
        }
        let Some(set) = set.as_mut() else {
            return Err(at(
                number,
                format!("`{statement}` before the {kind}'s type"),
            ));
        };
        if let Some(flags) = statement.strip_prefix("flags ") {
            set.flags = flags.split(',').map(|f| f.trim().to_owned()).collect();
        } else if let Some(size) = statement.strip_prefix("size ") {
            let size = size.parse().map_err(|_| at(number, "a bad size"))?;
            set.size = Some(size);
        } else if let Some(block) = statement.strip_prefix("elements = {") {
            // Inline (`elements = { a, b }`), or one element a line up to `}`.
            let (mut line, mut text) = (number, block);
            loop {
                let (body, closed) = match text.trim_end().strip_suffix('}') {
                    Some(body) => (body, true),
                    None => (text, false),
                };
                for element in split_elements(body) {
                    let element = element_of(set, element).map_err(|message| at(line, message))?;
                    set.elements.push(element);
                }
                if closed {
                    break;
                }
                (line, text) = lines.next_or_end()?;
            }
        } else {
            return Err(at(number, format!("unexpected `{statement}` in a {kind}")));
        }
    }
    let mut set = set.ok_or_else(|| at(lines.last, format!("a {kind} without a type")))?;
    set.sort();
    Ok(set)
}

fn read_counter(lines: &mut Lines) -> Result<Counter, ParseError> {
    let mut counter = Counter::default();
    while let Some((number, statement)) = lines.in_block()? {
        match statement
            .strip_prefix("comment \"")
            .and_then(|c| c.strip_suffix('"'))
        {
            Some(comment) => counter.comment = Some(comment.to_owned()),
            None => return Err(at(number, format!("unexpected `{statement}`"))),
        }
    }
    Ok(counter)
}

fn read_chain(lines: &mut Lines) -> Result<Chain, ParseError> {
    let mut chain = Chain::default();
    while let Some((number, statement)) = lines.in_block()? {
        if statement.starts_with("type ") && chain.rules.is_empty() && chain.base.is_none() {
            let base = base_chain(statement)
                .ok_or_else(|| at(number, format!("a bad base chain `{statement}`")))?;
            chain.base = Some(base);
        } else {
            chain.rules.push(Rule {
                key: statement.to_owned(),
                text: statement.to_owned(),
            });
        }
    }
    Ok(chain)
}

/// `type filter hook prerouting priority mangle; policy accept;`
fn base_chain(statement: &str) -> Option<BaseChain> {
    let words: Vec<&str> = statement
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let [
        "type",
        kind,
        "hook",
        hook,
        "priority",
        priority,
        "policy",
        policy,
    ] = words.as_slice()
    else {
        return None;
    };
    Some(BaseChain {
        kind: (*kind).to_owned(),
        hook: (*hook).to_owned(),
        priority: priority_number(priority)?,
        policy: (*policy).to_owned(),
    })
}

/// A priority by nft's name for it (the inet family's), or as a number.
fn priority_number(priority: &str) -> Option<i64> {
    Some(match priority {
        "raw" => -300,
        "mangle" => -150,
        "dstnat" => -100,
        "filter" => 0,
        "security" => 50,
        "srcnat" => 100,
        number => number.parse().ok()?,
    })
}

/// The comma-separated elements of a block, commas inside quotes kept.
fn split_elements(text: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    text.split(move |c| {
        if c == '"' {
            quoted = !quoted;
        }
        c == ',' && !quoted
    })
    .map(str::trim)
    .filter(|element| !element.is_empty())
}

/// Drops a `#` comment (outside quotes) from a line.
fn without_comment(line: &str) -> &str {
    let mut quoted = false;
    // Bytes, not chars: both marks are ASCII, and a 100k-VM script has a
    // million lines.
    for (at, byte) in line.bytes().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b'#' if !quoted => return &line[..at],
            _ => {}
        }
    }
    line
}

/// One element's text, typed by the set's declaration.
fn element_of(set: &Set, text: &str) -> Result<Element, String> {
    let (key, data) = match &set.data {
        Some(data_type) => {
            let (key, data) = text
                .split_once(" : ")
                .ok_or_else(|| format!("map element `{text}` without ` : `"))?;
            (key, Some(value_of(data_type, data.trim())?))
        }
        None => (text, None),
    };
    let key = key.trim();
    let key = match (set.key.as_slice(), key.split_once(" . ")) {
        ([one], None) => Key::One(value_of(one, key)?),
        ([first, second], Some((a, b))) if !b.contains(" . ") => {
            Key::Concat(value_of(first, a.trim())?, value_of(second, b.trim())?)
        }
        _ => {
            return Err(format!(
                "element `{text}` does not match type {}",
                set.type_text()
            ));
        }
    };
    Ok(Element::new(key, data))
}

/// A value of `data_type` as a script (or nft) writes it.
pub(crate) fn value_of(data_type: &DataType, text: &str) -> Result<Value, String> {
    let bad = || format!("`{text}` is no {data_type}");
    match data_type {
        DataType::Ipv4Addr => interval::<V4>(text).map(Value::Ipv4).ok_or_else(bad),
        DataType::Ipv6Addr => interval::<V6>(text).map(Value::Ipv6).ok_or_else(bad),
        DataType::Ifname => text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .map(|name| Value::Ifname(name.to_owned()))
            .ok_or_else(bad),
        DataType::EtherAddr => Value::ether(text).ok_or_else(bad),
        DataType::Mark => match text.strip_prefix("0x") {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => text.parse(),
        }
        .map(Value::Mark)
        .map_err(|_| bad()),
        DataType::Verdict => verdict(text).map(Value::Verdict).ok_or_else(bad),
        DataType::Other(_) => Ok(Value::Other(text.to_owned())),
    }
}

/// `10.0.0.1`, `10.0.0.0/24` or `10.0.0.1-10.0.0.9` (or IPv6 alike).
pub(crate) fn interval<F: Family>(text: &str) -> Option<Range<F>> {
    if let Some((first, last)) = text.split_once('-') {
        let (first, last): (F::Addr, F::Addr) = (first.parse().ok()?, last.parse().ok()?);
        return (first <= last).then(|| Range {
            first: F::bits(first),
            last: F::bits(last),
        });
    }
    if let Some((address, len)) = text.split_once('/') {
        let net = F::net(address.parse().ok()?, len.parse().ok()?)?;
        return (F::first(&net) == F::net_address(&net)).then(|| Range::of(&net));
    }
    text.parse().ok().map(Range::single)
}

fn verdict(text: &str) -> Option<Verdict> {
    let words: Vec<&str> = text.split_whitespace().collect();
    Some(match words.as_slice() {
        ["accept"] => Verdict::Accept,
        ["drop"] => Verdict::Drop,
        ["continue"] => Verdict::Continue,
        ["return"] => Verdict::Return,
        ["jump", chain] => Verdict::Jump((*chain).to_owned()),
        ["goto", chain] => Verdict::Goto((*chain).to_owned()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "# header\n\
        table inet switchyard\n\
        delete table inet switchyard\n\
        \n\
        table inet switchyard {\n\
        \t# a comment\n\
        \tset lan_interfaces {\n\t\ttype ifname\n\t\telements = { \"lan0\", \"lan1\" }\n\t}\n\
        \tmap egress {\n\t\ttype ipv4_addr . ipv4_addr : verdict\n\t\tflags interval\n\t\telements = {\n\
        \t\t\t10.0.0.9 . 0.0.0.0/0 : goto via_pool_2, # vm-9: vm default via b (192.0.2.9)\n\
        \t\t\t10.0.0.1-10.0.0.3 . 100.64.0.0/10 : goto failover_1, # vm-1\n\t\t}\n\t}\n\
        \tset mac_bindings {\n\t\ttype ether_addr . ipv4_addr\n\t\tsize 1024\n\t\telements = {\n\
        \t\t\t52:54:00:12:34:56 . 10.0.0.5, # vm-5\n\t\t}\n\t}\n\
        \tset down {\n\t\ttype mark\n\t}\n\
        \tcounter dropped {\n\t\tcomment \"dropped: # not a comment\"\n\t}\n\
        \tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n\
        \t\tiifname vmap { \"lan0\" : goto arrived_lan }\n\t}\n\
        }\n";

    #[test]
    fn a_script_reads_into_typed_sorted_elements() {
        let table = Table::parse(SCRIPT).expect("parses");
        let egress = &table.sets["egress"];
        assert_eq!(egress.kind(), "map");
        assert!(egress.is_interval());
        let elements: Vec<String> = egress.elements.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            elements,
            [
                "10.0.0.1-10.0.0.3 . 100.64.0.0/10 : goto failover_1",
                "10.0.0.9 . 0.0.0.0/0 : goto via_pool_2",
            ]
        );
        assert_eq!(
            table.sets["mac_bindings"].elements[0].key,
            Key::Concat(
                Value::Ether([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
                Value::address::<V4>([10, 0, 0, 5].into())
            )
        );
        assert_eq!(table.sets["mac_bindings"].size, Some(1024));
        assert_eq!(table.elements("lan_interfaces").len(), 2);
        assert!(table.sets["down"].elements.is_empty());
        assert_eq!(
            table.counters["dropped"].comment.as_deref(),
            Some("dropped: # not a comment")
        );
        let prerouting = &table.chains["prerouting"];
        assert_eq!(prerouting.base.as_ref().map(|b| b.priority), Some(-150));
        assert_eq!(
            prerouting.rules[0].text,
            "iifname vmap { \"lan0\" : goto arrived_lan }"
        );
    }

    #[test]
    fn what_the_model_does_not_know_is_refused_with_its_line() {
        for (from, to) in [
            ("size 1024", "size many"),
            ("goto failover_1", "goto"),
            ("52:54:00:12:34:56", "52:54:00:12:34"),
            ("counter dropped", "quota dropped"),
            ("10.0.0.1-10.0.0.3", "10.0.0.3-10.0.0.1"),
            ("\"lan0\", \"lan1\"", "lan0"),
            ("type mark", "kind mark"),
        ] {
            let at = SCRIPT.find(from).expect(from);
            let line = SCRIPT[..at].lines().count();
            let script = SCRIPT.replace(from, to);
            let error = Table::parse(&script).expect_err(&script);
            assert_eq!(error.line, line, "{error}: {from}");
        }
        let unclosed = SCRIPT.strip_suffix("}\n").expect("the table's end");
        let error = Table::parse(unclosed).expect_err("unclosed");
        assert_eq!(error.line, SCRIPT.lines().count() - 1, "{error}");
    }
}
