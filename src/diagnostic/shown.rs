//! The source text as the human rendering draws it: control characters escaped so
//! a topology cannot drive the terminal, with a line index from which each
//! diagnostic's [`super::excerpt::Excerpt`] is cut.

use std::borrow::Cow;

use super::Span;
use super::positions::floor_char_boundary;

/// Control characters (C0, DEL, C1) other than newline, tab and the CR of a CRLF
/// would drive the terminal that shows a diagnostic: each becomes `\u{XX}`, always
/// six characters (every control character fits two hex digits). `escaped` is
/// called with each one's end offset in `text` and in the result.
pub(super) fn escape_controls(text: &str, mut escaped: impl FnMut(usize, usize)) -> Cow<'_, str> {
    let hostile = |offset: usize, c: char| {
        c.is_control()
            && !matches!(c, '\n' | '\t')
            && !(c == '\r' && text[offset + 1..].starts_with('\n'))
    };
    if !text.char_indices().any(|(i, c)| hostile(i, c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 64);
    for (i, c) in text.char_indices() {
        if hostile(i, c) {
            out.push_str(&format!("\\u{{{:02x}}}", u32::from(c)));
            escaped(i + c.len_utf8(), out.len());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Characters an escape adds to the one it replaces.
const ESCAPE_EXTRA_CHARS: usize = "\\u{1b}".len() - 1;

/// The file as diagnostics show it: control characters escaped, with a line
/// index. Made once and shared by every diagnostic drawn.
pub(super) struct Shown<'a> {
    text: Cow<'a, str>,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
    /// (end in the file, end in `text`) of each escaped character, in order.
    escapes: Vec<(usize, usize)>,
}

impl<'a> Shown<'a> {
    pub(super) fn new(file: &'a str) -> Self {
        let mut escapes = Vec::new();
        let text = escape_controls(file, |in_file, shown| escapes.push((in_file, shown)));
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Shown {
            text,
            starts,
            escapes,
        }
    }

    /// Where a byte offset of the file is in the shown text.
    pub(super) fn shown_offset(&self, offset: usize) -> usize {
        let before = self
            .escapes
            .partition_point(|&(in_file, _)| in_file <= offset);
        match before.checked_sub(1).map(|i| self.escapes[i]) {
            Some((in_file, shown)) => offset - in_file + shown,
            None => offset,
        }
    }

    /// A span of the file as a span of the shown text, on character boundaries
    /// (miette needs them).
    pub(super) fn shown_span(&self, file: &str, span: &Span) -> miette::SourceSpan {
        let start = floor_char_boundary(file, span.start.min(file.len()));
        let end = floor_char_boundary(file, span.end.clamp(start, file.len()));
        let (start, end) = (self.shown_offset(start), self.shown_offset(end));
        (start, end - start).into()
    }

    /// 0-based line of a byte offset.
    pub(super) fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset) - 1
    }

    pub(super) fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// Where a line starts, and its text without its line ending.
    pub(super) fn line(&self, line: usize) -> (usize, &str) {
        let start = self.starts[line];
        let end = self
            .starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        let text = &self.text[start..end];
        let text = text.strip_suffix('\n').unwrap_or(text);
        (start, text.strip_suffix('\r').unwrap_or(text))
    }

    /// 0-based column, in characters of the file (as the JSON rendering counts
    /// them), of a shown offset.
    pub(super) fn column(&self, offset: usize) -> usize {
        let line_start = self.starts[self.line_of(offset)];
        let escapes_before = |at: usize| self.escapes.partition_point(|&(_, shown)| shown <= at);
        let escapes = escapes_before(offset) - escapes_before(line_start);
        // `offset` comes from a span `shown_span` made, so it is a character
        // boundary; `get` keeps a mistake from becoming a panic.
        let shown_chars = self
            .text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count());
        shown_chars.saturating_sub(escapes * ESCAPE_EXTRA_CHARS)
    }
}
