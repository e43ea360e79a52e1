//! A template's header and button parameters: `header text "..."` (or a
//! media header by link) fills the template's header, `button 0 url "..."`
//! the suffix of its URL button 0, and `button 1 reply "confirm"` the
//! payload its quick-reply button 1 sends back when tapped. The payloads are
//! the template's choices: `on reply "confirm"` branches on them as it does
//! on a `buttons` message's ids.
//!
//! What can be checked without the account's catalogue is checked here
//! (indexes, kinds, payloads, URL suffixes, fallbacks); whether the
//! template has such a header or button is [`super::catalogue`]'s business.

use std::collections::HashMap;

use crate::diag::{Code, Diagnostic};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{FieldValue, Text};

use super::fields::Found;
use super::messages::{Codes, HEADER_KINDS, check_header};
use super::vars::{self, Scope, forbid_vars};
use crate::platform::limits::{TEMPLATE_BUTTONS_MAX, TEMPLATE_PAYLOAD_MAX};
use crate::platform::suggest::did_you_mean;

/// The codes a template's header and timeout are reported with (a template
/// waits for a tap as a `buttons` message does, and says so alike).
pub(crate) const TEMPLATE_CODES: Codes = Codes {
    empty: Code::TemplateHeader,
    header_kind: Code::TemplateHeader,
    header_length: Code::TemplateHeader,
    timeout_range: Code::InteractiveTimeoutRange,
    from_number: Code::TemplateHeader,
};

/// The button kinds a template send can fill.
const BUTTON_KINDS: [&str; 2] = ["url", "reply"];

/// A `button N KIND "..."` field, read.
pub(crate) struct Button<'a> {
    /// The index as written, and its value when it is one.
    pub(crate) index: &'a Spanned<String>,
    pub(crate) number: Option<usize>,
    /// `url` or `reply`, when it is one of them.
    pub(crate) kind: &'a Spanned<String>,
    /// The suffix or payload.
    pub(crate) value: Option<&'a Text>,
    /// The whole field.
    pub(crate) span: Span,
}

/// The `button` fields of a template, in order.
pub(crate) fn buttons<'a>(found: &Found<'a>) -> Vec<Button<'a>> {
    found
        .all("button")
        .filter_map(|f| match &f.value {
            FieldValue::Indexed(index, kind, value) => Some(Button {
                index,
                number: index.node.parse().ok(),
                kind,
                value: value.as_ref(),
                span: f.span,
            }),
            _ => None,
        })
        .collect()
}

/// Checks a template's `header` and `button` fields; returns the payloads
/// of its quick-reply buttons (its choices), where each is written.
pub(crate) fn check(
    found: &Found<'_>,
    scope: &Scope,
    out: &mut Vec<Diagnostic>,
) -> Vec<(String, Span)> {
    if let Some(header) = found.get("header") {
        check_header(&header.value, HEADER_KINDS, &TEMPLATE_CODES, scope, out);
        if let FieldValue::Word(kind, Some(text)) = &header.value
            && HEADER_KINDS.contains(&kind.node.as_str())
        {
            let what = if kind.node == "text" {
                "the template's header parameter".to_owned()
            } else {
                format!("the template's {} header link", kind.node)
            };
            vars::require_fallbacks(text, &what, out);
        }
    }
    let mut indexes: HashMap<usize, Span> = HashMap::new();
    let mut payloads: Vec<(String, Span)> = Vec::new();
    for button in buttons(found) {
        match button.number {
            Some(n) if n < TEMPLATE_BUTTONS_MAX => {
                if let Some(&first) = indexes.get(&n) {
                    out.push(
                        Diagnostic::new(
                            Code::TemplateButtonIndex,
                            format!("button {n} of this template is given twice"),
                            button.index.span,
                            "same index again",
                        )
                        .with_label(first, "first given here")
                        .with_help("give each of the template's buttons at most once; the index is its place in the template, from 0"),
                    );
                    continue;
                }
                indexes.insert(n, button.index.span);
            }
            _ => {
                out.push(
                    Diagnostic::new(
                        Code::TemplateButtonIndex,
                        format!(
                            "`{}` is not a template button index; a template has at most {TEMPLATE_BUTTONS_MAX} buttons",
                            button.index.node
                        ),
                        button.index.span,
                        "no such button",
                    )
                    .with_help(format!(
                        "write the button's place in the template, from 0 to {}: `button 0 url \"...\"`",
                        TEMPLATE_BUTTONS_MAX - 1
                    )),
                );
                continue;
            }
        }
        let Some(value) = button.value else {
            let help = match button.kind.node.as_str() {
                "url" => {
                    "write the text that ends the button's URL: `button 0 url \"{{contact.id}}\"`"
                }
                "reply" => "write the payload the tap sends back: `button 1 reply \"confirm\"`",
                _ => "write `button N url \"...\"` or `button N reply \"...\"`",
            };
            out.push(
                Diagnostic::new(
                    Code::TemplateButtonKind,
                    format!("button {} has no value", button.index.node),
                    button.span,
                    "no value",
                )
                .with_help(help),
            );
            continue;
        };
        match button.kind.node.as_str() {
            "url" => url_suffix(value, scope, out),
            "reply" => payload(value, &mut payloads, out),
            other => {
                let suggestion = did_you_mean(other, BUTTON_KINDS);
                let diagnostic = Diagnostic::new(
                    Code::TemplateButtonKind,
                    format!("`{other}` is not a kind of template button kflow can fill"),
                    button.kind.span,
                    "unknown button kind",
                )
                .with_help(match suggestion {
                    Some(s) => format!("did you mean `{s}`? A template button is filled as `url` (its URL's suffix) or `reply` (a quick reply's payload)"),
                    None => "a template button is filled as `url \"...\"` (its URL's suffix) or `reply \"...\"` (a quick reply's payload); buttons without parameters need no field".to_owned(),
                });
                out.push(match suggestion {
                    Some(s) => diagnostic.with_fix(button.kind.span, s),
                    None => diagnostic,
                });
            }
        }
    }
    payloads
}

/// A URL button's parameter: the text the template's URL ends with.
fn url_suffix(value: &Text, scope: &Scope, out: &mut Vec<Diagnostic>) {
    scope.check_text(value, out);
    vars::require_fallbacks(value, "the button's URL", out);
    let literal = value.literal_text();
    let problem = if value.is_empty() {
        Some((
            "this URL button's suffix is empty".to_owned(),
            "empty suffix",
            "write the text that ends the template's URL, like `\"{{contact.id}}\"`; WhatsApp refuses an empty parameter",
        ))
    } else if literal.contains("://") {
        Some((
            "this is a whole URL, but a template's URL button takes only the text its URL ends with".to_owned(),
            "a whole URL",
            "the template fixes the URL's start (`https://www.example.com/{{1}}`); write only what replaces `{{1}}`, like `\"booking/{{contact.id}}\"`",
        ))
    } else if literal.chars().any(char::is_whitespace) {
        Some((
            "this URL button's suffix contains whitespace, which no URL can".to_owned(),
            "whitespace in a URL",
            "remove the whitespace, or write it as `%20`",
        ))
    } else {
        None
    };
    if let Some((message, label, help)) = problem {
        out.push(
            Diagnostic::new(Code::TemplateButtonUrl, message, value.span, label).with_help(help),
        );
    }
}

/// A quick reply's payload: literal, not empty, not too long, unique.
fn payload(value: &Text, payloads: &mut Vec<(String, Span)>, out: &mut Vec<Diagnostic>) {
    forbid_vars(value, "a button payload", out);
    let Some(literal) = value.as_literal() else {
        return;
    };
    let n = literal.chars().count();
    let problem = if literal.is_empty() {
        Some((
            "this quick reply's payload is empty".to_owned(),
            "empty payload",
            "write the payload the tap sends back, like `\"confirm\"`: `on reply \"confirm\"` branches on it".to_owned(),
        ))
    } else if n > TEMPLATE_PAYLOAD_MAX {
        Some((
            format!("this payload is {n} characters; kflow allows at most {TEMPLATE_PAYLOAD_MAX}"),
            "too long",
            "use a short payload such as `\"confirm\"`: it only has to tell the buttons apart"
                .to_owned(),
        ))
    } else {
        None
    };
    if let Some((message, label, help)) = problem {
        out.push(
            Diagnostic::new(Code::TemplateButtonPayload, message, value.span, label)
                .with_help(help),
        );
        return;
    }
    if let Some((_, first)) = payloads.iter().find(|(p, _)| *p == literal) {
        out.push(
            Diagnostic::new(
                Code::TemplateButtonPayload,
                format!("the payload `{literal}` is given to two buttons of this template"),
                value.span,
                "same payload again",
            )
            .with_label(*first, "first given here")
            .with_help(
                "give each quick reply its own payload, so the tap says which one was chosen",
            ),
        );
        return;
    }
    payloads.push((literal, value.span));
}
