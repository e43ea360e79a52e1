//! Lowering messages: a `cta` (which waits when claimed) and the fire-and-go
//! sends (SMS, email), each read from its checked fields, and a template's
//! send (which `choices.rs` makes wait when it has quick replies).

use super::{Fragment, Lowerer, internal, text};
use crate::check::claim::Claim;
use crate::diag::Diagnostic;
use crate::ir::{self, Op, Outcome, Text};
use crate::source::Span;
use crate::syntax::ast::{self, FieldValue};

impl Lowerer {
    pub(super) fn cta(
        &mut self,
        cta: &ast::Interactive,
        span: Span,
        tail: Option<Claim>,
    ) -> Result<Fragment, Diagnostic> {
        let fields = &cta.fields.fields;
        let header =
            header(fields).ok_or_else(|| internal(span, "a cta without a valid header"))?;
        let message = ir::CtaMessage {
            name: cta.name.as_ref().map(ast::Text::display),
            from: field_literal(fields, "from"),
            header,
            body: field_text(fields, "body")
                .ok_or_else(|| internal(span, "a cta without a body"))?,
            footer: field_text(fields, "footer"),
            display_text: field_text(fields, "button")
                .ok_or_else(|| internal(span, "a cta without a button"))?,
            url: field_text(fields, "url").ok_or_else(|| internal(span, "a cta without a url"))?,
        };
        let timeout_seconds =
            timeout(fields, tail).ok_or_else(|| internal(span, "a cta without a timeout"))?;
        let waits = tail.is_some();
        let op = Op::SendCta {
            message,
            timeout_seconds,
            waits,
        };
        Ok(if waits {
            self.single(
                op,
                span,
                &[Outcome::Opened, Outcome::NotDelivered, Outcome::Timeout],
            )
        } else {
            self.single(op, span, &[Outcome::Done])
        })
    }
}

/// The `header KIND "..."` field of an interactive message.
pub(super) fn header(fields: &[ast::Field]) -> Option<ir::Header> {
    fields
        .iter()
        .find(|f| f.name.node == "header")
        .and_then(|f| match &f.value {
            FieldValue::Word(kind, Some(t)) => {
                let t = text(t);
                match kind.node.as_str() {
                    "text" => Some(ir::Header::Text { text: t }),
                    "image" => Some(ir::Header::Image { link: t }),
                    "video" => Some(ir::Header::Video { link: t }),
                    "document" => Some(ir::Header::Document { link: t }),
                    _ => None,
                }
            }
            _ => None,
        })
}

/// How long a claimed interactive message waits: its handlers' `on
/// timeout`, else its `timeout` field.
pub(super) fn timeout(fields: &[ast::Field], tail: Option<Claim>) -> Option<u64> {
    let field_timeout = fields
        .iter()
        .find(|f| f.name.node == "timeout")
        .and_then(|f| match &f.value {
            FieldValue::Duration(d) => Some(d.seconds),
            _ => None,
        });
    tail.and_then(|c| c.timeout.map(|d| d.seconds))
        .or(field_timeout)
}

/// A `template` statement's send, not yet waiting (see `choices.rs`).
pub(super) fn template_send(t: &ast::Template, span: Span) -> Result<Op, Diagnostic> {
    let fields = &t.fields.fields;
    let language = field_literal(fields, "language")
        .ok_or_else(|| internal(span, "a template without a language"))?;
    let category = fields
        .iter()
        .find(|f| f.name.node == "category")
        .and_then(|f| match &f.value {
            FieldValue::Word(w, None) => Some(w.node.clone()),
            _ => None,
        })
        .ok_or_else(|| internal(span, "a template without a category"))?;
    let params = fields
        .iter()
        .filter(|f| f.name.node == "param")
        .filter_map(|f| match &f.value {
            FieldValue::Text(t) => Some(text(t)),
            _ => None,
        })
        .collect();
    let name = t
        .name
        .as_literal()
        .ok_or_else(|| internal(span, "a template name with variables"))?;
    let mut buttons = Vec::new();
    for f in fields.iter().filter(|f| f.name.node == "button") {
        let FieldValue::Indexed(index, kind, Some(value)) = &f.value else {
            return Err(internal(span, "a template button without a value"));
        };
        let index: u8 = index
            .node
            .parse()
            .map_err(|_| internal(span, "a template button index"))?;
        buttons.push(match kind.node.as_str() {
            "url" => ir::TemplateButton::Url {
                index,
                text: text(value),
            },
            "reply" => ir::TemplateButton::QuickReply {
                index,
                payload: value
                    .as_literal()
                    .ok_or_else(|| internal(span, "a payload with variables"))?,
            },
            _ => return Err(internal(span, "a template button kind")),
        });
    }
    // Index order: the Cloud API's order, and the order of the `choice`
    // outcomes.
    buttons.sort_by_key(|b| match b {
        ir::TemplateButton::Url { index, .. } | ir::TemplateButton::QuickReply { index, .. } => {
            *index
        }
    });
    Ok(Op::SendTemplate {
        name,
        language,
        category,
        params,
        header: header(fields),
        buttons,
        timeout_seconds: 0,
        waits: false,
    })
}

/// An `sms` statement's send: the short form is its body alone.
pub(super) fn sms(sms: &ast::Sms, span: Span) -> Result<Op, Diagnostic> {
    let (body, from) = match sms {
        ast::Sms::Text(t) => (text(t), None),
        ast::Sms::Fields(f) => (
            field_text(&f.fields, "body").ok_or_else(|| internal(span, "an sms without a body"))?,
            field_literal(&f.fields, "from"),
        ),
    };
    Ok(Op::SendSms { body, from })
}

/// An `email` statement's send.
pub(super) fn email(f: &ast::Fields, span: Span) -> Result<Op, Diagnostic> {
    let subject = field_text(&f.fields, "subject")
        .ok_or_else(|| internal(span, "an email without a subject"))?;
    let body =
        field_text(&f.fields, "body").ok_or_else(|| internal(span, "an email without a body"))?;
    let from = field_literal(&f.fields, "from");
    Ok(Op::SendEmail {
        subject,
        body,
        from,
    })
}

pub(super) fn field_text(fields: &[ast::Field], name: &str) -> Option<Text> {
    fields
        .iter()
        .find(|f| f.name.node == name)
        .and_then(|f| match &f.value {
            FieldValue::Text(t) => Some(text(t)),
            _ => None,
        })
}

pub(super) fn field_literal(fields: &[ast::Field], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|f| f.name.node == name)
        .and_then(|f| match &f.value {
            FieldValue::Text(t) => t.as_literal(),
            _ => None,
        })
}
