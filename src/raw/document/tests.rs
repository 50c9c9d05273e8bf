//! The document against toml's own (`toml::de::DeTable`): the same decision
//! on every text, and on a text both accept the same keys, values and spans
//! at every depth, in the same order.

use std::path::Path;

use proptest::prelude::*;
use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Item, Table, Threads, Value, parse_on};

/// Whether toml reads `text` as a table: its document parser accepts it and
/// every integer fits in 64 bits (what its typed parser adds).
fn toml_accepts(text: &str) -> bool {
    DeTable::parse(text).is_ok() && text.parse::<toml::Table>().is_ok()
}

/// Where the document and toml's differ, if they do, with the chunks parsed
/// on a thread of their own and on the builder's.
fn difference(text: &str) -> Option<String> {
    [Threads::Two, Threads::One]
        .into_iter()
        .find_map(|threads| difference_on(text, threads))
}

fn difference_on(text: &str, threads: Threads) -> Option<String> {
    let ours = parse_on(text, threads);
    if ours.is_ok() != toml_accepts(text) {
        return Some(format!(
            "ours {ours:?}, toml accepts: {}",
            toml_accepts(text)
        ));
    }
    let (Ok(ours), Ok(theirs)) = (ours, DeTable::parse(text)) else {
        return None;
    };
    if theirs.span() != (0..0) {
        return Some(format!("root span {:?}", theirs.span()));
    }
    same_table(&ours, theirs.get_ref(), "").err()
}

fn same_table(ours: &Table<'_>, theirs: &DeTable<'_>, at: &str) -> Result<(), String> {
    if ours.entries().len() != theirs.len() {
        let keys: Vec<_> = ours.entries().iter().map(|e| &e.key.name).collect();
        let toml_keys: Vec<_> = theirs.keys().map(|k| k.get_ref()).collect();
        return Err(format!("{at}: keys {keys:?} vs {toml_keys:?}"));
    }
    for (entry, (key, value)) in ours.entries().iter().zip(theirs) {
        let path = format!("{at}.{}", key.get_ref());
        if entry.key.name != *key.get_ref() || entry.key.span.range() != key.span() {
            return Err(format!("{path}: key {:?} vs {key:?}", entry.key));
        }
        same_value(&entry.value, value, &path)?;
    }
    Ok(())
}

fn same_value(ours: &Item<'_>, theirs: &Spanned<DeValue<'_>>, at: &str) -> Result<(), String> {
    if ours.span.range() != theirs.span() {
        return Err(format!("{at}: span {:?} vs {:?}", ours.span, theirs.span()));
    }
    let same = match (&ours.value, theirs.get_ref()) {
        (Value::String(ours), DeValue::String(theirs)) => ours == theirs,
        (Value::Integer(ours), DeValue::Integer(theirs)) => {
            i64::from_str_radix(theirs.as_str(), theirs.radix()) == Ok(*ours)
        }
        (Value::Float(ours), DeValue::Float(theirs)) => ours == theirs.as_str(),
        (Value::Boolean(ours), DeValue::Boolean(theirs)) => ours == theirs,
        (Value::Datetime(ours), DeValue::Datetime(theirs)) => {
            ours.parse::<toml::value::Datetime>().ok().as_ref() == Some(theirs)
        }
        (Value::Array(ours), DeValue::Array(theirs)) => {
            if ours.items.len() != theirs.len() {
                return Err(format!(
                    "{at}: {} items vs {}",
                    ours.items.len(),
                    theirs.len()
                ));
            }
            for (index, (ours, theirs)) in ours.items.iter().zip(theirs.iter()).enumerate() {
                same_value(ours, theirs, &format!("{at}[{index}]"))?;
            }
            true
        }
        (Value::Table(ours), DeValue::Table(theirs)) => {
            same_table(ours, theirs, at)?;
            true
        }
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(format!("{at}: {:?} vs {:?}", ours.value, theirs.get_ref()))
    }
}

fn toml_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("examples") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            toml_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "toml") {
            files.push(path);
        }
    }
}

#[test]
fn every_example_reads_as_toml_reads_it() {
    let mut files = Vec::new();
    toml_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
        &mut files,
    );
    assert!(files.len() > 80, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("an example");
        assert_eq!(difference(&text), None, "{}", file.display());
    }
}

#[test]
fn structural_rules_and_spans_agree_with_toml() {
    for text in [
        "a = 1\na = 2",
        "[a]\n[a]",
        "[a.b]\n[a]\nx = 1",
        "[a]\nb.c = 1\n[a.b]",
        "[a]\n[a.b]\n[a]",
        "a = 1\n[a]",
        "a = [1]\n[[a]]",
        "[[a]]\n[[a]]\n[a.b]\nc = 1",
        "[[a]]\n[a]",
        "a = {b = 1}\n[a.c]",
        "a = {b = 1}\na.c = 2",
        "a = {b.c = 1, b.d = 2}",
        "a = {b = {c = 1}, b.d = 2}",
        "a.b = 1\n[a]",
        "a.b = 1\n[a.c]",
        "[x]\na.b = 1\na.c = 2\n[x.a.d]",
        "[a.b.c]\n[a]\nb.d = 1\n[a.b]",
        "'a' = 1\n\"a\" = 2",
        "\"a\\u0062\" = 1\nab = 2",
        "a = 9223372036854775807\nb = -9223372036854775808",
        "a = 9223372036854775808",
        "a = 0xFFFFFFFFFFFFFFFF",
        "a = 0x7FFFFFFFFFFFFFFF\nb = 0o17\nc = 0b101\nd = 1_000",
        "a = 1979-05-27T07:32:00Z\nb = 1979-05-27\nc = 07:32:00",
        "a = 1979-13-27",
        "a = [\n  1, # one\n  2,\n]\nb = { x = [ {y = 1} ] }",
        "a = \"\"\"\nml\n\"\"\"\nb = '''lit'''",
        "a = inf\nb = -nan\nc = 1e3\nd = 1_0.5",
        "",
        "# only a comment\n",
        "\u{feff}a = 1",
    ] {
        assert_eq!(difference(text), None, "{text:?}");
    }
}

/// Keys that collide with one another often (quoted, escaped, dotted).
#[rustfmt::skip]
const KEYS: &[&str] = &[
    "a", "b", "c", "\"a\"", "'b'", "\"a\\u0062\"", "ab", "a.b", "a . c", "b.\"c\"", "a.b.c",
];

/// Scalars of every type, at and past the edges (64 bits, escapes, dates).
#[rustfmt::skip]
const SCALARS: &[&str] = &[
    "1", "-0", "0x1F", "0o17", "0b101", "1_000", "01", "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "0xFFFFFFFFFFFFFFFF", "1.5", "inf", "-nan",
    "1e3", "\"x\"", "'y'", "\"esc\\n\\u00e9\"", "\"\"\"ml\nline\"\"\"", "'''lit'''",
    "\"bad\\q\"", "true", "false", "1979-05-27T07:32:00Z", "1979-05-27", "07:32:00",
    "1979-05-27 07:32:00.999999-07:00", "1979-13-27",
];

fn one_of(texts: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    prop::sample::select(texts).prop_map(str::to_owned)
}

fn key() -> impl Strategy<Value = String> + Clone {
    one_of(KEYS)
}

fn value() -> impl Strategy<Value = String> {
    one_of(SCALARS).prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|items| format!("[\n  {},\n]", items.join(",\n  # note\n  "))),
            prop::collection::vec((key(), inner), 0..3).prop_map(|entries| {
                let entries: Vec<_> = entries.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", entries.join(", "))
            }),
        ]
    })
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (key(), value()).prop_map(|(key, value)| format!("{key} = {value}")),
        2 => key().prop_map(|key| format!("[{key}]")),
        2 => key().prop_map(|key| format!("[[{key}]]")),
        1 => Just("# a comment".to_owned()),
        1 => Just(String::new()),
        1 => (key(), value()).prop_map(|(key, value)| format!("  {key}={value} # trailing")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_texts_read_as_toml_reads_them(lines in prop::collection::vec(line(), 0..8)) {
        let text = lines.join("\n");
        prop_assert_eq!(difference(&text), None, "{}", text);
    }
}
