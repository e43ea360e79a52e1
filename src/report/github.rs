//! GitHub Actions workflow commands, one line per diagnostic.
//!
//! ```text
//! ::error file=flows/a.kflow,line=3,col=5,endLine=3,endColumn=10,title=kflow::syntax::unexpected::unexpected `bogus` — help: ...
//! ```
//!
//! Errors become `::error`, warnings `::warning`. The position is the primary
//! label's: `line`/`col` where it starts and `endLine`/`endColumn` just after
//! its last character (1-based, columns in characters, the same positions as
//! the JSON report). A diagnostic without labels gets only `file` and `title`.
//! The message is followed by ` — help: ` and the help line when there is one.
//!
//! Values are escaped as the Actions runner expects: in the message `%`, `\r`
//! and `\n` become `%25`, `%0D` and `%0A`; in properties `:` and `,` also
//! become `%3A` and `%2C`.

use std::fmt::Write as _;

use super::{FileReport, Locator};
use crate::diag::{Diagnostic, Severity};

/// Escapes a workflow command's message (the part after `::`).
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a workflow command's property value (such as `file=`).
pub fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

/// The workflow commands for one file's diagnostics, each line ending in `\n`.
pub fn render_file(report: &FileReport<'_>) -> String {
    let mut out = String::new();
    if report.diagnostics.is_empty() {
        return out;
    }
    let locator = Locator::new(report.file);
    let path = escape_property(report.file.name());
    for d in report.diagnostics {
        push_command(&mut out, &path, &locator, d);
    }
    out
}

/// The workflow commands for a whole run.
pub fn render(files: &[FileReport<'_>]) -> String {
    files.iter().map(render_file).collect()
}

fn push_command(out: &mut String, path: &str, locator: &Locator<'_>, d: &Diagnostic) {
    let command = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    // Writing into a String cannot fail.
    let _ = write!(out, "::{command} file={path}");
    if let Some(label) = d.labels.first() {
        let (start, end) = locator.span(label.span);
        let _ = write!(
            out,
            ",line={},col={},endLine={},endColumn={}",
            start.line, start.column, end.line, end.column
        );
    }
    let _ = write!(out, ",title={}::", escape_property(d.code.as_str()));
    out.push_str(&escape_data(&d.message));
    if let Some(help) = &d.help {
        out.push_str(" — help: ");
        out.push_str(&escape_data(help));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;
    use crate::source::{SourceFile, Span};

    #[test]
    fn escapes() {
        assert_eq!(escape_data("50% a:b,c\r\nd"), "50%25 a:b,c%0D%0Ad");
        assert_eq!(escape_property("50% a:b,c\r\nd"), "50%25 a%3Ab%2Cc%0D%0Ad");
    }

    #[test]
    fn one_line_per_diagnostic() {
        let file = SourceFile::new("dir,x/a.kflow", "workflow \"x\"\nbogus").expect("small");
        let diagnostics = vec![
            Diagnostic::new(
                Code::WorkflowNoTrigger,
                "no trigger: 100%",
                Span::new(0, 8),
                "",
            ),
            Diagnostic::new(
                Code::SyntaxUnexpected,
                "unexpected\nthing",
                Span::new(13, 18),
                "here",
            )
            .with_help("write `on reply`"),
        ];
        let out = render(&[FileReport::new(&file, &diagnostics)]);
        assert_eq!(
            out,
            "::warning file=dir%2Cx/a.kflow,line=1,col=1,endLine=1,endColumn=9,\
             title=kflow%3A%3Aworkflow%3A%3Ano_trigger::no trigger: 100%25\n\
             ::error file=dir%2Cx/a.kflow,line=2,col=1,endLine=2,endColumn=6,\
             title=kflow%3A%3Asyntax%3A%3Aunexpected::unexpected%0Athing — help: write `on reply`\n"
        );
    }

    #[test]
    fn no_labels_no_position() {
        let file = SourceFile::new("a.kflow", "").expect("small");
        let mut d = Diagnostic::new(Code::Internal, "limit", Span::new(0, 0), "");
        d.labels.clear();
        let out = render(&[FileReport::new(&file, &[d])]);
        assert_eq!(
            out,
            "::error file=a.kflow,title=kflow%3A%3Ainternal::limit\n"
        );
    }
}
