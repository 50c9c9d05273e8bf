//! The topology file as a TOML document: tables, arrays and scalars with the
//! byte range of every key and value, built straight from `toml_parser`'s
//! events. toml's own document tree (`toml::de::DeTable`) costs most of a
//! 100k-VM build and 20 bytes of memory per byte of file; this one keeps
//! tables as vectors of entries (hashed only while a large one is being
//! built), integers as `i64` and strings borrowed from the file unless they
//! have escapes.
//!
//! It is toml's builder (`toml::de::parser`) retold: the same events, the same
//! structural rules, the same span of every key, value and table (a header
//! table spans its header, an implicit table the key that first named it, an
//! array of tables its first header), and entries in the order toml iterates
//! them, by key. It only decides whether a file is TOML; a file it refuses is
//! handed to toml for the message (see [`super::parse`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::mpsc;

use rayon::prelude::*;
use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::lexer::{Token, TokenKind};
use toml_parser::parser::{Event, EventKind, EventReceiver, RecursionGuard, ValidateWhitespace};
use toml_parser::{ErrorSink, ParseError, Source};

/// toml's limit on nesting (arrays, inline tables, dotted keys).
const NESTING_LIMIT: u32 = 80;

/// Tables with more entries than this get a hash index while they are built.
const INDEXED_FROM: usize = 16;

/// Tables with more entries than this are sorted and finished in parallel.
const PARALLEL_FROM: usize = 1024;

/// A value and the bytes it came from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Item<'i> {
    pub value: Value<'i>,
    pub span: Span,
}

/// Where in the text, in half the room of a `Range<usize>` (a text past
/// 4 GiB is refused).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Self {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value<'i> {
    String(Cow<'i, str>),
    Integer(i64),
    /// As written without `_` (what Rust's `f64` parser takes).
    Float(Cow<'i, str>),
    Boolean(bool),
    /// A valid date-time, as written; nothing in a topology takes one.
    Datetime(Cow<'i, str>),
    Array(Array<'i>),
    /// Boxed: a table is larger than the other values.
    Table(Box<Table<'i>>),
}

impl Value<'_> {
    /// The TOML type's name, as toml says it.
    pub fn type_str(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Integer(_) => "integer",
            Value::Float(_) => "float",
            Value::Boolean(_) => "boolean",
            Value::Datetime(_) => "datetime",
            Value::Array(_) => "array",
            Value::Table(_) => "table",
        }
    }
}

/// A key and the bytes it came from (quotes included).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Key<'i> {
    pub name: Cow<'i, str>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry<'i> {
    pub key: Key<'i>,
    pub value: Item<'i>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Array<'i> {
    pub items: Vec<Item<'i>>,
    /// Made of `[[name]]` headers (which may add to it) rather than written
    /// as a value.
    pub of_tables: bool,
}

/// A table's entries, sorted by key once the document is built.
#[derive(Debug, Clone, Default)]
pub(super) struct Table<'i> {
    entries: Vec<Entry<'i>>,
    /// Key to position, for a large table while it is built.
    index: Option<HashMap<Cow<'i, str>, usize, foldhash::fast::RandomState>>,
    /// Created by a header's or a dotted key's path, not defined itself.
    implicit: bool,
    /// Created or extended by a dotted key.
    dotted: bool,
    inline: bool,
}

impl PartialEq for Table<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl<'i> Table<'i> {
    fn with_kind(implicit: bool, dotted: bool, inline: bool) -> Self {
        Table {
            implicit,
            dotted,
            inline,
            ..Table::default()
        }
    }

    pub fn entries(&self) -> &[Entry<'i>] {
        &self.entries
    }

    /// The entries, to change their values (not their keys).
    pub fn entries_mut(&mut self) -> &mut [Entry<'i>] {
        &mut self.entries
    }

    pub fn into_entries(self) -> Vec<Entry<'i>> {
        self.entries
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Item<'i>> {
        let at = self.position(name)?;
        Some(&mut self.entries[at].value)
    }

    /// Removes the entries whose keys are in `names` (a finished table's).
    pub fn remove_all(&mut self, names: &[String]) {
        self.entries
            .retain(|entry| !names.iter().any(|name| *name == entry.key.name));
    }

    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.entries.iter().position(|entry| entry.key.name == name),
        }
    }

    /// Adds an entry whose key the table does not have; its position.
    fn push(&mut self, entry: Entry<'i>) -> usize {
        let at = self.entries.len();
        if let Some(index) = &mut self.index {
            index.insert(entry.key.name.clone(), at);
        }
        self.entries.push(entry);
        if self.index.is_none() && self.entries.len() > INDEXED_FROM {
            self.index = Some(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(at, entry)| (entry.key.name.clone(), at))
                    .collect(),
            );
        }
        at
    }

    fn table_mut(&mut self, at: usize) -> Option<&mut Table<'i>> {
        match &mut self.entries[at].value.value {
            Value::Table(table) => Some(table),
            _ => None,
        }
    }

    /// Sorts the entries by key, as toml's `BTreeMap` keeps them, at every
    /// depth, and drops the index.
    fn finish(&mut self) {
        self.index = None;
        if self.entries.len() > PARALLEL_FROM {
            self.entries
                .par_sort_unstable_by(|a, b| a.key.name.cmp(&b.key.name));
            self.entries
                .par_iter_mut()
                .for_each(|entry| entry.value.value.finish());
        } else {
            self.entries
                .sort_unstable_by(|a, b| a.key.name.cmp(&b.key.name));
            for entry in &mut self.entries {
                entry.value.value.finish();
            }
        }
    }
}

impl Value<'_> {
    fn finish(&mut self) {
        match self {
            Value::Table(table) => table.finish(),
            Value::Array(array) => array.items.iter_mut().for_each(|item| item.value.finish()),
            _ => {}
        }
    }
}

/// Why a text is not a document: the first problem found and where.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Refused {
    pub message: String,
    pub span: Range<usize>,
}

impl Refused {
    fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        Refused {
            message: message.into(),
            span,
        }
    }

    fn duplicate_key(key: &Key<'_>) -> Self {
        Refused::new("duplicate key", key.span.range())
    }
}

/// Keeps the first error `toml_parser` reports.
#[derive(Default)]
struct FirstError(Option<Refused>);

impl ErrorSink for FirstError {
    fn report_error(&mut self, error: ParseError) {
        if self.0.is_none() {
            let span = error
                .unexpected()
                .map_or(0..0, |span| span.start()..span.end());
            self.0 = Some(Refused::new(error.description(), span));
        }
    }
}

impl FirstError {
    fn check(self) -> Result<(), Refused> {
        self.0.map_or(Ok(()), Err)
    }
}

/// The document's root table (its span is `0..0`, as toml's).
///
/// The text is lexed and parsed into events a chunk at a time, on a thread
/// of its own, while this one builds the tables from the chunk before: the
/// tokens and events of a whole 100k-VM file would take 360 MB of fresh
/// memory (toml holds them all). A chunk ends at a newline outside brackets
/// and braces, where the parser is between expressions and starting afresh
/// gives the same events.
pub(super) fn parse(text: &str) -> Result<Table<'_>, Refused> {
    parse_on(text, Threads::Two)
}

/// Where the chunks are lexed and parsed.
#[derive(Clone, Copy, PartialEq)]
enum Threads {
    /// On a thread of their own, if one can be had.
    Two,
    /// On the builder's, one chunk after the other (what tests also check).
    One,
}

fn parse_on(text: &str, threads: Threads) -> Result<Table<'_>, Refused> {
    if u32::try_from(text.len()).is_err() {
        return Err(Refused::new("a topology file past 4 GiB", 0..0));
    }
    let source = Source::new(text);
    let mut building = Building {
        source,
        state: State::default(),
        errors: FirstError::default(),
    };
    let (chunks, parsed) = mpsc::sync_channel(CHUNKS_AHEAD);
    let (spare, used) = mpsc::channel();
    let threaded = std::thread::scope(|scope| {
        if threads == Threads::One {
            return None;
        }
        let parser = std::thread::Builder::new().spawn_scoped(scope, move || {
            let mut deliver = |events| chunks.send(events).is_ok();
            parse_chunks(source, &mut deliver, &mut || used.try_recv().ok());
        });
        parser.ok()?;
        Some(parsed.into_iter().try_for_each(|events| {
            let events = events?;
            building.add(&events)?;
            // The parser's thread may reuse it, or may be done.
            let _ = spare.send(events);
            Ok(())
        }))
    });
    match threaded {
        Some(built) => built?,
        // No second thread (to be had): one chunk after the other.
        None => {
            let mut refused = Ok(());
            let mut deliver = |events: Result<Vec<Event>, Refused>| {
                refused = events.and_then(|events| building.add(&events));
                refused.is_ok()
            };
            parse_chunks(source, &mut deliver, &mut || None);
            refused?;
        }
    }
    let mut root = building.finish()?;
    root.finish();
    Ok(root)
}

/// The document as its chunks arrive.
struct Building<'i> {
    source: Source<'i>,
    state: State<'i>,
    /// What decoding a key or scalar finds wrong.
    errors: FirstError,
}

impl<'i> Building<'i> {
    fn add(&mut self, events: &[Event]) -> Result<(), Refused> {
        Builder {
            events,
            next: 0,
            source: self.source,
            errors: &mut self.errors,
        }
        .document(&mut self.state)
    }

    fn finish(mut self) -> Result<Table<'i>, Refused> {
        self.state.finish_table()?;
        self.errors.check()?;
        Ok(self.state.root)
    }
}

/// Tokens per chunk, about (a chunk ends at the next newline outside
/// brackets); small in tests so that they cross chunks.
const CHUNK_TOKENS: usize = if cfg!(test) { 8 } else { 1 << 12 };

/// Chunks parsed ahead of the builder.
const CHUNKS_AHEAD: usize = 2;

/// Lexes and parses `source` chunk by chunk, handing each chunk's events (in
/// a vector from `reuse` if it has one) to `deliver`, until the end, the
/// first error, or `deliver` says to stop.
fn parse_chunks(
    source: Source<'_>,
    deliver: &mut dyn FnMut(Result<Vec<Event>, Refused>) -> bool,
    reuse: &mut dyn FnMut() -> Option<Vec<Event>>,
) {
    let mut lexer = source.lex();
    let mut tokens = Vec::with_capacity(CHUNK_TOKENS * 2);
    let mut depth = 0i64;
    loop {
        tokens.clear();
        let mut at_end = true;
        for token in lexer.by_ref() {
            match token.kind() {
                TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => depth += 1,
                TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => depth -= 1,
                _ => {}
            }
            tokens.push(token);
            if token.kind() == TokenKind::Newline && depth == 0 && tokens.len() >= CHUNK_TOKENS {
                at_end = false;
                break;
            }
        }
        let mut events = reuse().unwrap_or_else(|| Vec::with_capacity(tokens.len()));
        events.clear();
        let parsed = parse_events(
            source,
            &tokens,
            &mut events,
            toml_parser::parser::parse_document,
        )
        .map(|()| events);
        let refused = parsed.is_err();
        if !deliver(parsed) || refused || at_end {
            return;
        }
    }
}

/// One value (`{ id = 1 }`), for tests of what reads values.
#[cfg(test)]
pub(super) fn parse_value(text: &str) -> Result<Item<'_>, Refused> {
    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut events = Vec::new();
    parse_events(
        source,
        &tokens,
        &mut events,
        toml_parser::parser::parse_value,
    )?;
    let mut errors = FirstError::default();
    let mut item = Builder {
        events: &events,
        next: 0,
        source,
        errors: &mut errors,
    }
    .value()?;
    errors.check()?;
    item.value.finish();
    Ok(item)
}

type Parser = fn(&[Token], &mut dyn EventReceiver, &mut dyn ErrorSink);

/// The parser's events for `tokens`, checked as toml checks them
/// (whitespace, nesting), or its first error.
fn parse_events(
    source: Source<'_>,
    tokens: &[Token],
    events: &mut Vec<Event>,
    parse: Parser,
) -> Result<(), Refused> {
    let mut errors = FirstError::default();
    let mut whitespace = ValidateWhitespace::new(events, source);
    let mut nesting = RecursionGuard::new(&mut whitespace, NESTING_LIMIT);
    parse(tokens, &mut nesting, &mut errors);
    errors.check()
}

/// A header: `[path.key]` or `[[path.key]]`.
struct Header<'i> {
    path: Vec<Key<'i>>,
    key: Key<'i>,
    span: Span,
    is_array: bool,
}

/// Walks the events of a text the parser accepted, building its tables.
struct Builder<'e, 'i> {
    events: &'e [Event],
    next: usize,
    source: Source<'i>,
    /// What decoding a key or scalar finds wrong.
    errors: &'e mut FirstError,
}

impl<'i> Builder<'_, 'i> {
    fn next_event(&mut self) -> Option<Event> {
        let event = self.events.get(self.next).copied();
        self.next += usize::from(event.is_some());
        event
    }

    fn peek(&self, ahead: usize) -> Option<EventKind> {
        self.events.get(self.next + ahead).map(Event::kind)
    }

    fn skip_whitespace(&mut self) {
        if self.peek(0) == Some(EventKind::Whitespace) {
            self.next += 1;
        }
    }

    /// Adds the events' tables and values to `state`.
    fn document(&mut self, state: &mut State<'i>) -> Result<(), Refused> {
        while let Some(event) = self.next_event() {
            match event.kind() {
                EventKind::StdTableOpen | EventKind::ArrayTableOpen => {
                    state.finish_table()?;
                    let header = self.header(event)?;
                    state.start_table(header)?;
                }
                EventKind::SimpleKey => {
                    let (path, key) = self.key(event)?;
                    self.skip_whitespace();
                    if self.next_event().map(|e| e.kind()) != Some(EventKind::KeyValSep) {
                        return Err(Refused::new("expected `=`", key.span.range()));
                    }
                    self.skip_whitespace();
                    let value = self.value()?;
                    state.key_value(path, key, value)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn header(&mut self, open: Event) -> Result<Header<'i>, Refused> {
        let is_array = open.kind() == EventKind::ArrayTableOpen;
        let mut start = open.span().start();
        let mut end = open.span().end();
        let mut named = None;
        while let Some(event) = self.next_event() {
            match event.kind() {
                EventKind::StdTableClose | EventKind::ArrayTableClose => {
                    end = event.span().end();
                    break;
                }
                EventKind::SimpleKey => named = Some(self.key(event)?),
                _ => {}
            }
        }
        let Some((path, key)) = named else {
            start = start.min(end);
            return Err(Refused::new("a header without a key", start..end));
        };
        Ok(Header {
            path,
            key,
            span: Span::new(start, end),
            is_array,
        })
    }

    /// A simple or dotted key: the tables on its path, and its last part.
    fn key(&mut self, first: Event) -> Result<(Vec<Key<'i>>, Key<'i>), Refused> {
        let mut path = Vec::new();
        let mut last = self.simple_key(first)?;
        loop {
            let sep_at = match (self.peek(0), self.peek(1)) {
                (Some(EventKind::KeySep), _) => 1,
                (Some(EventKind::Whitespace), Some(EventKind::KeySep)) => 2,
                _ => break,
            };
            self.next += sep_at;
            self.skip_whitespace();
            let Some(event) = self
                .next_event()
                .filter(|e| e.kind() == EventKind::SimpleKey)
            else {
                return Err(Refused::new("expected a key", last.span.range()));
            };
            path.push(std::mem::replace(&mut last, self.simple_key(event)?));
        }
        if NESTING_LIMIT as usize <= path.len() {
            return Err(Refused::new("recursion limit", last.span.range()));
        }
        Ok((path, last))
    }

    fn simple_key(&mut self, event: Event) -> Result<Key<'i>, Refused> {
        let raw = self.raw(event)?;
        let name = match event.encoding() {
            // What the decoder would return, without its checks (a bare key
            // of these bytes is valid as written).
            None if raw.as_str().bytes().all(is_bare_key_byte) => Cow::Borrowed(raw.as_str()),
            _ => {
                let mut name = Cow::Borrowed("");
                raw.decode_key(&mut name, self.errors);
                name
            }
        };
        Ok(Key {
            name,
            span: span(event),
        })
    }

    fn raw(&self, event: Event) -> Result<toml_parser::Raw<'i>, Refused> {
        self.source
            .get(event)
            .ok_or_else(|| Refused::new("outside the text", span(event).range()))
    }

    fn value(&mut self) -> Result<Item<'i>, Refused> {
        match self.next_event() {
            Some(event) if event.kind() == EventKind::InlineTableOpen => self.inline_table(event),
            Some(event) if event.kind() == EventKind::ArrayOpen => self.array(event),
            Some(event) if event.kind() == EventKind::Scalar => self.scalar(event),
            _ => Err(Refused::new("expected a value", 0..0)),
        }
    }

    fn scalar(&mut self, event: Event) -> Result<Item<'i>, Refused> {
        let raw = self.raw(event)?;
        let span = span(event);
        if event.encoding() == Some(Encoding::BasicString)
            && let Some(plain) = plain_basic_string(raw.as_str())
        {
            let value = Value::String(Cow::Borrowed(plain));
            return Ok(Item { value, span });
        }
        let mut decoded = Cow::Borrowed("");
        let value = match raw.decode_scalar(&mut decoded, self.errors) {
            ScalarKind::String => Value::String(decoded),
            ScalarKind::Boolean(value) => Value::Boolean(value),
            ScalarKind::DateTime => match decoded.parse::<toml::value::Datetime>() {
                Ok(_) => Value::Datetime(decoded),
                Err(error) => return Err(Refused::new(error.to_string(), span.range())),
            },
            ScalarKind::Float => Value::Float(decoded),
            ScalarKind::Integer(radix) => match i64::from_str_radix(&decoded, radix.value()) {
                Ok(value) => Value::Integer(value),
                Err(_) => {
                    let message = format!("integer {decoded} does not fit in 64 bits");
                    return Err(Refused::new(message, span.range()));
                }
            },
        };
        Ok(Item { value, span })
    }

    fn array(&mut self, open: Event) -> Result<Item<'i>, Refused> {
        let mut items = Vec::new();
        let mut end = open.span().end();
        while let Some(event) = self.next_event() {
            end = event.span().end();
            match event.kind() {
                EventKind::InlineTableOpen => items.push(self.inline_table(event)?),
                EventKind::ArrayOpen => items.push(self.array(event)?),
                EventKind::Scalar => items.push(self.scalar(event)?),
                EventKind::ArrayClose => break,
                EventKind::ValueSep
                | EventKind::Whitespace
                | EventKind::Comment
                | EventKind::Newline
                | EventKind::Error => {}
                _ => break,
            }
        }
        let array = Array {
            items,
            of_tables: false,
        };
        Ok(Item {
            value: Value::Array(array),
            span: Span::new(open.span().start(), end),
        })
    }

    fn inline_table(&mut self, open: Event) -> Result<Item<'i>, Refused> {
        let mut table = Table::with_kind(false, false, true);
        let mut end = open.span().end();
        let mut key = None;
        let mut value = None;
        while let Some(event) = self.next_event() {
            end = event.span().end();
            match event.kind() {
                EventKind::SimpleKey => key = Some(self.key(event)?),
                EventKind::InlineTableOpen => value = Some(self.inline_table(event)?),
                EventKind::ArrayOpen => value = Some(self.array(event)?),
                EventKind::Scalar => value = Some(self.scalar(event)?),
                EventKind::ValueSep | EventKind::InlineTableClose => {
                    if let (Some((path, key)), Some(value)) = (key.take(), value.take()) {
                        inline_key_value(&mut table, path, key, value)?;
                    }
                    if event.kind() == EventKind::InlineTableClose {
                        break;
                    }
                }
                EventKind::KeyValSep
                | EventKind::Whitespace
                | EventKind::Comment
                | EventKind::Newline
                | EventKind::Error => {}
                _ => break,
            }
        }
        Ok(Item {
            value: Value::Table(Box::new(table)),
            span: Span::new(open.span().start(), end),
        })
    }
}

/// Bytes a bare key may have.
fn is_bare_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// The text of a basic string (`"..."`) that has no escapes and only
/// printable ASCII: what the decoder would return, without its checks.
fn plain_basic_string(raw: &str) -> Option<&str> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    inner
        .bytes()
        .all(|byte| (b' '..=b'~').contains(&byte) && byte != b'\\' && byte != b'"')
        .then_some(inner)
}

fn span(event: Event) -> Span {
    Span::new(event.span().start(), event.span().end())
}

/// `path.key = value` inside an inline table.
fn inline_key_value<'i>(
    table: &mut Table<'i>,
    path: Vec<Key<'i>>,
    key: Key<'i>,
    value: Item<'i>,
) -> Result<(), Refused> {
    let dotted = !path.is_empty();
    let parent = descend(table, &path, Within::InlineTable)?;
    if parent.dotted != dotted || parent.contains_key(&key.name) {
        return Err(Refused::duplicate_key(&key));
    }
    parent.push(Entry { key, value });
    Ok(())
}

/// Where a path is followed: it may enter arrays of tables only outside
/// inline tables.
#[derive(Clone, Copy, PartialEq)]
enum Within {
    /// A header's path.
    Document,
    /// A dotted key's path in a `[table]` (or before the first header).
    DottedKey,
    InlineTable,
}

/// The table at the end of `path` from `table`, creating implicit tables on
/// the way; refused where a part names a value, an inline table (from
/// outside it), a static array, or a `[table]` from a dotted key.
fn descend<'t, 'i>(
    mut table: &'t mut Table<'i>,
    path: &[Key<'i>],
    within: Within,
) -> Result<&'t mut Table<'i>, Refused> {
    let dotted = within != Within::Document;
    for key in path {
        let at = match table.position(&key.name) {
            Some(at) => at,
            None => table.push(Entry {
                key: key.clone(),
                value: Item {
                    value: Value::Table(Box::new(Table::with_kind(
                        true,
                        dotted,
                        within == Within::InlineTable,
                    ))),
                    span: key.span,
                },
            }),
        };
        let existing = &mut table.entries[at].value.value;
        table = match existing {
            Value::Array(array) if array.of_tables && within != Within::InlineTable => {
                match array.items.last_mut().map(|item| &mut item.value) {
                    Some(Value::Table(last)) => last,
                    _ => return Err(cannot_extend(key)),
                }
            }
            Value::Table(child) => {
                if child.inline && within != Within::InlineTable {
                    return Err(cannot_extend(key));
                }
                if dotted && child.implicit {
                    child.dotted = true;
                }
                if dotted && !child.implicit {
                    return Err(Refused::duplicate_key(key));
                }
                child
            }
            _ => return Err(cannot_extend(key)),
        };
    }
    Ok(table)
}

fn cannot_extend(key: &Key<'_>) -> Refused {
    Refused::new(
        "cannot extend this value with a dotted key",
        key.span.range(),
    )
}

/// The document as it is built: the root, and the table under the last
/// header (taken out of the tree until the next header).
#[derive(Default)]
struct State<'i> {
    root: Table<'i>,
    current: Table<'i>,
    header: Option<Header<'i>>,
}

impl<'i> State<'i> {
    fn key_value(
        &mut self,
        path: Vec<Key<'i>>,
        key: Key<'i>,
        value: Item<'i>,
    ) -> Result<(), Refused> {
        let dotted = !path.is_empty();
        let parent = descend(&mut self.current, &path, Within::DottedKey)?;
        // A dotted key may not add to a table defined by a header.
        if (dotted && !parent.implicit) || parent.contains_key(&key.name) {
            return Err(Refused::duplicate_key(&key));
        }
        parent.push(Entry { key, value });
        Ok(())
    }

    /// Puts the table under the last header into the tree.
    fn finish_table(&mut self) -> Result<(), Refused> {
        let table = std::mem::take(&mut self.current);
        let Some(header) = self.header.take() else {
            self.root = table;
            return Ok(());
        };
        let parent = descend(&mut self.root, &header.path, Within::Document)?;
        let item = Item {
            value: Value::Table(Box::new(table)),
            span: header.span,
        };
        match parent.position(&header.key.name) {
            Some(at) if header.is_array => match &mut parent.entries[at].value.value {
                Value::Array(array) if array.of_tables => array.items.push(item),
                _ => return Err(Refused::duplicate_key(&header.key)),
            },
            None if header.is_array => {
                let array = Array {
                    items: vec![item],
                    of_tables: true,
                };
                parent.push(Entry {
                    key: header.key,
                    value: Item {
                        value: Value::Array(array),
                        span: header.span,
                    },
                });
            }
            // What `start_table` took out: the table now has the header's key
            // and span, as toml's (which removes and inserts it again).
            Some(at) => {
                parent.entries[at] = Entry {
                    key: header.key,
                    value: item,
                }
            }
            None => {
                parent.push(Entry {
                    key: header.key,
                    value: item,
                });
            }
        }
        Ok(())
    }

    /// Starts the table under `header`: a new one, or one that headers below
    /// it created implicitly.
    fn start_table(&mut self, header: Header<'i>) -> Result<(), Refused> {
        if !header.is_array {
            let parent = descend(&mut self.root, &header.path, Within::Document)?;
            if let Some(at) = parent.position(&header.key.name) {
                match parent.table_mut(at) {
                    Some(existing) if existing.implicit && !existing.dotted => {
                        self.current = std::mem::take(existing);
                    }
                    _ => return Err(Refused::duplicate_key(&header.key)),
                }
            }
        }
        self.current.implicit = false;
        self.current.dotted = false;
        self.header = Some(header);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
