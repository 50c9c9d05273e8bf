//! The rendering for people: miette's graphical report of each diagnostic.

use super::positions::Positions;
use super::shown::{Shown, escape_controls};
use super::{Diagnostic, Severity, Source, summary};

/// Renders for people: miette's graphical report, without colour so snapshots and
/// logs are stable. Control characters of the file, its name and the messages are
/// shown escaped ([`escape_controls`]).
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
        .with_links(false);
    let mut out = String::new();
    let name = escape_controls(&source.name, |_, _| {}).into_owned();
    // Shared, not copied per diagnostic.
    let text = Shown::new(&source.text);
    // Where each drawn diagnostic is, found in one pass (a diagnostic on a line too
    // long to draw is reported by position).
    let positions = Positions::new(
        &source.text,
        diagnostics
            .iter()
            .take(MAX_RENDERED)
            .map(|d| d.primary_span().start),
    );
    for diagnostic in diagnostics.iter().take(MAX_RENDERED) {
        let severity = match diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        let message = escape_controls(&diagnostic.message, |_, _| {});
        let help = diagnostic
            .help
            .as_deref()
            .map(|help| escape_controls(help, |_, _| {}).into_owned());
        // miette copies every line it shows: a label on a huge line (a minified
        // file) is reported by position instead of drawn.
        let long_line = diagnostic
            .labels
            .iter()
            .any(|label| text.line_length(text.shown_offset(label.span.start)) > MAX_DRAWN_LINE);
        let mut report = MietteDiagnostic::new(MIETTE_MESSAGE).with_severity(severity);
        if let Some(help) = help {
            report = report.with_help(help);
        }
        if long_line {
            let (line, column) = positions.get(diagnostic.primary_span().start);
            push_header(
                &mut out,
                diagnostic,
                &format!("{message} (at {name}:{line}:{column}, a line too long to show)"),
            );
            push_body(&mut out, &handler, &report);
            continue;
        }
        let labels = diagnostic.labels.iter().enumerate().map(|(i, label)| {
            let span = text.shown_span(&source.text, &label.span);
            let label_text = Some(escape_controls(&label.text, |_, _| {}).into_owned())
                .filter(|t| !t.is_empty());
            if i == 0 {
                LabeledSpan::new_primary_with_span(label_text, span)
            } else {
                LabeledSpan::new_with_span(label_text, span)
            }
        });
        let report = miette::Report::new(report.with_labels(labels))
            .with_source_code(NamedSource::new(name.clone(), text.clone()));
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

/// Lines longer than this (bytes) are not drawn under a diagnostic.
const MAX_DRAWN_LINE: usize = 4096;
