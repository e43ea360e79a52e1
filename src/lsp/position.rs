//! Positions as the protocol counts them: a 0-based line and a column in
//! UTF-16 code units, where a line ends at `\n`, `\r\n` or a lone `\r`.
//!
//! [`crate::source::LineIndex`] answers a different question (1-based
//! columns in characters, lines ending at `\n` only, for reports), so the
//! server keeps its own table of line starts. Every conversion clamps: a
//! position past the end of its line is the line's end, a line past the
//! last is the end of the text, and an offset inside a character (or a
//! column inside a surrogate pair) moves back to the character's start, so
//! no input a client sends can make a conversion fail.

use lsp_types::{Position, Range};

use crate::source::Span;

/// The line starts of one text.
#[derive(Clone, Debug)]
pub struct Lines {
    /// Byte offset where each line starts; the first is 0.
    starts: Vec<u32>,
}

impl Lines {
    /// Indexes `text`.
    pub fn new(text: &str) -> Lines {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            // `\r\n` is one break, counted at its `\n`.
            if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                continue;
            }
            starts.push(i as u32 + 1);
        }
        Lines { starts }
    }

    /// The byte range of line `line`'s content, without its break.
    fn line_range(&self, text: &str, line: usize) -> (usize, usize) {
        let start = self.starts[line] as usize;
        let mut end = self
            .starts
            .get(line + 1)
            .map_or(text.len(), |&next| next as usize);
        let bytes = text.as_bytes();
        if end > start && bytes[end - 1] == b'\n' {
            end -= 1;
        }
        if end > start && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        (start, end)
    }

    /// The byte offset of a position in `text` (the text indexed).
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let line = position.line as usize;
        if line >= self.starts.len() {
            return text.len();
        }
        let (start, end) = self.line_range(text, line);
        let mut units = 0u32;
        for (i, c) in text[start..end].char_indices() {
            let next = units + c.len_utf16() as u32;
            if next > position.character {
                return start + i;
            }
            units = next;
        }
        end
    }

    /// The position of a byte offset in `text`.
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .starts
            .partition_point(|&s| s as usize <= offset)
            .saturating_sub(1);
        let (start, end) = self.line_range(text, line);
        // An offset inside a `\r\n` is the end of its line.
        let column_end = offset.min(end);
        let character = text[start..column_end]
            .chars()
            .map(|c| c.len_utf16() as u32)
            .sum();
        Position {
            line: line as u32,
            character,
        }
    }

    /// The range of a span.
    pub fn range(&self, text: &str, span: Span) -> Range {
        Range {
            start: self.position(text, span.start as usize),
            end: self.position(text, span.end as usize),
        }
    }

    /// The span of a range (start and end each clamped; an end before the
    /// start is the start).
    pub fn span(&self, text: &str, range: Range) -> Span {
        let start = self.offset(text, range.start) as u32;
        let end = self.offset(text, range.end) as u32;
        Span::new(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn columns_count_utf16_units() {
        // `é` is one unit, `😀` two (a surrogate pair), each several bytes.
        let text = "ab\né😀x\n";
        let lines = Lines::new(text);
        let x = text.find('x').expect("present");
        assert_eq!(lines.position(text, x), pos(1, 3));
        assert_eq!(lines.offset(text, pos(1, 3)), x);
        // Inside the surrogate pair: the emoji's start.
        assert_eq!(
            lines.offset(text, pos(1, 2)),
            text.find('😀').expect("present")
        );
        // Past the end of a line: its end; past the last line: the text's end.
        assert_eq!(lines.offset(text, pos(0, 99)), 2);
        assert_eq!(lines.offset(text, pos(9, 0)), text.len());
        // An offset inside a character counts from that character's start.
        assert_eq!(lines.position(text, x - 1), pos(1, 1));
    }

    #[test]
    fn every_line_break_ends_a_line() {
        let text = "a\r\nb\rc\nd";
        let lines = Lines::new(text);
        assert_eq!(lines.position(text, 3), pos(1, 0));
        assert_eq!(lines.position(text, 5), pos(2, 0));
        assert_eq!(lines.position(text, 7), pos(3, 0));
        // Within `\r\n`: the end of the first line.
        assert_eq!(lines.position(text, 2), pos(0, 1));
        assert_eq!(lines.offset(text, pos(0, 5)), 1);
    }

    #[test]
    fn round_trips_every_boundary() {
        let text = "on reply whatsapp <\n  whatsapp \"Olá 👋 {{contact.first_name}}\"\r\n>\n";
        let lines = Lines::new(text);
        for (i, _) in text.char_indices() {
            if text[i..].starts_with('\n') && text[..i].ends_with('\r') {
                continue;
            }
            assert_eq!(lines.offset(text, lines.position(text, i)), i, "at {i}");
        }
    }
}
