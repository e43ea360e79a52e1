//! Splits a file into top-level items before pest sees it.
//!
//! pest stops at the first error; a file usually holds several triggers, and
//! an author wants every broken one reported at once. This pass walks the bytes
//! once, understanding only comments, strings and `<`/`>`/`(`/`)`, and cuts the
//! file where a top-level item starts (`workflow`, `field`, `quiet`, `at`,
//! `goal` or `on` at depth 0,
//! and `on reply WORD` at any depth, since only a trigger starts with it: a
//! choice handler is `on reply "id"`). Each item
//! is then parsed on its own. Along the way it reports what it can explain
//! better than a parser could: unterminated strings, unclosed or unmatched
//! brackets, nesting beyond [`MAX_DEPTH`] and control characters. Items with such
//! a problem are not parsed, so one mistake is reported once.
//!
//! Capping depth here is what keeps every later recursive pass (pest, the
//! converter, the checker, dropping the tree) within a small stack.

use crate::diag::{Code, Diagnostic};
use crate::source::Span;

/// The deepest nesting of `<` blocks and `(` groups together that kflow accepts.
pub const MAX_DEPTH: usize = 100;

/// A byte range of the file holding one top-level item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// The item's bytes.
    pub(crate) span: Span,
    /// False when the scan already reported a problem inside it.
    pub(crate) parse: bool,
}

/// The items of a file and the problems found while cutting it.
pub(crate) struct Split {
    pub(crate) chunks: Vec<Chunk>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_control(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f
}

struct Scanner<'a> {
    bytes: &'a [u8],
    chunks: Vec<Chunk>,
    diagnostics: Vec<Diagnostic>,
    item_start: usize,
    item_ok: bool,
    /// Open `<` and `(` with their offsets.
    open: Vec<(u8, usize)>,
    /// Whether this item already reported exceeding the depth cap.
    too_deep_reported: bool,
    /// Whether this item already reported a stray `>` or `)`.
    unmatched_reported: bool,
    /// Whether this item has an unterminated string, which swallows any
    /// closing brackets after it (so they are not reported as missing).
    unterminated: bool,
}

/// Cuts `text` into items. Offsets in the result are offsets into `text`.
pub(crate) fn split(text: &str) -> Split {
    let mut s = Scanner {
        bytes: text.as_bytes(),
        chunks: Vec::new(),
        diagnostics: Vec::new(),
        item_start: 0,
        item_ok: true,
        open: Vec::new(),
        too_deep_reported: false,
        unmatched_reported: false,
        unterminated: false,
    };
    // A UTF-8 byte order mark is trivia, not the start of an item.
    if text.starts_with('\u{feff}') {
        s.item_start = '\u{feff}'.len_utf8();
    }
    s.run();
    Split {
        chunks: s.chunks,
        diagnostics: s.diagnostics,
    }
}

impl Scanner<'_> {
    fn span(start: usize, end: usize) -> Span {
        Span::new(start as u32, end as u32)
    }

    fn run(&mut self) {
        let len = self.bytes.len();
        let mut i = self.item_start;
        while i < len {
            let b = self.bytes[i];
            match b {
                b'#' => {
                    let end = memchr_or_end(b'\n', self.bytes, i);
                    // A control character hidden in a comment is still one.
                    if let Some(p) = self.bytes[i..end].iter().position(|&c| is_control(c)) {
                        self.control(i + p);
                    }
                    i = end;
                }
                b'"' => i = self.string(i),
                b'<' | b'(' => {
                    self.open.push((b, i));
                    if self.open.len() > MAX_DEPTH && !self.too_deep_reported {
                        self.too_deep_reported = true;
                        self.item_ok = false;
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::SyntaxTooDeep,
                                format!("blocks and parentheses nest more than {MAX_DEPTH} deep"),
                                Self::span(i, i + 1),
                                format!("level {} starts here", MAX_DEPTH + 1),
                            )
                            .with_help(
                                "split the logic into shorter branches; real workflows rarely nest more than a few levels",
                            ),
                        );
                    }
                    i += 1;
                }
                b'>' | b')' => {
                    self.close(b, i);
                    i += 1;
                }
                _ if is_ident_byte(b) => i = self.word(i),
                b'\r' if self.bytes.get(i + 1) != Some(&b'\n') => {
                    // A lone carriage return would make line numbers differ
                    // between kflow and editors.
                    self.control(i);
                    i += 1;
                }
                _ if is_control(b) => {
                    self.control(i);
                    i += 1;
                }
                _ => i += 1,
            }
        }
        self.end_item(len);
    }

    /// Handles a `>` or `)` at `at`. A `)` only closes a `(`; a `>` closes the
    /// innermost `<`, reporting any `(` left open inside it on the way.
    fn close(&mut self, b: u8, at: usize) {
        let opener = if b == b'>' { b'<' } else { b'(' };
        if b == b'>' {
            while let Some(&(b'(', paren)) = self.open.last() {
                self.open.pop();
                self.item_ok = false;
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::SyntaxUnclosedBlock,
                        "this parenthesis is never closed",
                        Self::span(paren, paren + 1),
                        "opened here, with no matching `)`",
                    )
                    .with_label(Self::span(at, at + 1), "the block ends here")
                    .with_help("add `)` where the parenthesised condition should end"),
                );
            }
        }
        if self.open.last().is_some_and(|&(kind, _)| kind == opener) {
            self.open.pop();
            return;
        }
        // One stray closer per item is reported; the rest of the item is not
        // parsed, so more would only repeat the news.
        if self.unmatched_reported {
            return;
        }
        self.unmatched_reported = true;
        self.item_ok = false;
        let (what, open_name) = if b == b'>' {
            ("`>`", "`<`")
        } else {
            ("`)`", "`(`")
        };
        self.diagnostics.push(
            Diagnostic::new(
                Code::SyntaxUnmatchedClose,
                format!("{what} closes nothing"),
                Self::span(at, at + 1),
                format!("no {open_name} is open here"),
            )
            .with_help(format!(
                "remove this {what}, or add the {open_name} it was meant to close"
            )),
        );
    }

    /// Skips a string starting at the quote at `start`; returns the offset after it.
    fn string(&mut self, start: usize) -> usize {
        let mut i = start + 1;
        loop {
            match memchr2(b'"', b'\\', self.bytes, i) {
                Some(j) if self.bytes[j] == b'\\' => i = j + 2,
                Some(j) => return j + 1,
                None => {
                    self.item_ok = false;
                    self.unterminated = true;
                    let line_end = memchr_or_end(b'\n', self.bytes, start);
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::SyntaxUnterminatedString,
                            "this string is never closed",
                            Self::span(start, line_end),
                            "the string starts here and runs to the end of the file",
                        )
                        .with_help(
                            "add the closing `\"`; write `\\\"` for a quote inside a string",
                        ),
                    );
                    return self.bytes.len();
                }
            }
        }
    }

    /// Reads an identifier-like word at `start`; cuts an item before it when it
    /// starts one. Returns the offset after the word.
    fn word(&mut self, start: usize) -> usize {
        let end = start
            + self.bytes[start..]
                .iter()
                .take_while(|&&b| is_ident_byte(b))
                .count();
        let after_dot = start > 0 && self.bytes[start - 1] == b'.';
        if after_dot {
            return end;
        }
        let word = &self.bytes[start..end];
        let depth0 = self.open.is_empty();
        let starts_item = match word {
            b"workflow" | b"field" | b"quiet" | b"at" | b"goal" => depth0,
            // Inside a block, `on reply "id"` is a choice handler; only
            // `on reply CHANNEL` starts a trigger.
            b"on" => {
                depth0
                    || self.next_word(end).is_some_and(|(w, after)| {
                        w == b"reply" && self.next_word(after).is_some_and(|(w, _)| !w.is_empty())
                    })
            }
            _ => false,
        };
        if starts_item && start > self.item_start {
            self.end_item(start);
            self.item_start = start;
        }
        end
    }

    /// The next word after `from`, skipping whitespace and comments, and
    /// the offset after it (empty when something else comes next).
    fn next_word(&self, from: usize) -> Option<(&[u8], usize)> {
        let mut i = from;
        loop {
            match self.bytes.get(i)? {
                b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                b'#' => i = memchr_or_end(b'\n', self.bytes, i),
                _ => break,
            }
        }
        let len = self.bytes[i..]
            .iter()
            .take_while(|&&b| is_ident_byte(b))
            .count();
        Some((&self.bytes[i..i + len], i + len))
    }

    fn control(&mut self, at: usize) {
        self.item_ok = false;
        let b = self.bytes[at];
        self.diagnostics.push(
            Diagnostic::new(
                Code::SyntaxControlCharacter,
                format!("control character U+{b:04X} in the source"),
                Self::span(at, at + 1),
                "not allowed here",
            )
            .with_help("remove it; inside strings write `\\n` for a line break"),
        );
    }

    /// Closes the current item at `end`, reporting brackets left open.
    fn end_item(&mut self, end: usize) {
        if let Some(&(kind, at)) = self.open.last().filter(|_| !self.unterminated) {
            self.item_ok = false;
            let (what, closer) = if kind == b'<' {
                ("block", "`>`")
            } else {
                ("parenthesis", "`)`")
            };
            let mut d = Diagnostic::new(
                Code::SyntaxUnclosedBlock,
                format!("this {what} is never closed"),
                Self::span(at, at + 1),
                format!("opened here, with no matching {closer}"),
            )
            .with_help(format!("add {closer} where the {what} should end"));
            if end < self.bytes.len() {
                d = d.with_label(Self::span(end, end), "the next trigger starts here");
            }
            self.diagnostics.push(d);
        }
        self.chunks.push(Chunk {
            span: Self::span(self.item_start, end),
            parse: self.item_ok,
        });
        self.open.clear();
        self.item_ok = true;
        self.too_deep_reported = false;
        self.unmatched_reported = false;
        self.unterminated = false;
    }
}

fn memchr_or_end(needle: u8, bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| memchr::memchr(needle, rest))
        .map_or(bytes.len(), |p| from + p)
}

fn memchr2(a: u8, b: u8, bytes: &[u8], from: usize) -> Option<usize> {
    memchr::memchr2(a, b, bytes.get(from..)?).map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<&str> {
        split(text)
            .chunks
            .iter()
            .map(|c| &text[c.span.range()])
            .collect()
    }

    #[test]
    fn cuts_at_top_level_items_only() {
        let text =
            "workflow \"a\" on reply sms < sms \"on reply\" on timeout 1m < > > field contact.x";
        assert_eq!(
            spans(text),
            vec![
                "workflow \"a\" ",
                "on reply sms < sms \"on reply\" on timeout 1m < > > ",
                "field contact.x"
            ]
        );
    }

    #[test]
    fn on_reply_inside_a_block_recovers_an_unclosed_block() {
        let text = "on reply sms < tag \"a\"\non reply whatsapp < >";
        let split = split(text);
        assert_eq!(split.chunks.len(), 2);
        assert!(!split.chunks[0].parse);
        assert!(split.chunks[1].parse);
        assert_eq!(split.diagnostics.len(), 1);
        assert_eq!(split.diagnostics[0].code, Code::SyntaxUnclosedBlock);
        assert_eq!(split.diagnostics[0].primary_span(), Span::new(13, 14));
    }

    #[test]
    fn reports_unmatched_close_and_unterminated_string() {
        let d = split("on reply sms < > > tag \"abc").diagnostics;
        let codes: Vec<_> = d.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            vec![Code::SyntaxUnmatchedClose, Code::SyntaxUnterminatedString]
        );
    }

    #[test]
    fn an_unterminated_string_does_not_also_report_its_block() {
        let d = split("on reply sms < tag \"abc >").diagnostics;
        let codes: Vec<_> = d.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![Code::SyntaxUnterminatedString]);
    }

    #[test]
    fn depth_cap_is_reported_once() {
        let text = format!(
            "on reply sms {}{}",
            "<".repeat(MAX_DEPTH + 5),
            ">".repeat(MAX_DEPTH + 5)
        );
        let split = split(&text);
        assert_eq!(split.diagnostics.len(), 1);
        assert_eq!(split.diagnostics[0].code, Code::SyntaxTooDeep);
        assert!(!split.chunks[0].parse);
    }

    #[test]
    fn a_byte_order_mark_is_trivia_and_lone_cr_is_reported() {
        let split = split("\u{feff}on reply sms < >");
        assert!(split.diagnostics.is_empty());
        assert_eq!(split.chunks[0].span.start, 3);
        let split = super::split("on reply sms < >\r\non reply email < >\r");
        let codes: Vec<_> = split.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![Code::SyntaxControlCharacter]);
    }

    #[test]
    fn brackets_of_each_kind_match_their_own() {
        let d = split("on reply whatsapp < if (window.open)) < stop > >").diagnostics;
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::SyntaxUnmatchedClose);
        assert_eq!(d[0].primary_span(), Span::new(36, 37));
        let d = split("on reply whatsapp < if (window.open < stop > >").diagnostics;
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::SyntaxUnclosedBlock);
        assert_eq!(d[0].primary_span(), Span::new(23, 24));
    }

    #[test]
    fn one_stray_closer_per_item_and_control_characters_in_comments() {
        let text = format!("on reply sms < > {}", "> ".repeat(1000));
        assert_eq!(split(&text).diagnostics.len(), 1);
        let d = split("on reply sms < > # note \u{0} here\n").diagnostics;
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::SyntaxControlCharacter);
    }

    #[test]
    fn escaped_quotes_do_not_end_strings() {
        assert_eq!(
            spans("workflow \"a \\\" on reply\""),
            vec!["workflow \"a \\\" on reply\""]
        );
    }
}
