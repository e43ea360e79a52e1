//! Lowering `buttons` and `list`: the messages a contact answers by
//! choosing. A claimed one waits, with one `choice` outcome per button or
//! row (in order) besides `not_delivered` and `timeout`.

use super::messages::{field_literal, field_text, header, template_send, timeout};
use super::{Fragment, Lowerer, internal, text};
use crate::check::claim::Claim;
use crate::diag::Diagnostic;
use crate::ir::{self, Op, Outcome};
use crate::source::Span;
use crate::syntax::ast::{self, FieldValue};

impl Lowerer {
    pub(super) fn buttons(
        &mut self,
        m: &ast::Interactive,
        span: Span,
        tail: Option<Claim>,
    ) -> Result<Fragment, Diagnostic> {
        let fields = &m.fields.fields;
        let buttons = fields
            .iter()
            .filter(|f| f.name.node == "reply")
            .map(|f| choice(&f.value).ok_or_else(|| internal(span, "a malformed reply button")))
            .collect::<Result<Vec<_>, _>>()?;
        let message = ir::ButtonsMessage {
            name: m.name.as_ref().map(ast::Text::display),
            from: field_literal(fields, "from"),
            header: header(fields),
            body: field_text(fields, "body")
                .ok_or_else(|| internal(span, "a buttons message without a body"))?,
            footer: field_text(fields, "footer"),
            buttons,
        };
        let count = message.buttons.len();
        let (timeout_seconds, waits) = wait(fields, tail, span)?;
        let op = Op::SendButtons {
            message,
            timeout_seconds,
            waits,
        };
        Ok(self.offer(op, span, waits, count))
    }

    pub(super) fn list(
        &mut self,
        m: &ast::Interactive,
        span: Span,
        tail: Option<Claim>,
    ) -> Result<Fragment, Diagnostic> {
        let fields = &m.fields.fields;
        let mut sections = Vec::new();
        for f in fields.iter().filter(|f| f.name.node == "section") {
            let FieldValue::Group(titles, rows) = &f.value else {
                return Err(internal(span, "a malformed list section"));
            };
            let rows = rows
                .fields
                .iter()
                .filter(|r| r.name.node == "row")
                .map(|r| choice(&r.value).ok_or_else(|| internal(span, "a malformed list row")))
                .collect::<Result<Vec<_>, _>>()?;
            sections.push(ir::ListSection {
                title: titles.first().map(text),
                rows,
            });
        }
        let header = match header(fields) {
            Some(ir::Header::Text { text }) => Some(text),
            Some(_) => return Err(internal(span, "a list with a media header")),
            None => None,
        };
        let message = ir::ListMessage {
            name: m.name.as_ref().map(ast::Text::display),
            from: field_literal(fields, "from"),
            header,
            body: field_text(fields, "body")
                .ok_or_else(|| internal(span, "a list without a body"))?,
            footer: field_text(fields, "footer"),
            button: field_text(fields, "button")
                .ok_or_else(|| internal(span, "a list without a button"))?,
            sections,
        };
        let count = message.rows().count();
        let (timeout_seconds, waits) = wait(fields, tail, span)?;
        let op = Op::SendList {
            message,
            timeout_seconds,
            waits,
        };
        Ok(self.offer(op, span, waits, count))
    }

    /// A template: it waits, like a `buttons` message, when handlers claim
    /// it and it has quick replies to tap.
    pub(super) fn template(
        &mut self,
        t: &ast::Template,
        span: Span,
        tail: Option<Claim>,
    ) -> Result<Fragment, Diagnostic> {
        let mut op = template_send(t, span)?;
        let count = op.choice_ids().map_or(0, |ids| ids.len());
        let (seconds, waiting) = if count > 0 {
            wait(&t.fields.fields, tail, span)?
        } else {
            (0, false)
        };
        if let Op::SendTemplate {
            timeout_seconds,
            waits,
            ..
        } = &mut op
        {
            *timeout_seconds = seconds;
            *waits = waiting;
        }
        Ok(self.offer(op, span, waiting, count))
    }

    /// The node of a message offering `count` choices.
    fn offer(&mut self, op: Op, span: Span, waits: bool, count: usize) -> Fragment {
        if !waits {
            return self.single(op, span, &[Outcome::Done]);
        }
        let mut outcomes = vec![Outcome::NotDelivered, Outcome::Timeout];
        // The checker allows at most ten choices; the index cannot overflow.
        outcomes.extend((0..count.min(u8::MAX as usize)).map(|i| Outcome::Choice(i as u8)));
        self.single(op, span, &outcomes)
    }
}

/// Whether a message waits (it is claimed), and for how long.
fn wait(fields: &[ast::Field], tail: Option<Claim>, span: Span) -> Result<(u64, bool), Diagnostic> {
    match tail {
        None => Ok((0, false)),
        Some(_) => timeout(fields, tail)
            .map(|t| (t, true))
            .ok_or_else(|| internal(span, "a waited message without a timeout")),
    }
}

/// `reply "id" "Title"` or `row "id" "Title" ["Description"]`.
fn choice(value: &FieldValue) -> Option<ir::Choice> {
    let FieldValue::Texts(texts) = value else {
        return None;
    };
    let (id, title, description) = match texts.as_slice() {
        [id, title] => (id, title, None),
        [id, title, description] => (id, title, Some(description)),
        _ => return None,
    };
    Some(ir::Choice {
        id: id.as_literal()?,
        title: text(title),
        description: description.map(text),
    })
}
