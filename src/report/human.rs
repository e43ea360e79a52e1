//! Human-readable reports: miette's graphical renderer.
//!
//! Each diagnostic is adapted through [`Report`] and drawn by
//! [`GraphicalReportHandler`] with a fixed width and theme, so the output does
//! not depend on the environment (miette's own defaults look at the terminal
//! and `NO_COLOR`; deciding those is the caller's job). Tests should use
//! [`render_plain`], which is stable: Unicode, no colour, 80 columns.
//!
//! Three things are adjusted on the way to miette:
//!
//! - The `[file:line:column]` in each report's header is the primary label's
//!   start as the JSON and GitHub reports give it (columns in characters);
//!   miette on its own counts that column in bytes.
//! - Control characters (other than tab and line ends), bidirectional
//!   overrides and invisible zero-width characters (a byte-order mark, for
//!   one) in the source and in messages are shown as visible symbols
//!   (`␛`, `�`), so a file cannot send escape sequences to the terminal or
//!   reorder what is displayed. Labels are moved to match.
//! - A label on a line longer than [`MAX_SNIPPET_LINE`] bytes is not drawn
//!   under its line (miette would print the whole line in every report, and
//!   panics past 65 535 columns); the report names the position instead.
//!
//! Reports of the common shape (no colour, each label inside one line, no
//! tab or carriage return in the lines shown) are drawn by the `direct`
//! module, byte for byte as miette would, at a fraction of its cost;
//! everything else goes to miette.
//!
//! miette reads the lines around a label through [`SourceCode::read_span`],
//! and the implementation it has for text counts lines from the file's first
//! byte each time: drawing every diagnostic of a large file would cost
//! (diagnostics x file size). `Shown` hands miette only the lines it will
//! show, found with a line index, and moves the offsets and line numbers it
//! answers back to the whole file's, so each report costs what its lines do.

use std::borrow::Cow;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use crate::diag::{Diagnostic, Report};
use crate::source::{LineIndex, SourceFile, Span};

/// The longest line, in bytes, drawn with labels under it.
pub const MAX_SNIPPET_LINE: usize = 8 * 1024;

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
            .with_word_separator(textwrap::WordSeparator::AsciiSpace)
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
    let renderer = Renderer::new(file, options);
    let mut out = String::new();
    renderer.render_all(diagnostics, &mut out);
    out
}

/// [`render`] with [`HumanOptions::PLAIN`]: Unicode, no colour, 80 columns.
/// Meant for snapshot tests.
pub fn render_plain(diagnostics: &[Diagnostic], file: &SourceFile) -> String {
    render(diagnostics, file, HumanOptions::PLAIN)
}

/// Draws the diagnostics of one file one at a time, so a caller can write
/// each report as soon as it is drawn ([`render`] joins them in memory).
pub struct Renderer<'a> {
    file: &'a SourceFile,
    options: HumanOptions,
    /// What [`direct`] draws with, made once.
    style: direct::Style,
    handler: GraphicalReportHandler,
    source: Shown,
}

impl<'a> Renderer<'a> {
    /// A renderer for diagnostics of `file`.
    pub fn new(file: &'a SourceFile, options: HumanOptions) -> Renderer<'a> {
        Renderer {
            file,
            options,
            style: direct::Style::new(options),
            handler: options.handler(),
            source: Shown::new(file),
        }
    }

    /// One diagnostic's report, ending in a newline.
    pub fn render(&self, diagnostic: &Diagnostic) -> String {
        let mut out = String::new();
        self.render_into(diagnostic, &mut out);
        out
    }

    /// [`render`](Self::render), appended to `out`.
    pub fn render_into(&self, diagnostic: &Diagnostic, out: &mut String) {
        if !self.direct(diagnostic, out) {
            out.push_str(&self.draw(diagnostic, &self.source));
        }
    }

    /// The reports of `diagnostics`, each after a blank line but the first,
    /// appended to `out`.
    pub fn render_all(&self, diagnostics: &[Diagnostic], out: &mut String) {
        for (i, diagnostic) in diagnostics.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            self.render_into(diagnostic, out);
        }
    }

    /// Appends the report of a diagnostic of the common shape, drawn
    /// without miette ([`direct`]), to `out`; false (and nothing appended)
    /// when miette must draw it.
    fn direct(&self, diagnostic: &Diagnostic, out: &mut String) -> bool {
        if self.options.color || diagnostic.labels.is_empty() {
            return false;
        }
        let mut spans = Vec::with_capacity(diagnostic.labels.len());
        for label in &diagnostic.labels {
            let span = self.source.map_span(label.span);
            if !self.source.drawable(span) {
                return false;
            }
            spans.push(span);
        }
        let texts: Vec<Cow<'_, str>> = diagnostic.labels.iter().map(|l| clean(&l.text)).collect();
        let labels: Vec<(Span, &str)> = spans.into_iter().zip(texts.iter().map(|t| &**t)).collect();
        direct::draw(
            &self.style,
            &self.source,
            diagnostic,
            &labels,
            &clean(&diagnostic.message),
            diagnostic.help.as_deref().map(clean).as_deref(),
            out,
        )
    }

    /// [`render`](Self::render) with miette reading the lines it shows from
    /// `source` (the tests compare [`Shown`]'s windows with the whole text).
    fn draw(&self, diagnostic: &Diagnostic, source: &dyn SourceCode) -> String {
        let labels: Vec<Span> = diagnostic
            .labels
            .iter()
            .map(|l| self.source.map_span(l.span))
            .collect();
        let drawable = labels.iter().all(|&span| self.source.drawable(span));
        let mut handler = Cow::Borrowed(&self.handler);
        if !drawable && let Some(&primary) = labels.first() {
            // Name the position in a footer instead of drawing the line.
            let at = self.source.line_col(primary.start);
            let mut footer = format!("at {}:{}:{}", self.source.name, at.line, at.column);
            if let Some(text) = diagnostic.labels.first().map(|l| l.text.as_str())
                && !text.is_empty()
            {
                footer.push_str(": ");
                footer.push_str(&clean(text));
            }
            footer.push_str(" (line too long to show)");
            handler = Cow::Owned(self.handler.clone().with_footer(footer));
        }
        let adapted = Adapted {
            report: Report::new(diagnostic, self.file),
            diagnostic,
            labels: if drawable { labels } else { Vec::new() },
            source,
        };
        let mut out = String::new();
        let drawn = catch_unwind(AssertUnwindSafe(|| {
            handler.render_report(&mut out, &adapted)
        }));
        if matches!(drawn, Ok(Ok(()))) {
            return out;
        }
        self.fallback(diagnostic)
    }

    /// A plain report for when miette refuses (a label out of range would be
    /// a bug, but the report must still say something).
    fn fallback(&self, diagnostic: &Diagnostic) -> String {
        let mut out = format!(
            "{}[{}]: {}\n",
            diagnostic.severity.as_str(),
            diagnostic.code,
            clean(&diagnostic.message)
        );
        for label in &diagnostic.labels {
            let at = self.source.line_col(self.source.map_span(label.span).start);
            out.push_str(&format!(
                "  --> {}:{}:{}",
                self.source.name, at.line, at.column
            ));
            if !label.text.is_empty() {
                out.push_str(": ");
                out.push_str(&clean(&label.text));
            }
            out.push('\n');
        }
        if let Some(help) = &diagnostic.help {
            out.push_str("  help: ");
            out.push_str(&clean(help));
            out.push('\n');
        }
        out
    }
}

/// A character that must not reach the terminal as it is, and what to show.
fn replacement(c: char, next: Option<char>) -> Option<char> {
    match c {
        '\t' | '\n' => None,
        '\r' if next == Some('\n') => None,
        // U+2400..U+241F: the control pictures ␀ to ␟.
        '\0'..='\u{1f}' => char::from_u32(0x2400 + c as u32),
        '\u{7f}' => Some('\u{2421}'),
        '\u{80}'..='\u{9f}'
        | '\u{200b}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}' => Some('\u{fffd}'),
        _ => None,
    }
}

/// The next character of `text` from byte `from` on that [`replacement`]
/// replaces: its offset, the character and what to show instead.
///
/// Only a few bytes can start such a character: a control byte (but the
/// line end and tab, which are shown as they are), DEL, and
/// the lead bytes of the C1 controls (`C2`), of the zero-width and
/// bidirectional marks (`E2`) and of the byte-order mark (`EF`). The scan
/// jumps from one of those to the next, so text in any script costs what
/// ASCII does, and only those candidates are decoded.
fn next_replaced(text: &str, from: usize) -> Option<(usize, char, char)> {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(p) = find_candidate(bytes.get(i..).unwrap_or_default()) {
        let at = i + p;
        let mut chars = text.get(at..).unwrap_or_default().chars();
        let c = chars.next()?;
        if let Some(r) = replacement(c, chars.next()) {
            return Some((at, c, r));
        }
        i = at + c.len_utf8();
    }
    None
}

/// Whether a byte may start a character [`replacement`] replaces.
fn candidate(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f || b == 0xc2 || b == 0xe2 || b == 0xef
}

/// The first [`candidate`] byte. Blocks of 64 bytes are tested whole first
/// (a test the compiler turns into vector instructions), since nearly all
/// have none: the whole file is scanned when a renderer is made.
fn find_candidate(bytes: &[u8]) -> Option<usize> {
    let mut base = 0;
    for block in bytes.chunks(64) {
        if block.iter().fold(false, |any, &b| any | candidate(b)) {
            return block.iter().position(|&b| candidate(b)).map(|p| base + p);
        }
        base += block.len();
    }
    None
}

/// `text` with [`replacement`]s applied.
fn clean(text: &str) -> Cow<'_, str> {
    let Some(first) = next_replaced(text, 0) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut copied = 0;
    let mut next = Some(first);
    while let Some((at, c, r)) = next {
        out.push_str(&text[copied..at]);
        out.push(r);
        copied = at + c.len_utf8();
        next = next_replaced(text, copied);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The text miette draws: the file with [`replacement`]s applied, and how to
/// move offsets of the file into it. Each replaced character is one
/// character, so lines and character columns are the same in both.
struct Shown {
    /// The file name, cleaned like the text.
    name: String,
    text: Arc<str>,
    /// Lines of `text`: columns for headers, and the lines around a span
    /// without scanning.
    index: LineIndex,
    /// For each replaced character: its offset in the file, its length in
    /// the file, and the total growth of the text up to and including it.
    moves: Vec<(u32, u32, i64)>,
}

impl Shown {
    fn new(file: &SourceFile) -> Shown {
        let original = file.text();
        let (text, moves) = match clean(original) {
            Cow::Borrowed(_) => (file.shared_text(), Vec::new()),
            Cow::Owned(cleaned) => {
                let mut moves = Vec::new();
                let mut growth = 0i64;
                let mut next = next_replaced(original, 0);
                while let Some((at, c, r)) = next {
                    growth += r.len_utf8() as i64 - c.len_utf8() as i64;
                    moves.push((at as u32, c.len_utf8() as u32, growth));
                    next = next_replaced(original, at + c.len_utf8());
                }
                (Arc::from(cleaned), moves)
            }
        };
        Shown {
            name: clean(file.name()).into_owned(),
            index: LineIndex::new(&text),
            text,
            moves,
        }
    }

    /// Where a file offset is in the shown text.
    fn map(&self, offset: u32) -> u32 {
        // Replaced characters that start before `offset`.
        let before = self.moves.partition_point(|&(at, _, _)| at < offset);
        let Some(&(at, len, growth)) = before.checked_sub(1).and_then(|i| self.moves.get(i)) else {
            return offset;
        };
        let shifted = if offset >= at + len {
            i64::from(offset) + growth
        } else {
            // Inside a replaced character: where that character starts.
            let growth_before = before
                .checked_sub(2)
                .and_then(|i| self.moves.get(i))
                .map_or(0, |m| m.2);
            i64::from(at) + growth_before
        };
        u32::try_from(shifted.max(0)).unwrap_or(u32::MAX)
    }

    fn map_span(&self, span: Span) -> Span {
        if self.moves.is_empty() {
            return span;
        }
        Span::new(self.map(span.start), self.map(span.end))
    }

    fn line_col(&self, offset: u32) -> crate::source::LineCol {
        self.index.line_col(&self.text, offset)
    }

    /// The 0-based line an offset of the shown text is on (an offset past the
    /// end is on the last line).
    fn line_of(&self, offset: usize) -> usize {
        self.index
            .line_of(u32::try_from(offset).unwrap_or(u32::MAX))
    }

    /// Where a 0-based line starts, or the text's end for a line past the last.
    fn line_start(&self, line: usize) -> usize {
        self.index
            .line_start(line)
            .map_or(self.text.len(), |s| s as usize)
    }

    /// True when the lines a span (of the shown text) starts and ends on are
    /// short enough to draw.
    fn drawable(&self, span: Span) -> bool {
        let short = |offset: u32| {
            let line = self.line_of(offset as usize);
            let start = self.line_start(line);
            // The line's end, before its `\n`.
            let end = self
                .index
                .line_start(line + 1)
                .map_or(self.text.len(), |s| s as usize - 1);
            end - start <= MAX_SNIPPET_LINE
        };
        short(span.start) && short(span.end)
    }

    /// What `str`'s [`SourceCode`] answers for `span` with context lines,
    /// computed on the lines around the span only.
    ///
    /// miette's reader walks the text from its start: it keeps the starts of
    /// the last `before` lines ended before the span's start, counts every
    /// line end it passes, and stops `after` line ends past the span's end.
    /// Given a slice that starts at a line start `before + 1` lines before
    /// the span's first line (or at the text's start), and ends (at a line
    /// start) two lines past where it stops, or at the text's end, it walks
    /// the same bytes from the slice's start and stops at the same place;
    /// only the line numbers and the count of line ends miss the lines
    /// before the slice, which the index knows. The extra line before is for
    /// an empty span: miette takes it to end on the byte before it, which may
    /// be the line end before the span's line. (Line ends are `\n` and
    /// `\r\n` alike here: a lone `\r`, which miette also counts, has been
    /// replaced in the shown text, so miette and the index count the same
    /// lines.)
    fn read_window(
        &self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<MietteSpanContents<'_>, MietteError> {
        let start = span.offset();
        let end = start.saturating_add(span.len());
        let first_line = self.line_of(start).saturating_sub(before + 1);
        let last_line = self.line_of(end).saturating_add(after).saturating_add(3);
        let from = self.line_start(first_line);
        let to = self.line_start(last_line);
        let window = &self.text.as_bytes()[from..to];
        let inner = window.read_span(
            &SourceSpan::new((start - from).into(), span.len()),
            before,
            after,
        )?;
        Ok(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            SourceSpan::new((inner.span().offset() + from).into(), inner.span().len()),
            inner.line() + first_line,
            inner.column(),
            inner.line_count() + first_line,
        ))
    }
}

/// A diagnostic as miette should draw it: [`Report`]'s code and severity,
/// with message, labels and help made safe to show.
struct Adapted<'a> {
    report: Report<'a>,
    diagnostic: &'a Diagnostic,
    /// Label spans in the shown text, or none when they cannot be drawn.
    labels: Vec<Span>,
    source: &'a dyn SourceCode,
}

impl fmt::Debug for Adapted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.report, f)
    }
}

impl fmt::Display for Adapted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&clean(&self.diagnostic.message))
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
        let help = clean(self.diagnostic.help.as_deref()?);
        Some(Box::new(help))
    }

    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.report.url()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        let texts = self.diagnostic.labels.iter().map(|l| &l.text);
        Some(Box::new(self.labels.iter().zip(texts).enumerate().map(
            |(i, (&span, text))| {
                let text = (!text.is_empty()).then(|| clean(text).into_owned());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(text, span)
                } else {
                    LabeledSpan::new_with_span(text, span)
                }
            },
        )))
    }
}

/// miette asks for a span with no context lines only to print the header's
/// `line:column`; those are answered from [`LineIndex`], so they match the
/// other report formats. Spans with context lines are read from a window of
/// the text around them ([`Shown::read_window`]).
impl SourceCode for Shown {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        if context_lines_before == 0 && context_lines_after == 0 {
            let start = span.offset();
            let data = start
                .checked_add(span.len())
                .and_then(|end| self.text.as_bytes().get(start..end))
                .ok_or(MietteError::OutOfBounds)?;
            let at = self.line_col(u32::try_from(start).unwrap_or(u32::MAX));
            return Ok(Box::new(MietteSpanContents::new_named(
                self.name.clone(),
                data,
                *span,
                at.line.saturating_sub(1) as usize,
                at.column.saturating_sub(1) as usize,
                data.iter().filter(|&&b| b == b'\n').count(),
            )));
        }
        Ok(Box::new(self.read_window(
            span,
            context_lines_before,
            context_lines_after,
        )?))
    }
}

mod direct;
#[cfg(test)]
mod tests;
