//! A large topology parsed as two halves side by side: the TOML parse is the
//! one stage of a build that cannot otherwise use a second core, and at 100k
//! VMs it is a third of the build. The halves meet at a `[vms.NAME]` header
//! near the middle, and the result is taken only when it is certainly the
//! document's own parse; in any doubt the caller parses the whole text.

use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue};

/// Below this size the whole text is parsed at once: a second thread would
/// cost more than it saves.
pub const MIN_BYTES: usize = 1 << 20;

/// The table the document is split in. Its entities are most of a large file,
/// and each is a `[vms.NAME]` table of its own.
const SPLIT_TABLE: &str = "vms";

/// The document `text` parsed as two halves, or `None` when the result might
/// differ from parsing `text` at once (including every text that is not TOML:
/// the caller's parse then reports the error).
///
/// Why the halves parse as the whole does: the second half begins with a
/// table header, so a parse from there starts as the whole document's would
/// at that line, provided the line is not inside a multi-line string, array or
/// inline table — and then the first half, which ends just before it, would
/// not parse. The halves then hold disjoint parts of the document, which must
/// not redefine each other's tables: their top-level keys may meet only in
/// `vms`, whose entities must differ, and `vms` itself must be defined by its
/// entities' headers alone (no `[vms]`, `[[vms]]`, `vms = …` or `vms.x = …`,
/// which could define it twice or make it an inline table).
///
/// The second half is parsed from a copy of the text with the first half
/// blanked out (spaces), so that every span is the span in `text`; `read`
/// gets the document while that copy lives.
pub fn read<R>(text: &str, read: impl FnOnce(Spanned<DeTable<'_>>) -> R) -> Option<R> {
    let split = split_point(text)?;
    if defines_split_table_itself(text) {
        return None;
    }
    let mut blanked = " ".repeat(split);
    blanked.push_str(&text[split..]);
    let (first, second) = rayon::join(
        || DeTable::parse(&text[..split]).ok(),
        || DeTable::parse(&blanked).ok(),
    );
    Some(read(merge(first?, second?)?))
}

/// The start of the first `[vms.` header line at or after the middle of `text`.
fn split_point(text: &str) -> Option<usize> {
    let needle = format!("\n[{SPLIT_TABLE}.");
    let middle = text.len() / 2;
    // A byte index that may fall inside a character: search from a boundary.
    let from = (middle..text.len()).find(|&i| text.is_char_boundary(i))?;
    text[from..].find(&needle).map(|at| from + at + 1)
}

/// Whether a line of `text` could define table `vms` other than by the header
/// of one of its entities. Lines are judged alone, so a line inside a
/// multi-line string may be taken for a definition: that only costs the
/// split.
fn defines_split_table_itself(text: &str) -> bool {
    text.split('\n').any(|line| {
        let line = line.trim_start_matches([' ', '\t']);
        match line.strip_prefix('[') {
            // `[[vms…]]` in any form, or `[vms]`.
            Some(header) => match header.strip_prefix('[') {
                Some(array) => first_key(array).is_none_or(|(key, _)| key == SPLIT_TABLE),
                None => first_key(header).is_none_or(|(key, rest)| {
                    key == SPLIT_TABLE && !rest.trim_start_matches([' ', '\t']).starts_with('.')
                }),
            },
            // `vms = …` or `vms.x = …` (at the top level or in any table).
            None => first_key(line).is_none_or(|(key, _)| key == SPLIT_TABLE),
        }
    })
}

/// The first key of a key path at the start of `line` (after whitespace) and
/// what follows it; `None` when it is a quoted key this simple reading cannot
/// be sure of (an escape, or no closing quote).
fn first_key(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start_matches([' ', '\t']);
    match line.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let body = &line[1..];
            let end = body.find(quote)?;
            let key = &body[..end];
            (!key.contains('\\')).then_some((key, &body[end + 1..]))
        }
        _ => {
            let end = line
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(line.len());
            Some((&line[..end], &line[end..]))
        }
    }
}

/// `second`'s entries added to `first`'s; `None` when a top-level key other
/// than `vms` is in both, or an entity of `vms` is.
fn merge<'a>(
    mut first: Spanned<DeTable<'a>>,
    second: Spanned<DeTable<'a>>,
) -> Option<Spanned<DeTable<'a>>> {
    let root = first.get_mut();
    for (key, value) in second.into_inner() {
        let Some(existing) = root.get_mut(key.get_ref().as_ref()) else {
            root.insert(key, value);
            continue;
        };
        if key.get_ref() != SPLIT_TABLE {
            return None;
        }
        let (DeValue::Table(into), DeValue::Table(entities)) =
            (existing.get_mut(), value.into_inner())
        else {
            return None;
        };
        for (name, entity) in entities {
            if into.contains_key(name.get_ref().as_ref()) {
                return None;
            }
            into.insert(name, entity);
        }
    }
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::super::parse_splitting_from;
    use crate::diagnostic::Diagnostics;

    /// What [`super::super::parse`] makes of `text`, in halves when it can be
    /// and at once, as text to compare.
    fn both_ways(text: &str) -> (String, String) {
        let parse = |min_split_bytes| {
            let mut diagnostics = Diagnostics::default();
            let parsed = parse_splitting_from(text, min_split_bytes, &mut diagnostics);
            format!("{parsed:#?}\n{diagnostics:#?}")
        };
        (parse(0), parse(usize::MAX))
    }

    fn split_taken(text: &str) -> bool {
        super::read(text, |_| ()).is_some()
    }

    fn vms(names: std::ops::Range<usize>) -> String {
        names
            .map(|n| format!("[vms.vm-{n}]\naddress = \"10.0.0.{n}\"\nproject = \"p\"\n\n"))
            .collect()
    }

    const HEAD: &str = "version = 1\n[projects.p]\nnetworks = [\"10.0.0.0/24\"]\n\n";

    #[test]
    fn an_ordinary_large_file_is_split_and_parses_as_a_whole() {
        let text = format!("{HEAD}{}[failover]\ninterval = \"1s\"\n", vms(0..40));
        assert!(split_taken(&text));
        let (halves, whole) = both_ways(&text);
        assert_eq!(halves, whole);
    }

    /// Files where two halves would parse and merge, but the whole file is not
    /// the same (mostly: not valid), or where the split line is inside a
    /// value: each is parsed at once.
    #[test]
    fn a_file_the_halves_might_misread_is_parsed_at_once() {
        let cases = [
            // `[vms]` defined in each half: a table defined twice.
            format!("{HEAD}[vms]\n{}[vms]\n{}", vms(0..20), vms(20..40)),
            // Quoted and spaced forms of the same header.
            format!(
                "{HEAD}[ \"vms\" ]\n{}[ 'vms' ]\n{}",
                vms(0..20),
                vms(20..40)
            ),
            // `vms` as an inline table cannot be extended by a header.
            format!(
                "{HEAD}vms = {{ a = {{ address = \"10.0.0.1\" }} }}\n{}",
                vms(0..40)
            ),
            // A dotted key defining `vms` before the headers.
            format!("vms.a.project = \"p\"\n{HEAD}{}", vms(0..40)),
            // An escaped key that may spell `vms`.
            format!(
                "{HEAD}[\"\\u0076ms\"]\n{}[\"\\u0076ms\"]\n{}",
                vms(0..20),
                vms(20..40)
            ),
            // An array of tables named `vms`.
            format!("{HEAD}[[vms]]\nx = 1\n{}", vms(0..40)),
            // The same VM in both halves.
            format!("{HEAD}{}{}", vms(0..30), vms(25..30)),
            // A VM whose sub-table is in the other half (valid TOML).
            format!("{HEAD}{}[vms.vm-1.vlan]\nid = 1\n", vms(0..40)),
            // Another top-level table in both halves.
            format!("{HEAD}[pools.a]\n{}[pools.b]\n", vms(0..40)),
            // The split line inside a multi-line string.
            format!("{HEAD}[vms.x]\nnote = \"\"\"\n{}\"\"\"\n", vms(0..40)),
            // ... and inside a multi-line array.
            format!(
                "{HEAD}[vms.x]\nnote = [\n{}]\n",
                vms(0..40).replace("\n\n", "\n")
            ),
        ];
        for text in &cases {
            assert!(!split_taken(text), "split:\n{text}");
            let (halves, whole) = both_ways(text);
            assert_eq!(halves, whole, "{text}");
        }
    }

    #[test]
    fn every_example_parses_the_same_in_halves() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        for dir in [dir.to_owned(), format!("{dir}/invalid")] {
            for entry in std::fs::read_dir(&dir).expect("examples") {
                let path = entry.expect("entry").path();
                if path.extension().is_some_and(|e| e == "toml") {
                    let text = std::fs::read_to_string(&path).expect("example");
                    let (halves, whole) = both_ways(&text);
                    assert_eq!(halves, whole, "{}", path.display());
                }
            }
        }
    }
}
