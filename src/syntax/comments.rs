//! The comments of a file, which the grammar treats as trivia.
//!
//! The parser drops comments, but two tools need them back: the formatter,
//! which keeps every comment where the author put it, and suppression
//! (`# kflow-ignore: CODE reason`), which reads directives from them. Both
//! get them from this one scan, which knows exactly what the grammar and
//! the splitter know: `#` starts a comment outside a string, a comment runs
//! to the end of its line, and a string (which may span lines) runs to its
//! unescaped closing quote.

use crate::source::Span;

/// One `# ...` comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comment {
    /// From `#` to the end of the line, without the line break (and without
    /// a `\r` before it).
    pub span: Span,
    /// True when only whitespace comes before it on its line; false for a
    /// comment trailing code.
    pub own_line: bool,
}

/// Every comment in `text`, in order. Never fails: an unterminated string
/// runs to the end of the file, as the splitter reports it.
pub fn comments(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Whether only whitespace has been seen since the last line break.
    let mut line_blank = true;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                let end = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |p| i + p);
                let trimmed = if end > i && bytes[end - 1] == b'\r' {
                    end - 1
                } else {
                    end
                };
                out.push(Comment {
                    span: Span::new(i as u32, trimmed as u32),
                    own_line: line_blank,
                });
                i = end;
            }
            b'"' => {
                line_blank = false;
                i = string_end(bytes, i);
            }
            b'\n' => {
                line_blank = true;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            _ => {
                line_blank = false;
                i += 1;
            }
        }
    }
    out
}

/// The offset after the string whose opening quote is at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(p) = memchr::memchr2(b'"', b'\\', bytes.get(i..).unwrap_or_default()) {
        let j = i + p;
        if bytes[j] == b'\\' {
            i = j + 2;
        } else {
            return j + 1;
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<(&str, bool)> {
        comments(src)
            .into_iter()
            .map(|c| (&src[c.span.range()], c.own_line))
            .collect()
    }

    #[test]
    fn own_line_and_trailing_comments() {
        let src = "# head\non reply sms < # after brace\r\n  tag \"a\" # tail\n  # inner\n>";
        assert_eq!(
            texts(src),
            vec![
                ("# head", true),
                ("# after brace", false),
                ("# tail", false),
                ("# inner", true)
            ]
        );
    }

    #[test]
    fn hashes_inside_strings_are_not_comments() {
        let src = "tag \"#vip \\\" # still\" # real\nsms \"multi\nline # no\"";
        assert_eq!(texts(src), vec![("# real", false)]);
    }

    #[test]
    fn unterminated_string_swallows_the_rest() {
        assert!(comments("tag \"open # not a comment\n# nor this").is_empty());
        assert!(comments("tag \"ends in backslash\\").is_empty());
    }
}
