//! The rendering for tools: one JSON object per diagnostic.

use serde::Serialize;

use super::positions::Positions;
use super::{Diagnostic, Severity, Source};

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
