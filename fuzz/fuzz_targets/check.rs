//! Arbitrary bytes through parse + check: nothing may panic, hang or overflow
//! the stack, every diagnostic must point into the text, and the parser's
//! fast path must give exactly what pest gives.
//!
//! Bytes that are valid UTF-8 are checked as they are; others the way
//! `kflowc` reads a file, with invalid sequences replaced by U+FFFD.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(source) = kflow::SourceFile::new("fuzz.kflow", &*text) else {
        return;
    };
    let fast = kflow::syntax::parse(&source);
    let pest = kflow::syntax::parse_with_pest(&source);
    assert_eq!(fast.file, pest.file, "the fast path built another tree");
    assert_eq!(
        fast.diagnostics, pest.diagnostics,
        "the fast path reported otherwise"
    );
    let checked = kflow::check_source(&source);
    for d in &checked.diagnostics {
        // `kflow::internal` means the grammar and the converter disagree, or
        // pest gave up: a bug either way.
        assert_ne!(d.code, kflow::Code::Internal, "{d:?}");
        for label in &d.labels {
            let span = label.span;
            assert!(
                span.start <= span.end && span.end as usize <= text.len(),
                "{d:?}"
            );
            assert!(
                text.is_char_boundary(span.start as usize)
                    && text.is_char_boundary(span.end as usize),
                "{d:?}"
            );
        }
    }
});
