//! The rendering for people: miette's graphical report of each diagnostic.

use super::positions::Positions;
use super::shown::{Shown, escape_controls};
use super::{Diagnostic, Severity, Source};

/// Renders for people: miette's graphical report, without colour so snapshots and
/// logs are stable. Control characters of the file, its name and the messages are
/// shown escaped ([`escape_controls`]).
pub fn render_human(source: &Source, diagnostics: &[Diagnostic], width: usize) -> String {
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
        if long_line {
            let (line, column) = positions.get(diagnostic.primary_span().start);
            let mut report = MietteDiagnostic::new(format!(
                "{message} (at {name}:{line}:{column}, a line too long to show)"
            ))
            .with_code(diagnostic.code.as_str())
            .with_severity(severity);
            if let Some(help) = help {
                report = report.with_help(help);
            }
            let _ = handler.render_report(&mut out, &report);
            out.push('\n');
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
        let mut report = MietteDiagnostic::new(message)
            .with_code(diagnostic.code.as_str())
            .with_severity(severity)
            .with_labels(labels);
        if let Some(help) = help {
            report = report.with_help(help);
        }
        let report = miette::Report::new(report)
            .with_source_code(NamedSource::new(name.clone(), text.clone()));
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

/// `render_human` draws at most this many diagnostics: miette reads the source from
/// its start for each one, so drawing every problem of a huge hostile file would
/// take hours.
pub const MAX_RENDERED: usize = 200;

/// Lines longer than this (bytes) are not drawn under a diagnostic.
const MAX_DRAWN_LINE: usize = 4096;
