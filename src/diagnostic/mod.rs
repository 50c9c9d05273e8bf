//! Diagnostics: every problem switchyard reports, with a stable code, a message and
//! the byte span it points at. Rendering (miette for people, JSON for tools) lives
//! here too, so every stage just pushes [`Diagnostic`]s.

mod codes;
mod excerpt;
mod explain;
mod positions;
mod render_github;
mod render_human;
mod render_json;
mod shown;
mod suggest;

use std::fmt;
use std::ops::Range;

use schemars::JsonSchema;
use serde::Serialize;

pub use codes::Code;
pub use explain::{explained_codes, explanation};
pub use render_github::render_github;
pub use render_human::{MAX_RENDERED, render_human};
pub use render_json::{CheckOutput, render_json};
pub use suggest::closest;

pub type Span = Range<usize>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// How many errors and warnings, e.g. `2 errors, 1 warning`: the last line of the
/// human rendering.
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    format!("{}, {}", count(errors, "error"), count(warnings, "warning"))
}

/// `a, b, c`, or `a, b, c, d and 6 more`: a list in a help text stays short
/// whatever the topology holds.
pub fn listing(items: impl IntoIterator<Item = String>) -> String {
    const SHOWN: usize = 4;
    let mut items = items.into_iter();
    let shown: Vec<String> = items.by_ref().take(SHOWN).collect();
    match items.count() {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// `1 error`, `2 errors`: a number and a noun that takes an `s` in the plural.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// A span in the source with a short text shown under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    /// The first label is the primary location.
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            labels: vec![Label {
                span,
                text: label.into(),
            }],
            help: None,
        }
    }
    /// A value that must be unique, used a second time: labelled "used again"
    /// at `again`, and pointing at its first use.
    pub fn used_again(code: Code, message: impl Into<String>, again: Span, first: Span) -> Self {
        Diagnostic::new(code, message, again, "used again").also(first, "first used here")
    }
    /// Points at a second place, e.g. the other half of a duplicate.
    pub fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: label.into(),
        });
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }
    pub fn primary_span(&self) -> Span {
        self.labels.first().map_or(0..0, |label| label.span.clone())
    }
}

/// Collects diagnostics from every stage; a stage never stops at the first problem.
#[derive(Debug, Default)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }
    pub fn append(&mut self, mut other: Diagnostics) {
        self.0.append(&mut other.0);
    }
    /// Only the errors, without the warnings.
    pub fn errors(self) -> Diagnostics {
        Diagnostics(
            self.0
                .into_iter()
                .filter(|d| d.severity() == Severity::Error)
                .collect(),
        )
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity() == Severity::Error)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Sorted by position, then code, so output never depends on rule order.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.0.sort_by(|a, b| {
            (a.primary_span().start, a.code, &a.message).cmp(&(
                b.primary_span().start,
                b.code,
                &b.message,
            ))
        });
        self.0.dedup();
        self.0
    }
}

/// The topology text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// Largest topology switchyard reads (bytes). A 100k-VM topology is about 20 MiB;
/// past this the input is refused before parsing so memory stays bounded.
pub const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;

/// `size` is what was read; `main` stops reading one byte past the limit, so only
/// a larger `size` is a real file size worth reporting.
pub fn input_too_large(size: usize) -> Diagnostic {
    let limit_mib = MAX_INPUT_BYTES / (1024 * 1024);
    let read = if size > MAX_INPUT_BYTES + 1 {
        format!(", read {size}")
    } else {
        String::new()
    };
    Diagnostic::new(
        Code::InputTooLarge,
        format!(
            "the topology is larger than switchyard's limit of {limit_mib} MiB \
             ({MAX_INPUT_BYTES} bytes{read})"
        ),
        0..0,
        "",
    )
    .help(
        "a topology of 100 000 VMs is about 20 MiB; check that this is the intended file, \
         or split it into independent topologies, e.g. one per group of hosts",
    )
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Decodes file content; input over [`MAX_INPUT_BYTES`] or not UTF-8 is
    /// refused with a diagnostic before any parsing.
    pub fn from_bytes(name: String, bytes: Vec<u8>) -> Result<Source, Box<(Source, Diagnostic)>> {
        if bytes.len() > MAX_INPUT_BYTES {
            let diagnostic = input_too_large(bytes.len());
            return Err(Box::new((Source::new(name, ""), diagnostic)));
        }
        String::from_utf8(bytes)
            .map(|text| Source::new(name.clone(), text))
            .map_err(|error| {
                let offset = error.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
                let diagnostic = Diagnostic::new(
                    Code::TomlSyntax,
                    "the file is not UTF-8",
                    offset..offset + 1,
                    "invalid UTF-8 here",
                )
                .help("TOML files must be UTF-8");
                Box::new((Source::new(name, text), diagnostic))
            })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        positions::Positions::new(&self.text, std::iter::once(offset)).get(offset)
    }

    /// [`Source::line_column`] of many byte offsets, by offset, found in one
    /// pass over the text.
    pub fn line_columns(
        &self,
        offsets: impl Iterator<Item = usize>,
    ) -> std::collections::HashMap<usize, (usize, usize)> {
        positions::Positions::new(&self.text, offsets).into_map()
    }
}
