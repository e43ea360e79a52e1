//! Bad input never panics or hangs.
//!
//! Property tests throw random bytes, mutated programs and grammar-generated
//! programs at [`kflow::check_source`]; explicit tests cover the pathological
//! shapes the issue names: 100,000-deep nesting, 10 MB strings, NUL bytes,
//! invalid UTF-8 and a 50,000-branch `else if` chain. Every test runs on the
//! ordinary test thread (2 MiB of stack), so a recursion that grows with the
//! input shows up here as a stack overflow.
//!
//! No test measures time: a hang shows up as a test that never finishes.

use kflow::syntax::ast::{Block, Cond, FieldValue, Handler, Item, Part, Stmt, StmtKind, Text};
use kflow::{Checked, Code, SourceFile, Span};
use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------------------
// Invariants every result must satisfy, whatever the input.
// ---------------------------------------------------------------------------

/// A span that can slice `text`.
fn span_ok(text: &str, span: Span) -> bool {
    span.start <= span.end
        && (span.end as usize) <= text.len()
        && text.is_char_boundary(span.start as usize)
        && text.is_char_boundary(span.end as usize)
}

/// Every span of every diagnostic and every AST node can slice `text`.
fn assert_invariants(text: &str, checked: &Checked) {
    for d in &checked.diagnostics {
        assert!(!d.labels.is_empty(), "diagnostic without a label: {d:?}");
        for label in &d.labels {
            assert!(
                span_ok(text, label.span),
                "label span {:?} does not fit the text ({} bytes): {d:?}",
                label.span,
                text.len()
            );
        }
        assert!(
            d.code != Code::Internal,
            "internal diagnostic (a kflow bug) for input {text:?}: {d:?}"
        );
    }
    let mut spans = Vec::new();
    for item in &checked.file.items {
        item_spans(item, &mut spans);
    }
    for span in spans {
        assert!(
            span_ok(text, span),
            "AST span {span:?} does not fit the text ({} bytes)",
            text.len()
        );
    }
}

fn item_spans(item: &Item, out: &mut Vec<Span>) {
    match item {
        Item::Workflow(t) => text_spans(t, out),
        Item::Field(f) => out.push(f.span),
        Item::Trigger(t) => {
            out.extend([t.head, t.channel.span]);
            block_spans(&t.body, out);
        }
        Item::Quiet(q) => {
            out.extend([q.head, q.from.span, q.to.span, q.span]);
            match &q.zone {
                kflow::syntax::ast::Zone::Named(t) => text_spans(t, out),
                kflow::syntax::ast::Zone::Field(f) => out.push(f.span),
            }
            if let Some(d) = &q.default {
                text_spans(d, out);
            }
        }
        Item::Cap(c) => out.extend([c.head, c.count.span, c.per.span, c.span]),
        Item::Goal(g) => {
            out.extend([g.head, g.span]);
            cond_spans(&g.cond, out);
        }
    }
}

fn block_spans(block: &Block, out: &mut Vec<Span>) {
    out.push(block.span);
    for stmt in &block.stmts {
        stmt_spans(stmt, out);
    }
    for h in &block.orphans {
        handler_spans(h, out);
    }
}

fn handler_spans(h: &Handler, out: &mut Vec<Span>) {
    out.push(h.head);
    match &h.kind {
        kflow::syntax::ast::HandlerKind::Timeout(d) => out.push(d.span),
        kflow::syntax::ast::HandlerKind::Choice(t) => text_spans(t, out),
        _ => {}
    }
    block_spans(&h.body, out);
}

fn stmt_spans(stmt: &Stmt, out: &mut Vec<Span>) {
    out.extend([stmt.span, stmt.head]);
    for h in &stmt.handlers {
        handler_spans(h, out);
    }
    fn fields(f: &kflow::syntax::ast::Fields, out: &mut Vec<Span>) {
        out.push(f.span);
        for field in &f.fields {
            out.extend([field.span, field.name.span, field.value.span()]);
            match &field.value {
                FieldValue::Text(t)
                | FieldValue::Word(_, Some(t))
                | FieldValue::Indexed(_, _, Some(t)) => text_spans(t, out),
                FieldValue::Duration(_) | FieldValue::Word(_, None) => {}
                FieldValue::Indexed(n, w, None) => out.extend([n.span, w.span]),
                FieldValue::Texts(texts) => texts.iter().for_each(|t| text_spans(t, out)),
                FieldValue::Group(texts, inner) => {
                    texts.iter().for_each(|t| text_spans(t, out));
                    fields(inner, out);
                }
            }
        }
    }
    match &stmt.kind {
        StmtKind::If(i) => {
            for b in &i.branches {
                cond_spans(&b.cond, out);
                block_spans(&b.block, out);
            }
            if let Some(b) = &i.otherwise {
                block_spans(b, out);
            }
        }
        StmtKind::Cta(c) | StmtKind::Buttons(c) | StmtKind::List(c) => {
            if let Some(n) = &c.name {
                text_spans(n, out);
            }
            fields(&c.fields, out);
        }
        StmtKind::Template(t) => {
            text_spans(&t.name, out);
            fields(&t.fields, out);
        }
        StmtKind::Sms(kflow::syntax::ast::Sms::Fields(f)) | StmtKind::Email(f) => fields(f, out),
        StmtKind::Whatsapp(t) | StmtKind::Tag(t) | StmtKind::Untag(t) => text_spans(t, out),
        StmtKind::Sms(kflow::syntax::ast::Sms::Text(t)) => text_spans(t, out),
        StmtKind::Wait(d) => out.push(d.span),
        StmtKind::AwaitReply(c) => out.push(c.span),
        StmtKind::Stop => {}
    }
}

fn cond_spans(cond: &Cond, out: &mut Vec<Span>) {
    match cond {
        Cond::Or(all) | Cond::And(all) => all.iter().for_each(|c| cond_spans(c, out)),
        Cond::Not(c) => cond_spans(c, out),
        Cond::Test(t) => {
            out.extend([t.span, t.path.span]);
            if let Some((op, value)) = &t.compare {
                out.push(op.span);
                text_spans(value, out);
            }
        }
    }
}

fn text_spans(t: &Text, out: &mut Vec<Span>) {
    out.push(t.span);
    out.extend(t.parts.iter().filter_map(|p| match p {
        Part::Var(v) => Some(v.span),
        Part::Lit(_) => None,
    }));
}

/// Parses and checks `text`, asserting the invariants.
fn check(text: &str) -> Checked {
    let source = SourceFile::new("robustness.kflow", text).expect("test inputs are small");
    let checked = kflow::check_source(&source);
    assert_invariants(text, &checked);
    checked
}

/// The fast path and pest give the same tree and the same diagnostics.
fn assert_fast_path_agrees(text: &str) {
    let source = SourceFile::new("robustness.kflow", text).expect("test inputs are small");
    let fast = kflow::syntax::parse(&source);
    let pest = kflow::syntax::parse_with_pest(&source);
    assert_eq!(fast.file, pest.file, "trees differ for {text:?}");
    assert_eq!(
        fast.diagnostics, pest.diagnostics,
        "diagnostics differ for {text:?}"
    );
}

/// Parses and checks bytes the way `kflowc` reads a file: lossy UTF-8.
fn check_bytes(bytes: &[u8]) -> Checked {
    check(&String::from_utf8_lossy(bytes))
}

fn codes(checked: &Checked) -> Vec<&'static str> {
    checked
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect()
}

fn has_code(checked: &Checked, code: Code) -> bool {
    checked.diagnostics.iter().any(|d| d.code == code)
}

fn syntax_codes(checked: &Checked) -> Vec<&'static str> {
    codes(checked)
        .into_iter()
        .filter(|c| c.starts_with("kflow::syntax::") || *c == "kflow::internal")
        .collect()
}

// ---------------------------------------------------------------------------
// Seeds: valid programs from the language description.
// ---------------------------------------------------------------------------

const ONE_LINE: &str = r#"on reply whatsapp < if window.open < cta < header text "Hi" body "Pick a slot" url "https://www.example.com/book" button "Book now" > > on timeout 30m < sms "Still want a slot?" > >"#;

const FULL: &str = r#"workflow "WhatsApp booking CTA"
on reply whatsapp <
  if window.open <
    cta "Booking link" <
      from "+15550100001"
      header image "https://cdn.example.com/booking.png"
      body "Hi {{contact.first_name}}, pick a time that suits you."
      footer "Kyrios Dental"
      url "https://www.example.com/?name={{contact.name}}&calendar={{custom_values.agent_calendar}}"
      button "Book now"
    >
    on link opened < tag "clicked-booking" >
    on not delivered < email < subject "Your booking link" body "..." > >
    on timeout 30m < sms "Still want a slot? Reply YES." >
  > else <
    template "booking_reopen" < language "en_US" category utility >
  >
>
"#;

const OTHERS: &str = r#"# Follow-ups after a reply.
workflow "Follow-ups"
field contact.shoe_size
on reply sms <
  sms < body "Thanks, {{contact.first_name}}!" >
  wait 1h30m
  whatsapp "Still there?"
  await reply whatsapp
  on timeout 2h < untag "hot" stop >
  if contact.tags has "vip" and not (contact.city == "Lisbon" or contact.city != "Porto") <
    tag "vip-follow-up"
  > else if contact.first_name contains "An" < tag "an" > else if window.closed < stop > else < tag "x" >
>
"#;

const SEEDS: &[&str] = &[ONE_LINE, FULL, OTHERS];

#[test]
fn fast_path_agrees_with_pest_on_seeds_and_quirks() {
    for seed in SEEDS {
        assert_fast_path_agrees(seed);
    }
    for text in [
        // Rules ending in an optional part that matched nothing cover the
        // trivia after it.
        "on reply sms < if window.open # c\n < stop > # c\n stop >",
        "on reply sms < if a < > else if b < >  \n  tag \"x\" >",
        "on reply sms < if a  and  b  or  c < > >",
        "on reply sms < template \"t\" < category utility   language \"en\" category  utility > >",
        "on reply sms < cta < header image   \"u\" timeout 30m > >",
        "on reply sms < if not  not (  a == \"x\" ) and not b < > >",
        "on reply sms < if(a)<stop>else<stop> >",
        "on reply sms < if or or or and and < > >",
        "on reply sms < if a.b.c contains\"x\" or d has \"y\" < > >",
        "on reply sms < on timeout 1h < > stop on link opened < > on not delivered < > >",
        "on reply sms < wait 1d1d sms \"\\q {{x\" >",
        "on reply sms<await reply email on timeout 0s<>>",
        "workflow \"a\\\"b\"  # trailing\n",
        "field contact.shoe_size",
        "field contact.",
        "  # only trivia\n",
        "on reply sms < if a < > else >",
        "on reply sms < if a == < > >",
        "on reply sms < cta \"x\" \"y\" < > >",
        "on reply sms < sms >",
        "on reply sms < wait 1h30 >",
        "on reply sms < if a and < > >",
        "on reply sms < if not < > >",
        "on reply sms < x >",
        "on reply sms < stop > >",
        "on reply sms < tag \"é\\é\" >\r\n",
        // Several strings and nested fields end on their last token or
        // block; `on reply "id"` is a handler, not a trigger.
        "on reply sms < buttons < reply \"a\"  \"b\"   # c\n > on reply \"a\" < > >",
        "on reply sms < list < section \"s\" < row \"a\" \"b\" \"c\" > section < > > >",
        "on reply sms < list < section\"s\"<row\"a\"\"b\">> >",
        "on reply sms < buttons \"n\" < reply \"a\" \"b\" \"c\" \"d\" < x \"y\" > > >",
        "on reply sms < on reply \"a\" < > >",
    ] {
        assert_fast_path_agrees(text);
    }
}

#[test]
fn seeds_check_clean_of_syntax_errors() {
    for seed in SEEDS {
        let checked = check(seed);
        assert_eq!(syntax_codes(&checked), Vec::<&str>::new(), "{seed}");
    }
    // The one-line example must check clean, full stop.
    assert_eq!(codes(&check(ONE_LINE)), Vec::<&str>::new());
}

// ---------------------------------------------------------------------------
// Pathological inputs.
// ---------------------------------------------------------------------------

const DEEP: usize = 100_000;

#[test]
fn deeply_nested_blocks_are_too_deep() {
    let closed = format!("on reply whatsapp {}{}", "<".repeat(DEEP), ">".repeat(DEEP));
    assert!(has_code(&check(&closed), Code::SyntaxTooDeep));

    let unclosed = format!("on reply whatsapp {}", "<".repeat(DEEP));
    let checked = check(&unclosed);
    assert!(has_code(&checked, Code::SyntaxTooDeep));

    // Nested ifs: statements, not bare brackets.
    let ifs = format!(
        "on reply whatsapp < {} stop {} >",
        "if window.open < ".repeat(DEEP),
        "> ".repeat(DEEP)
    );
    assert!(has_code(&check(&ifs), Code::SyntaxTooDeep));

    // Nested handlers.
    let handlers = format!(
        "on reply whatsapp < {} {} >",
        "stop on timeout 1m < ".repeat(DEEP),
        "> ".repeat(DEEP)
    );
    assert!(has_code(&check(&handlers), Code::SyntaxTooDeep));

    // Closers first: every one closes nothing.
    let closers = format!("on reply whatsapp < > {}", ">".repeat(DEEP));
    assert!(has_code(&check(&closers), Code::SyntaxUnmatchedClose));
}

#[test]
fn deeply_nested_parentheses_are_too_deep() {
    let parens = format!(
        "on reply whatsapp < if {}window.open{} < stop > >",
        "(".repeat(DEEP),
        ")".repeat(DEEP)
    );
    assert!(has_code(&check(&parens), Code::SyntaxTooDeep));

    let not_parens = format!(
        "on reply whatsapp < if {}window.open{} < stop > >",
        "not (".repeat(DEEP),
        ")".repeat(DEEP)
    );
    assert!(has_code(&check(&not_parens), Code::SyntaxTooDeep));

    let unclosed = format!("on reply whatsapp < if {}", "(".repeat(DEEP));
    assert!(has_code(&check(&unclosed), Code::SyntaxTooDeep));
}

#[test]
fn a_hundred_thousand_nots_fold_without_recursion() {
    // `not` is a prefix, not a bracket: repeated `not`s nest nothing, the
    // parser reads them in a loop and the tree folds them into at most one.
    for (count, negated) in [(DEEP, false), (DEEP + 1, true)] {
        let text = format!(
            "on reply whatsapp < if {}window.open < stop > >",
            "not ".repeat(count)
        );
        let checked = check(&text);
        assert_eq!(syntax_codes(&checked), Vec::<&str>::new());
        let Some(Item::Trigger(trigger)) = checked.file.items.first() else {
            panic!("expected a trigger, got {:?}", checked.file.items);
        };
        let StmtKind::If(i) = &trigger.body.stmts[0].kind else {
            panic!("expected an if");
        };
        assert_eq!(matches!(i.branches[0].cond, Cond::Not(_)), negated);
    }
    // `not` with nothing to negate is a syntax error, not a crash.
    let dangling = format!("on reply whatsapp < if {}< stop > >", "not ".repeat(DEEP));
    assert!(has_code(&check(&dangling), Code::SyntaxUnexpected));
}

#[test]
fn nesting_up_to_the_cap_fits_the_default_test_stack() {
    let depth = kflow::syntax::MAX_DEPTH;
    // `<` blocks only: the trigger's block plus nested ifs.
    let ifs = format!(
        "on reply whatsapp < {} stop {} >",
        "if window.open < ".repeat(depth - 1),
        "> ".repeat(depth - 1)
    );
    // Handlers nest through a statement each.
    let handlers = format!(
        "on reply whatsapp < {} stop {} >",
        "cta < body \"x\" > on timeout 1h < ".repeat(depth - 1),
        "> ".repeat(depth - 1)
    );
    // Parentheses: the trigger's block, then parentheses to the cap.
    let parens = format!(
        "on reply whatsapp < if {}window.open{} < stop > >",
        "not (".repeat(depth - 1),
        ")".repeat(depth - 1)
    );
    // Half blocks, half parentheses in the innermost condition.
    let half = depth / 2;
    let mixed = format!(
        "on reply whatsapp < {} if {}window.open{} < stop > {} >",
        "if window.open < ".repeat(half - 1),
        "(".repeat(half),
        ")".repeat(half),
        "> ".repeat(half - 1)
    );
    for text in [&ifs, &handlers, &parens, &mixed] {
        let checked = check(text);
        assert_eq!(
            syntax_codes(&checked),
            Vec::<&str>::new(),
            "{}",
            &text[..80]
        );
        assert_eq!(checked.file.items.len(), 1);
    }
    // One more level is refused.
    let over = format!(
        "on reply whatsapp < {} stop {} >",
        "if window.open < ".repeat(depth),
        "> ".repeat(depth)
    );
    assert!(has_code(&check(&over), Code::SyntaxTooDeep));
}

const TEN_MB: usize = 10 * 1024 * 1024;

#[test]
fn ten_megabyte_strings() {
    let body = "a".repeat(TEN_MB);
    let text = format!("on reply whatsapp < if window.open < whatsapp \"{body}\" > >");
    let checked = check(&text);
    assert_eq!(syntax_codes(&checked), Vec::<&str>::new());
    let Some(Item::Trigger(trigger)) = checked.file.items.first() else {
        panic!("expected a trigger");
    };
    let StmtKind::If(i) = &trigger.body.stmts[0].kind else {
        panic!("expected an if");
    };
    let StmtKind::Whatsapp(t) = &i.branches[0].block.stmts[0].kind else {
        panic!("expected a whatsapp message");
    };
    assert_eq!(t.literal_chars(), TEN_MB);

    // Multi-byte characters, escapes and variables throughout.
    let piece = "é \\\" {{contact.first_name}} \\n ";
    let body = piece.repeat(TEN_MB / piece.len());
    let text = format!("on reply whatsapp < cta < body \"{body}\" > >");
    assert_eq!(syntax_codes(&check(&text)), Vec::<&str>::new());

    // Unterminated: one diagnostic, not one per byte.
    let text = format!("on reply whatsapp < whatsapp \"{}", "b".repeat(TEN_MB));
    let checked = check(&text);
    assert!(has_code(&checked, Code::SyntaxUnterminatedString));
    assert!(checked.diagnostics.len() <= 2, "{:?}", codes(&checked));

    // An unclosed `{{` at the start of a huge string, and many `{{` with one `}}`.
    let text = format!(
        "on reply whatsapp < whatsapp \"{{{{{}\" >",
        "c".repeat(TEN_MB)
    );
    assert!(has_code(&check(&text), Code::VarMalformed));
    let text = format!(
        "on reply whatsapp < whatsapp \"{}}}}}\" >",
        "{{ ".repeat(TEN_MB / 3)
    );
    assert!(has_code(&check(&text), Code::VarMalformed));

    // Unknown escapes everywhere: many diagnostics, still linear.
    let text = format!(
        "on reply whatsapp < whatsapp \"{}\" >",
        "\\q".repeat(100_000)
    );
    let checked = check(&text);
    let escapes = checked
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::SyntaxEscape)
        .count();
    assert_eq!(escapes, 100_000);

    // A 10 MB comment, a 10 MB word and a 10 MB duration.
    let comment = format!("# {}\non reply sms < stop >", "d".repeat(TEN_MB));
    assert_eq!(syntax_codes(&check(&comment)), Vec::<&str>::new());
    let word = format!("on reply sms < {} >", "w".repeat(TEN_MB));
    assert!(has_code(&check(&word), Code::SyntaxUnexpected));
    let duration = format!("on reply sms < wait {}m >", "9".repeat(TEN_MB));
    assert!(has_code(&check(&duration), Code::SyntaxDuration));
}

#[test]
fn nul_bytes_are_control_characters() {
    for text in [
        "on reply whatsapp < whatsapp \"a\0b\" >",
        "on reply whatsapp <\0 stop >",
        "\0on reply whatsapp < stop >",
        "on reply whatsapp < stop >\0",
        "on reply whatsapp < cta < body \"\0\" > >",
        "on reply\0whatsapp < stop >",
        "workflow \"\0\"",
    ] {
        let checked = check(text);
        assert!(
            has_code(&checked, Code::SyntaxControlCharacter),
            "{text:?}: {:?}",
            codes(&checked)
        );
    }
    // Many NULs, inside and outside strings: no crash.
    for text in [
        format!(
            "on reply whatsapp < whatsapp \"{}\" >",
            "\0".repeat(100_000)
        ),
        format!("on reply whatsapp < {} >", "\0".repeat(100_000)),
        "\0".repeat(100_000),
    ] {
        assert!(has_code(&check(&text), Code::SyntaxControlCharacter));
    }
    // A NUL in a comment is harmless, and must not crash either.
    check("# \0\non reply whatsapp < stop >");
    // Other control characters too.
    assert!(has_code(
        &check("on reply whatsapp < whatsapp \"\x1b[31m\" >"),
        Code::SyntaxControlCharacter
    ));
    assert!(has_code(
        &check("on reply whatsapp < \x7f >"),
        Code::SyntaxControlCharacter
    ));
}

#[test]
fn invalid_utf8_is_read_lossily() {
    let mut bytes = b"on reply whatsapp < whatsapp \"caf".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    bytes.extend_from_slice(b"\" >");
    let checked = check_bytes(&bytes);
    assert_eq!(syntax_codes(&checked), Vec::<&str>::new());

    // Outside a string, the replacement character is unexpected.
    let mut bytes = b"on reply whatsapp < ".to_vec();
    bytes.extend_from_slice(&[0x80, 0xbf, 0xf0, 0x9f]);
    bytes.extend_from_slice(b" stop >");
    assert!(has_code(&check_bytes(&bytes), Code::SyntaxUnexpected));

    // 10 MB of invalid bytes.
    let bytes = vec![0xffu8; TEN_MB];
    let checked = check_bytes(&bytes);
    assert!(!checked.diagnostics.is_empty());
}

#[test]
fn a_fifty_thousand_branch_else_if_chain() {
    const BRANCHES: usize = 50_000;
    let mut text =
        String::from("on reply whatsapp <\n  if contact.city == \"c0\" < tag \"t0\" >\n");
    for i in 1..BRANCHES {
        text.push_str(&format!(
            "  else if contact.city == \"c{i}\" < tag \"t{i}\" >\n"
        ));
    }
    text.push_str("  else < stop >\n>\n");
    let checked = check(&text);
    assert_eq!(syntax_codes(&checked), Vec::<&str>::new());
    let Some(Item::Trigger(trigger)) = checked.file.items.first() else {
        panic!("expected a trigger");
    };
    let StmtKind::If(i) = &trigger.body.stmts[0].kind else {
        panic!("expected an if");
    };
    assert_eq!(i.branches.len(), BRANCHES);
    assert!(i.otherwise.is_some());

    // The same chain with a mistake in the last branch still reports it.
    let broken = text.replace("< stop >", "< stop");
    assert!(!check(&broken).diagnostics.is_empty());
}

#[test]
fn many_items_and_long_flat_blocks() {
    let items = "on reply sms < stop >\n".repeat(100_000);
    assert_eq!(syntax_codes(&check(&items)), Vec::<&str>::new());
    let flat = format!("on reply sms < {} >", "tag \"x\" ".repeat(200_000));
    assert_eq!(syntax_codes(&check(&flat)), Vec::<&str>::new());
    let ands = format!(
        "on reply sms < if {}window.open < stop > >",
        "window.open and ".repeat(100_000)
    );
    assert_eq!(syntax_codes(&check(&ands)), Vec::<&str>::new());
    let ons = "on ".repeat(200_000);
    assert!(!check(&ons).diagnostics.is_empty());
    let on_replies = "on reply ".repeat(200_000);
    assert!(!check(&on_replies).diagnostics.is_empty());
}

#[test]
fn edge_inputs() {
    for text in [
        "",
        " ",
        "\n\n",
        "#",
        "# only a comment",
        "\"",
        "\\",
        "<",
        ">",
        "(",
        ")",
        "{{",
        "on",
        "on reply",
        "on reply whatsapp",
        "on reply whatsapp <",
        "on reply whatsapp < \"",
        "on reply whatsapp < whatsapp \"\\",
        "on reply whatsapp < whatsapp \"\\\"",
        "on reply whatsapp < whatsapp \"é\\é\" >",
        "on reply whatsapp < whatsapp \"{{é}}\" >",
        "on reply whatsapp < whatsapp \"{{\" >",
        "on reply whatsapp < whatsapp \"}}{{\" >",
        "\u{feff}on reply whatsapp < stop >",
        "on reply whatsapp < stop >\r\n",
        "workflow",
        "field",
        "field contact.",
        "on reply whatsapp < wait 0m >",
        "on reply whatsapp < wait 18446744073709551616s >",
        "on reply whatsapp < wait 1s1d >",
        "on reply whatsapp < on timeout 1m < > >",
        "on reply whatsapp < if < > >",
        "on reply whatsapp < if () < > >",
        "on reply whatsapp < else < > >",
        "on reply whatsapp < if window.open < > else >",
        "on reply whatsapp < cta >",
        "on reply whatsapp < cta < header > >",
        "ü",
        "😀 on reply whatsapp < 😀 >",
    ] {
        check(text);
    }
    // An unexpected string is shown cut at 40 bytes, which fell inside `é`
    // (found by `random_unicode_never_panics`).
    check(&format!("\"{}é\"", "a".repeat(38)));
    check(&format!("on reply sms < \"{}é\" >", "a".repeat(38)));
}

// ---------------------------------------------------------------------------
// Property tests.
// ---------------------------------------------------------------------------

/// 256 cases per property, so CI stays fast; set `PROPTEST_CASES` for a
/// longer hunt.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig::with_cases(cases)
}

/// Words and symbols that make random input reach deep into the grammar.
const TOKENS: &[&str] = &[
    "on",
    "reply",
    "whatsapp",
    "sms",
    "email",
    "workflow",
    "field",
    "if",
    "else",
    "cta",
    "buttons",
    "list",
    "section",
    "row",
    "template",
    "wait",
    "await",
    "tag",
    "untag",
    "stop",
    "link",
    "opened",
    "not",
    "delivered",
    "timeout",
    "and",
    "or",
    "contains",
    "has",
    "body",
    "header",
    "text",
    "image",
    "url",
    "button",
    "footer",
    "from",
    "language",
    "category",
    "utility",
    "subject",
    "window.open",
    "window.closed",
    "contact.tags",
    "contact.city",
    "contact.",
    ".",
    "<",
    ">",
    "(",
    ")",
    "==",
    "!=",
    "=",
    "!",
    "\"",
    "\"x\"",
    "\"\"",
    "\"{{contact.first_name}}\"",
    "\"{{\"",
    "\"\\q\"",
    "\"\\",
    "\\",
    "#",
    "# c\n",
    "\n",
    " ",
    "\t",
    "\r\n",
    "30m",
    "1h30m",
    "1d1d",
    "0s",
    "999999999999d",
    "1x",
    "\0",
    "\u{1b}",
    "\u{7f}",
    "é",
    "😀",
    "\u{feff}",
    "{{",
    "}}",
    "_",
    "9",
    "quiet",
    "timezone",
    "default",
    "at",
    "most",
    "per",
    "goal",
    "21:00",
    "-",
    "8:5",
    "\"Europe/Lisbon\"",
    "contact.timezone",
    "0",
    "reply",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(TOKENS),
            prop::sample::select(&[" ", "", "\n"][..]),
        ),
        0..80,
    )
    .prop_map(|tokens| tokens.into_iter().flat_map(|(t, s)| [t, s]).collect())
}

/// Cuts a program into tokens: strings, comments, words, whitespace runs and
/// single other characters. Joining the tokens gives the text back.
fn tokenize(text: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |&(at, _)| at);
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let mut j = i + 1;
        if c == '"' {
            let mut escaped = false;
            while j < chars.len() {
                let c = chars[j].1;
                j += 1;
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    break;
                }
            }
        } else if c == '#' {
            while j < chars.len() && chars[j].1 != '\n' {
                j += 1;
            }
        } else if is_word(c) {
            while j < chars.len() && is_word(chars[j].1) {
                j += 1;
            }
        } else if c.is_whitespace() {
            while j < chars.len() && chars[j].1.is_whitespace() {
                j += 1;
            }
        }
        out.push(text[start..end_of(j)].to_owned());
        i = j;
    }
    out
}

#[derive(Clone, Debug)]
enum Mutation {
    DeleteToken(Index),
    DuplicateToken(Index),
    SwapTokens(Index, Index),
    InsertToken(Index, &'static str),
    DeleteChar(Index),
    InsertChar(Index, char),
    ReplaceChar(Index, char),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting_char = prop_oneof![
        any::<char>(),
        prop::sample::select(
            &[
                '<', '>', '(', ')', '"', '\\', '#', '{', '}', '\n', '\0', '.', '='
            ][..]
        ),
    ];
    prop_oneof![
        any::<Index>().prop_map(Mutation::DeleteToken),
        any::<Index>().prop_map(Mutation::DuplicateToken),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapTokens(a, b)),
        (any::<Index>(), prop::sample::select(TOKENS))
            .prop_map(|(a, t)| Mutation::InsertToken(a, t)),
        any::<Index>().prop_map(Mutation::DeleteChar),
        (any::<Index>(), interesting_char.clone()).prop_map(|(a, c)| Mutation::InsertChar(a, c)),
        (any::<Index>(), interesting_char).prop_map(|(a, c)| Mutation::ReplaceChar(a, c)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut text = text.to_owned();
    for m in mutations {
        let mut tokens = tokenize(&text);
        let mut chars: Vec<char> = text.chars().collect();
        match m {
            Mutation::DeleteToken(i) if !tokens.is_empty() => {
                tokens.remove(i.index(tokens.len()));
            }
            Mutation::DuplicateToken(i) if !tokens.is_empty() => {
                let i = i.index(tokens.len());
                tokens.insert(i, tokens[i].clone());
            }
            Mutation::SwapTokens(a, b) if !tokens.is_empty() => {
                let len = tokens.len();
                tokens.swap(a.index(len), b.index(len));
            }
            Mutation::InsertToken(i, t) => {
                tokens.insert(i.index(tokens.len() + 1), (*t).to_owned());
            }
            Mutation::DeleteChar(i) if !chars.is_empty() => {
                chars.remove(i.index(chars.len()));
            }
            Mutation::InsertChar(i, c) => chars.insert(i.index(chars.len() + 1), *c),
            Mutation::ReplaceChar(i, c) if !chars.is_empty() => {
                let i = i.index(chars.len());
                chars[i] = *c;
            }
            Mutation::Truncate(i) => chars.truncate(i.index(chars.len() + 1)),
            _ => {}
        }
        text = match m {
            Mutation::DeleteToken(_)
            | Mutation::DuplicateToken(_)
            | Mutation::SwapTokens(..)
            | Mutation::InsertToken(..) => tokens.concat(),
            _ => chars.into_iter().collect(),
        };
    }
    text
}

#[test]
fn tokenize_round_trips() {
    for seed in SEEDS {
        assert_eq!(tokenize(seed).concat(), *seed);
    }
}

// --- A grammar-aware generator of valid programs. ---

/// Whitespace and comments between tokens (never none, so words stay apart).
fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(
        &[
            " ",
            " ",
            " ",
            "\n",
            "\n  ",
            "\t",
            "\r\n",
            " # note < \" ( {{ on reply\n",
            "  #\n",
        ][..],
    )
}

/// The inside of a string literal: no raw quotes, backslashes only as known
/// escapes, `{{` only as a well-formed variable, no control characters.
fn string_body() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9 ,.!?:/&=+-]{0,12}",
        1 => prop::sample::select(&[
            "{{contact.first_name}}",
            "{{ contact.name }}",
            "{{custom_values.agent_calendar}}",
            "\\\"",
            "\\\\",
            "\\n",
            "é",
            "😀",
            "中文",
            "{ x }",
            "} ",
            "<>()#",
            "on reply whatsapp <",
            "workflow",
            "\t",
        ][..])
        .prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|parts| parts.concat())
}

fn string_lit() -> impl Strategy<Value = String> {
    string_body().prop_map(|b| format!("\"{b}\""))
}

/// A duration with each unit at most once, largest first, within a year.
fn duration() -> impl Strategy<Value = String> {
    (
        prop::option::of(0u32..300),
        prop::option::of(0u32..24),
        prop::option::of(0u32..60),
        prop::option::of(0u32..60),
    )
        .prop_map(|(d, h, m, s)| {
            let mut out = String::new();
            for (amount, unit) in [(d, 'd'), (h, 'h'), (m, 'm'), (s, 's')] {
                if let Some(a) = amount {
                    out.push_str(&format!("{a}{unit}"));
                }
            }
            if out.is_empty() {
                out.push_str("30m");
            }
            out
        })
}

fn channel() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["whatsapp", "sms", "email"][..])
}

/// Field lists as `cta`, `template`, `sms` and `email` take them.
fn fields() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        (
            prop::sample::select(
                &[
                    "body", "footer", "url", "button", "from", "subject", "language", "param"
                ][..]
            ),
            string_lit()
        )
            .prop_map(|(n, s)| format!("{n} {s}")),
        (
            prop::sample::select(&["text", "image", "video", "document"][..]),
            string_lit()
        )
            .prop_map(|(k, s)| format!("header {k} {s}")),
        prop::sample::select(&["utility", "marketing", "authentication"][..])
            .prop_map(|c| format!("category {c}")),
        duration().prop_map(|d| format!("timeout {d}")),
        // A template's buttons: an index, a kind and an optional value.
        (
            prop::sample::select(&["0", "1", "9", "10", "007"][..]),
            prop::sample::select(&["url", "reply", "copy"][..]),
            prop::option::of(string_lit())
        )
            .prop_map(|(n, k, v)| match v {
                Some(v) => format!("button {n} {k} {v}"),
                None => format!("button {n} {k}"),
            }),
        // Several strings, and nested fields: buttons' replies, a list's
        // sections and rows.
        (string_lit(), string_lit()).prop_map(|(a, b)| format!("reply {a} {b}")),
        (
            prop::option::of(string_lit()),
            prop::collection::vec((string_lit(), string_lit(), ws()), 0..3),
            ws()
        )
            .prop_map(|(title, rows, w)| {
                let rows: String = rows
                    .into_iter()
                    .map(|(a, b, w)| format!("row {a} {b}{w}"))
                    .collect();
                match title {
                    Some(t) => format!("section {t} <{w}{rows}>"),
                    None => format!("section <{w}{rows}>"),
                }
            }),
    ];
    (prop::collection::vec((field, ws()), 0..6), ws()).prop_map(|(fields, w)| {
        format!(
            "<{w}{}>",
            fields.into_iter().map(|(f, w)| f + w).collect::<String>()
        )
    })
}

fn test_cond() -> impl Strategy<Value = String> {
    let path = prop_oneof![
        prop::sample::select(
            &[
                "window.open",
                "window.closed",
                "contact.tags",
                "contact.city",
                "contact.first_name",
                "custom_values.plan",
            ][..]
        )
        .prop_map(str::to_owned),
        "x_[a-z0-9_]{0,6}(\\.[a-z_][a-z0-9_]{0,6}){0,2}",
    ];
    let op = prop::sample::select(&["==", "!=", "contains", "has"][..]);
    (path, prop::option::of((op, string_lit()))).prop_map(|(p, cmp)| match cmp {
        Some((op, s)) => format!("{p} {op} {s}"),
        None => p,
    })
}

/// Conditions nest at most 3 deep, so programs stay within the depth cap.
fn cond() -> impl Strategy<Value = String> {
    test_cond().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| format!("not {c}")),
            inner.clone().prop_map(|c| format!("({c})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("{a} or {b}")),
        ]
    })
}

fn simple_stmt() -> BoxedStrategy<String> {
    prop_oneof![
        (prop::option::of(string_lit()), fields()).prop_map(|(n, f)| match n {
            Some(n) => format!("cta {n} {f}"),
            None => format!("cta {f}"),
        }),
        (prop::sample::select(&["buttons", "list"][..]), fields())
            .prop_map(|(k, f)| format!("{k} {f}")),
        string_lit().prop_map(|s| format!("whatsapp {s}")),
        (string_lit(), fields()).prop_map(|(n, f)| format!("template {n} {f}")),
        string_lit().prop_map(|s| format!("sms {s}")),
        fields().prop_map(|f| format!("sms {f}")),
        fields().prop_map(|f| format!("email {f}")),
        duration().prop_map(|d| format!("wait {d}")),
        channel().prop_map(|c| format!("await reply {c}")),
        string_lit().prop_map(|s| format!("tag {s}")),
        string_lit().prop_map(|s| format!("untag {s}")),
        Just("stop".to_owned()),
    ]
    .boxed()
}

fn block_of(stmt: BoxedStrategy<String>) -> BoxedStrategy<String> {
    (prop::collection::vec((stmt, ws()), 0..4), ws())
        .prop_map(|(stmts, w)| {
            format!(
                "<{w}{}>",
                stmts.into_iter().map(|(s, w)| s + w).collect::<String>()
            )
        })
        .boxed()
}

fn handler_head() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("on link opened".to_owned()),
        Just("on not delivered".to_owned()),
        duration().prop_map(|d| format!("on timeout {d}")),
        string_lit().prop_map(|s| format!("on reply {s}")),
    ]
}

/// Statements nest at most 5 blocks deep (plus conditions' parentheses).
fn stmt() -> BoxedStrategy<String> {
    simple_stmt()
        .prop_recursive(5, 48, 4, |inner| {
            let block = block_of(inner.clone());
            prop_oneof![
                (
                    cond(),
                    block.clone(),
                    prop::collection::vec((cond(), block.clone()), 0..3),
                    prop::option::of(block.clone()),
                )
                    .prop_map(|(c, b, elifs, otherwise)| {
                        let mut s = format!("if {c} {b}");
                        for (c, b) in elifs {
                            s.push_str(&format!(" else if {c} {b}"));
                        }
                        if let Some(b) = otherwise {
                            s.push_str(&format!(" else {b}"));
                        }
                        s
                    }),
                (inner, prop::collection::vec((handler_head(), block), 1..3)).prop_map(
                    |(s, handlers)| {
                        handlers
                            .into_iter()
                            .fold(s, |acc, (head, body)| format!("{acc} {head} {body}"))
                    }
                ),
            ]
            .boxed()
        })
        .boxed()
}

fn item() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => string_lit().prop_map(|s| format!("workflow {s}")),
        1 => "[a-z_][a-z0-9_]{0,8}".prop_map(|k| format!("field contact.{k}")),
        4 => (channel(), block_of(stmt())).prop_map(|(c, b)| format!("on reply {c} {b}")),
        1 => (
            prop::sample::select(&["21:00", "8:30", "24:00", "7:5"][..]),
            ws(),
            prop::sample::select(&["08:00", "21:00"][..]),
            prop_oneof![
                Just("contact.timezone".to_owned()),
                string_lit(),
            ],
            prop::option::of(string_lit()),
        )
            .prop_map(|(from, w, to, zone, default)| {
                let mut s = format!("quiet {from}{w}-{w}{to} timezone {zone}");
                if let Some(d) = default {
                    s.push_str(&format!(" default {d}"));
                }
                s
            }),
        1 => (prop::sample::select(&["0", "2", "101"][..]), duration())
            .prop_map(|(n, d)| format!("at most {n} per {d}")),
        1 => cond().prop_map(|c| format!("goal {c}")),
    ]
}

/// A program and the number of items in it.
fn program_with_items() -> impl Strategy<Value = (String, usize)> {
    (
        prop::option::of(Just("# A generated program.\n")),
        prop::collection::vec((item(), ws()), 0..4),
    )
        .prop_map(|(comment, items)| {
            let mut s = comment.unwrap_or_default().to_owned();
            let count = items.len();
            for (item, w) in items {
                s.push_str(&item);
                s.push_str(w);
            }
            (s, count)
        })
}

fn program() -> impl Strategy<Value = String> {
    program_with_items().prop_map(|(s, _)| s)
}

/// `kflowc fmt`'s promise on one input: it never panics; when it formats, the
/// result formats to itself, keeps every comment, checks with the same
/// diagnostic codes, and (when the file compiles) lowers to the same IR but
/// for spans.
fn assert_format_keeps_meaning(text: &str) {
    let source = SourceFile::new("f.kflow", text).expect("small input");
    let Ok(formatted) = kflow::format::format(&source) else {
        return;
    };
    let again = SourceFile::new("f.kflow", formatted.as_str()).expect("small output");
    assert_eq!(
        kflow::format::format(&again).ok().as_deref(),
        Some(formatted.as_str()),
        "not idempotent on {text:?}"
    );
    assert_eq!(
        kflow::syntax::comments::comments(text).len(),
        kflow::syntax::comments::comments(&formatted).len(),
        "comments lost formatting {text:?}"
    );
    assert_eq!(
        codes(&kflow::check_source(&source)),
        codes(&kflow::check_source(&again)),
        "diagnostics changed formatting {text:?} into {formatted:?}"
    );
    if let (Ok(a), Ok(b)) = (kflow::compile(&source), kflow::compile(&again)) {
        let strip = |p: &kflow::ir::Program| {
            let mut v = serde_json::to_value(p).expect("IR serializes");
            drop_spans(&mut v);
            v
        };
        assert_eq!(strip(&a), strip(&b), "IR changed formatting {text:?}");
    }
}

fn drop_spans(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.remove("span");
            map.values_mut().for_each(drop_spans);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_spans),
        _ => {}
    }
}

#[test]
fn formatting_the_seeds_keeps_their_meaning() {
    for seed in SEEDS {
        assert_format_keeps_meaning(seed);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn formatting_generated_programs_keeps_their_meaning(program in program()) {
        assert_format_keeps_meaning(&program);
    }

    #[test]
    fn formatting_mutated_programs_keeps_their_meaning(
        program in program(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        assert_format_keeps_meaning(&mutate(&program, &mutations));
    }

    #[test]
    fn formatting_token_soup_keeps_its_meaning(text in token_soup()) {
        assert_format_keeps_meaning(&text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_bytes(&bytes);
    }

    #[test]
    fn random_unicode_never_panics(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        check(&text);
    }

    #[test]
    fn mutated_seeds_never_panic(
        seed in prop::sample::select(SEEDS),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        check(&mutate(seed, &mutations));
    }

    #[test]
    fn mutated_generated_programs_never_panic(
        program in program(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        check(&mutate(&program, &mutations));
    }

    #[test]
    fn fast_path_agrees_with_pest_on_generated_programs(program in program()) {
        assert_fast_path_agrees(&program);
    }

    #[test]
    fn fast_path_agrees_with_pest_on_mutated_programs(
        program in program(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        assert_fast_path_agrees(&mutate(&program, &mutations));
    }

    #[test]
    fn fast_path_agrees_with_pest_on_token_soup(text in token_soup()) {
        assert_fast_path_agrees(&text);
    }

    #[test]
    fn generated_programs_have_no_syntax_errors((program, items) in program_with_items()) {
        let checked = check(&program);
        prop_assert_eq!(syntax_codes(&checked), Vec::<&str>::new(), "program:\n{}", program);
        // Every item made it into the tree.
        prop_assert_eq!(checked.file.items.len(), items, "program:\n{}", program);
    }

    #[test]
    fn generated_programs_on_one_line_parse_the_same(program in program()) {
        // Whitespace separates nothing: the same program with single spaces
        // between tokens (comments dropped) gives the same tree shape.
        let one_line: String = tokenize(&program)
            .into_iter()
            .filter(|t| !t.starts_with('#'))
            .map(|t| if t.trim().is_empty() { " ".to_owned() } else { t })
            .collect();
        let a = check(&program);
        let b = check(&one_line);
        prop_assert_eq!(syntax_codes(&b), Vec::<&str>::new(), "program:\n{}", one_line);
        prop_assert_eq!(a.file.items.len(), b.file.items.len());
    }
}

// ---------------------------------------------------------------------------
// Many diagnostics (issue 9): every trigger after the first on a channel is a
// `kflow::trigger::duplicate`, so these inputs produce one diagnostic per
// item. Parse, check and the renderers must do work linear in them; the
// tests assert the exact diagnostics and positions, so a quadratic pass shows
// up as a test that does not finish, not as a flaky timing.
// ---------------------------------------------------------------------------

/// Checks `header` followed by `count` copies of `item` (each starting with
/// `on reply whatsapp`) and asserts one duplicate-trigger diagnostic for
/// every copy after the first, with exact spans; then renders the GitHub and
/// JSON reports and asserts every position. `position(k)` is the expected
/// 1-based (line, column) of copy `k`'s start.
fn assert_duplicate_triggers(
    header: &str,
    item: &str,
    count: usize,
    position: impl Fn(usize) -> (u32, u32),
) {
    use kflow::report::{FileReport, github, json};

    const HEAD: &str = "on reply whatsapp";
    let text = format!("{header}{}", item.repeat(count));
    let checked = check(&text);
    let at = |k: usize| (header.len() + k * item.len()) as u32;
    let head = |k: usize| Span::new(at(k), at(k) + HEAD.len() as u32);
    assert_eq!(checked.file.items.len(), count + 1, "workflow + triggers");
    assert_eq!(checked.diagnostics.len(), count - 1);
    for (i, d) in checked.diagnostics.iter().enumerate() {
        assert_eq!(d.code, Code::TriggerDuplicate, "diagnostic {i}: {d:?}");
        let spans: Vec<Span> = d.labels.iter().map(|l| l.span).collect();
        assert_eq!(spans, vec![head(i + 1), head(0)], "diagnostic {i}");
    }

    let source = SourceFile::new("big.kflow", text.as_str()).expect("under 4 GiB");
    let report = FileReport::new(&source, &checked.diagnostics);
    let github = github::render_file(&report);
    let mut lines = 0;
    for (i, line) in github.lines().enumerate() {
        let (l, c) = position(i + 1);
        let expected = format!(
            "::error file=big.kflow,line={l},col={c},endLine={l},endColumn={},",
            c + HEAD.len() as u32
        );
        assert!(line.starts_with(&expected), "line {i}: {line}");
        lines += 1;
    }
    assert_eq!(lines, count - 1);

    let document = json::Document::new(&[report]);
    assert_eq!(document.summary.errors, count - 1);
    assert_eq!(document.diagnostics.len(), count - 1);
    let (first_line, first_column) = position(0);
    for (i, d) in document.diagnostics.iter().enumerate() {
        let (l, c) = position(i + 1);
        let [second, first] = &d.labels[..] else {
            panic!("diagnostic {i} has {} labels", d.labels.len());
        };
        let location = |line, column, offset| json::Location {
            line,
            column,
            offset,
        };
        assert_eq!(second.start, location(l, c, at(i + 1)), "diagnostic {i}");
        assert_eq!(
            second.end,
            location(l, c + HEAD.len() as u32, head(i + 1).end),
            "diagnostic {i}"
        );
        assert_eq!(first.start, location(first_line, first_column, at(0)));
    }
}

#[test]
fn a_million_duplicate_triggers_one_per_line() {
    // `workflow "x"` is line 1; trigger k is line k + 2, at column 1.
    assert_duplicate_triggers(
        "workflow \"x\"\n",
        "on reply whatsapp < >\n",
        1_000_000,
        |k| (k as u32 + 2, 1),
    );
}

#[test]
fn duplicate_triggers_on_one_five_megabyte_line() {
    // Line 2 holds every trigger: 170,000 of them, 5 MB.
    let item = "on reply whatsapp < tag \"a\" > ";
    assert_duplicate_triggers("workflow \"x\"\n", item, 170_000, |k| {
        (2, (k * item.len()) as u32 + 1)
    });
    // The same with a two-byte character in each, so columns (characters)
    // differ from byte offsets all along the line.
    let item = "on reply whatsapp < tag \"é\" > ";
    let chars = item.chars().count();
    assert_duplicate_triggers("workflow \"x\"\n", item, 170_000, |k| {
        (2, (k * chars) as u32 + 1)
    });
}

#[test]
fn duplicates_after_many_other_items() {
    // 100,000 sms triggers, then 100,000 whatsapp ones: each whatsapp
    // duplicate names the first whatsapp trigger.
    const N: usize = 100_000;
    let sms = "on reply sms < >\n";
    let whatsapp = "on reply whatsapp < >\n";
    let text = format!("{}{}", sms.repeat(N), whatsapp.repeat(N));
    let checked = check(&text);
    assert_eq!(checked.diagnostics.len(), 2 * (N - 1));
    let sms_head = |k: usize| Span::new((k * sms.len()) as u32, (k * sms.len() + 12) as u32);
    let wa_at = |k: usize| (N * sms.len() + k * whatsapp.len()) as u32;
    let wa_head = |k: usize| Span::new(wa_at(k), wa_at(k) + 17);
    for (i, d) in checked.diagnostics.iter().enumerate() {
        assert_eq!(d.code, Code::TriggerDuplicate);
        let spans: Vec<Span> = d.labels.iter().map(|l| l.span).collect();
        let expected = if i < N - 1 {
            vec![sms_head(i + 1), sms_head(0)]
        } else {
            let k = i - (N - 1) + 1;
            vec![wa_head(k), wa_head(0)]
        };
        assert_eq!(spans, expected, "diagnostic {i}");
    }

    // 100,000 distinct field declarations, then each declared again.
    let mut text = String::from("on reply sms < >\n");
    for round in 0..2 {
        for i in 0..N {
            let _ = round;
            text.push_str(&format!("field contact.f{i}\n"));
        }
    }
    let checked = check(&text);
    assert_eq!(checked.diagnostics.len(), N);
    assert!(
        checked
            .diagnostics
            .iter()
            .all(|d| d.code == Code::FieldDeclaration && d.labels.len() == 2)
    );
}
