//! What the human rendering hands miette for one diagnostic: the lines around its
//! labels, each long line clipped around what matters (the labels on it, else its
//! start) with `…` for what is left out. A generated topology writes 10 000
//! addresses on one line; a diagnostic near or on it stays a few lines that fit an
//! 80-column terminal, with the underline under the characters it marks. Line
//! numbers and columns are the file's; the JSON rendering keeps the exact spans.

use std::ops::Range;

use super::Span;
use super::shown::Shown;

/// Characters of a line shown at most (more only for a line with several labels):
/// with miette's gutter (` 10001 │ `) a line fits 80 columns.
const MAX_LINE_CHARS: usize = 70;

/// Of a clipped line with a label on it, its first characters are kept too
/// (usually the key, `addresses = [`).
const HEAD_CHARS: usize = 16;

/// Of a label longer than twice this (a whole array), its first and last
/// characters are kept.
const LABEL_END_CHARS: usize = 12;

/// Characters kept on each side of a label however many labels share the line.
const MIN_MARGIN_CHARS: usize = 4;

const ELLIPSIS: &str = "…";

/// The lines a diagnostic shows, as miette reads them ([`miette::SourceCode`]).
pub(super) struct Excerpt {
    /// Lines `first_line..` of the shown text, long ones clipped.
    text: String,
    /// Byte offset in `text` where each line starts.
    starts: Vec<usize>,
    /// 0-based line of the file that `text` starts at.
    first_line: usize,
    /// (offset in `text`, 0-based column in the file's characters) of the start
    /// of each label: the column miette prints as `file:line:column`.
    columns: Vec<(usize, usize)>,
}

impl Excerpt {
    /// The lines `labels` (spans of `file`) need, `context_lines` around each,
    /// and the labels as spans of the excerpt.
    pub(super) fn new(
        shown: &Shown,
        file: &str,
        labels: &[&Span],
        context_lines: usize,
    ) -> (Excerpt, Vec<miette::SourceSpan>) {
        let spans: Vec<Range<usize>> = labels
            .iter()
            .map(|span| {
                let span = shown.shown_span(file, span);
                span.offset()..span.offset() + span.len()
            })
            .collect();
        // One line more than miette shows on each side, so it sees what it would
        // in the whole text.
        let around = context_lines + 1;
        let last_line = shown.line_count() - 1;
        // miette joins the snippets of two labels and shows every line between
        // them unless they are far apart in a way its line count rarely says:
        // every line from the first label's to the last one's is kept.
        let first_line = spans
            .iter()
            .map(|span| shown.line_of(span.start).saturating_sub(around))
            .min()
            .unwrap_or(0);
        let end_line = spans
            .iter()
            .map(|span| (shown.line_of(span.end) + around).min(last_line) + 1)
            .max()
            .unwrap_or(1);
        let mut excerpt = Excerpt {
            text: String::new(),
            starts: Vec::with_capacity(end_line - first_line),
            first_line,
            columns: Vec::with_capacity(spans.len()),
        };
        let mut clipped_lines = Vec::with_capacity(end_line - first_line);
        for line in first_line..end_line {
            excerpt.starts.push(excerpt.text.len());
            let (start, content) = shown.line(line);
            let end = start + content.len();
            let focus: Vec<Range<usize>> = spans
                .iter()
                .filter(|span| span.start <= end && span.end >= start)
                .map(|span| span.start.max(start) - start..span.end.min(end) - start)
                .collect();
            let clipped = clip(content, &focus);
            excerpt.text.push_str(&clipped.text);
            if line < last_line {
                excerpt.text.push('\n');
            }
            clipped_lines.push(clipped);
        }
        let at = |offset: usize| {
            let line = shown.line_of(offset);
            let (start, _) = shown.line(line);
            let index = line - first_line;
            excerpt.starts[index] + clipped_lines[index].position(offset - start)
        };
        let mapped: Vec<(usize, usize)> = spans
            .iter()
            .map(|span| (at(span.start), at(span.end)))
            .collect();
        excerpt.columns = spans
            .iter()
            .zip(&mapped)
            .map(|(span, &(start, _))| (start, shown.column(span.start)))
            .collect();
        let spans = mapped
            .into_iter()
            .map(|(start, end)| (start, end - start).into())
            .collect();
        (excerpt, spans)
    }
}

/// A line as shown: what was kept of it, and where.
#[derive(Default)]
struct Clipped {
    text: String,
    /// (byte range of the line, offset in `text`) of each piece kept, in order.
    kept: Vec<(Range<usize>, usize)>,
}

impl Clipped {
    /// Where a byte offset of the line is in `text`; an offset in a part left
    /// out is at the `…` that stands for it.
    fn position(&self, offset: usize) -> usize {
        let mut position = 0;
        for (range, at) in &self.kept {
            if offset < range.start {
                return position;
            }
            if offset <= range.end {
                return at + offset - range.start;
            }
            position = at + range.len();
        }
        self.text.len().min(position + ELLIPSIS.len())
    }
}

/// `line` as shown: whole when it is short, else the pieces around `focus`
/// (byte ranges of the line: the labels on it) and its start, joined by `…`.
fn clip(line: &str, focus: &[Range<usize>]) -> Clipped {
    // A character is at most 4 bytes: only a line of few bytes needs counting.
    let short = line.len() <= MAX_LINE_CHARS
        || (line.len() <= 4 * MAX_LINE_CHARS && line.chars().count() <= MAX_LINE_CHARS);
    if short {
        return Clipped {
            text: line.to_owned(),
            kept: vec![(0..line.len(), 0)],
        };
    }
    // What must be seen: each label, or both ends of a long one.
    let mut marked = Vec::new();
    for range in focus {
        let ends =
            forward(line, range.start, LABEL_END_CHARS)..backward(line, range.end, LABEL_END_CHARS);
        if ends.start < ends.end && line[ends.clone()].chars().count() > 1 {
            marked.push(range.start..ends.start);
            marked.push(ends.end..range.end);
        } else {
            marked.push(range.clone());
        }
    }
    let head = if marked.is_empty() {
        MAX_LINE_CHARS - 1
    } else {
        HEAD_CHARS
    };
    let used = head
        + marked
            .iter()
            .map(|range| line[range.clone()].chars().count())
            .sum::<usize>();
    let margin =
        (MAX_LINE_CHARS.saturating_sub(used) / (2 * marked.len().max(1))).max(MIN_MARGIN_CHARS);
    let mut pieces: Vec<Range<usize>> = std::iter::once(0..forward(line, 0, head))
        .chain(
            marked
                .iter()
                .map(|range| backward(line, range.start, margin)..forward(line, range.end, margin)),
        )
        .collect();
    pieces.sort_by_key(|piece| piece.start);
    let mut clipped = Clipped::default();
    let mut shown_to = 0;
    for piece in pieces {
        if piece.end <= shown_to && !clipped.kept.is_empty() {
            continue;
        }
        let start = piece.start.max(shown_to);
        if start > shown_to {
            clipped.text.push_str(ELLIPSIS);
        }
        match clipped.kept.last_mut() {
            Some((last, _)) if last.end == start => last.end = piece.end,
            _ => clipped.kept.push((start..piece.end, clipped.text.len())),
        }
        clipped.text.push_str(&line[start..piece.end]);
        shown_to = piece.end;
    }
    if shown_to < line.len() {
        clipped.text.push_str(ELLIPSIS);
    }
    clipped
}

/// The byte offset `chars` characters after `offset` in `line` (at most its end).
fn forward(line: &str, offset: usize, chars: usize) -> usize {
    line[offset..]
        .char_indices()
        .nth(chars)
        .map_or(line.len(), |(i, _)| offset + i)
}

/// The byte offset `chars` characters before `offset` in `line` (at least 0).
fn backward(line: &str, offset: usize, chars: usize) -> usize {
    if chars == 0 {
        return offset;
    }
    line[..offset]
        .char_indices()
        .rev()
        .nth(chars - 1)
        .map_or(0, |(i, _)| i)
}

impl miette::SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        // miette scans from the start of what it is given: it is given only the
        // lines around the span (an excerpt holds every line between two labels).
        let line_of = |offset: usize| self.starts.partition_point(|&start| start <= offset) - 1;
        let line_end = |line: usize| {
            self.starts
                .get(line + 1)
                .copied()
                .unwrap_or(self.text.len())
        };
        let first = line_of(span.offset()).saturating_sub(context_lines_before + 1);
        let last = (line_of(span.offset() + span.len()) + context_lines_after + 1)
            .min(self.starts.len() - 1);
        let start = self.starts[first];
        let window = &self.text.as_bytes()[start..line_end(last)];
        let inner = miette::SourceCode::read_span(
            window,
            &miette::SourceSpan::new((span.offset() - start).into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        // miette shows the column (`file:line:column`) of a read without context
        // lines; it would count bytes of the excerpt.
        let column = match context_lines_before {
            0 => self
                .columns
                .iter()
                .find(|(at, _)| *at == span.offset())
                .map_or(inner.column(), |&(_, column)| column),
            _ => inner.column(),
        };
        let lines_before = self.first_line + first;
        Ok(Box::new(miette::MietteSpanContents::new(
            inner.data(),
            miette::SourceSpan::new((inner.span().offset() + start).into(), inner.span().len()),
            inner.line() + lines_before,
            column,
            // miette counts the lines from the start of what it scanned, and
            // decides from this count which snippets to join.
            inner.line_count() + lines_before,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_line_is_shown_whole() {
        let clipped = clip("address = \"10.0.0.5\"", std::slice::from_ref(&(11..19)));
        assert_eq!(clipped.text, "address = \"10.0.0.5\"");
        assert_eq!(clipped.position(11), 11);
    }

    #[test]
    fn a_long_line_keeps_its_start_and_the_label_with_the_label_where_it_was() {
        let line = format!(
            "addresses = [{}\"bad\"{}]",
            "\"x\", ".repeat(1000),
            ", \"y\"".repeat(1000)
        );
        let label = line.find("\"bad\"").unwrap();
        let clipped = clip(&line, std::slice::from_ref(&(label..label + 5)));
        assert!(
            clipped.text.starts_with("addresses = [\"x\""),
            "{}",
            clipped.text
        );
        assert!(clipped.text.ends_with(ELLIPSIS), "{}", clipped.text);
        assert!(
            clipped.text.chars().count() <= MAX_LINE_CHARS + 2,
            "{}",
            clipped.text
        );
        let at = clipped.position(label);
        assert_eq!(&clipped.text[at..clipped.position(label + 5)], "\"bad\"");
    }

    #[test]
    fn a_long_label_keeps_both_its_ends() {
        let line = format!("addresses = [{}]", "\"x\", ".repeat(1000));
        let label = 12..line.len();
        let clipped = clip(&line, std::slice::from_ref(&label));
        assert!(
            clipped.text.chars().count() <= MAX_LINE_CHARS,
            "{}",
            clipped.text
        );
        assert_eq!(
            &clipped.text[clipped.position(label.start)..][..4],
            "[\"x\""
        );
        assert!(clipped.text.ends_with("\"x\", ]"), "{}", clipped.text);
        assert_eq!(clipped.position(label.end), clipped.text.len());
    }

    #[test]
    fn a_long_context_line_keeps_its_start() {
        let line = "é".repeat(500);
        let clipped = clip(&line, &[]);
        assert_eq!(
            clipped.text,
            format!("{}{ELLIPSIS}", "é".repeat(MAX_LINE_CHARS - 1))
        );
    }
}
