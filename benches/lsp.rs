//! What `kflowc lsp` does on each keystroke: a one-character incremental
//! edit of a 1,000-line document applied to the document store, the whole
//! document re-checked, and its diagnostics converted to the protocol's
//! (UTF-16 ranges). Target: at most 5 ms in a release build.
//!
//! `cargo bench --bench lsp`. The edit alternates between typing a
//! character into a CTA body in the middle of the file and deleting it, so
//! every iteration checks the same 1,000 lines.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kflow::lsp::diagnostics::{self, DocsLink};
use kflow::lsp::documents::Documents;
use lsp_types::{Position, Range, TextDocumentContentChangeEvent, Uri};

/// A realistic workflow of about 1,000 lines, with non-ASCII text and
/// variables throughout and 84 diagnostics to convert (a misspelt variable
/// in every round, WhatsApp texts once a day of waits may have closed the
/// window).
fn document() -> String {
    let mut out =
        String::from("workflow \"Front desk\"\nfield contact.shoe_size\n\non reply whatsapp <\n");
    let mut i = 0;
    // Each round is 20 lines.
    while out.lines().count() < 1000 {
        out.push_str(&format!(
            "  # Round {i}: a CTA, its handlers and a fallback.
  if window.open and contact.tags has \"lead-{i}\" <
    cta \"offer_{i}\" <
      header text \"Olá {{{{contact.first_name}}}} 👋\"
      body \"Your size {{{{contact.shoe_size}}}} is in stock at {{{{custom_values.store_name}}}}. Pick a slot for round {i}.\"
      footer \"Reply STOP to opt out\"
      url \"https://www.example.com/book/{i}?c={{{{contact.id}}}}\"
      button \"Book now\"
    >
    on link opened < tag \"clicked-{i}\" >
    on not delivered < sms \"Book at https://www.example.com/book/{i}\" >
    on timeout 30m <
      whatsapp \"Still there, {{{{contact.frist_name}}}}?\"
    >
  > else <
    template \"booking_reminder\" < language \"pt_BR\" category utility param \"{{{{contact.first_name}}}}\" >
  >
  wait 1h
  untag \"lead-{i}\"
  tag \"round-{i}\"
"
        ));
        i += 1;
    }
    out.push_str(">\n");
    out
}

fn bench(c: &mut Criterion) {
    let text = document();
    let lines = text.lines().count();
    // The body line of the middle round, just after `body "`.
    let (line, column) = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("body \""))
        .map(|(n, l)| (n as u32, (l.find("body \"").expect("present") + 6) as u32))
        .nth(lines / 40)
        .expect("a body line");
    let uri: Uri = "file:///bench.kflow".parse().expect("present");
    let docs = DocsLink::new("file:///kflow/docs/language.md");
    let mut documents = Documents::default();
    let opened = documents
        .open(uri.clone(), 0, text.clone())
        .expect("present");
    eprintln!(
        "lsp bench: {lines} lines, {} bytes, {} diagnostics",
        text.len(),
        opened.checked().diagnostics.len()
    );
    let at = |character| Position { line, character };
    let mut version = 0;
    c.bench_function("lsp/edit_check_convert_1000_lines", |b| {
        b.iter(|| {
            version += 1;
            // Type `x`, then delete it, so the text stays the same size.
            let change = if version % 2 == 1 {
                TextDocumentContentChangeEvent {
                    range: Some(Range::new(at(column), at(column))),
                    range_length: None,
                    text: "x".to_owned(),
                }
            } else {
                TextDocumentContentChangeEvent {
                    range: Some(Range::new(at(column), at(column + 1))),
                    range_length: None,
                    text: String::new(),
                }
            };
            let document = documents
                .change(&uri, version, vec![change])
                .expect("present");
            black_box(diagnostics::all(document, &uri, &docs))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
