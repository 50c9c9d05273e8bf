//! The rendering for tools: a versioned JSON object listing every diagnostic. Its
//! schema (`schema/check-output.schema.json`) is generated from these types.

use schemars::JsonSchema;
use serde::Serialize;

use super::positions::Positions;
use super::{Diagnostic, Severity, Source};

/// Bumped when a key changes meaning or goes away; new keys keep the version.
const CHECK_OUTPUT_VERSION: u32 = 1;

/// What `check --format json` prints.
#[derive(Serialize, JsonSchema)]
pub struct CheckOutput<'a> {
    /// The version of this format (1).
    #[schemars(extend("const" = 1))]
    version: u32,
    /// Every diagnostic, sorted by position.
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// One problem in the topology.
#[derive(Serialize, JsonSchema)]
struct JsonDiagnostic<'a> {
    /// The stable code, e.g. `SY0101` (`switchyard explain CODE` describes it).
    #[schemars(pattern(r"^SY[0-9]{4}$"))]
    code: &'static str,
    severity: Severity,
    message: &'a str,
    /// The topology as it was named on the command line (`<stdin>` for `-`).
    file: &'a str,
    /// 1-based line of the primary location.
    line: usize,
    /// 1-based column of the primary location, in characters (not bytes).
    column: usize,
    /// The primary location as byte offsets into the file.
    span: JsonSpan,
    /// Every location, the primary one first, with the text shown under it.
    labels: Vec<JsonLabel<'a>>,
    /// What to do about it, when switchyard can say.
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
}

/// Byte offsets into the file, `end` exclusive.
#[derive(Serialize, JsonSchema)]
struct JsonSpan {
    start: usize,
    end: usize,
}

/// A location with a short text.
#[derive(Serialize, JsonSchema)]
struct JsonLabel<'a> {
    text: &'a str,
    /// 1-based line.
    line: usize,
    /// 1-based column, in characters.
    column: usize,
    span: JsonSpan,
}

/// Renders for tools: a [`CheckOutput`], one object per diagnostic.
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
    let output = CheckOutput {
        version: CHECK_OUTPUT_VERSION,
        diagnostics: items,
    };
    let mut json = serde_json::to_string_pretty(&output).expect("diagnostics serialize");
    json.push('\n');
    json
}
