//! Source files and byte spans.
//!
//! Every AST node and every diagnostic label points into its file with a
//! [`Span`]: two `u32` byte offsets. Line and column numbers are computed only
//! when a report needs them, through a [`LineIndex`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A half-open byte range `start..end` into one source file.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end`; `end` is clamped so it is never before `start`.
    pub fn new(start: u32, end: u32) -> Span {
        Span {
            start,
            end: end.max(start),
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// Length in bytes.
    pub fn len(self) -> u32 {
        self.end - self.start
    }

    /// True for a zero-width span.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The span moved `by` bytes to the right.
    pub fn shift(self, by: u32) -> Span {
        Span::new(self.start + by, self.end + by)
    }

    /// The byte range, for slicing the source text.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> miette::SourceSpan {
        miette::SourceSpan::new((span.start as usize).into(), span.len() as usize)
    }
}

/// A value together with the span it was written at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub fn new(node: T, span: Span) -> Spanned<T> {
        Spanned { node, span }
    }
}

/// The largest source file kflow accepts: spans are `u32` byte offsets.
pub const MAX_SOURCE_LEN: usize = u32::MAX as usize;

/// A named source text, shared cheaply between the AST's consumers and reports.
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: Arc<str>,
    text: Arc<str>,
}

/// Why a text cannot be a [`SourceFile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTooLarge {
    /// The text's length in bytes.
    pub len: usize,
}

impl std::fmt::Display for SourceTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "source is {} bytes; kflow reads files of at most {} bytes",
            self.len, MAX_SOURCE_LEN
        )
    }
}

impl std::error::Error for SourceTooLarge {}

impl SourceFile {
    /// A source file, refused when its offsets would not fit a [`Span`].
    pub fn new(
        name: impl Into<Arc<str>>,
        text: impl Into<Arc<str>>,
    ) -> Result<SourceFile, SourceTooLarge> {
        let text = text.into();
        if text.len() > MAX_SOURCE_LEN {
            return Err(SourceTooLarge { len: text.len() });
        }
        Ok(SourceFile {
            name: name.into(),
            text,
        })
    }

    /// The name reports show: a path, or what `--stdin-name` said.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The shared text, for report renderers that keep it.
    pub fn shared_text(&self) -> Arc<str> {
        Arc::clone(&self.text)
    }

    /// The text a span covers, or `""` when the span is out of range.
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }
}

/// A 1-based line and column. Columns count Unicode scalar values, so a column
/// matches what an editor shows for text without tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LineCol {
    /// 1-based line.
    pub line: u32,
    /// 1-based column in characters.
    pub column: u32,
}

/// Line starts of one text, for turning byte offsets into lines and columns.
///
/// A lookup costs a binary search over the lines and, for a text that is not
/// all ASCII, a count of at most `CHECKPOINT` (256) bytes: character counts are
/// kept every `CHECKPOINT` bytes, so a column on a very long line is not
/// found by counting from the line's start (which made reporting many
/// diagnostics on one long line quadratic).
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<u32>,
    /// `checkpoints[k]` is the number of characters in the text's first
    /// `k * CHECKPOINT` bytes; empty when the text is ASCII, where a column
    /// is a byte difference.
    checkpoints: Vec<u32>,
}

/// Bytes between two character-count checkpoints of a [`LineIndex`].
const CHECKPOINT: usize = 256;

/// True for a byte that starts a character (is not a UTF-8 continuation byte).
fn starts_char(b: u8) -> bool {
    (b as i8) >= -0x40
}

impl LineIndex {
    /// Indexes `text`'s line starts.
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| (i + 1) as u32));
        let mut checkpoints = Vec::new();
        if !text.is_ascii() {
            checkpoints.reserve(bytes.len() / CHECKPOINT + 1);
            let mut chars = 0u32;
            checkpoints.push(0);
            for chunk in bytes.chunks(CHECKPOINT) {
                chars += chunk.iter().filter(|&&b| starts_char(b)).count() as u32;
                checkpoints.push(chars);
            }
        }
        LineIndex {
            starts,
            checkpoints,
        }
    }

    /// Characters that start in `text[..end]`.
    fn chars_before(&self, bytes: &[u8], end: usize) -> usize {
        let k = end / CHECKPOINT;
        let from = k * CHECKPOINT;
        let at = self.checkpoints.get(k).copied().unwrap_or(0) as usize;
        let rest = bytes.get(from..end).unwrap_or_default();
        at + rest.iter().filter(|&&b| starts_char(b)).count()
    }

    /// The 0-based line a byte offset is on (an offset past the end is on
    /// the last line).
    pub fn line_of(&self, offset: u32) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    /// Where a 0-based line starts, or `None` past the last line.
    pub fn line_start(&self, line: usize) -> Option<u32> {
        self.starts.get(line).copied()
    }

    /// The line and column of a byte offset in `text` (the text indexed).
    pub fn line_col(&self, text: &str, offset: u32) -> LineCol {
        let line = self.line_of(offset);
        let start = self.line_start(line).unwrap_or(0) as usize;
        let end = (offset as usize).min(text.len());
        let column = if self.checkpoints.is_empty()
            || start > end
            || !text.is_char_boundary(start)
            || !text.is_char_boundary(end)
        {
            // ASCII (a character is a byte), or an offset inside a character.
            end.saturating_sub(start)
        } else {
            self.chars_before(text.as_bytes(), end) - self.chars_before(text.as_bytes(), start)
        };
        LineCol {
            line: line as u32 + 1,
            column: column as u32 + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let text = "ab\nçé x\n";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 0), LineCol { line: 1, column: 1 });
        assert_eq!(index.line_col(text, 3), LineCol { line: 2, column: 1 });
        // `x` is after two 2-byte characters and a space.
        assert_eq!(index.line_col(text, 8), LineCol { line: 2, column: 4 });
        assert_eq!(index.line_col(text, 10), LineCol { line: 3, column: 1 });
    }

    #[test]
    fn line_col_on_long_mixed_lines_matches_counting() {
        // Lines longer than several checkpoints, with multi-byte characters
        // straddling checkpoint boundaries.
        let mut text = String::new();
        for i in 0..3000 {
            let c = match (i % 7, i % 11) {
                (0, _) => 'é',
                (_, 0) => '€',
                _ => 'a',
            };
            text.push(c);
            if i % 1000 == 999 {
                text.push('\n');
            }
        }
        let index = LineIndex::new(&text);
        let mut line_start = 0;
        let mut line = 1;
        for (offset, c) in text.char_indices() {
            let column = text[line_start..offset].chars().count() as u32 + 1;
            assert_eq!(
                index.line_col(&text, offset as u32),
                LineCol { line, column },
                "at {offset}"
            );
            if c == '\n' {
                line += 1;
                line_start = offset + 1;
            }
        }
        // An offset inside a character counts bytes from the line start, as
        // before; one past the end is the end.
        assert_eq!(index.line_col(&text, 1).column, 2);
        let end = index.line_col(&text, text.len() as u32 + 5);
        assert_eq!(end.line, 4);
    }

    #[test]
    fn span_to_covers_both() {
        assert_eq!(Span::new(4, 6).to(Span::new(1, 2)), Span::new(1, 6));
    }
}
