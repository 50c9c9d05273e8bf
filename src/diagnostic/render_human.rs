//! The rendering for people: miette's graphical report of each diagnostic.

use super::excerpt::Excerpt;
use super::shown::{Shown, escape_controls};
use super::{Diagnostic, Severity, Source, Span, summary};

/// Renders for people: miette's graphical report, without colour so snapshots and
/// logs are stable. Control characters of the file, its name and the messages are
/// shown escaped ([`escape_controls`]); each diagnostic shows only the lines
/// around its labels, long ones clipped ([`Excerpt`]).
pub fn render_human(source: &Source, diagnostics: &[Diagnostic], width: usize) -> String {
    if diagnostics.is_empty() {
        // Nothing to draw: indexing a 17 MB file for it would cost 20 ms.
        return String::new();
    }
    use miette::{
        GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource,
    };
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(width)
        .with_context_lines(CONTEXT_LINES)
        .with_links(false);
    let mut out = String::new();
    let name = escape_controls(&source.name, |_, _| {}).into_owned();
    // Made once, shared by every diagnostic drawn.
    let text = Shown::new(&source.text);
    for diagnostic in diagnostics.iter().take(MAX_RENDERED) {
        let severity = match diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        let message = escape_controls(&diagnostic.message, |_, _| {});
        let mut report = MietteDiagnostic::new(MIETTE_MESSAGE).with_severity(severity);
        if let Some(help) = &diagnostic.help {
            report = report.with_help(escape_controls(help, |_, _| {}));
        }
        let spans: Vec<&Span> = diagnostic.labels.iter().map(|label| &label.span).collect();
        let (excerpt, spans) = Excerpt::new(&text, &source.text, &spans, CONTEXT_LINES);
        let labels = diagnostic
            .labels
            .iter()
            .zip(spans)
            .enumerate()
            .map(|(i, (label, span))| {
                let label_text = Some(escape_controls(&label.text, |_, _| {}).into_owned())
                    .filter(|t| !t.is_empty());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(label_text, span)
                } else {
                    LabeledSpan::new_with_span(label_text, span)
                }
            });
        let report = miette::Report::new(report.with_labels(labels))
            .with_source_code(NamedSource::new(name.clone(), excerpt));
        push_header(&mut out, diagnostic, &message);
        push_body(&mut out, &handler, report.as_ref());
    }
    if let Some(rest) = diagnostics.get(MAX_RENDERED..) {
        out.push_str(&format!(
            "… and {} more not shown ({}); `--format json` lists every one\n",
            rest.len(),
            summary(rest)
        ));
    }
    if !diagnostics.is_empty() {
        out.push_str(&summary(diagnostics));
        out.push('\n');
    }
    out
}

/// `error[SY0101]: message`, the line CI logs and people grep for.
fn push_header(out: &mut String, diagnostic: &Diagnostic, message: &str) {
    out.push_str(&format!(
        "{}[{}]: {message}\n",
        diagnostic.severity(),
        diagnostic.code
    ));
}

/// What miette draws under the header: the snippet with its labels, and the help.
/// miette would start with its own headline (the message behind a severity icon);
/// [`push_header`] replaces it, so it is given [`MIETTE_MESSAGE`] and that line is
/// dropped.
fn push_body(
    out: &mut String,
    handler: &miette::GraphicalReportHandler,
    report: &dyn miette::Diagnostic,
) {
    let mut drawn = String::new();
    // Writing into a String cannot fail.
    let _ = handler.render_report(&mut drawn, report);
    let body = drawn.split_once('\n').map_or("", |(_, body)| body);
    out.push_str(body);
    out.push('\n');
}

/// Short enough that miette never wraps it: its headline stays one line.
const MIETTE_MESSAGE: &str = "-";

/// `render_human` draws at most this many diagnostics: miette reads the source from
/// its start for each one, so drawing every problem of a huge hostile file would
/// take hours.
pub const MAX_RENDERED: usize = 200;

/// Lines shown above and below each label.
const CONTEXT_LINES: usize = 1;
