//! The human renderer: plain and colour output, cleaned text, and windowed
//! reads that match whole-text reads.

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

/// `clean` as the definition says it: every character through
/// `replacement`, one at a time.
fn clean_by_characters(text: &str) -> String {
    let mut chars = text.chars().peekable();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        out.push(replacement(c, chars.peek().copied()).unwrap_or(c));
    }
    out
}

proptest::proptest! {
    #[test]
    fn clean_replaces_exactly_what_replacement_says(
        text in "(\\PC|[\u{0}-\u{1f}\u{7f}-\u{9f}\u{200b}-\u{200f}\u{202a}-\u{202e}\u{2066}-\u{2069}\u{feff}\r\n]|é|✓){0,40}"
    ) {
        proptest::prop_assert_eq!(clean(&text).into_owned(), clean_by_characters(&text));
    }
}

#[test]
fn clean_shows_controls_and_keeps_line_ends() {
    assert!(matches!(clean("a\tb\r\nc\n"), Cow::Borrowed(_)));
    assert_eq!(
        clean("a\u{1b}[2Jb\rc\u{7f}"),
        "a\u{241b}[2Jb\u{240d}c\u{2421}"
    );
    assert_eq!(clean("x\u{202e}y\u{85}"), "x\u{fffd}y\u{fffd}");
}

#[test]
fn offsets_move_past_replaced_characters() {
    // ESC (1 byte) becomes ␛ (3 bytes); U+0085 (2 bytes) becomes � (3).
    let file = SourceFile::new("a.kflow", "a\u{1b}b\u{85}c").expect("small");
    let shown = Shown::new(&file);
    assert_eq!(&*shown.text, "a\u{241b}b\u{fffd}c");
    let mapped: Vec<u32> = (0..=6).map(|o| shown.map(o)).collect();
    // a=0, ESC=1, b=2, U+0085=3..5, c=5, end=6.
    assert_eq!(mapped, [0, 1, 4, 5, 5, 8, 9]);
}

#[test]
fn escape_sequences_in_the_source_do_not_reach_the_output() {
    let text = "on reply sms < \u{1b}]0;pwned\u{7} bogus >";
    let file = SourceFile::new("a.kflow", text).expect("small");
    let at = text.find("bogus").expect("bogus") as u32;
    let diagnostics = vec![
        Diagnostic::new(
            Code::SyntaxControlCharacter,
            "control character \u{1b}",
            Span::new(15, 16),
            "here \u{1b}",
        ),
        Diagnostic::new(
            Code::SyntaxUnexpected,
            "unexpected",
            Span::new(at, at + 5),
            "here",
        ),
    ];
    let out = render_plain(&diagnostics, &file);
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out}");
    assert!(out.contains("[a.kflow:1:16]"), "{out}");
    // Character columns are unchanged by the replacements.
    assert!(out.contains("[a.kflow:1:27]"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let underline = lines
        .iter()
        .position(|l| l.contains("──┬──"))
        .expect("underline");
    let column = |l: &str, pat: &str| l.find(pat).map(|i| l[..i].chars().count());
    assert_eq!(
        column(lines[underline - 1], "bogus"),
        column(lines[underline], "─")
    );
}

/// The shown text read as miette reads a whole `str`: what [`Shown`]
/// answered before it read windows.
struct Whole<'a>(&'a Shown);

impl SourceCode for Whole<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        if before == 0 && after == 0 {
            return self.0.read_span(span, 0, 0);
        }
        let inner = self.0.text.read_span(span, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.0.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

type Read = Option<(Vec<u8>, SourceSpan, usize, usize, usize, Option<String>)>;

fn read(source: &dyn SourceCode, span: SourceSpan, before: usize, after: usize) -> Read {
    let c = source.read_span(&span, before, after).ok()?;
    Some((
        c.data().to_vec(),
        *c.span(),
        c.line(),
        c.column(),
        c.line_count(),
        c.name().map(str::to_owned),
    ))
}

/// A file of `lines` lines, some ending in `\r\n`, some empty, one
/// with a replaced control character; the last has no line end.
fn many_lines(lines: usize) -> String {
    let mut text = String::new();
    for i in 0..lines {
        match i % 7 {
            3 => {}
            5 => text.push_str(&format!("on reply sms < sms \"r\u{1b}{i}\" >")),
            _ => text.push_str(&format!("on reply sms < sms \"line {i}\" bogus{i} >")),
        }
        if i + 1 < lines {
            text.push_str(if i % 4 == 1 { "\r\n" } else { "\n" });
        }
    }
    text
}

#[test]
fn windows_read_what_the_whole_text_reads() {
    let texts = [
        String::new(),
        "\n\n\n".to_owned(),
        "a\nbb\n\nccc\r\ndddd\n".to_owned(),
        "first\nsecond\r\nthird".to_owned(),
        "x\u{1b}y\nz\r\r\n\u{85}\n".to_owned(),
        many_lines(12),
    ];
    for text in texts {
        let file = SourceFile::new("a.kflow", text.as_str()).expect("small");
        let shown = Shown::new(&file);
        let len = shown.text.len();
        for start in 0..=len + 1 {
            for end in start..=len + 2 {
                for (before, after) in [(1, 1), (0, 1), (1, 0), (2, 2), (3, 1)] {
                    if before == 0 && start > len {
                        // miette slices from the span's start then, and
                        // panics (its renderer asks for 1 and 1).
                        continue;
                    }
                    let span = SourceSpan::new(start.into(), end - start);
                    assert_eq!(
                        read(&shown, span, before, after),
                        read(&Whole(&shown), span, before, after),
                        "{text:?} {start}..{end} context {before}/{after}"
                    );
                }
            }
        }
    }
}

#[test]
fn reports_from_windows_match_reports_from_the_whole_text() {
    let text = many_lines(40);
    let file = SourceFile::new("a.kflow", text.as_str()).expect("small");
    let len = text.len() as u32;
    let line = |n: usize| -> u32 {
        text.split_inclusive('\n')
            .take(n - 1)
            .map(|l| l.len() as u32)
            .sum()
    };
    let word = |n: usize, w: &str| line(n) + text[line(n) as usize..].find(w).expect("word") as u32;
    let at = |start: u32, end: u32| {
        Diagnostic::new(
            Code::SyntaxUnexpected,
            "unexpected",
            Span::new(start, end),
            "here",
        )
    };
    let mut diagnostics = vec![
        // The first line, its start and all of it.
        at(0, 2),
        at(0, line(2)),
        // The middle, on a `\r\n` line, an empty line, a replaced character.
        at(word(20, "bogus"), word(20, "bogus") + 7),
        at(line(11), line(11)),
        at(word(27, "\u{1b}"), word(27, "\u{1b}") + 1),
        // Labels over several lines.
        at(word(18, "sms"), word(21, ">")),
        at(word(2, "bogus"), word(5, "reply")),
        // The last line, which has no line end: a word, its end, past it.
        at(word(40, "bogus"), len),
        at(len - 1, len),
        at(len, len),
        at(line(39), len),
        // Two labels: near each other, far apart, the second before the first.
        at(word(20, "bogus"), word(20, "bogus") + 7)
            .with_label(Span::new(word(22, "sms"), word(22, "sms") + 3), "and here"),
        at(word(3, "bogus"), word(3, "bogus") + 5)
            .with_label(Span::new(word(38, "line"), word(38, "line") + 4), "far"),
        at(word(40, "bogus"), len).with_label(Span::new(0, 2), "first"),
    ];
    // Every line's start and end, alone and as the end of a label from
    // the line before.
    for n in 1..=40 {
        let end = if n == 40 { len } else { line(n + 1) - 1 };
        diagnostics.push(at(line(n), end));
        diagnostics.push(at(end, end));
        if n > 1 {
            diagnostics.push(at(line(n - 1) + 1, end));
        }
    }
    for options in [
        HumanOptions::PLAIN,
        HumanOptions {
            color: true,
            width: 40,
            unicode: false,
        },
    ] {
        let renderer = Renderer::new(&file, options);
        for diagnostic in &diagnostics {
            let windowed = renderer.render(diagnostic);
            assert_eq!(
                windowed,
                renderer.draw(diagnostic, &Whole(&renderer.source)),
                "{diagnostic:?}"
            );
            assert!(windowed.contains("a.kflow:"), "{windowed}");
        }
    }
    let end = render_plain(&diagnostics[7..8], &file);
    assert!(end.contains("[a.kflow:40:"), "{end}");
    assert!(end.contains("40 │ on reply sms"), "{end}");
}

#[test]
fn long_lines_are_not_drawn() {
    let mut text = "on reply sms < sms \"x\" > ".repeat(4000);
    let at = text.len() as u32;
    text.push_str("bogus");
    let file = SourceFile::new("long.kflow", text).expect("small");
    let diagnostics = vec![
        Diagnostic::new(
            Code::SyntaxUnexpected,
            "unexpected",
            Span::new(at, at + 5),
            "here",
        )
        .with_help("remove it"),
    ];
    let out = render_plain(&diagnostics, &file);
    assert!(out.len() < 1000, "{out}");
    assert!(
        out.contains(&format!(
            "at long.kflow:1:{}: here (line too long to show)",
            at + 1
        )),
        "{out}"
    );
    assert!(out.contains("remove it"), "{out}");
}

/// [`direct`] draws what miette draws, on every diagnostic it takes: each
/// word and line of varied files (ends of lines and of the file, long and
/// short line numbers, labels with and without text, help that wraps and
/// help that fits) and every diagnostic of the UI fixtures and examples, in
/// Unicode at 80 and ASCII at 40 columns.
#[test]
fn direct_reports_are_miettes() {
    let mut files: Vec<(String, String)> = vec![
        ("many.kflow".into(), many_lines(120)),
        ("trailing.kflow".into(), format!("{}\n", many_lines(12))),
        (
            "one.kflow".into(),
            "on reply sms < sms \"x\" bogus >".into(),
        ),
        ("blank.kflow".into(), "\n\nbogus\n\n".into()),
        (
            "unicode.kflow".into(),
            "workflow \"Olá\"\non reply sms < sms \"à demain 😀 ok\" bogus >\n\
             # 日本語のコメント wide characters\non reply email < email \"e\u{301}t\u{e9} \u{200d}x\" >\n\
             on reply whatsapp < whatsapp \"ﬁne ½ — “quoted” 한국어\" >\n"
                .into(),
        ),
    ];
    for dir in ["tests/ui", "examples"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .expect("the directory exists")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "kflow"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("UTF-8");
            files.push((path.display().to_string(), text));
        }
    }
    let long_help = "write the body again in fewer words; a message this long is cut by \
                     some phones, and WhatsApp refuses one over 1024 characters";
    // [one label, several labels]: (drawn directly, all).
    let mut counts = [(0, 0); 2];
    for (name, text) in &files {
        let file = SourceFile::new(name.as_str(), text.as_str()).expect("small");
        let mut diagnostics = crate::check_source(&file).diagnostics;
        // A label on every word, with and without text and help.
        let mut words = Vec::new();
        let mut at = 0;
        for word in text.split_inclusive([' ', '\n']) {
            let trimmed = word.trim_end();
            let (start, end) = (at as u32, (at + trimmed.len()) as u32);
            at += word.len();
            if start < end {
                words.push(Span::new(start, end));
            }
        }
        let texts = ["here", "", "a label: with, punctuation"];
        for (i, &span) in words.iter().enumerate() {
            let mut d = Diagnostic::new(Code::SyntaxUnexpected, "unexpected", span, texts[i % 3]);
            if i % 2 == 0 {
                d = d.with_help(if i % 4 == 0 { long_help } else { "remove it" });
            }
            diagnostics.push(d);
        }
        // Labels starting or ending inside a character.
        for (i, (at, c)) in text.char_indices().enumerate() {
            if c.len_utf8() > 1 && i % 2 == 0 {
                let (at, end) = (at as u32, (at + c.len_utf8()) as u32);
                diagnostics.push(Diagnostic::new(
                    Code::SyntaxUnexpected,
                    "inside",
                    Span::new(at + 1, end + 2),
                    "mid",
                ));
                diagnostics.push(Diagnostic::new(
                    Code::SyntaxUnexpected,
                    "inside",
                    Span::new(at.saturating_sub(2), at + 1),
                    "",
                ));
            }
        }
        // Two and three labels: on one line, on lines next to each other
        // and a few apart, far apart, the primary after the others.
        for i in (0..words.len().min(400)).step_by(3) {
            for j in [
                i + 1,
                i + 4,
                i + 9,
                i + 14,
                i + 19,
                i + 24,
                i + 60,
                0,
                words.len() - 1,
            ] {
                let Some(&other) = words.get(j) else { continue };
                let d = Diagnostic::new(Code::TriggerDuplicate, "twice", words[i], texts[i % 3])
                    .with_label(other, texts[j % 3]);
                diagnostics.push(if j % 2 == 0 {
                    d.with_label(words[(i + j) / 2], "between")
                } else {
                    d
                });
            }
        }
        for options in [
            HumanOptions::PLAIN,
            HumanOptions {
                color: false,
                width: 40,
                unicode: false,
            },
        ] {
            let renderer = Renderer::new(&file, options);
            for diagnostic in &diagnostics {
                let count = &mut counts[usize::from(diagnostic.labels.len() > 1)];
                count.1 += 1;
                let mut direct = String::new();
                if renderer.direct(diagnostic, &mut direct) {
                    count.0 += 1;
                    let miette = renderer.draw(diagnostic, &renderer.source);
                    assert_eq!(direct, miette, "{name}: {diagnostic:?}");
                }
            }
        }
    }
    // Most single labels took the direct path (the rest: CRLF lines,
    // control characters, labels on line ends), and enough of several.
    eprintln!("drawn directly (of all): {counts:?}");
    let [one, several] = counts;
    assert!(one.0 * 10 > one.1 * 8, "{one:?}");
    assert!(several.0 > 500, "{several:?}");
}
