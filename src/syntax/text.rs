//! Decoding string literals: escapes, control characters and `{{variables}}`.
//!
//! The grammar treats a string as one token, however long; this module walks
//! its bytes once, so message bodies cost little to parse and every variable
//! keeps the exact span of its name for diagnostics.

use crate::diag::{Code, Diagnostic};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{Part, Text, Var};

fn is_control(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f
}

fn is_special(b: u8) -> bool {
    b == b'\\' || b == b'{' || b == b'\r' || is_control(b)
}

/// Decodes the literal `raw` (quotes included) that starts at offset `base`.
pub(crate) fn decode(raw: &str, base: u32, diagnostics: &mut Vec<Diagnostic>) -> Text {
    let span = Span::new(base, base + raw.len() as u32);
    let body = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    let body_base = base + 1;
    let bytes = body.as_bytes();
    let at = |i: usize| body_base + i as u32;

    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..]
            .iter()
            .position(|&b| is_special(b))
            .map_or(bytes.len(), |p| i + p);
        lit.push_str(&body[i..run]);
        i = run;
        if i >= bytes.len() {
            break;
        }
        match bytes[i] {
            b'\\' => {
                let Some(c) = body[i + 1..].chars().next() else {
                    // The grammar never ends a string on a backslash.
                    lit.push('\\');
                    i += 1;
                    continue;
                };
                match c {
                    '"' => lit.push('"'),
                    '\\' => lit.push('\\'),
                    'n' => lit.push('\n'),
                    other => {
                        diagnostics.push(
                            Diagnostic::new(
                                Code::SyntaxEscape,
                                format!("unknown escape `\\{other}` in a string"),
                                Span::new(at(i), at(i + 1 + other.len_utf8())),
                                "not an escape kflow knows",
                            )
                            .with_help("the escapes are `\\\"` (quote), `\\\\` (backslash) and `\\n` (line break)"),
                        );
                        lit.push(other);
                    }
                }
                i += 1 + c.len_utf8();
            }
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                i = variable(body, i, body_base, &mut parts, &mut lit, diagnostics);
            }
            b'{' => {
                lit.push('{');
                i += 1;
            }
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                // A Windows line break inside a string is a line break.
                lit.push('\n');
                i += 2;
            }
            b => {
                diagnostics.push(
                    Diagnostic::new(
                        Code::SyntaxControlCharacter,
                        format!("control character U+{b:04X} in a string"),
                        Span::new(at(i), at(i + 1)),
                        "not allowed in a message",
                    )
                    .with_help("remove it; write `\\n` for a line break"),
                );
                i += 1;
            }
        }
    }
    if parts.is_empty() {
        // Most strings are one literal: allocate exactly one part (a `Vec`
        // grown by `push` would hold four).
        parts = vec![Part::Lit(lit)];
    } else if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Text { parts, span }
}

/// Reads `{{ path }}` at `start` (the first `{`); returns the offset after it.
fn variable(
    body: &str,
    start: usize,
    body_base: u32,
    parts: &mut Vec<Part>,
    lit: &mut String,
    diagnostics: &mut Vec<Diagnostic>,
) -> usize {
    let at = |i: usize| body_base + i as u32;
    let Some(close) =
        memchr::memmem::find(&body.as_bytes()[start + 2..], b"}}").map(|p| start + 2 + p)
    else {
        diagnostics.push(
            Diagnostic::new(
                Code::VarMalformed,
                "`{{` is never closed",
                Span::new(at(start), at(start + 2)),
                "this variable has no `}}`",
            )
            .with_help("write a variable as `{{contact.first_name}}`"),
        );
        lit.push_str(&body[start..]);
        return body.len();
    };
    let inner = &body[start + 2..close];
    let whole = Span::new(at(start), at(close + 2));
    // `{{path | fallback}}`: the path before the bar, the fallback after it.
    let (path_part, fallback_part) = match inner.find('|') {
        Some(bar) => (&inner[..bar], Some((bar, &inner[bar + 1..]))),
        None => (inner, None),
    };
    let leading = path_part.len() - path_part.trim_start().len();
    let path = path_part.trim();
    let path_start = start + 2 + leading;
    if !is_path(path) {
        diagnostics.push(
            Diagnostic::new(
                Code::VarMalformed,
                format!("`{{{{{inner}}}}}` is not a variable"),
                whole,
                "expected `{{namespace.name}}`",
            )
            .with_help("write a variable as `{{contact.first_name}}` or `{{custom_values.key}}`, with a fallback as `{{contact.first_name | there}}`"),
        );
        lit.push_str(&body[start..close + 2]);
        return close + 2;
    }
    let fallback = match fallback_part {
        None => None,
        Some((bar, raw)) => {
            let trimmed = raw.trim();
            let offset = start + 2 + bar + 1 + (raw.len() - raw.trim_start().len());
            if trimmed.is_empty() {
                diagnostics.push(
                    Diagnostic::new(
                        Code::VarMalformed,
                        format!("`{{{{{inner}}}}}` has an empty fallback"),
                        Span::new(at(start + 2 + bar), at(start + 2 + bar + 1)),
                        "nothing after `|`",
                    )
                    .with_help(format!(
                        "write the text to use when `{path}` is empty after the bar, as in `{{{{{path} | there}}}}`, or drop the `|`"
                    )),
                );
                None
            } else {
                Some(Spanned::new(
                    trimmed.to_owned(),
                    Span::new(at(offset), at(offset + trimmed.len())),
                ))
            }
        }
    };
    if !lit.is_empty() {
        parts.push(Part::Lit(std::mem::take(lit)));
    }
    parts.push(Part::Var(Var {
        path: path.to_owned(),
        span: Span::new(at(path_start), at(path_start + path.len())),
        fallback,
    }));
    close + 2
}

/// `ident(.ident)*`.
fn is_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|seg| {
            let mut chars = seg.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> (Text, Vec<Diagnostic>) {
        let mut d = Vec::new();
        (decode(raw, 10, &mut d), d)
    }

    #[test]
    fn decodes_escapes() {
        let (t, d) = text(r#""a\"b\\c\nd""#);
        assert!(d.is_empty());
        assert_eq!(t.parts, vec![Part::Lit("a\"b\\c\nd".into())]);
        assert_eq!(t.span, Span::new(10, 22));
    }

    #[test]
    fn finds_variables_with_exact_spans() {
        let raw = r#""Hi {{ contact.first_name }}!""#;
        let (t, d) = text(raw);
        assert!(d.is_empty());
        let var = t.vars().next().expect("one variable");
        assert_eq!(var.path, "contact.first_name");
        let (s, e) = (var.span.start as usize - 10, var.span.end as usize - 10);
        assert_eq!(&raw[s..e], "contact.first_name");
        assert_eq!(t.literal_chars(), 4);
    }

    #[test]
    fn reports_unknown_escape_and_unclosed_variable() {
        let (_, d) = text(r#""a\tb {{contact.x""#);
        let codes: Vec<_> = d.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![Code::SyntaxEscape, Code::VarMalformed]);
    }

    #[test]
    fn empty_string_is_one_empty_literal() {
        let (t, _) = text(r#""""#);
        assert!(t.is_empty());
        assert_eq!(t.literal_chars(), 0);
    }

    #[test]
    fn a_fallback_follows_the_bar() {
        let raw = r#""Hi {{ contact.first_name | my friend }}!""#;
        let (t, d) = text(raw);
        assert!(d.is_empty(), "{d:?}");
        let var = t.vars().next().expect("one variable");
        assert_eq!(var.path, "contact.first_name");
        let fallback = var.fallback.as_ref().expect("a fallback");
        assert_eq!(fallback.node, "my friend");
        let (s, e) = (
            fallback.span.start as usize - 10,
            fallback.span.end as usize - 10,
        );
        assert_eq!(&raw[s..e], "my friend");
        assert_eq!(t.display(), "Hi {{contact.first_name | my friend}}!");
    }

    #[test]
    fn an_empty_fallback_is_malformed() {
        let (t, d) = text(r#""Hi {{contact.first_name | }}""#);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::VarMalformed);
        // The variable stays, without a fallback.
        let var = t.vars().next().expect("kept");
        assert!(var.fallback.is_none());
    }

    #[test]
    fn a_bar_without_a_path_is_malformed() {
        let (_, d) = text(r#""{{ | there}}""#);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::VarMalformed);
    }

    #[test]
    fn a_single_brace_is_literal() {
        let (t, d) = text(r#""{x} {{a.b}}""#);
        assert!(d.is_empty());
        assert_eq!(t.display(), "{x} {{a.b}}");
    }
}
