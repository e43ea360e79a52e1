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
    // Jump from one `#` or `"` to the next: everything between is code.
    while let Some(p) = memchr::memchr2(b'#', b'"', bytes.get(i..).unwrap_or_default()) {
        let j = i + p;
        if bytes[j] == b'"' {
            i = string_end(bytes, j).0;
            continue;
        }
        let end = memchr::memchr(b'\n', &bytes[j..]).map_or(bytes.len(), |p| j + p);
        let trimmed = if end > j && bytes[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        let line_start = memchr::memrchr(b'\n', &bytes[..j]).map_or(0, |p| p + 1);
        let own_line = bytes[line_start..j]
            .iter()
            .all(|&b| matches!(b, b' ' | b'\t' | b'\r'));
        out.push(Comment {
            span: Span::new(j as u32, trimmed as u32),
            own_line,
        });
        i = end;
    }
    out
}

/// The offset after the string whose opening quote is at `start`, and
/// whether a closing quote ends it (the text's end does otherwise). Shared
/// with the language server, which must skip strings exactly as this does.
pub fn string_end(bytes: &[u8], start: usize) -> (usize, bool) {
    let mut i = start + 1;
    while let Some(p) = memchr::memchr2(b'"', b'\\', bytes.get(i..).unwrap_or_default()) {
        let j = i + p;
        if bytes[j] == b'\\' {
            i = j + 2;
        } else {
            return (j + 1, true);
        }
    }
    (bytes.len(), false)
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
