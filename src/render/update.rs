//! `switchyard.update.nft`: the nft transaction that turns the table an earlier
//! build's script loads into the one a new build's script loads, touching only
//! the set and map elements that differ.
//!
//! It compares the two scripts' typed models ([`Table::parse`], the inverse of
//! rendering), not plans: an earlier build is a directory of text, without the
//! topology it was made from. When the two tables differ in more than their
//! elements (a declaration, a size, a counter, a chain or rule) the update is
//! the whole new script.
//!
//! Either way the transaction starts by deleting the earlier build's id from set
//! `build`: over any other table (another build, an edited table, none at all)
//! that delete fails, and nft aborts the whole transaction, changing nothing.

use std::fmt::Write as _;

use super::nft::TABLE;
use crate::nft_table::{self, BUILD_SET, Element, ParseError, Set, Table};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UpdateError {
    #[error(
        "the {0} nft script has no build id (set `build` with one element): it was made by \
         an older switchyard or from a template without that set, so no update can check \
         what it is loaded over"
    )]
    NoBuildId(&'static str),
    #[error(
        "the {which} nft script is not one switchyard renders ({error}): no update can be \
         computed from it; load switchyard.nft instead"
    )]
    Unreadable {
        which: &'static str,
        error: ParseError,
    },
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
pub fn update(old: &str, new_script: &str) -> Result<Update, UpdateError> {
    let read = |which, script| {
        let table =
            Table::parse(script).map_err(|error| UpdateError::Unreadable { which, error })?;
        let id = table
            .build_id()
            .ok_or(UpdateError::NoBuildId(which))?
            .to_owned();
        Ok((table, id))
    };
    // At 100k VMs each script is tens of megabytes: read both side by side.
    let (old, new) = rayon::join(|| read("earlier", old), || read("new", new_script));
    let ((old, old_id), (new, new_id)) = (old?, new?);

    let mut out = String::new();
    if let Some(header) = new_script
        .lines()
        .next()
        .filter(|line| line.starts_with('#'))
    {
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
    if !old.same_structure(&new) {
        out.push_str("# The table's structure changed: replace it whole.\n");
        out.push_str(new_script);
        return Ok(Update {
            script: out,
            applies_over_build: old_id,
        });
    }
    let _ = writeln!(
        out,
        "add element inet {TABLE} {BUILD_SET} {{ \"{new_id}\" }}"
    );
    // Equal structure: both tables have the same sets and maps, in name order.
    let changes: Vec<(&str, &Set, Vec<&Element>, Vec<&Element>)> = (new.sets.iter())
        .zip(old.sets.values())
        .filter(|((name, _), _)| *name != BUILD_SET)
        .map(|((name, new_set), old_set)| {
            let (removed, added) = nft_table::difference(&old_set.elements, &new_set.elements);
            (name.as_str(), new_set, removed, added)
        })
        .collect();
    // Deletes first: an element whose value changed is deleted, then added.
    for (name, _, removed, _) in &changes {
        // nft deletes a map element by its key alone.
        let keys = removed.iter().map(|element| element.key.to_string());
        write_elements(&mut out, "delete", name, keys);
    }
    for (name, _, _, added) in &changes {
        write_elements(&mut out, "add", name, added.iter().map(|e| e.to_string()));
    }
    Ok(Update {
        script: out,
        applies_over_build: old_id,
    })
}

fn write_elements(
    out: &mut String,
    verb: &str,
    set: &str,
    mut elements: impl Iterator<Item = String>,
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
    fn a_script_the_model_cannot_read_gets_no_update_and_says_where() {
        let old = script("aaa", &["192.0.2.1 : 10.0.0.1"], &[], RULE);
        let edited = old.replace("192.0.2.1 : 10.0.0.1", "192.0.2.1 : 10.0.0.300");
        let new = script("bbb", &[], &[], RULE);
        let error = update(&edited, &new).expect_err("an address out of range");
        let line = edited[..edited.find("10.0.0.300").expect("edited")]
            .lines()
            .count();
        assert!(
            matches!(&error, UpdateError::Unreadable { which: "earlier", error } if error.line == line),
            "{error}"
        );
        assert!(
            error.to_string().contains("`10.0.0.300` is no ipv4_addr"),
            "{error}"
        );
    }

    #[test]
    fn elements_are_compared_and_written_in_address_order_not_text_order() {
        let old = script("aaa", &["192.0.2.1 : 10.0.0.1"], &[], RULE);
        let new = script(
            "bbb",
            &[
                "192.0.2.1 : 10.0.0.1",
                "192.0.2.9 : 10.0.0.9",
                "192.0.2.10 : 10.0.0.10",
            ],
            &[],
            RULE,
        );
        assert_eq!(
            body(&update(&old, &new).expect("both have ids").script)[2..],
            [
                "add element inet switchyard dnat_addresses {",
                "\t192.0.2.9 : 10.0.0.9,",
                "\t192.0.2.10 : 10.0.0.10,",
                "}",
            ]
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
