use super::*;

fn fmt(text: &str) -> String {
    let source = SourceFile::new("t.kflow", text).expect("small source");
    match format(&source) {
        Ok(out) => out,
        Err(d) => panic!("not formatted: {d:?}"),
    }
}

/// Formats, checks the expected layout, and checks that formatting the
/// result changes nothing.
fn assert_fmt(input: &str, expected: &str) {
    let out = fmt(input);
    assert_eq!(
        out, expected,
        "\n--- got ---\n{out}--- want ---\n{expected}"
    );
    assert_eq!(fmt(&out), out, "formatting is not idempotent");
}

#[test]
fn one_line_workflow_is_laid_out() {
    assert_fmt(
        r#"on reply whatsapp < if window.open < cta < header text "Hi" body "Pick a slot" url "https://www.example.com/book" button "Book now" > > on timeout 30m < sms "Still want a slot?" > >"#,
        r#"on reply whatsapp <
  if window.open <
    cta <
      header text "Hi"
      body "Pick a slot"
      url "https://www.example.com/book"
      button "Book now"
    >
  >
  on timeout 30m < sms "Still want a slot?" >
>
"#,
    );
}

#[test]
fn short_blocks_stay_on_one_line() {
    assert_fmt(
        "on reply sms < if window.open <\n   tag    \"a\"\n> >\n",
        "on reply sms <\n  if window.open < tag \"a\" >\n>\n",
    );
    assert_fmt(
        "on reply whatsapp <\ntemplate \"t\" <\nlanguage \"en_US\"\ncategory utility\n>\n>",
        "on reply whatsapp <\n  template \"t\" < language \"en_US\" category utility >\n>\n",
    );
    // Four fields always get a line each, even when they would fit.
    assert_fmt(
        "on reply sms < email < to \"a@b.co\" from \"c@b.co\" subject \"s\" body \"b\" > >",
        "on reply sms <\n  email <\n    to \"a@b.co\"\n    from \"c@b.co\"\n    subject \"s\"\n    body \"b\"\n  >\n>\n",
    );
}

#[test]
fn two_statements_never_share_a_line() {
    assert_fmt(
        "on reply sms < tag \"a\" untag \"b\" >",
        "on reply sms <\n  tag \"a\"\n  untag \"b\"\n>\n",
    );
}

#[test]
fn else_follows_the_closing_bracket() {
    assert_fmt(
        "on reply whatsapp < if window.open < tag \"a\" >\nelse if contact.tags has \"vip\" < tag \"b\" >\n else < stop > >",
        "on reply whatsapp <\n  if window.open < tag \"a\" > else if contact.tags has \"vip\" < tag \"b\" > else < stop >\n>\n",
    );
}

#[test]
fn long_lines_break_at_blocks() {
    let body = "x".repeat(90);
    assert_fmt(
        &format!("on reply sms < sms \"{body}\" >"),
        &format!("on reply sms <\n  sms \"{body}\"\n>\n"),
    );
}

#[test]
fn comments_stay_where_they_were() {
    assert_fmt(
        "# head\n\n\nworkflow \"w\" # the name\non reply sms < # why\n  # before tag\n  tag \"a\"\n  # at the end\n>\n# tail\n",
        "# head\n\nworkflow \"w\" # the name\non reply sms < # why\n  # before tag\n  tag \"a\"\n  # at the end\n>\n# tail\n",
    );
}

#[test]
fn a_comment_inside_keeps_a_block_broken() {
    assert_fmt(
        "on reply sms < email < subject \"s\" # short\n body \"b\" > >",
        "on reply sms <\n  email <\n    subject \"s\" # short\n    body \"b\"\n  >\n>\n",
    );
}

#[test]
fn blank_lines_are_kept_but_not_multiplied() {
    assert_fmt(
        "field contact.a\n\n\n\nfield contact.b\non reply sms <\n\n  tag \"a\"\n\n\n  tag \"b\"\n\n>",
        "field contact.a\n\nfield contact.b\non reply sms <\n  tag \"a\"\n\n  tag \"b\"\n>\n",
    );
}

#[test]
fn parentheses_only_where_they_matter() {
    assert_fmt(
        "on reply sms < if ((window.open)) and (contact.tags has \"a\" or not (not window.open)) < stop > >",
        "on reply sms <\n  if window.open and (contact.tags has \"a\" or not (not window.open)) < stop >\n>\n",
    );
    assert_fmt(
        "on reply sms < if (window.open or window.open) or window.open < stop > >",
        "on reply sms <\n  if (window.open or window.open) or window.open < stop >\n>\n",
    );
}

#[test]
fn strings_and_durations_are_kept_verbatim() {
    assert_fmt(
        "on reply sms < wait 90m sms \"a \\\"quoted\\\" \\\\ {{ contact.first_name }}\" >",
        "on reply sms <\n  wait 90m\n  sms \"a \\\"quoted\\\" \\\\ {{ contact.first_name }}\"\n>\n",
    );
}

#[test]
fn handlers_each_get_a_line() {
    assert_fmt(
        "on reply whatsapp < whatsapp \"hi\" on not delivered < sms \"hi\" > on timeout 1h < stop > >",
        "on reply whatsapp <\n  whatsapp \"hi\"\n  on not delivered < sms \"hi\" >\n  on timeout 1h < stop >\n>\n",
    );
}

#[test]
fn empty_and_comment_only_files() {
    assert_fmt("", "");
    assert_fmt("\n\n", "");
    assert_fmt("  # only this  \n", "# only this\n");
}

#[test]
fn files_with_syntax_errors_are_refused() {
    let source = SourceFile::new("t.kflow", "on reply sms < tag >").expect("small");
    let errors = format(&source).expect_err("a syntax error");
    assert!(errors.iter().all(|d| d.is_error()));
    assert!(!errors.is_empty());
}

#[test]
fn checker_errors_do_not_stop_formatting() {
    // An unknown field and a missing button are the checker's business.
    assert_fmt(
        "on reply whatsapp < cta < bodyy \"x\" > on timeout 5m < stop > >",
        "on reply whatsapp <\n  cta < bodyy \"x\" >\n  on timeout 5m < stop >\n>\n",
    );
    // A handler with no statement before it is a syntax error, so is refused.
    let source =
        SourceFile::new("t.kflow", "on reply sms < on timeout 5m < stop > >").expect("small");
    assert!(format(&source).is_err());
}

#[test]
fn guardrails_and_template_buttons_are_laid_out() {
    assert_fmt(
        "quiet   21:00 -  08:00 timezone contact.timezone   default \"Europe/Lisbon\" at most 2\nper 1d goal (contact.tags has \"booked\") or not contact.city == \"x\"\non reply whatsapp < template \"t\" < language \"en\" category utility button 0 url \"v/{{contact.id}}\" button 1 reply \"yes\" > on reply \"yes\" < stop > on timeout 1d < stop > >",
        "quiet 21:00-08:00 timezone contact.timezone default \"Europe/Lisbon\"\nat most 2 per 1d\ngoal contact.tags has \"booked\" or not contact.city == \"x\"\non reply whatsapp <\n  template \"t\" <\n    language \"en\"\n    category utility\n    button 0 url \"v/{{contact.id}}\"\n    button 1 reply \"yes\"\n  >\n  on reply \"yes\" < stop >\n  on timeout 1d < stop >\n>\n",
    );
}

#[test]
fn comments_around_guardrails_stay_where_they_were() {
    assert_fmt(
        "# Night.\nquiet 21:00-08:00 timezone \"UTC\" # no default needed\n\n# Cap.\nat most 1 per 1h\ngoal window.closed # odd, but allowed\non reply sms < sms \"x\" >\n",
        "# Night.\nquiet 21:00-08:00 timezone \"UTC\" # no default needed\n\n# Cap.\nat most 1 per 1h\ngoal window.closed # odd, but allowed\non reply sms <\n  sms \"x\"\n>\n",
    );
}

/// A file large enough to be read back on every core: its items are
/// checked one by one against the tree that was printed, in order, with
/// the comments before the first item counted out; a single item changed
/// far into the file is found.
#[test]
fn large_files_are_checked_item_by_item() {
    let item = "on reply sms < sms \"hello\" tag \"a\" >\n";
    let text = format!("# head\n\nworkflow \"w\"\n{}", item.repeat(20_000));
    assert!(text.len() > crate::parallel::MIN_PARALLEL_BYTES);
    let out = fmt(&text);
    assert_eq!(fmt(&out), out);

    let source = SourceFile::new("big.kflow", out.as_str()).expect("small enough");
    let items = crate::syntax::parse(&source).file.items;
    assert_eq!(items.len(), 20_001);
    let same = |text: &str| {
        crate::syntax::visit_items(text, |i, item| {
            items
                .get(i)
                .is_some_and(|original| super::verify::same_item(original, item))
        })
    };
    assert_eq!(same(&out), Some(items.len()));
    let at = out.rfind("\"hello\"").expect("an sms");
    let mut changed = out.clone();
    changed.replace_range(at..at + 7, "\"hullo\"");
    assert_eq!(same(&changed), None);
    let mut broken = out.clone();
    broken.replace_range(at..at + 7, "\"hello");
    assert_eq!(same(&broken), None);
}
