//! The rendering for GitHub Actions: one workflow command per diagnostic
//! (`::error file=…,line=…,col=…,title=SY0101::message`), which the runner shows
//! as an annotation on the offending line of the pull request.

use super::positions::Positions;
use super::{Diagnostic, Source};

/// One `::error` or `::warning` line per diagnostic; the help, when there is one,
/// follows the message on a line of its own.
pub fn render_github(source: &Source, diagnostics: &[Diagnostic]) -> String {
    let positions = Positions::new(
        &source.text,
        diagnostics
            .iter()
            .flat_map(|d| [d.primary_span().start, d.primary_span().end]),
    );
    let file = escape_property(&source.name);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let span = diagnostic.primary_span();
        let (line, column) = positions.get(span.start);
        let (end_line, end_column) = positions.get(span.end);
        let mut message = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        out.push_str(&format!(
            "::{} file={file},line={line},col={column},endLine={end_line},endColumn={end_column},title={}::{}\n",
            diagnostic.severity(),
            escape_property(diagnostic.code.as_str()),
            escape_data(&message),
        ));
    }
    out
}

/// A command's message: `%`, CR and LF would end or corrupt the command.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value (`file=…`): additionally `:` and `,`, which separate
/// properties and end the property list.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_actions_toolkit() {
        assert_eq!(escape_data("50% a:b,c\r\nd"), "50%25 a:b,c%0D%0Ad");
        assert_eq!(escape_property("C:\\a,b%\n"), "C%3A\\a%2Cb%25%0A");
    }
}
