//! Diagnostics: every problem switchyard reports, with a stable code, a message and
//! the byte span it points at. Rendering (miette for people, JSON for tools) lives
//! here too, so every stage just pushes [`Diagnostic`]s.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

pub type Span = Range<usize>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $title:literal;)*) => {
        /// Every diagnostic code. Codes are stable: never renumber, only add.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }
            /// One line saying what the code means, for docs and `--help`.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
        }
    };
}

codes! {
    TomlSyntax = "SY0001", Error, "the file is not valid TOML";
    WrongType = "SY0002", Error, "a key has the wrong type or a required key is missing";
    UnknownKey = "SY0003", Error, "unknown key";
    UnsupportedVersion = "SY0004", Error, "unsupported format version";
    InputTooLarge = "SY0005", Error, "the input exceeds switchyard's size limit";
    OutOfRange = "SY0010", Error, "a number is out of its allowed range";
    BadAddress = "SY0011", Error, "not an IPv4 address or prefix";
    HostBitsSet = "SY0012", Error, "a prefix has host bits set";
    BadName = "SY0013", Error, "a name does not follow the name grammar";
    UnknownUplink = "SY0101", Error, "reference to an unknown uplink";
    UnknownPool = "SY0102", Error, "reference to an unknown pool";
    UnknownHost = "SY0103", Error, "reference to an unknown host";
    UnknownProject = "SY0104", Error, "reference to an unknown project";
    PoolOverlap = "SY0201", Error, "two pools overlap";
    DuplicateUplinkId = "SY0202", Error, "two uplinks share an id (and so a mark)";
    DuplicateTable = "SY0203", Error, "two uplinks share a routing table, or a table is reserved";
    TooManyPools = "SY0204", Error, "more pools than the mark layout can number (255)";
    ReservedOutsidePool = "SY0205", Error, "a reserved address lies outside its pool";
    AddressOutsidePools = "SY0301", Error, "a project address lies outside every pool";
    PoolNotAllowed = "SY0302", Error, "a project uses a pool its ACL does not allow";
    AddressReserved = "SY0303", Error, "a project address is reserved in its pool";
    AddressNotUsable = "SY0304", Error, "a project address is its pool's network or broadcast address";
    AddressAllocatedTwice = "SY0305", Error, "an address is allocated to two projects (or twice to one)";
    OverQuota = "SY0306", Error, "a project holds more addresses of a pool than its quota";
    PublicNotAllocated = "SY0401", Error, "a VM's public address is not allocated to its project";
    PublicUsedTwice = "SY0402", Error, "a public address is used by two VMs";
    SamePoolTwice = "SY0403", Error, "a VM has two public addresses from one pool";
    ViaNotOwned = "SY0404", Error, "a via/default names an address the VM does not own";
    ViaPoolWithoutAddress = "SY0405", Error, "a via/default names a pool in which the VM has no address";
    UplinkNotAttached = "SY0406", Error, "a VM's host has no attachment to the uplink of one of its pools";
    ProjectViaNotPool = "SY0407", Error, "a project-wide via/default must name a pool";
    ConflictingEgress = "SY0501", Error, "the same destination twice in one scope with different vias";
    EgressOverlapsInternal = "SY0502", Error, "an egress prefix overlaps an internal network";
    DuplicatePrivateAddress = "SY0601", Error, "two VMs share a private address on one host";
    AddressOutsideNetworks = "SY0602", Error, "a VM address lies outside its project's networks";
    PrivateInsidePool = "SY0603", Error, "a private address or network lies inside a public pool";
    PrivateNotUnicast = "SY0604", Error, "a VM private address is not a usable unicast host address";
    BadInterfaceName = "SY0701", Error, "an interface name Linux would refuse";
    GatewayOutsideLink = "SY0702", Error, "a gateway outside its link";
    InterfaceUsedTwice = "SY0703", Error, "an interface is used twice on one host";
    VlanOwnParent = "SY0704", Error, "a VLAN uplink is its own parent";
    DuplicateVlanId = "SY0705", Error, "the same VLAN id twice on one parent of a host";
    UnroutableLinkPrefix = "SY0706", Error, "an uplink link's prefix length leaves no room for its routes (/0 or /32)";
    UplinkAddressNotUsable = "SY0707", Error, "a host's uplink address is its link's network or broadcast address";
    AddressIsUplinkAddress = "SY0708", Error, "a project or VM address is also a host's uplink address or gateway";
    VmsWithoutLan = "SY0709", Error, "a host with VMs has no LAN interface";
    BadParentUnit = "SY0710", Error, "a VLAN's parent_unit is not a .network file name switchyard can extend";
    ParentUnitConflict = "SY0711", Error, "a VLAN's parent_unit conflicts with another attachment on its parent";
    BadProbeTarget = "SY0712", Error, "a failover probe target is not a unicast address beyond the host";
    NoDefault = "SY0901", Warning, "a VM with public addresses has no default egress";
    UnusedAddress = "SY0902", Warning, "an allocated address no VM uses";
    ShadowedEgress = "SY0903", Warning, "an egress entry that can never win";
    ProjectEgressSkipped = "SY0904", Warning, "a project-wide preference does not apply to a VM without an address in its pool";
    NoFailoverAlternative = "SY0905", Warning, "with [failover], a VM decision whose candidates all leave by one uplink while the VM has others";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The known name closest to `name`, when it is close enough to be a likely typo:
/// the "did you mean" of unknown keys, references, hosts and VMs.
pub fn closest<'a, S: AsRef<str> + ?Sized>(
    name: &str,
    known: impl IntoIterator<Item = &'a S>,
) -> Option<&'a S> {
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(name, k.as_ref()), k))
        .filter(|(distance, k)| *distance <= (k.as_ref().len().max(name.len()) / 3).max(1))
        .min_by(|(a, x), (b, y)| (a, x.as_ref()).cmp(&(b, y.as_ref())))
        .map(|(_, k)| k)
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

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Decodes file content; input over [`crate::MAX_INPUT_BYTES`] or not UTF-8 is
    /// refused with a diagnostic before any parsing.
    pub fn from_bytes(name: String, bytes: Vec<u8>) -> Result<Source, Box<(Source, Diagnostic)>> {
        if bytes.len() > crate::MAX_INPUT_BYTES {
            let diagnostic = crate::input_too_large(bytes.len());
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
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Renders for people: miette's graphical report, without colour so snapshots and
/// logs are stable.
pub fn render_human(source: &Source, diagnostics: &[Diagnostic], width: usize) -> String {
    use miette::{
        GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource,
    };
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(width)
        .with_links(false);
    let mut out = String::new();
    // Shared, not copied per diagnostic.
    let text = Indexed::new(&source.text);
    for diagnostic in diagnostics.iter().take(MAX_RENDERED) {
        let severity = match diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        // miette copies every line it shows: a label on a huge line (a minified
        // file) is reported by position instead of drawn.
        let long_line = diagnostic
            .labels
            .iter()
            .any(|label| text.line_length(label.span.start) > MAX_DRAWN_LINE);
        if long_line {
            let (line, column) = source.line_column(diagnostic.primary_span().start);
            let mut report = MietteDiagnostic::new(format!(
                "{} (at {}:{line}:{column}, a line too long to show)",
                diagnostic.message, source.name
            ))
            .with_code(diagnostic.code.as_str())
            .with_severity(severity);
            if let Some(help) = &diagnostic.help {
                report = report.with_help(help.clone());
            }
            let _ = handler.render_report(&mut out, &report);
            out.push('\n');
            continue;
        }
        let labels = diagnostic.labels.iter().enumerate().map(|(i, label)| {
            let span = clamp(&source.text, &label.span);
            let text = Some(label.text.clone()).filter(|t| !t.is_empty());
            if i == 0 {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            }
        });
        let mut report = MietteDiagnostic::new(diagnostic.message.clone())
            .with_code(diagnostic.code.as_str())
            .with_severity(severity)
            .with_labels(labels);
        if let Some(help) = &diagnostic.help {
            report = report.with_help(help.clone());
        }
        let report = miette::Report::new(report)
            .with_source_code(NamedSource::new(source.name.clone(), text.clone()));
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, report.as_ref());
        out.push('\n');
    }
    if let Some(rest) = diagnostics.get(MAX_RENDERED..) {
        let errors = rest
            .iter()
            .filter(|d| d.severity() == Severity::Error)
            .count();
        out.push_str(&format!(
            "… and {} more not shown ({errors} errors, {} warnings); `--format json` lists every one\n",
            rest.len(),
            rest.len() - errors
        ));
    }
    out
}

/// Lines longer than this (bytes) are not drawn under a diagnostic.
const MAX_DRAWN_LINE: usize = 4096;

/// The text as miette reads it, with a line index. miette finds a span by scanning
/// from the start of the text, so on a large file with many diagnostics each read
/// is handed only the lines around its span (the drawing is the same).
#[derive(Clone)]
struct Indexed {
    text: std::sync::Arc<str>,
    /// Byte offset where each line starts.
    starts: std::sync::Arc<Vec<usize>>,
}

impl Indexed {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Indexed {
            text: text.into(),
            starts: std::sync::Arc::new(starts),
        }
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
    fn line_length(&self, offset: usize) -> usize {
        let line = self.line_of(offset.min(self.text.len()));
        self.line_end(line) - self.starts[line]
    }
}

impl miette::SourceCode for Indexed {
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
        Ok(Box::new(miette::MietteSpanContents::new(
            inner.data(),
            miette::SourceSpan::new((inner.span().offset() + start).into(), inner.span().len()),
            inner.line() + first,
            inner.column(),
            // miette counts the lines from the start of what it scanned, and
            // decides from this count which snippets to join.
            inner.line_count() + first,
        )))
    }
}

/// `render_human` draws at most this many diagnostics: miette reads the source from
/// its start for each one, so drawing every problem of a huge hostile file would
/// take hours.
pub const MAX_RENDERED: usize = 200;

/// miette needs spans on character boundaries inside the text.
fn clamp(text: &str, span: &Span) -> miette::SourceSpan {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let end = floor_char_boundary(text, span.end.clamp(start, text.len()));
    (start, end - start).into()
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: Severity,
    message: &'a str,
    file: &'a str,
    line: usize,
    column: usize,
    span: JsonSpan,
    labels: Vec<JsonLabel<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonSpan {
    start: usize,
    end: usize,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    text: &'a str,
    line: usize,
    column: usize,
    span: JsonSpan,
}

/// Renders for tools: a JSON array, one object per diagnostic.
pub fn render_json(source: &Source, diagnostics: &[Diagnostic]) -> String {
    let positions = Positions::new(
        &source.text,
        diagnostics
            .iter()
            .flat_map(|d| d.labels.iter().map(|l| l.span.start)),
    );
    let items: Vec<JsonDiagnostic> = diagnostics
        .iter()
        .map(|d| {
            let span = d.primary_span();
            let (line, column) = positions.get(span.start);
            JsonDiagnostic {
                code: d.code.as_str(),
                severity: d.severity(),
                message: &d.message,
                file: &source.name,
                line,
                column,
                span: JsonSpan {
                    start: span.start,
                    end: span.end,
                },
                labels: d
                    .labels
                    .iter()
                    .map(|label| {
                        let (line, column) = positions.get(label.span.start);
                        JsonLabel {
                            text: &label.text,
                            line,
                            column,
                            span: JsonSpan {
                                start: label.span.start,
                                end: label.span.end,
                            },
                        }
                    })
                    .collect(),
                help: d.help.as_deref(),
            }
        })
        .collect();
    let mut json = serde_json::to_string_pretty(&items).expect("diagnostics serialize");
    json.push('\n');
    json
}

/// Line and column ([`Source::line_column`]) of many offsets, found in one pass over
/// the text: one `line_column` call per diagnostic is quadratic on a huge file with
/// a problem on every line.
struct Positions(std::collections::HashMap<usize, (usize, usize)>);

impl Positions {
    fn new(text: &str, offsets: impl Iterator<Item = usize>) -> Self {
        let mut offsets: Vec<usize> = offsets.collect();
        offsets.sort_unstable();
        offsets.dedup();
        let mut found = std::collections::HashMap::with_capacity(offsets.len());
        let (mut line, mut column) = (1, 1);
        let mut chars = text.char_indices().peekable();
        for offset in offsets {
            let end = floor_char_boundary(text, offset.min(text.len()));
            while let Some(&(i, c)) = chars.peek() {
                if i >= end {
                    break;
                }
                if c == '\n' {
                    (line, column) = (line + 1, 1);
                } else {
                    column += 1;
                }
                chars.next();
            }
            found.insert(offset, (line, column));
        }
        Positions(found)
    }

    fn get(&self, offset: usize) -> (usize, usize) {
        self.0[&offset]
    }
}
