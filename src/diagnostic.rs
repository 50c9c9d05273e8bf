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
    BadInterfaceName = "SY0701", Error, "an interface name Linux would refuse";
    GatewayOutsideLink = "SY0702", Error, "a gateway outside its link";
    InterfaceUsedTwice = "SY0703", Error, "an interface is used twice on one host";
    NoDefault = "SY0901", Warning, "a VM with public addresses has no default egress";
    UnusedAddress = "SY0902", Warning, "an allocated address no VM uses";
    ShadowedEgress = "SY0903", Warning, "an egress entry that can never win";
    ProjectEgressSkipped = "SY0904", Warning, "a project-wide preference does not apply to a VM without an address in its pool";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    for diagnostic in diagnostics {
        let severity = match diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
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
            .with_source_code(NamedSource::new(source.name.clone(), source.text.clone()));
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, report.as_ref());
        out.push('\n');
    }
    out
}

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
    let items: Vec<JsonDiagnostic> = diagnostics
        .iter()
        .map(|d| {
            let span = d.primary_span();
            let (line, column) = source.line_column(span.start);
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
                        let (line, column) = source.line_column(label.span.start);
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
