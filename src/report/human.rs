//! Human-readable reports: miette's graphical renderer.
//!
//! Each diagnostic is adapted through [`Report`] and drawn by
//! [`GraphicalReportHandler`] with a fixed width and theme, so the output does
//! not depend on the environment (miette's own defaults look at the terminal
//! and `NO_COLOR`; deciding those is the caller's job). Tests should use
//! [`render_plain`], which is stable: Unicode, no colour, 80 columns.
//!
//! The `[file:line:column]` in each report's header is the primary label's
//! start as the JSON and GitHub reports give it (columns in characters);
//! miette on its own would count the column in bytes.

use std::fmt;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use crate::diag::{Diagnostic, Report};
use crate::source::{LineIndex, SourceFile};

/// How to draw reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanOptions {
    /// Use ANSI colours and styles.
    pub color: bool,
    /// Wrap text at this many columns.
    pub width: usize,
    /// Draw boxes and arrows with Unicode characters rather than ASCII.
    pub unicode: bool,
}

impl HumanOptions {
    /// Unicode, no colour, 80 columns: the output of [`render_plain`].
    pub const PLAIN: HumanOptions = HumanOptions {
        color: false,
        width: 80,
        unicode: true,
    };

    fn theme(self) -> GraphicalTheme {
        match (self.unicode, self.color) {
            (true, true) => GraphicalTheme::unicode(),
            (true, false) => GraphicalTheme::unicode_nocolor(),
            (false, true) => GraphicalTheme::ascii(),
            (false, false) => GraphicalTheme::none(),
        }
    }

    fn handler(self) -> GraphicalReportHandler {
        GraphicalReportHandler::new_themed(self.theme())
            .with_width(self.width.max(20))
            .with_links(false)
            .without_syntax_highlighting()
    }
}

impl Default for HumanOptions {
    fn default() -> HumanOptions {
        HumanOptions::PLAIN
    }
}

/// Draws `diagnostics` of `file`, one report after another, separated by a
/// blank line. Returns `""` when there are none.
pub fn render(diagnostics: &[Diagnostic], file: &SourceFile, options: HumanOptions) -> String {
    let handler = options.handler();
    let mut out = String::new();
    for (i, diagnostic) in diagnostics.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&render_one(&handler, diagnostic, file));
    }
    out
}

/// [`render`] with [`HumanOptions::PLAIN`]: Unicode, no colour, 80 columns.
/// Meant for snapshot tests.
pub fn render_plain(diagnostics: &[Diagnostic], file: &SourceFile) -> String {
    render(diagnostics, file, HumanOptions::PLAIN)
}

/// A [`Report`] whose source gives miette character columns.
struct Adapted<'a> {
    report: Report<'a>,
    source: &'a CharColumns,
}

impl fmt::Debug for Adapted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.report, f)
    }
}

impl fmt::Display for Adapted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.report, f)
    }
}

impl std::error::Error for Adapted<'_> {}

impl miette::Diagnostic for Adapted<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.report.code()
    }

    fn severity(&self) -> Option<miette::Severity> {
        self.report.severity()
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.report.help()
    }

    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.report.url()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.report.labels()
    }
}

/// The file's text for miette. miette asks for a span with no context lines
/// only to print the header's `line:column`; those are answered from
/// [`LineIndex`], so they match the other report formats.
struct CharColumns {
    name: String,
    text: Arc<str>,
    index: LineIndex,
}

impl CharColumns {
    fn new(file: &SourceFile) -> CharColumns {
        CharColumns {
            name: file.name().to_owned(),
            text: file.shared_text(),
            index: LineIndex::new(file.text()),
        }
    }
}

impl SourceCode for CharColumns {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        let (mut line, mut column) = (inner.line(), inner.column());
        if context_lines_before == 0 && context_lines_after == 0 {
            let offset = u32::try_from(span.offset()).unwrap_or(u32::MAX);
            let at = self.index.line_col(&self.text, offset);
            line = at.line.saturating_sub(1) as usize;
            column = at.column.saturating_sub(1) as usize;
        }
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            line,
            column,
            inner.line_count(),
        )))
    }
}

fn render_one(
    handler: &GraphicalReportHandler,
    diagnostic: &Diagnostic,
    file: &SourceFile,
) -> String {
    let mut out = String::new();
    let source = CharColumns::new(file);
    let adapted = Adapted {
        report: Report::new(diagnostic, file),
        source: &source,
    };
    if handler.render_report(&mut out, &adapted).is_ok() {
        return out;
    }
    // miette refuses labels it cannot place (a span past the end of the text
    // would be a bug, but the report must still say something).
    let mut out = format!(
        "{}[{}]: {}\n  --> {}\n",
        diagnostic.severity.as_str(),
        diagnostic.code,
        diagnostic.message,
        file.name()
    );
    if let Some(help) = &diagnostic.help {
        out.push_str("  help: ");
        out.push_str(help);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;
    use crate::source::Span;

    #[test]
    fn plain_has_no_escape_codes_and_names_the_file() {
        let file = SourceFile::new("a.kflow", "workflow \"x\"\nbogus\n").expect("small");
        let diagnostics = vec![
            Diagnostic::new(
                Code::SyntaxUnexpected,
                "unexpected `bogus`",
                Span::new(13, 18),
                "here",
            )
            .with_help("remove it"),
        ];
        let out = render_plain(&diagnostics, &file);
        assert!(!out.contains('\u{1b}'), "{out}");
        assert!(out.contains("kflow::syntax::unexpected"), "{out}");
        assert!(out.contains("[a.kflow:2:1]"), "{out}");
        assert!(out.contains("remove it"), "{out}");
    }

    #[test]
    fn colour_uses_escape_codes() {
        let file = SourceFile::new("a.kflow", "bogus").expect("small");
        let diagnostics = vec![Diagnostic::new(
            Code::SyntaxUnexpected,
            "unexpected",
            Span::new(0, 5),
            "here",
        )];
        let options = HumanOptions {
            color: true,
            ..HumanOptions::PLAIN
        };
        assert!(render(&diagnostics, &file, options).contains('\u{1b}'));
    }

    #[test]
    fn out_of_range_span_still_reports() {
        let file = SourceFile::new("a.kflow", "x").expect("small");
        let diagnostics = vec![Diagnostic::new(
            Code::Internal,
            "limit",
            Span::new(50, 60),
            "here",
        )];
        let out = render_plain(&diagnostics, &file);
        assert!(out.contains("limit"), "{out}");
        assert!(out.contains("kflow::internal"), "{out}");
    }
}
