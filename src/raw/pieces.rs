//! Reading a large file on every core. A topology of 100 000 VMs is 17 MB of
//! TOML, and reading it is half of `build`; one core reads it at the speed of the
//! toml crate and no faster. So the file is cut, at table headers such as
//! `[vms.web-1]`, into pieces read side by side, each as a TOML document of its
//! own, and the pieces' entities joined.
//!
//! The joined result is the whole file's whenever it is used at all; anything
//! that might make it differ sends the caller back to reading the file in one
//! piece, which also gives every diagnostic its usual form:
//! - a piece that is not TOML, or has any problem of shape: a cut inside a
//!   multi-line string, array or inline table leaves the piece before it
//!   unterminated, so such a cut always ends here;
//! - after the first cut, a line that starts with `[` but not with a section's
//!   `[vms.`-like prefix (a `[failover]` or `[vms]` header, an array of tables,
//!   a nested array's line, …): later pieces then define only entities, never a
//!   top-level key or a section's own table;
//! - an entity defined in two pieces (`[vms.a]`, and `[vms.a.more]` further
//!   on), or a section written inline (`vms = { … }`, closed to later headers)
//!   that another piece adds to.
//!
//! A later piece keeps its byte offsets: it is read with spaces in place of the
//! text before it, so every span is the whole file's.

use std::borrow::Cow;
use std::ops::Range;

use rayon::prelude::*;
use toml::de::DeTable;

use super::{Expect, Named, Parsed, Read, SECTIONS, read};

/// Files smaller than this are read in one piece: cutting pays only on large
/// ones.
const MIN_PIECE_BYTES: usize = 1 << 20;

/// The file read in pieces on every core, or `None` when it is small or when the
/// pieces cannot be trusted to join into the whole file's reading (see the module
/// documentation); the caller then reads it in one piece.
pub(super) fn parse(text: &str) -> Option<Parsed> {
    let count = rayon::current_num_threads().min(text.len() / MIN_PIECE_BYTES);
    parse_in_pieces(text, count)
}

/// The file read in up to `count` pieces side by side, cut at entity headers, or
/// `None` when it cannot be cut or its pieces cannot be trusted to join into what
/// reading it whole gives. Without a problem, it is that: the same entities with
/// the same spans.
pub fn parse_in_pieces(text: &str, count: usize) -> Option<Parsed> {
    if count < 2 {
        return None;
    }
    let ranges = cut(text, count)?;
    let pieces = ranges
        .into_par_iter()
        .map(|range| read_piece(text, range))
        .collect::<Option<Vec<Piece>>>()?;
    join(pieces)
}

/// The byte ranges of up to `count` pieces of about equal size, each after the
/// first starting at a line `[section.name]`; `None` when a later piece could
/// hold something other than entities of the sections.
fn cut(text: &str, count: usize) -> Option<Vec<Range<usize>>> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let at = offset;
        offset += line.len();
        let header = line.trim_start_matches([' ', '\t']);
        if !header.starts_with('[') {
            continue;
        }
        let cut_so_far = starts.len() > 1;
        if cut_so_far && !opens_entity(header) {
            return None;
        }
        let next_cut = starts.len() * text.len() / count;
        if starts.len() < count
            && at >= next_cut
            && line.len() == header.len()
            && is_entity_header(line)
        {
            starts.push(at);
        }
    }
    if starts.len() < 2 {
        return None;
    }
    let mut ends = starts[1..].to_vec();
    ends.push(text.len());
    Some(
        starts
            .into_iter()
            .zip(ends)
            .map(|(start, end)| start..end)
            .collect(),
    )
}

/// `[vms.…`, `[hosts.…`: a table header below a section (not `[[…`).
fn opens_entity(header: &str) -> bool {
    SECTIONS.iter().any(|section| {
        header
            .strip_prefix('[')
            .and_then(|rest| rest.strip_prefix(section))
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// A whole line `[section.name]` (a bare name, maybe a comment after it).
fn is_entity_header(line: &str) -> bool {
    let Some((header, after)) = line.split_once(']') else {
        return false;
    };
    let after = after
        .trim_end_matches(['\n', '\r'])
        .trim_start_matches([' ', '\t']);
    let bare = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let Some((section, name)) = header.strip_prefix('[').and_then(|h| h.split_once('.')) else {
        return false;
    };
    SECTIONS.contains(&section) && bare(name) && (after.is_empty() || after.starts_with('#'))
}

struct Piece {
    parsed: Parsed,
    /// The sections this piece writes as an inline table.
    inline: Vec<&'static str>,
    /// The sections this piece has at all.
    sections: Vec<&'static str>,
}

/// One piece read as a document of its own, or `None` at the first problem.
fn read_piece(text: &str, range: Range<usize>) -> Option<Piece> {
    let document: Cow<str> = if range.start == 0 {
        Cow::Borrowed(&text[range.clone()])
    } else {
        let mut padded = String::with_capacity(range.end);
        padded.extend(std::iter::repeat_n(' ', range.start));
        padded.push_str(&text[range.clone()]);
        Cow::Owned(padded)
    };
    let root = DeTable::parse(&document).ok()?;
    let mut inline = Vec::new();
    let mut sections = Vec::new();
    for (key, value) in root.get_ref() {
        if let Some(section) = SECTIONS.iter().find(|s| **s == key.get_ref().as_ref()) {
            sections.push(*section);
            if document.as_bytes().get(value.span().start) == Some(&b'{') {
                inline.push(*section);
            }
        }
    }
    let expect = if range.start == 0 {
        Expect::Version
    } else {
        Expect::NoVersion
    };
    let Read { parsed, problems } = read(root, expect);
    problems.is_empty().then_some(Piece {
        parsed,
        inline,
        sections,
    })
}

/// The pieces' entities in one topology, or `None` when two pieces define the
/// same entity or add to a section another writes inline.
fn join(pieces: Vec<Piece>) -> Option<Parsed> {
    for section in SECTIONS {
        let holders = pieces.iter().filter(|p| p.sections.contains(section));
        let inline = pieces.iter().any(|p| p.inline.contains(section));
        if inline && holders.count() > 1 {
            return None;
        }
    }
    let mut pieces = pieces.into_iter();
    let mut whole = pieces.next()?.parsed;
    for piece in pieces {
        let (into, from) = (&mut whole.topology, piece.parsed.topology);
        if from.version.is_some() || from.failover.is_some() {
            return None;
        }
        add_disjoint(&mut into.uplinks, from.uplinks)?;
        add_disjoint(&mut into.pools, from.pools)?;
        add_disjoint(&mut into.hosts, from.hosts)?;
        add_disjoint(&mut into.projects, from.projects)?;
        add_disjoint(&mut into.vms, from.vms)?;
    }
    Some(whole)
}

fn add_disjoint<T>(into: &mut Named<T>, from: Named<T>) -> Option<()> {
    if from
        .keys()
        .any(|name| into.contains_key(name.get().as_str()))
    {
        return None;
    }
    into.extend(from);
    Some(())
}
