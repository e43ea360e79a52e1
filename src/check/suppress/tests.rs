use crate::diag::{Code, Diagnostic};
use crate::{SourceFile, check_source};

/// A body of 170 GSM-7 characters: over one segment, a warning.
const LONG: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    check_source(&SourceFile::new("t.kflow", text).expect("small")).diagnostics
}

fn codes(text: &str) -> Vec<Code> {
    diagnostics(text).iter().map(|d| d.code).collect()
}

fn file(lines: &[&str]) -> String {
    let mut text = lines.join("\n").replace("LONG", LONG);
    text.push('\n');
    text
}

#[test]
fn without_a_directive_the_warning_stands() {
    let text = file(&["on reply sms <", "  sms \"LONG\"", ">"]);
    assert_eq!(codes(&text), [Code::SmsSegments]);
}

#[test]
fn an_own_line_directive_silences_the_next_code_line() {
    let text = file(&[
        "on reply sms <",
        "  # kflow-ignore: kflow::sms::segments two segments are fine here",
        "",
        "  # another comment",
        "  sms \"LONG\"",
        ">",
    ]);
    assert_eq!(codes(&text), []);
}

#[test]
fn a_trailing_directive_silences_its_own_line() {
    let text = file(&[
        "on reply sms <",
        "  sms \"LONG\" # kflow-ignore: kflow::sms::segments intended",
        ">",
    ]);
    assert_eq!(codes(&text), []);
}

#[test]
fn a_directive_reaches_one_line_only() {
    let text = file(&[
        "on reply sms <",
        "  # kflow-ignore: kflow::sms::segments the first is intended",
        "  sms \"LONG\"",
        "  sms \"LONG\"",
        ">",
    ]);
    let found = diagnostics(&text);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].code, Code::SmsSegments);
    // The one left is the second SMS, on line 4.
    let start = found[0].primary_span().start as usize;
    assert_eq!(text[..start].matches('\n').count(), 3);
}

#[test]
fn another_code_does_not_silence_and_is_unused() {
    let text = file(&[
        "on reply sms <",
        "  sms \"LONG\" # kflow-ignore: kflow::cta::insecure_url wrong code",
        ">",
    ]);
    let found = diagnostics(&text);
    let codes: Vec<Code> = found.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::SmsSegments, Code::SuppressUnused]);
    let unused = &found[1];
    assert_eq!(
        &text[unused.labels[0].span.range()],
        "kflow::cta::insecure_url"
    );
    // The fix deletes the whole comment.
    let fix = unused
        .fix
        .as_ref()
        .expect("a lone unused code is removable");
    assert!(text[fix.span.range()].starts_with("# kflow-ignore"));
    assert_eq!(fix.replacement, "");
}

#[test]
fn errors_cannot_be_silenced() {
    let text = file(&[
        "on reply sms <",
        "  # kflow-ignore: kflow::sms::body_length I know",
        "  sms \"\"",
        ">",
    ]);
    assert_eq!(codes(&text), [Code::SuppressError, Code::SmsBodyLength]);
}

#[test]
fn an_unknown_code_gets_a_did_you_mean_fix() {
    let text = file(&[
        "on reply sms <",
        "  sms \"LONG\" # kflow-ignore: kflow::sms::segmnets typo",
        ">",
    ]);
    let found = diagnostics(&text);
    let codes: Vec<Code> = found.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::SmsSegments, Code::SuppressUnknown]);
    let fix = found[1].fix.as_ref().expect("near a real code");
    assert_eq!(&text[fix.span.range()], "kflow::sms::segmnets");
    assert_eq!(fix.replacement, "kflow::sms::segments");
    assert!(
        found[1]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("kflow::sms::segments"))
    );
}

#[test]
fn a_missing_reason_is_reported_but_still_silences() {
    let text = file(&[
        "on reply sms <",
        "  sms \"LONG\" # kflow-ignore: kflow::sms::segments",
        ">",
    ]);
    assert_eq!(codes(&text), [Code::SuppressNoReason]);
}

#[test]
fn several_codes_in_one_directive() {
    let text = file(&[
        "on reply whatsapp <",
        "  # kflow-ignore: kflow::cta::insecure_url, kflow::sms::segments legacy site",
        "  cta < header text \"Hi\" body \"Hi\" url \"http://example.com\" button \"Go\" timeout 1h >",
        ">",
    ]);
    let found = diagnostics(&text);
    let codes: Vec<Code> = found.iter().map(|d| d.code).collect();
    // The insecure URL is silenced; the SMS code has nothing on that line.
    assert_eq!(codes, [Code::SuppressUnused]);
    assert_eq!(
        &text[found[0].labels[0].span.range()],
        "kflow::sms::segments"
    );
    assert!(found[0].fix.is_none(), "the other code is in use");
}

#[test]
fn malformed_directives() {
    let text = file(&[
        "on reply sms <",
        "  sms \"LONG\" # kflow-ignore kflow::sms::segments no colon",
        "  sms \"hi\" # kflow-ignore: sms::segments not a code",
        ">",
    ]);
    assert_eq!(
        codes(&text),
        [
            Code::SmsSegments,
            Code::SuppressMalformed,
            Code::SuppressMalformed
        ]
    );
}

#[test]
fn other_words_and_strings_are_not_directives() {
    let text = file(&[
        "on reply sms <",
        "  # kflow-ignored: kflow::sms::segments not the word",
        "  sms \"LONG # kflow-ignore: kflow::sms::segments in a string\"",
        ">",
    ]);
    assert_eq!(codes(&text), [Code::SmsSegments]);
}

#[test]
fn every_line_of_a_large_file_keeps_its_own_directive() {
    // 20,000 warnings, each silenced by the directive on its own line.
    let mut text = String::from("on reply sms <\n");
    for _ in 0..20_000 {
        text.push_str("  sms \"LONG\" # kflow-ignore: kflow::sms::segments bulk\n");
    }
    text.push_str(">\n");
    assert_eq!(codes(&text.replace("LONG", LONG)), []);
}
