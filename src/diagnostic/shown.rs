//! The source text as the human rendering draws it: control characters escaped so
//! a topology cannot drive the terminal, and a line index that hands miette only
//! the lines around a span.

use std::borrow::Cow;
use std::sync::Arc;

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

/// The text as miette reads it: control characters escaped, with a line index.
/// miette finds a span by scanning from the start of the text, so on a large file
/// with many diagnostics each read is handed only the lines around its span (the
/// drawing is the same).
#[derive(Clone)]
pub(super) struct Shown {
    text: Arc<str>,
    /// Byte offset where each line starts.
    starts: Arc<Vec<usize>>,
    /// (end in the file, end in `text`) of each escaped character, in order.
    escapes: Arc<Vec<(usize, usize)>>,
}

impl Shown {
    pub(super) fn new(file: &str) -> Self {
        let mut escapes = Vec::new();
        let text = escape_controls(file, |in_file, shown| escapes.push((in_file, shown)));
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Shown {
            text: text.into(),
            starts: Arc::new(starts),
            escapes: Arc::new(escapes),
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
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset) - 1
    }

    /// Where `line` ends, its newline included.
    fn line_end(&self, line: usize) -> usize {
        self.starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// Length in bytes of the line around `offset`.
    pub(super) fn line_length(&self, offset: usize) -> usize {
        let line = self.line_of(offset.min(self.text.len()));
        self.line_end(line) - self.starts[line]
    }

    /// 0-based column, in characters of the file (as the JSON rendering counts
    /// them), of a shown offset.
    fn column(&self, offset: usize) -> usize {
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

impl miette::SourceCode for Shown {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        // One line more than miette shows on each side, so it sees what it would in
        // the whole text.
        let first = self
            .line_of(span.offset())
            .saturating_sub(context_lines_before + 1);
        let last = (self.line_of(span.offset() + span.len()) + context_lines_after + 1)
            .min(self.starts.len() - 1);
        let start = self.starts[first];
        let window = &self.text.as_bytes()[start..self.line_end(last)];
        let inner = miette::SourceCode::read_span(
            window,
            &miette::SourceSpan::new((span.offset() - start).into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        // miette counts the column in bytes (it shows it as `file:line:column`);
        // it is only meaningful without context lines.
        let column = if context_lines_before == 0 {
            self.column(span.offset())
        } else {
            inner.column()
        };
        Ok(Box::new(miette::MietteSpanContents::new(
            inner.data(),
            miette::SourceSpan::new((inner.span().offset() + start).into(), inner.span().len()),
            inner.line() + first,
            column,
            // miette counts the lines from the start of what it scanned, and
            // decides from this count which snippets to join.
            inner.line_count() + first,
        )))
    }
}
