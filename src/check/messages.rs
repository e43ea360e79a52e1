//! What each kind of message must contain: the field tables and the checks on
//! their values (lengths, URLs, numbers, template names).

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{Duration, FieldValue, Fields, Interactive, Sms, Template, Text};

use super::fields::{self, Kind, Shape, Spec};
use super::url;
use super::vars::{self, Scope, forbid_vars};
use crate::duration::format as format_duration;
use crate::platform::address::{is_e164, is_email};
use crate::platform::limits::*;
use crate::platform::sms::{is_sender_id, segments as sms_segments};
use crate::platform::suggest::did_you_mean;
use crate::platform::template::is_language_code;

const CTA: Kind = Kind {
    keyword: "cta",
    duplicate: Code::CtaDuplicateField,
    missing: Code::CtaMissingField,
    specs: &[
        spec("from", Shape::Text, false, "`from \"+15550100001\"`"),
        spec(
            "header",
            Shape::WordText,
            true,
            "`header text \"...\"` (or `image`, `video`, `document` with a URL)",
        ),
        spec(
            "body",
            Shape::Text,
            true,
            "`body \"...\"`, the message text (up to 1024 characters)",
        ),
        spec("footer", Shape::Text, false, "`footer \"...\"`"),
        spec(
            "url",
            Shape::Text,
            true,
            "`url \"https://...\"`, where the button leads",
        ),
        spec(
            "button",
            Shape::Text,
            true,
            "`button \"...\"`, the button label (up to 20 characters)",
        ),
        spec(
            "timeout",
            Shape::Duration,
            true,
            "`timeout 30m` (5m to 2d), or an `on timeout 30m < ... >` handler after it",
        ),
    ],
    foreign: &[("reply", CTA_OR_BUTTONS), ("section", CTA_OR_BUTTONS)],
};

/// Why a `cta` has no reply buttons and a `buttons` message no URL button.
pub(crate) const CTA_OR_BUTTONS: &str = "a WhatsApp message carries either one URL button (`cta`) or quick replies (`buttons`, `list`), never both: send them as two messages";

const TEMPLATE: Kind = Kind {
    keyword: "template",
    duplicate: Code::TemplateDuplicateField,
    missing: Code::TemplateMissingField,
    specs: &[
        spec("language", Shape::Text, true, "`language \"en_US\"`"),
        spec(
            "category",
            Shape::Word,
            true,
            "`category utility` (or `marketing`)",
        ),
        Spec {
            name: "param",
            shape: Shape::Text,
            required: false,
            repeats: true,
            hint: "`param \"...\"`",
        },
        spec(
            "header",
            Shape::WordText,
            false,
            "`header text \"...\"` (or `image`, `video`, `document` with a URL)",
        ),
        Spec {
            name: "button",
            shape: Shape::Indexed,
            required: false,
            repeats: true,
            hint: "`button 0 url \"...\"` or `button 1 reply \"confirm\"`",
        },
        spec(
            "timeout",
            Shape::Duration,
            false,
            "`timeout 1d` (5m to 2d), or an `on timeout 1d < ... >` handler after it",
        ),
    ],
    foreign: &[(
        "reply",
        "a template's quick replies are its own buttons, filled by index: `button 1 reply \"confirm\"`",
    )],
};

const SMS: Kind = Kind {
    keyword: "sms",
    duplicate: Code::SmsDuplicateField,
    missing: Code::SmsMissingField,
    specs: &[
        spec("body", Shape::Text, true, "`body \"...\"`"),
        spec("from", Shape::Text, false, "`from \"+15550100001\"`"),
    ],
    foreign: &[],
};

const EMAIL: Kind = Kind {
    keyword: "email",
    duplicate: Code::EmailDuplicateField,
    missing: Code::EmailMissingField,
    specs: &[
        spec("subject", Shape::Text, true, "`subject \"...\"`"),
        spec("body", Shape::Text, true, "`body \"...\"`"),
        spec("from", Shape::Text, false, "`from \"team@example.com\"`"),
    ],
    foreign: &[],
};

/// The fields of the message kind that `keyword` starts (`cta`,
/// `buttons`, `list`, `template`, `sms`, `email`, and a list's `section`),
/// for editors that complete them.
#[cfg(feature = "lsp")]
pub(crate) fn message_fields(keyword: &str) -> Option<&'static [Spec]> {
    match keyword {
        "cta" => Some(CTA.specs),
        "template" => Some(TEMPLATE.specs),
        "sms" => Some(SMS.specs),
        "email" => Some(EMAIL.specs),
        "buttons" => Some(super::interactive::BUTTONS.specs),
        "list" => Some(super::interactive::LIST.specs),
        "section" => Some(super::interactive::SECTION.specs),
        _ => None,
    }
}

const fn spec(name: &'static str, shape: Shape, required: bool, hint: &'static str) -> Spec {
    Spec {
        name,
        shape,
        required,
        repeats: false,
        hint,
    }
}

/// Header kinds of a `cta` or `buttons` message (§2.1, §2.2).
pub(crate) const HEADER_KINDS: &[&str] = &["text", "image", "video", "document"];

/// The codes one kind of interactive message reports its shared fields with.
pub(crate) struct Codes {
    pub(crate) empty: Code,
    pub(crate) header_kind: Code,
    pub(crate) header_length: Code,
    pub(crate) timeout_range: Code,
    pub(crate) from_number: Code,
}

/// A `cta`'s codes.
const CTA_CODES: Codes = Codes {
    empty: Code::CtaEmptyField,
    header_kind: Code::CtaHeaderKind,
    header_length: Code::CtaHeaderLength,
    timeout_range: Code::CtaTimeoutRange,
    from_number: Code::CtaFromNumber,
};

/// What the checker needs to know about a CTA after reading its fields.
pub(crate) struct CtaInfo {
    /// The `timeout` field, when given.
    pub(crate) timeout_field: Option<Duration>,
}

/// Checks a CTA's fields. `handler_timeout` is the `on timeout` handler that
/// waits for this CTA, if any.
pub(crate) fn cta(
    cta: &Interactive,
    head: Span,
    handler_timeout: Option<Duration>,
    scope: &Scope,
    out: &mut Vec<Diagnostic>,
) -> CtaInfo {
    if let Some(name) = &cta.name {
        forbid_vars(name, "an action name", out);
    }
    let missing_ok: &[&str] = if handler_timeout.is_some() {
        &["timeout"]
    } else {
        &[]
    };
    let found = fields::read(&cta.fields, &CTA, head, missing_ok, out);

    if let Some(from) = found.text("from") {
        from_number(from, &CTA_CODES, out);
    }
    if let Some(header) = found.get("header") {
        check_header(&header.value, HEADER_KINDS, &CTA_CODES, scope, out);
    }
    let empty = CTA_CODES.empty;
    if let Some(body) = found.text("body") {
        scope.check_text(body, out);
        length(body, CTA_BODY_MAX, Code::CtaBodyLength, empty, "body", out);
    }
    if let Some(footer) = found.text("footer") {
        scope.check_text(footer, out);
        length(
            footer,
            CTA_FOOTER_MAX,
            Code::CtaFooterLength,
            empty,
            "footer",
            out,
        );
    }
    if let Some(button) = found.text("button") {
        scope.check_text(button, out);
        length(
            button,
            CTA_BUTTON_MAX,
            Code::CtaButtonLength,
            empty,
            "button label",
            out,
        );
    }
    if let Some(link) = found.text("url") {
        scope.check_text(link, out);
        vars::require_fallbacks(link, "the button's URL", out);
        out.extend(url::check(link, "the button's URL"));
    }
    let timeout_field = timeout_field(
        &found,
        "cta",
        Code::CtaDuplicateField,
        handler_timeout,
        &CTA_CODES,
        out,
    );
    CtaInfo { timeout_field }
}

/// Checks a sending number.
pub(crate) fn from_number(from: &Text, codes: &Codes, out: &mut Vec<Diagnostic>) {
    forbid_vars(from, "a sending number", out);
    if let Some(number) = from.as_literal()
        && !is_e164(&number)
    {
        out.push(
            Diagnostic::new(
                codes.from_number,
                format!("`{number}` is not a phone number in E.164 form"),
                from.span,
                "not E.164",
            )
            .with_help(
                "write the number with `+`, country code and digits only, like `\"+15550100001\"`",
            ),
        );
    }
}

/// The `timeout` field of an interactive message, range-checked, and
/// refused when an `on timeout` handler also gives one.
pub(crate) fn timeout_field(
    found: &fields::Found<'_>,
    keyword: &str,
    duplicate: Code,
    handler_timeout: Option<Duration>,
    codes: &Codes,
    out: &mut Vec<Diagnostic>,
) -> Option<Duration> {
    let timeout_field = found.get("timeout").and_then(|f| match &f.value {
        FieldValue::Duration(d) => Some(*d),
        _ => None,
    });
    if let (Some(field), Some(handler)) = (timeout_field, handler_timeout) {
        out.push(
            Diagnostic::new(
                duplicate,
                format!("this `{keyword}`'s timeout is given twice: as a field and by an `on timeout` handler"),
                field.span,
                "timeout field",
            )
            .with_label(handler.span, "handler timeout")
            .with_help("remove the `timeout` field; the handler's duration is the timeout"),
        );
    } else if let Some(field) = timeout_field {
        timeout_range(field, codes.timeout_range, out);
    }
    timeout_field
}

/// Checks an interactive message's timeout against Kyrios' 5 minutes to 2
/// days; `code` is the message kind's.
pub(crate) fn timeout_range(d: Duration, code: Code, out: &mut Vec<Diagnostic>) {
    if d.malformed || (CTA_TIMEOUT_MIN_SECONDS..=CTA_TIMEOUT_MAX_SECONDS).contains(&d.seconds) {
        return;
    }
    let side = if d.seconds < CTA_TIMEOUT_MIN_SECONDS {
        "shorter"
    } else {
        "longer"
    };
    let what = if code == Code::CtaTimeoutRange {
        "a CTA timeout"
    } else {
        "a timeout"
    };
    out.push(
        Diagnostic::new(
            code,
            format!(
                "{what} of {} is {side} than WhatsApp interactive messages allow",
                format_duration(d.seconds)
            ),
            d.span,
            format!("{side} than allowed"),
        )
        .with_help(format!(
            "use a timeout from `{}` to `{}`",
            format_duration(CTA_TIMEOUT_MIN_SECONDS),
            format_duration(CTA_TIMEOUT_MAX_SECONDS)
        )),
    );
}

/// Checks a `header KIND "..."` field; `kinds` are the kinds this message
/// can carry.
pub(crate) fn check_header(
    value: &FieldValue,
    kinds: &[&str],
    codes: &Codes,
    scope: &Scope,
    out: &mut Vec<Diagnostic>,
) {
    let text_only = kinds == ["text"];
    let (kind, text) = match value {
        FieldValue::Word(kind, Some(text)) => (kind, text),
        other => {
            out.push(
                Diagnostic::new(
                    codes.header_kind,
                    "a header needs a kind and a value",
                    other.span(),
                    "no header kind",
                )
                .with_help(if text_only {
                    "write `header text \"...\"`"
                } else {
                    "write `header text \"...\"`, or `header image \"https://...\"` (also `video`, `document`)"
                }),
            );
            return;
        }
    };
    match kind.node.as_str() {
        "text" => {
            scope.check_text(text, out);
            length(
                text,
                CTA_HEADER_TEXT_MAX,
                codes.header_length,
                codes.empty,
                "header text",
                out,
            );
        }
        "image" | "video" | "document" if text_only => {
            out.push(
                Diagnostic::new(
                    codes.header_kind,
                    format!("a list's header cannot be {} {}", article(&kind.node), kind.node),
                    kind.span,
                    "not a text header",
                )
                .with_help("a list message's header is text only: write `header text \"...\"`, or send the media in a message before the list"),
            );
        }
        "image" | "video" | "document" => {
            scope.check_text(text, out);
            let what = format!("the {} header's URL", kind.node);
            vars::require_fallbacks(text, &what, out);
            out.extend(url::check(text, &what));
        }
        other => {
            let suggestion = did_you_mean(other, kinds.iter().copied());
            let known = if text_only {
                "a list's header kind is `text`"
            } else {
                "header kinds are `text`, `image`, `video` and `document`"
            };
            let help = match suggestion {
                Some(s) => format!(
                    "did you mean `{s}`? {}{}",
                    &known[..1].to_uppercase(),
                    &known[1..]
                ),
                None => known.to_owned(),
            };
            let diagnostic = Diagnostic::new(
                codes.header_kind,
                format!("`{other}` is not a header kind"),
                kind.span,
                "unknown header kind",
            )
            .with_help(help);
            out.push(match suggestion {
                Some(s) => diagnostic.with_fix(kind.span, s),
                None => diagnostic,
            });
        }
    }
}

/// `a` or `an`, for the word after it.
pub(crate) fn article(word: &str) -> &'static str {
    match word.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'u') => "an",
        _ => "a",
    }
}

/// Reports an interactive message's text that is empty (as `empty`) or
/// longer than `max` characters (as `code`).
pub(crate) fn length(
    text: &Text,
    max: usize,
    code: Code,
    empty: Code,
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    let n = text.literal_chars();
    let has_vars = text.vars().next().is_some();
    if text.is_empty() {
        out.push(
            Diagnostic::new(empty, format!("the {what} is empty"), text.span, "empty")
                .with_help(format!("write the {what}; WhatsApp refuses an empty one")),
        );
    } else if n > max {
        let counted = if has_vars {
            " of literal text (variables not counted)"
        } else {
            ""
        };
        out.push(
            Diagnostic::new(
                code,
                format!("the {what} is {n} characters{counted}; WhatsApp allows at most {max}"),
                text.span,
                format!("{n} characters"),
            )
            .with_help(format!(
                "shorten the {what} by at least {}",
                plural(n - max, "character")
            )),
        );
    }
}

/// Checks a free-form WhatsApp text.
pub(crate) fn whatsapp_text(text: &Text, scope: &Scope, out: &mut Vec<Diagnostic>) {
    scope.check_text(text, out);
    let n = text.literal_chars();
    if text.is_empty() || n > WHATSAPP_TEXT_MAX {
        let message = if text.is_empty() {
            "a WhatsApp message cannot be empty".to_owned()
        } else {
            format!(
                "this WhatsApp text is {n} characters; WhatsApp allows at most {WHATSAPP_TEXT_MAX}"
            )
        };
        out.push(
            Diagnostic::new(
                Code::WhatsappBodyLength,
                message,
                text.span,
                format!("{n} characters"),
            )
            .with_help(format!(
                "write between 1 and {WHATSAPP_TEXT_MAX} characters"
            )),
        );
    }
}

/// What the flow checker needs to know about a template send.
pub(crate) struct TemplateInfo {
    /// Whether its category is `marketing`, which decides its cost.
    pub(crate) marketing: bool,
    /// The payloads of its quick-reply buttons, where each is written: the
    /// choices a waited template ends with.
    pub(crate) choices: Vec<(String, Span)>,
    /// The `timeout` field, when given.
    pub(crate) timeout_field: Option<Duration>,
}

/// Checks a template send. `handler_timeout` is the `on timeout` handler
/// that waits for it, if any.
pub(crate) fn template(
    t: &Template,
    head: Span,
    handler_timeout: Option<Duration>,
    scope: &Scope,
    out: &mut Vec<Diagnostic>,
) -> TemplateInfo {
    forbid_vars(&t.name, "a template name", out);
    if let Some(name) = t.name.as_literal() {
        let valid = !name.is_empty()
            && name.len() <= TEMPLATE_NAME_MAX
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            let suggestion: String = name
                .trim()
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            out.push(
                Diagnostic::new(
                    Code::TemplateName,
                    format!("`{name}` is not a WhatsApp template name"),
                    t.name.span,
                    "not a template name",
                )
                .with_help(format!(
                    "template names use lowercase letters, digits and `_` (at most {TEMPLATE_NAME_MAX}), like `\"{}\"`",
                    if suggestion.is_empty() { "booking_reminder" } else { &suggestion }
                )),
            );
        }
    }
    let found = fields::read(&t.fields, &TEMPLATE, head, &[], out);
    if let Some(language) = found.text("language") {
        forbid_vars(language, "a template language", out);
        if let Some(code) = language.as_literal()
            && !is_language_code(&code)
        {
            out.push(
                Diagnostic::new(
                    Code::TemplateLanguage,
                    format!("`{code}` is not a WhatsApp language code"),
                    language.span,
                    "not a language code",
                )
                .with_help("write a language code such as `\"en\"`, `\"en_US\"` or `\"pt_BR\"`"),
            );
        }
    }
    let mut marketing = false;
    if let Some(category) = found.get("category")
        && let FieldValue::Word(word, None) = &category.value
    {
        marketing = word.node == "marketing";
        let (help, suggestion) = match word.node.as_str() {
            "marketing" | "utility" => (None, None),
            "authentication" => (
                Some("authentication templates carry one-time codes and are not sent from workflows; use `utility`".to_owned()),
                None,
            ),
            other => {
                let suggestion = did_you_mean(other, ["marketing", "utility"]);
                let help = match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "the categories are `marketing` and `utility`".to_owned(),
                };
                (Some(help), suggestion)
            }
        };
        if let Some(help) = help {
            let diagnostic = Diagnostic::new(
                Code::TemplateCategory,
                format!(
                    "`{}` is not a template category a workflow can send",
                    word.node
                ),
                word.span,
                "unknown category",
            )
            .with_help(help);
            out.push(match suggestion {
                Some(s) => diagnostic.with_fix(word.span, s),
                None => diagnostic,
            });
        }
    }
    for param in found.all("param") {
        if let FieldValue::Text(text) = &param.value {
            scope.check_text(text, out);
            vars::require_fallbacks(text, "this template parameter", out);
        }
    }
    let choices = super::template::check(&found, scope, out);
    let timeout_field = timeout_field(
        &found,
        "template",
        Code::TemplateDuplicateField,
        handler_timeout,
        &super::template::TEMPLATE_CODES,
        out,
    );
    if let (Some(t), true) = (timeout_field, choices.is_empty()) {
        out.push(
            Diagnostic::new(
                Code::FieldUnknown,
                "a template waits only for a tap on its quick replies, and this one fills none",
                t.span,
                "nothing to wait for",
            )
            .with_help("remove the `timeout`, or give the template's quick replies their payloads: `button 1 reply \"confirm\"`"),
        );
    }
    TemplateInfo {
        marketing,
        choices,
        timeout_field,
    }
}

/// Checks an SMS; returns the segments of its body's literal text (1 when
/// it has no body), which its cost is counted in.
pub(crate) fn sms(sms: &Sms, head: Span, scope: &Scope, out: &mut Vec<Diagnostic>) -> usize {
    let body = match sms {
        Sms::Text(text) => Some(text),
        Sms::Fields(fields) => {
            let found = fields::read(fields, &SMS, head, &[], out);
            if let Some(from) = found.text("from") {
                forbid_vars(from, "a sender", out);
                if let Some(sender) = from.as_literal()
                    && !is_e164(&sender)
                    && !is_sender_id(&sender)
                {
                    out.push(
                        Diagnostic::new(
                            Code::SmsFrom,
                            format!("`{sender}` is neither an E.164 number nor an alphanumeric sender ID"),
                            from.span,
                            "not a sender",
                        )
                        .with_help("write a number like `\"+15550100001\"` or a sender ID of 1 to 11 letters, digits and spaces"),
                    );
                }
            }
            found.text("body")
        }
    };
    let Some(body) = body else { return 1 };
    scope.check_text(body, out);
    let (segments, encoding) = sms_segments(&body.literal_text());
    let segments = segments.max(1);
    let n = body.literal_chars();
    if body.is_empty() || n > SMS_BODY_MAX {
        let message = if body.is_empty() {
            "an SMS cannot be empty".to_owned()
        } else {
            format!("this SMS is {n} characters; SMS providers accept at most {SMS_BODY_MAX}")
        };
        out.push(
            Diagnostic::new(
                Code::SmsBodyLength,
                message,
                body.span,
                format!("{n} characters"),
            )
            .with_help(format!("write between 1 and {SMS_BODY_MAX} characters")),
        );
        return segments;
    }
    if segments > 1 {
        out.push(
            Diagnostic::new(
                Code::SmsSegments,
                format!("this SMS is sent as {segments} {encoding} segments, each billed"),
                body.span,
                format!("{segments} segments"),
            )
            .with_help(match encoding {
                "GSM-7" => format!("keep it within {SMS_GSM7_SINGLE} characters to send one segment"),
                _ => format!(
                    "characters outside GSM-7 (emoji, some accents) limit a segment to {SMS_UCS2_SINGLE}; remove them or shorten the text"
                ),
            }),
        );
    }
    segments
}

/// Checks an email.
pub(crate) fn email(fields: &Fields, head: Span, scope: &Scope, out: &mut Vec<Diagnostic>) {
    let found = fields::read(fields, &EMAIL, head, &[], out);
    for name in ["subject", "body"] {
        if let Some(text) = found.text(name) {
            scope.check_text(text, out);
            if text.is_empty() {
                out.push(
                    Diagnostic::new(
                        Code::EmailMissingField,
                        format!("the email's {name} is empty"),
                        text.span,
                        "empty",
                    )
                    .with_help(format!("write the {name}")),
                );
            }
        }
    }
    if let Some(from) = found.text("from") {
        forbid_vars(from, "a sender address", out);
        if let Some(address) = from.as_literal()
            && !is_email(&address)
        {
            out.push(
                Diagnostic::new(
                    Code::EmailFrom,
                    format!("`{address}` is not an email address"),
                    from.span,
                    "not an address",
                )
                .with_help("write an address such as `\"team@example.com\"`"),
            );
        }
    }
}

/// Checks a tag name.
pub(crate) fn tag(text: &Text, out: &mut Vec<Diagnostic>) {
    forbid_vars(text, "a tag", out);
    if text.as_literal().is_some_and(|t| t.trim().is_empty()) {
        out.push(
            Diagnostic::new(Code::TagEmpty, "a tag needs a name", text.span, "empty tag")
                .with_help("write the tag's name, like `tag \"clicked-booking\"`"),
        );
    }
}

/// `1 character`, `2 characters`.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
