//! The common report drawn without miette, byte for byte as miette draws it.
//!
//! Nearly every diagnostic has its labels each on one line of text. miette
//! draws those through machinery built for every case (styled spans,
//! gutters for labels over several lines, a visual width for each
//! character), and its cost per report grows with the length of the lines
//! shown several times over: on a file whose reports show long lines it
//! spent ~25 µs a report, most of `kflowc check`'s time. This module draws
//! that one shape directly, copying the lines once, and answers `None` for
//! anything else (colour, labels whose snippets miette merges, a label over
//! several lines or on a line end, an empty label, a shown line with a tab
//! or a carriage return), which miette then draws.
//!
//! The output must be exactly miette's: `tests.rs` compares the two on every
//! span of a varied file and on every diagnostic of the UI fixtures. What is
//! mirrored, from miette 7's `GraphicalReportHandler`: the header
//! (`render_header`), the message (`render_causes`, wrapped by textwrap with
//! the same options), the snippet (`get_lines`, `render_context`,
//! `render_single_line_highlights`, `write_label_text`) and the help
//! (`render_footer`).

use std::fmt::Write as _;

use miette::GraphicalTheme;

use super::{HumanOptions, Shown};
use crate::diag::{Diagnostic, Severity};
use crate::source::Span;

/// Lines of context miette shows before and after a label (its default).
const CONTEXT_LINES: usize = 1;

/// One line of a snippet, as miette's `get_lines` splits it.
struct Line<'t> {
    /// 1-based.
    number: usize,
    /// Offset of the line's first byte in the shown text.
    offset: usize,
    /// The line without its line end.
    text: &'t str,
}

/// One label with the lines shown around it.
struct Snippet<'t> {
    /// The label's offset and length in the shown text.
    offset: usize,
    len: usize,
    /// The label's cleaned text.
    text: &'t str,
    /// The lines shown, and which of them is the label's.
    lines: Vec<Line<'t>>,
    labelled: usize,
    /// The 0-based number of the first line shown, and miette's
    /// `line_count` of the same read: the line ends from the file's start
    /// to the end of the lines shown. miette merges two snippets when the
    /// first's sum reaches the second's first line.
    first: usize,
    line_count: usize,
}

impl<'t> Snippet<'t> {
    /// The label at `span` and its lines, or `None` unless the label is
    /// inside one line's text (not its line end) and no line shown holds a
    /// tab or a carriage return. The lines are the label's and one either side:
    /// miette's `read_span` with one line before and after.
    fn new(source: &'t Shown, span: Span, text: &'t str) -> Option<Snippet<'t>> {
        if span.start >= span.end || text.contains('\n') {
            return None;
        }
        let (offset, len) = (span.start as usize, (span.end - span.start) as usize);
        let line_no = source.line_of(offset);
        let first = line_no.saturating_sub(CONTEXT_LINES);
        let from = source.line_start(first);
        let to = source.line_start(line_no + CONTEXT_LINES + 1);
        let data = source.text.get(from..to)?;
        if !plain(data.as_bytes()) {
            return None;
        }
        let lines = split_lines(data, first, from);
        let labelled = line_no - first;
        let line = lines.get(labelled)?;
        if offset + len > line.offset + line.text.len() {
            return None;
        }
        Some(Snippet {
            offset,
            len,
            text,
            lines,
            labelled,
            first,
            // The index has a line start after every line end.
            line_count: source.line_of(to),
        })
    }

    /// The 1-based number of the last line shown.
    fn last_line(&self) -> usize {
        self.lines.last().map_or(0, |l| l.number)
    }
}

/// How reports are drawn, made once per renderer: the theme's characters
/// and the width messages wrap at.
pub(super) struct Style {
    theme: GraphicalTheme,
    /// The wrap width miette uses: the terminal's width less two.
    width: usize,
}

impl Style {
    pub(super) fn new(options: HumanOptions) -> Style {
        Style {
            theme: options.theme(),
            width: options.width.max(20).saturating_sub(2),
        }
    }
}

/// Appends `diagnostic`'s report to `out`; false, with nothing appended,
/// when it is not of the shape drawn here: every label inside one line's
/// text (see [`Snippet::new`]), and snippets miette does not merge into
/// one. The caller draws only without colour, and only diagnostics with
/// labels. `labels` are the label spans in the shown text with their
/// cleaned texts, the primary first;
/// `message` and `help` are cleaned too.
pub(super) fn draw(
    style: &Style,
    source: &Shown,
    diagnostic: &Diagnostic,
    labels: &[(Span, &str)],
    message: &str,
    help: Option<&str>,
    out: &mut String,
) -> bool {
    let Some(mut snippets) = labels
        .iter()
        .map(|&(span, text)| Snippet::new(source, span, text))
        .collect::<Option<Vec<_>>>()
    else {
        return false;
    };
    // miette draws snippets in the order of their labels in the file.
    snippets.sort_by_key(|s| s.offset);
    // Snippets miette would merge (`render_snippets`) go to miette.
    if snippets
        .windows(2)
        .any(|pair| pair[0].first + pair[0].line_count >= pair[1].first)
    {
        return false;
    }

    let Style { theme, width } = style;
    let (chars, width) = (&theme.characters, *width);
    let shown: usize = snippets
        .iter()
        .flat_map(|s| &s.lines)
        .map(|l| l.text.len())
        .sum();
    out.reserve(256 + 4 * shown);
    // render_header: the code, then a blank line.
    out.push_str(diagnostic.code.as_str());
    out.push_str("\n\n");
    // render_causes: the message, wrapped.
    let icon = match diagnostic.severity {
        Severity::Error => &chars.error,
        Severity::Warning => &chars.warning,
    };
    let initial = format!("  {icon} ");
    let rest = format!("  {} ", chars.vbar);
    fill(out, message, width, &initial, &rest);
    for snippet in &snippets {
        render_context(out, theme, source, snippet);
    }
    // render_footer: the help, wrapped.
    if let Some(help) = help {
        fill(out, help, width, "  help: ", "        ");
    }
    true
}

/// One snippet: its header naming where the label starts, its lines with
/// the label under its own, and its closing line (miette's
/// `render_context`).
fn render_context(out: &mut String, theme: &GraphicalTheme, source: &Shown, snippet: &Snippet<'_>) {
    let chars = &theme.characters;
    let linum_width = decimal_width(snippet.last_line());
    push_spaces(out, linum_width + 2);
    out.push(chars.ltop);
    out.push(chars.hbar);
    let at = source.line_col(u32::try_from(snippet.offset).unwrap_or(u32::MAX));
    let _ = writeln!(out, "[{}:{}:{}]", source.name, at.line, at.column);
    for (i, line) in snippet.lines.iter().enumerate() {
        let _ = write!(out, " {:>linum_width$} {} ", line.number, chars.vbar);
        out.push_str(line.text);
        out.push('\n');
        if i == snippet.labelled {
            underline(out, theme, linum_width, line, snippet);
        }
    }
    push_spaces(out, linum_width + 2);
    out.push(chars.lbot);
    push_repeated(out, chars.hbar, 4);
    out.push('\n');
}

/// `text` wrapped as miette wraps a message or help, and a line end. Text
/// that fits on its first line as it is (one line of printable ASCII, no
/// space at either end) is that line: textwrap would take every word and
/// keep the spaces between them.
fn fill(out: &mut String, text: &str, width: usize, initial: &str, rest: &str) {
    let fits = textwrap::core::display_width(initial) + text.len() <= width
        && text.bytes().all(|b| (b' '..=b'~').contains(&b))
        && !text.starts_with(' ')
        && !text.ends_with(' ');
    if fits {
        out.push_str(initial);
        out.push_str(text);
    } else {
        out.push_str(&textwrap::fill(text, wrap_options(width, initial, rest)));
    }
    out.push('\n');
}

/// The options miette wraps a message or help with.
fn wrap_options<'a>(width: usize, initial: &'a str, rest: &'a str) -> textwrap::Options<'a> {
    textwrap::Options::new(width)
        .initial_indent(initial)
        .subsequent_indent(rest)
        .break_words(true)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
}

/// miette's `get_lines` on text with no `\r`: the lines of `data`, which
/// starts on 0-based line `first_line` at offset `start`.
fn split_lines(data: &str, first_line: usize, start: usize) -> Vec<Line<'_>> {
    let mut lines = Vec::with_capacity(2 * CONTEXT_LINES + 1);
    let mut number = first_line;
    let mut from = 0;
    while from < data.len() {
        let (text, length) = match data[from..].find('\n') {
            Some(i) => (&data[from..from + i], i + 1),
            None => (&data[from..], data.len() - from),
        };
        // miette counts a line when it meets its end, or the data's end.
        number += 1;
        lines.push(Line {
            number,
            offset: start + from,
            text,
        });
        from += length;
    }
    lines
}

/// The line under the labelled line and, when the label has text, the line
/// that joins the text to it (`render_single_line_highlights` and
/// `write_label_text` for one label and no gutter).
fn underline(
    out: &mut String,
    theme: &GraphicalTheme,
    linum_width: usize,
    line: &Line<'_>,
    snippet: &Snippet<'_>,
) {
    let (offset, len, label_text) = (snippet.offset, snippet.len, snippet.text);
    let chars = &theme.characters;
    // miette's `visual_offset`: the width of the text before the offset,
    // moved to a character's start (for the label's start) or past its end
    // (for its end); a label running into the line end ends one column past
    // the text.
    let column = |at: usize, start: bool| {
        let mut index = at - line.offset;
        if index > line.text.len() {
            return visual_width(line.text) + 1;
        }
        while !line.text.is_char_boundary(index) {
            if start {
                index -= 1;
            } else {
                index += 1;
            }
        }
        visual_width(&line.text[..index])
    };
    let start = column(offset, true);
    let end = column(offset + len, false).max(start + 1);
    let middle = (start + end) / 2;
    let no_linum = |out: &mut String| {
        out.push(' ');
        push_spaces(out, linum_width);
        out.push(' ');
        out.push(chars.vbar_break);
        out.push(' ');
    };
    no_linum(out);
    push_spaces(out, start);
    push_repeated(out, chars.underline, middle - start);
    out.push(if label_text.is_empty() {
        chars.underline
    } else {
        chars.underbar
    });
    push_repeated(out, chars.underline, end - middle - 1);
    out.push('\n');
    if !label_text.is_empty() {
        no_linum(out);
        push_spaces(out, middle);
        out.push(chars.lbot);
        out.push(chars.hbar);
        out.push(chars.hbar);
        out.push(' ');
        out.push_str(label_text);
        out.push('\n');
    }
}

fn push_spaces(out: &mut String, n: usize) {
    push_repeated(out, ' ', n);
}

/// `c`, `n` times (an underline may be a thousand characters long): one
/// copy, then the copies doubled in place.
fn push_repeated(out: &mut String, c: char, n: usize) {
    if n == 0 {
        return;
    }
    let start = out.len();
    let width = c.len_utf8();
    out.reserve(n * width);
    out.push(c);
    let mut done = 1;
    while done < n {
        let more = done.min(n - done);
        out.extend_from_within(start..start + more * width);
        done += more;
    }
}

/// Whether shown lines hold no tab and no carriage return (miette widens a
/// tab to the next stop, and splits lines at a `\r`), tested a block at a
/// time (a test the compiler turns into vector instructions). Other control
/// characters were replaced in the shown text.
fn plain(bytes: &[u8]) -> bool {
    bytes.chunks(64).all(|block| {
        block
            .iter()
            .fold(true, |all, &b| all & (b != b'\t' && b != b'\r'))
    })
}

/// The columns `text` takes on a terminal, as miette counts them: each
/// character's Unicode width, 0 for those without one.
fn visual_width(text: &str) -> usize {
    if text.is_ascii() {
        return text.len();
    }
    text.chars()
        .map(|c| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0))
        .sum()
}

/// Digits in `n`.
fn decimal_width(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}
