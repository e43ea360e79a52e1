//! Turns pest's first error into a diagnostic an author understands: which
//! words or symbols would fit, in kflow's terms rather than rule names, with
//! the span of what was found instead.

use pest::error::{ErrorVariant, InputLocation};

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::grammar::Rule;

/// What a rule looks like to an author; `None` for rules never worth naming.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the item",
        Rule::workflow_decl | Rule::kw_workflow => "`workflow`",
        Rule::field_decl | Rule::kw_field => "`field`",
        Rule::trigger => "`on reply`",
        Rule::quiet_decl | Rule::kw_quiet => "`quiet`",
        Rule::cap_decl | Rule::kw_at => "`at most`",
        Rule::kw_most => "`most`",
        Rule::kw_per => "`per`",
        Rule::goal_decl | Rule::kw_goal => "`goal`",
        Rule::kw_timezone => "`timezone`",
        Rule::kw_default => "`default`",
        Rule::clock => "a time of day such as `21:00`",
        Rule::dash => "`-`",
        Rule::number => "a whole number",
        Rule::kw_on => "`on`",
        Rule::kw_reply => "`reply`",
        Rule::channel => "a channel (`whatsapp`, `sms` or `email`)",
        Rule::block | Rule::fields | Rule::open => "`<`",
        Rule::close => "`>`",
        Rule::lparen | Rule::paren => "`(`",
        Rule::rparen => "`)`",
        Rule::if_stmt | Rule::kw_if => "`if`",
        Rule::kw_else | Rule::else_if | Rule::else_clause => "`else`",
        Rule::cta_stmt | Rule::kw_cta => "`cta`",
        Rule::whatsapp_stmt | Rule::kw_whatsapp => "`whatsapp`",
        Rule::template_stmt | Rule::kw_template => "`template`",
        Rule::sms_stmt | Rule::kw_sms => "`sms`",
        Rule::email_stmt | Rule::kw_email => "`email`",
        Rule::wait_stmt | Rule::kw_wait => "`wait`",
        Rule::await_stmt | Rule::kw_await => "`await`",
        Rule::tag_stmt | Rule::kw_tag => "`tag`",
        Rule::untag_stmt | Rule::kw_untag => "`untag`",
        Rule::stop_stmt | Rule::kw_stop => "`stop`",
        Rule::handler => "an `on` handler",
        Rule::link_opened | Rule::kw_link => "`link opened`",
        Rule::kw_opened => "`opened`",
        Rule::not_delivered | Rule::kw_delivered => "`not delivered`",
        Rule::on_timeout | Rule::kw_timeout => "`timeout`",
        Rule::field => "a field such as `body \"...\"`",
        Rule::ident => "a name",
        Rule::string => "a string in double quotes",
        Rule::duration => "a duration such as `30m` or `1h30m`",
        Rule::cond | Rule::conjunction | Rule::negation | Rule::test | Rule::path => {
            "a condition such as `window.open`"
        }
        Rule::kw_not => "`not`",
        Rule::kw_or => "`or`",
        Rule::kw_and => "`and`",
        Rule::compare_op | Rule::eq | Rule::ne | Rule::kw_contains | Rule::kw_has => {
            "an operator (`==`, `!=`, `contains`, `has`)"
        }
        _ => return None,
    })
}

const STATEMENT_RULES: &[Rule] = &[
    Rule::kw_if,
    Rule::kw_cta,
    Rule::kw_whatsapp,
    Rule::kw_template,
    Rule::kw_sms,
    Rule::kw_email,
    Rule::kw_wait,
    Rule::kw_await,
    Rule::kw_tag,
    Rule::kw_untag,
    Rule::kw_stop,
];

/// What the author may write at the error position, as one phrase.
fn expected_phrase(positives: &[Rule]) -> String {
    let mut items: Vec<&'static str> = Vec::new();
    let statements = STATEMENT_RULES
        .iter()
        .filter(|r| positives.contains(r))
        .count();
    let mut rules: Vec<Rule> = positives.to_vec();
    if statements >= 3 {
        rules.retain(|r| !STATEMENT_RULES.contains(r));
        items.push("a statement (`cta`, `whatsapp`, `template`, `sms`, `email`, `if`, `wait`, `await`, `tag`, `untag`, `stop`)");
    }
    for rule in rules {
        if let Some(d) = describe(rule)
            && !items.contains(&d)
        {
            items.push(d);
        }
    }
    match items.as_slice() {
        [] => "something else".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A short description of what is at `offset`, and its span.
fn found_at(text: &str, offset: usize) -> (String, Span) {
    let rest = text.get(offset..).unwrap_or("");
    let start = offset as u32;
    let Some(c) = rest.chars().next() else {
        return ("the end of the input".to_owned(), Span::new(start, start));
    };
    let mut len = if c.is_alphanumeric() || c == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len())
    } else if c == '"' {
        rest[1..].find('"').map_or(rest.len(), |p| p + 2).min(40)
    } else {
        c.len_utf8()
    };
    // The 40-byte cap on strings can fall inside a character; a span must not.
    while !rest.is_char_boundary(len) {
        len -= 1;
    }
    let token = rest.get(..len).unwrap_or(rest);
    let shown = if token.chars().count() > 30 {
        format!("{}…", token.chars().take(30).collect::<String>())
    } else {
        token.to_owned()
    };
    (format!("`{shown}`"), Span::new(start, start + len as u32))
}

/// Converts pest's error for the item `text` that starts at `base`.
pub(crate) fn to_diagnostic(error: &pest::error::Error<Rule>, text: &str, base: u32) -> Diagnostic {
    let offset = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let (found, span) = found_at(text, offset);
    let span = span.shift(base);
    match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let expected = expected_phrase(positives);
            // miette does not wrap labels: keep long lists in the message only.
            let label = if expected.chars().count() <= 40 {
                format!("expected {expected}")
            } else {
                "not valid here".to_owned()
            };
            Diagnostic::new(
                Code::SyntaxUnexpected,
                format!("expected {expected}, found {found}"),
                span,
                label,
            )
            .with_help(help_for(positives))
        }
        ErrorVariant::CustomError { message } => Diagnostic::new(
            Code::Internal,
            format!("the parser gave up: {message}"),
            span,
            "while parsing here",
        )
        .with_help("simplify this part of the file; if it is ordinary kflow, please report it"),
    }
}

fn help_for(positives: &[Rule]) -> String {
    if positives.contains(&Rule::EOI) && positives.len() <= 2 {
        "a file holds `workflow \"Name\"`, `field contact.key`, `on reply CHANNEL < ... >` and guardrail (`quiet`, `at most`, `goal`) items; statements go inside a trigger's `< >`".to_owned()
    } else if positives.contains(&Rule::duration) {
        "durations are whole numbers with a unit: `45s`, `30m`, `2h`, `1d`, or combined as `1h30m`"
            .to_owned()
    } else if positives.contains(&Rule::string) {
        "text is written in double quotes, like `\"Hello {{contact.first_name}}\"`".to_owned()
    } else if positives.contains(&Rule::channel) {
        "write `on reply whatsapp`, `on reply sms` or `on reply email`".to_owned()
    } else if positives.contains(&Rule::link_opened) || positives.contains(&Rule::kw_link) {
        "inside a block, `on` starts a handler: `on link opened`, `on not delivered` or `on timeout 30m`".to_owned()
    } else if positives.contains(&Rule::kw_if) || positives.contains(&Rule::close) {
        "see docs/language.md for the statements kflow knows".to_owned()
    } else {
        "see docs/language.md for the syntax".to_owned()
    }
}
