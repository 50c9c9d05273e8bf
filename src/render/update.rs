//! `switchyard.update.nft`: the nft transaction that turns the table an earlier
//! build's script loads into the one a new build's script loads, touching only
//! the set and map elements that differ.
//!
//! It works on the two rendered scripts, not on plans: an earlier build is a
//! directory of text, and comparing what nft is asked to load keeps the update
//! independent of how the generator lays out the table. The generator writes one
//! element per line inside the `elements = {` block of every set and map that
//! can grow; everything else (declarations, types, flags, sizes, chains, rules,
//! short inline element lists) is structure. When the structure of the two
//! scripts differs the update is the whole new script.
//!
//! Either way the transaction starts by deleting the earlier build's id from set
//! `build`: over any other table (another build, an edited table, none at all)
//! that delete fails, and nft aborts the whole transaction, changing nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::nft::TABLE;

/// The set holding a script's build id (templates/switchyard.nft).
const BUILD_SET: &str = "build";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UpdateError {
    #[error(
        "the {0} nft script has no build id (set `build` with one element): it was made by \
         an older switchyard or from a template without that set, so no update can check \
         what it is loaded over"
    )]
    NoBuildId(&'static str),
}

/// An update script and the build id it applies over.
#[derive(Debug, PartialEq, Eq)]
pub struct Update {
    pub script: String,
    /// The earlier build's id: what set `build` holds in a table the update
    /// loads over (the manifest records it for deployments to compare).
    pub applies_over_build: String,
}

/// The update from `old` (the script of the build the host runs) to `new`.
pub fn update(old: &str, new: &str) -> Result<Update, UpdateError> {
    let mut old = Script::parse(old);
    let mut new = Script::parse(new);
    let old_id = old
        .take_build_id()
        .ok_or(UpdateError::NoBuildId("earlier"))?;
    let new_id = new.take_build_id().ok_or(UpdateError::NoBuildId("new"))?;

    let mut out = String::new();
    if let Some(header) = new.header {
        out.push_str(header);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "#\n# Update of table inet {TABLE} from build {old_id} to build {new_id}: load with\n\
         # `nft -f` over build {old_id} only. Over anything else the first statement\n\
         # fails and nft changes nothing; load switchyard.nft instead."
    );
    let _ = writeln!(
        out,
        "delete element inet {TABLE} {BUILD_SET} {{ \"{old_id}\" }}"
    );
    if old.structure != new.structure {
        out.push_str("# The table's structure changed: replace it whole.\n");
        out.push_str(new.text);
        return Ok(Update {
            script: out,
            applies_over_build: old_id.to_owned(),
        });
    }
    let _ = writeln!(
        out,
        "add element inet {TABLE} {BUILD_SET} {{ \"{new_id}\" }}"
    );
    // Deletes first: an element whose value changed is deleted, then added.
    let changes: Vec<_> = new
        .elements
        .iter()
        .map(|(&name, new_set)| {
            // Equal structure: both scripts declare the same sets and maps.
            let old_set = old.elements.remove(name).unwrap_or_default();
            let removed: Vec<&str> = old_set
                .elements
                .difference(&new_set.elements)
                .copied()
                .collect();
            let added: Vec<&str> = new_set
                .elements
                .difference(&old_set.elements)
                .copied()
                .collect();
            (name, new_set.is_map, removed, added)
        })
        .collect();
    for (name, is_map, removed, _) in &changes {
        // nft deletes a map element by its key alone.
        let keys = removed.iter().map(|&element| {
            if *is_map {
                element.split_once(" : ").map_or(element, |(key, _)| key)
            } else {
                element
            }
        });
        write_elements(&mut out, "delete", name, keys);
    }
    for (name, _, _, added) in &changes {
        write_elements(&mut out, "add", name, added.iter().copied());
    }
    Ok(Update {
        script: out,
        applies_over_build: old_id.to_owned(),
    })
}

fn write_elements<'a>(
    out: &mut String,
    verb: &str,
    set: &str,
    mut elements: impl Iterator<Item = &'a str>,
) {
    let Some(first) = elements.next() else {
        return;
    };
    let _ = write!(out, "{verb} element inet {TABLE} {set} {{\n\t{first},\n");
    for element in elements {
        let _ = writeln!(out, "\t{element},");
    }
    out.push_str("}\n");
}

/// A rendered nft script taken apart into structure and elements.
struct Script<'a> {
    text: &'a str,
    /// The first line, when it is a comment (generator, host, source).
    header: Option<&'a str>,
    /// Every line that is neither a comment, blank, nor part of an element block.
    structure: Vec<&'a str>,
    /// Sets and maps by name, with their one-per-line elements (without comments).
    elements: BTreeMap<&'a str, Elements<'a>>,
}

#[derive(Default, PartialEq, Debug)]
struct Elements<'a> {
    is_map: bool,
    elements: BTreeSet<&'a str>,
}

impl<'a> Script<'a> {
    fn parse(text: &'a str) -> Self {
        let mut script = Script {
            text,
            header: text.lines().next().filter(|line| line.starts_with('#')),
            structure: Vec::new(),
            elements: BTreeMap::new(),
        };
        // The set or map whose declaration we are in, and whether in its block.
        let mut current: Option<&str> = None;
        let mut in_block = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if in_block {
                if trimmed == "}" {
                    in_block = false;
                } else if let Some(set) = current {
                    let element = trimmed.split_once(" # ").map_or(trimmed, |(e, _)| e);
                    let element = element.trim_end().trim_end_matches(',');
                    if let Some(elements) = script.elements.get_mut(set) {
                        elements.elements.insert(element);
                    }
                }
                continue;
            }
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if current.is_some() && trimmed == "elements = {" {
                in_block = true;
                continue;
            }
            if let Some((kind, name)) = set_declaration(trimmed) {
                current = Some(name);
                script.elements.insert(
                    name,
                    Elements {
                        is_map: kind == "map",
                        ..Elements::default()
                    },
                );
            } else if trimmed == "}" {
                current = None;
            }
            script.structure.push(line);
        }
        script
    }

    /// Removes set `build` from the elements and returns its one element,
    /// unquoted.
    fn take_build_id(&mut self) -> Option<&'a str> {
        let build = self.elements.remove(BUILD_SET)?;
        match build.elements.iter().collect::<Vec<_>>().as_slice() {
            [id] => id.strip_prefix('"')?.strip_suffix('"'),
            _ => None,
        }
    }
}

/// `set NAME {` / `map NAME {` → (kind, name).
fn set_declaration(line: &str) -> Option<(&str, &str)> {
    let (kind, rest) = line.split_once(' ')?;
    let name = rest.strip_suffix(" {")?;
    (matches!(kind, "set" | "map") && !name.contains(' ')).then_some((kind, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::nft::{BUILD_ID_LEN, BUILD_ID_PLACEHOLDER, stamp_build_id};

    /// A script shaped like the generator's, with `dnat` and `ranges` elements.
    fn script(id: &str, dnat: &[&str], ranges: &[&str], chain_rule: &str) -> String {
        let block = |elements: &[&str]| -> String {
            if elements.is_empty() {
                return String::new();
            }
            let lines: String = elements
                .iter()
                .map(|e| format!("\t\t\t{e}, # some vm\n"))
                .collect();
            format!("\t\telements = {{\n{lines}\t\t}}\n")
        };
        format!(
            "# Generated by switchyard for host net1 from x.toml.\n\
             table inet switchyard\n\
             delete table inet switchyard\n\
             \n\
             table inet switchyard {{\n\
             \t# Which build this is.\n\
             \tset build {{\n\t\ttype ifname\n{build}\t}}\n\
             \tset lan_interfaces {{\n\t\ttype ifname\n\t\telements = {{ \"lan0\" }}\n\t}}\n\
             \tmap dnat_addresses {{\n\t\ttype ipv4_addr : ipv4_addr\n\t\tsize 8\n{dnat}\t}}\n\
             \tmap egress_ranges {{\n\t\ttype ipv4_addr . ipv4_addr : verdict\n\t\tflags interval\n{ranges}\t}}\n\
             \tchain via_pool_1 {{\n\t\t{chain_rule}\n\t}}\n\
             }}\n",
            build = block(&[&format!("\"{id}\"")]),
            dnat = block(dnat),
            ranges = block(ranges),
        )
    }

    const RULE: &str = "meta mark set 0x00010100";

    fn body(update: &str) -> Vec<&str> {
        update
            .lines()
            .filter(|line| !line.starts_with('#'))
            .collect()
    }

    #[test]
    fn only_differing_elements_are_touched_and_the_guard_comes_first() {
        let old = script(
            "aaa",
            &["192.0.2.1 : 10.0.0.1", "192.0.2.2 : 10.0.0.2"],
            &["10.0.0.1-10.0.0.3 . 100.64.0.0/10 : goto via_pool_1"],
            RULE,
        );
        let new = script(
            "bbb",
            &["192.0.2.1 : 10.0.0.9", "192.0.2.3 : 10.0.0.3"],
            &["10.0.0.1-10.0.0.3 . 100.64.0.0/10 : goto via_pool_1"],
            RULE,
        );
        let update = update(&old, &new).expect("both have ids").script;
        assert_eq!(
            body(&update),
            [
                "delete element inet switchyard build { \"aaa\" }",
                "add element inet switchyard build { \"bbb\" }",
                "delete element inet switchyard dnat_addresses {",
                "\t192.0.2.1,",
                "\t192.0.2.2,",
                "}",
                "add element inet switchyard dnat_addresses {",
                "\t192.0.2.1 : 10.0.0.9,",
                "\t192.0.2.3 : 10.0.0.3,",
                "}",
            ]
        );
        assert!(update.starts_with("# Generated by switchyard for host net1"));
    }

    #[test]
    fn a_map_that_empties_or_fills_up_is_still_an_element_change() {
        let old = script("aaa", &["192.0.2.1 : 10.0.0.1"], &[], RULE);
        let new = script(
            "bbb",
            &[],
            &["10.0.0.1 . 100.64.0.0/10 : goto via_pool_1"],
            RULE,
        );
        assert_eq!(
            body(&update(&old, &new).expect("both have ids").script),
            [
                "delete element inet switchyard build { \"aaa\" }",
                "add element inet switchyard build { \"bbb\" }",
                "delete element inet switchyard dnat_addresses {",
                "\t192.0.2.1,",
                "}",
                "add element inet switchyard egress_ranges {",
                "\t10.0.0.1 . 100.64.0.0/10 : goto via_pool_1,",
                "}",
            ]
        );
    }

    #[test]
    fn comments_alone_change_nothing_but_the_id() {
        let old = script("aaa", &["192.0.2.1 : 10.0.0.1"], &[], RULE);
        let new = script("bbb", &["192.0.2.1 : 10.0.0.1"], &[], RULE)
            .replace("# some vm", "# renamed vm")
            .replace("# Which build this is.", "# Another comment.");
        assert_eq!(
            body(&update(&old, &new).expect("both have ids").script),
            [
                "delete element inet switchyard build { \"aaa\" }",
                "add element inet switchyard build { \"bbb\" }",
            ]
        );
    }

    #[test]
    fn a_structural_change_replaces_the_table_after_the_guard() {
        let old = script("aaa", &["192.0.2.1 : 10.0.0.1"], &[], RULE);
        let new = script(
            "bbb",
            &["192.0.2.1 : 10.0.0.1"],
            &[],
            "meta mark set 0x00020200",
        );
        let update = update(&old, &new).expect("both have ids").script;
        let guard = "delete element inet switchyard build { \"aaa\" }\n";
        let (_, replacement) = update.split_once(guard).expect("the guard");
        assert!(replacement.ends_with(&new), "{update}");
        assert!(!update.contains("add element"), "{update}");
    }

    #[test]
    fn a_changed_size_is_structure() {
        let old = script("aaa", &["192.0.2.1 : 10.0.0.1"], &[], RULE);
        let new = script("bbb", &["192.0.2.1 : 10.0.0.1"], &[], RULE).replace("size 8", "size 16");
        assert!(update(&old, &new).expect("ids").script.ends_with(&new));
    }

    #[test]
    fn an_update_names_the_build_it_applies_over() {
        let old = script("aaa", &["192.0.2.1 : 10.0.0.1"], &[], RULE);
        let same_structure = script("bbb", &[], &[], RULE);
        let other_structure = script("ccc", &[], &[], "meta mark set 0x00020200");
        for new in [same_structure, other_structure] {
            let update = update(&old, &new).expect("both have ids");
            assert_eq!(update.applies_over_build, "aaa", "{}", update.script);
        }
    }

    #[test]
    fn a_script_without_a_build_id_gets_no_update() {
        let with_id = script("aaa", &[], &[], RULE);
        let without = with_id.replace("\"aaa\"", "");
        assert_eq!(
            update(&without, &with_id),
            Err(UpdateError::NoBuildId("earlier"))
        );
        assert_eq!(
            update(&with_id, &without),
            Err(UpdateError::NoBuildId("new"))
        );
    }

    #[test]
    fn the_build_id_follows_from_the_rest_of_the_script() {
        let stamped = |text: &str| {
            let mut script = text.replace("ID", BUILD_ID_PLACEHOLDER);
            stamp_build_id(&mut script);
            script
        };
        let id = |text: &str| {
            stamped(text)[text.find("ID").expect("an id")..][..BUILD_ID_LEN].to_owned()
        };
        let one = id("# header\nset build { \"ID\" }\nrule 1\n");
        assert!(one.chars().all(|c| c.is_ascii_hexdigit()), "{one}");
        assert_eq!(one, id("# header\nset build { \"ID\" }\nrule 1\n"));
        assert_eq!(one, id("# other header\nset build { \"ID\" }\nrule 1\n"));
        assert_ne!(one, id("# header\nset build { \"ID\" }\nrule 2\n"));
    }
}
