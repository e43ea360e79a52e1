//! Send time: rendering a message for one contact and applying the rules
//! that only the rendered text can be held to (lengths, links, the window).

use chrono::{DateTime, Utc};

use super::{Engine, Step, Wait};
use crate::ir::{self, Header, Op, Outcome};
use crate::platform::limits::{
    CTA_BODY_MAX, CTA_BUTTON_MAX, CTA_FOOTER_MAX, CTA_HEADER_TEXT_MAX, SMS_BODY_MAX,
    WHATSAPP_TEXT_MAX,
};
use crate::platform::url::is_absolute_http;
use crate::runtime::contact::Contact;
use crate::runtime::host::Host;
use crate::runtime::message::{Message, Outbound, RenderedHeader, SendResult, StepRef};
use crate::runtime::render::Values;
use crate::runtime::trace::TraceKind;

impl<H: Host> Engine<H> {
    /// Renders and sends one message node, applying the rules only the
    /// rendered text can be held to; a message that breaks one is traced as
    /// not sent and the run goes on (a waited CTA along Not Delivered).
    /// `step` hands only the send operations here.
    pub(super) async fn send_step(
        &mut self,
        run_id: u64,
        node: &ir::Node,
        contact_ix: usize,
        now: DateTime<Utc>,
    ) -> Step {
        if let Some(step) = self.guard_send(run_id, node, contact_ix, now) {
            return step;
        }
        match &node.op {
            Op::SendCta {
                message,
                timeout_seconds,
                waits,
            } => {
                let failed = if *waits {
                    Outcome::NotDelivered
                } else {
                    Outcome::Done
                };
                let rendered = match self.render_cta(run_id, node, message, *timeout_seconds, now) {
                    Ok(m) => m,
                    Err(reason) => {
                        self.not_sent(run_id, node, "cta", reason);
                        return Step::Next(failed);
                    }
                };
                self.dispatch(run_id, node, rendered).await
            }
            Op::SendButtons { waits, .. } | Op::SendList { waits, .. } => {
                let failed = if *waits {
                    Outcome::NotDelivered
                } else {
                    Outcome::Done
                };
                let kind = if matches!(node.op, Op::SendButtons { .. }) {
                    "buttons"
                } else {
                    "list"
                };
                let rendered = match self.render_choices(run_id, node, now) {
                    Ok(m) => m,
                    Err(reason) => {
                        self.not_sent(run_id, node, kind, reason);
                        return Step::Next(failed);
                    }
                };
                self.dispatch(run_id, node, rendered).await
            }
            Op::SendWhatsapp { text } => {
                let contact = &self.contacts[contact_ix];
                let mut missing = Vec::new();
                let body = self.values(contact_ix).text(text, &mut missing);
                let check = whatsapp_ready(contact, now).and_then(|to| {
                    let n = body.chars().count();
                    if n == 0 || n > WHATSAPP_TEXT_MAX {
                        Err(format!(
                            "the rendered text is {n} characters; WhatsApp accepts 1 to {WHATSAPP_TEXT_MAX}"
                        ))
                    } else {
                        Ok(to)
                    }
                });
                self.report_missing(run_id, node, missing);
                match check {
                    Ok(to) => {
                        let out = self.outbound(run_id, node, to, Message::Whatsapp { body });
                        self.dispatch(run_id, node, out).await
                    }
                    Err(reason) => {
                        self.not_sent(run_id, node, "whatsapp", reason);
                        Step::Next(Outcome::Done)
                    }
                }
            }
            Op::SendTemplate { .. } => match self.render_template(run_id, node, contact_ix) {
                Ok(out) => self.dispatch(run_id, node, out).await,
                Err(reason) => {
                    self.not_sent(run_id, node, "template", reason);
                    Step::Next(super::guardrails::refused(&node.op))
                }
            },
            Op::SendSms { body, from } => {
                let mut missing = Vec::new();
                let body = self.values(contact_ix).text(body, &mut missing);
                self.report_missing(run_id, node, missing);
                let n = body.chars().count();
                let check = match self.contacts[contact_ix].phone.clone() {
                    None => Err("the contact has no phone number".to_owned()),
                    Some(_) if n == 0 || n > SMS_BODY_MAX => Err(format!(
                        "the rendered SMS is {n} characters; providers accept 1 to {SMS_BODY_MAX}"
                    )),
                    Some(to) => Ok(to),
                };
                match check {
                    Ok(to) => {
                        let out = self.outbound(
                            run_id,
                            node,
                            to,
                            Message::Sms {
                                body,
                                from: from.clone(),
                            },
                        );
                        self.dispatch(run_id, node, out).await
                    }
                    Err(reason) => {
                        self.not_sent(run_id, node, "sms", reason);
                        Step::Next(Outcome::Done)
                    }
                }
            }
            Op::SendEmail {
                subject,
                body,
                from,
            } => {
                let mut missing = Vec::new();
                let values = self.values(contact_ix);
                let subject = values.text(subject, &mut missing);
                let body = values.text(body, &mut missing);
                self.report_missing(run_id, node, missing);
                match self.contacts[contact_ix].email.clone() {
                    Some(to) => {
                        let message = Message::Email {
                            subject,
                            body,
                            from: from.clone(),
                        };
                        let out = self.outbound(run_id, node, to, message);
                        self.dispatch(run_id, node, out).await
                    }
                    None => {
                        self.not_sent(run_id, node, "email", "the contact has no email address");
                        Step::Next(Outcome::Done)
                    }
                }
            }
            // Not a send: `step` decides every other operation itself.
            _ => Step::Next(Outcome::Done),
        }
    }

    pub(super) fn values(&self, contact_ix: usize) -> Values<'_> {
        Values {
            contact: &self.contacts[contact_ix],
            custom: &self.custom_values,
        }
    }

    pub(super) fn outbound(
        &self,
        run_id: u64,
        node: &ir::Node,
        to: String,
        message: Message,
    ) -> Outbound {
        let contact = self
            .runs
            .get(&run_id)
            .map(|run| self.contacts[run.contact as usize].id.clone())
            .unwrap_or_default();
        Outbound {
            step: self.step_ref(run_id, node),
            contact,
            to,
            message,
        }
    }

    /// Which run and step `node` is, for the host.
    fn step_ref(&self, run_id: u64, node: &ir::Node) -> StepRef {
        StepRef {
            workflow: self
                .runs
                .get(&run_id)
                .map(|run| self.workflows[run.workflow as usize].workflow.clone())
                .unwrap_or_default(),
            run: run_id,
            node: node.id,
        }
    }

    /// Tells the host, and the trace, that a message was not sent and why.
    pub(super) fn not_sent(
        &self,
        run_id: u64,
        node: &ir::Node,
        kind: &str,
        reason: impl Into<String>,
    ) {
        let reason = reason.into();
        let step = self.step_ref(run_id, node);
        self.host.not_sent(&step, kind, &reason);
        self.trace_run(run_id, Some(node.id), || TraceKind::NotSent {
            kind: kind.into(),
            reason,
        });
    }

    /// Hands a rendered message to the host and says how its node ends.
    /// When the embedder defers sends ([`Engine::defer_sends`]), the run
    /// waits in [`Wait::Sending`] instead, and [`Engine::complete_send`]
    /// goes on from here once the host has answered.
    pub(super) async fn dispatch(&mut self, run_id: u64, node: &ir::Node, out: Outbound) -> Step {
        if self.defer_sends {
            let Some(run) = self.runs.get_mut(&run_id) else {
                return Step::End;
            };
            run.wait = Wait::Sending;
            self.sending.push(super::PendingSend {
                run: run_id,
                node: node.id,
                outbound: out,
            });
            return Step::Suspend;
        }
        let result = self.host.send(&out).await;
        self.after_send(run_id, node, out, result)
    }

    /// Traces a send's result and decides how its node ends: a waited
    /// CTA, `buttons`, `list` or template the provider accepted waits for
    /// its outcome, one it refused takes Not Delivered; every other send is
    /// done either way.
    pub(super) fn after_send(
        &mut self,
        run_id: u64,
        node: &ir::Node,
        out: Outbound,
        result: SendResult,
    ) -> Step {
        let accepted = match &result {
            SendResult::Accepted { message_id } => Some(message_id.clone()),
            SendResult::Failed { .. } => None,
        };
        if accepted.is_some() {
            self.note_sent(run_id);
        }
        if self.host.tracing() {
            self.trace_run(run_id, Some(node.id), || TraceKind::Sent {
                message: Box::new(out),
                result,
            });
        }
        let (timeout_seconds, waits, cta) = match &node.op {
            Op::SendCta {
                timeout_seconds,
                waits,
                ..
            } => (*timeout_seconds, *waits, true),
            Op::SendButtons {
                timeout_seconds,
                waits,
                ..
            }
            | Op::SendList {
                timeout_seconds,
                waits,
                ..
            }
            | Op::SendTemplate {
                timeout_seconds,
                waits,
                ..
            } => (*timeout_seconds, *waits, false),
            _ => return Step::Next(Outcome::Done),
        };
        match accepted {
            Some(message_id) if waits => {
                self.by_message.insert(message_id.clone(), run_id);
                if cta {
                    self.wait(run_id, timeout_seconds, Wait::Cta { message_id }, "cta")
                } else {
                    let what = match node.op {
                        Op::SendButtons { .. } => "buttons",
                        Op::SendTemplate { .. } => "template",
                        _ => "list",
                    };
                    self.wait(run_id, timeout_seconds, Wait::Choice { message_id }, what)
                }
            }
            Some(_) => Step::Next(Outcome::Done),
            None if waits => Step::Next(Outcome::NotDelivered),
            None => Step::Next(Outcome::Done),
        }
    }

    pub(super) fn report_missing(&self, run_id: u64, node: &ir::Node, missing: Vec<String>) {
        for var in missing {
            self.trace_run(run_id, Some(node.id), || TraceKind::MissingValue { var });
        }
    }

    pub(super) fn render_cta(
        &self,
        run_id: u64,
        node: &ir::Node,
        message: &ir::CtaMessage,
        timeout_seconds: u64,
        now: DateTime<Utc>,
    ) -> Result<Outbound, String> {
        let Some(run) = self.runs.get(&run_id) else {
            return Err("the run ended".into());
        };
        let contact_ix = run.contact as usize;
        let to = whatsapp_ready(&self.contacts[contact_ix], now)?;
        let values = self.values(contact_ix);
        let mut missing = Vec::new();
        let header = render_header(&values, &message.header, &mut missing);
        let body = values.text(&message.body, &mut missing);
        let footer = message
            .footer
            .as_ref()
            .map(|f| values.text(f, &mut missing));
        let display_text = values.text(&message.display_text, &mut missing);
        let url = values.url(&message.url, &mut missing);
        self.report_missing(run_id, node, missing);
        limit("body", &body, 1, CTA_BODY_MAX)?;
        limit("button label", &display_text, 1, CTA_BUTTON_MAX)?;
        if let Some(footer) = &footer {
            limit("footer", footer, 0, CTA_FOOTER_MAX)?;
        }
        let [header_ok, url_ok] = self.workflows[run.workflow as usize]
            .urls_ok
            .get(node.id.0 as usize)
            .copied()
            .unwrap_or_default();
        // The URL parser refuses inputs over 4 GiB, whatever they start with.
        let short = |s: &str| s.len() < u32::MAX as usize;
        match &header {
            RenderedHeader::Text { text } => limit("header", text, 1, CTA_HEADER_TEXT_MAX)?,
            RenderedHeader::Image { link }
            | RenderedHeader::Video { link }
            | RenderedHeader::Document { link } => {
                if !(header_ok && short(link)) {
                    absolute_url("header link", link)?;
                }
            }
        }
        if !(url_ok && short(&url)) {
            absolute_url("URL", &url)?;
        }
        Ok(self.outbound(
            run_id,
            node,
            to,
            Message::Cta {
                from: message.from.clone(),
                header,
                body,
                footer,
                display_text,
                url,
                timeout_seconds,
            },
        ))
    }
}

/// Renders an interactive header: text as text, media links as URLs.
pub(super) fn render_header(
    values: &Values<'_>,
    header: &Header,
    missing: &mut Vec<String>,
) -> RenderedHeader {
    match header {
        Header::Text { text } => RenderedHeader::Text {
            text: values.text(text, missing),
        },
        Header::Image { link } => RenderedHeader::Image {
            link: values.url(link, missing),
        },
        Header::Video { link } => RenderedHeader::Video {
            link: values.url(link, missing),
        },
        Header::Document { link } => RenderedHeader::Document {
            link: values.url(link, missing),
        },
    }
}

/// A rendered header of a `buttons` message or a template against the
/// platform's rules: text 1 to 60 characters, media by an absolute link.
pub(super) fn header_ok(header: &RenderedHeader) -> Result<(), String> {
    match header {
        RenderedHeader::Text { text } => limit("header", text, 1, CTA_HEADER_TEXT_MAX),
        RenderedHeader::Image { link }
        | RenderedHeader::Video { link }
        | RenderedHeader::Document { link } => absolute_url("header link", link),
    }
}

/// The number to send a WhatsApp session message to, if the window is open.
pub(super) fn whatsapp_ready(contact: &Contact, now: DateTime<Utc>) -> Result<String, String> {
    let Some(phone) = contact.phone.clone() else {
        return Err("the contact has no phone number".into());
    };
    if !contact.window_open(now) {
        return Err("the 24-hour customer service window is closed (no WhatsApp message from the contact in the last 24 hours)".into());
    }
    Ok(phone)
}

pub(super) fn limit(what: &str, text: &str, min: usize, max: usize) -> Result<(), String> {
    let n = text.chars().count();
    if n < min || n > max {
        Err(format!(
            "the rendered {what} is {n} characters; WhatsApp accepts {min} to {max}"
        ))
    } else {
        Ok(())
    }
}

pub(super) fn absolute_url(what: &str, text: &str) -> Result<(), String> {
    if is_absolute_http(text) {
        Ok(())
    } else {
        Err(format!(
            "the rendered {what} `{text}` is not an absolute http(s) URL"
        ))
    }
}

/// Whether `text` renders to an absolute http(s) URL (as [`absolute_url`]
/// decides) whatever its variables hold, judged from its literal start alone.
///
/// In a URL every value is percent-encoded down to `A-Z a-z 0-9 - . _ ~ %`
/// (see `render`), so a value can never end the authority, start a query or
/// fragment, or add a character the URL parser strips. When the literal text
/// before the first variable already holds `http://` or `https://`, a
/// non-empty authority and the character that ends it (`/`, `\\`, `?` or
/// `#`), the parser has settled the scheme and the host before it reaches any
/// value, and what follows (path, query, fragment) never makes it fail. So
/// the rendered URL passes exactly when that literal start does. Anything
/// less plain (spaces, control or non-ASCII characters in the literal start,
/// a variable inside the authority) answers false and is parsed at send time
/// as before. (The parser also refuses inputs over 4 GiB; `render_cta`
/// parses those whatever this says.)
pub(super) fn static_url_ok(text: &ir::Text) -> bool {
    let mut prefix = String::new();
    for part in &text.0 {
        match part {
            ir::Part::Text(s) => prefix.push_str(s),
            ir::Part::Var(_) | ir::Part::VarOr { .. } => break,
        }
    }
    if !prefix.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let Some(rest) = prefix
        .strip_prefix("https://")
        .or_else(|| prefix.strip_prefix("http://"))
    else {
        return false;
    };
    let Some(end) = rest.find(['/', '\\', '?', '#']) else {
        return false;
    };
    if end == 0 {
        return false;
    }
    let authority = prefix.len() - rest.len() + end;
    absolute_url("URL", &prefix[..authority]).is_ok()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::ir::{Part, Text};

    pub(super) fn url(parts: &[(&str, bool)]) -> Text {
        Text(
            parts
                .iter()
                .map(|&(s, var)| {
                    if var {
                        Part::Var(s.into())
                    } else {
                        Part::Text(s.into())
                    }
                })
                .collect(),
        )
    }

    pub(super) fn render(text: &Text, value: &str) -> String {
        let mut contact = Contact::new("c1");
        contact.fields.insert("v".into(), value.into());
        let custom = BTreeMap::new();
        let values = Values {
            contact: &contact,
            custom: &custom,
        };
        values.url(text, &mut Vec::new())
    }

    #[test]
    pub(super) fn static_url_verdicts() {
        let yes = [
            url(&[("https://cdn.example.com/booking.png", false)]),
            url(&[
                ("https://www.example.com/?name=", false),
                ("contact.v", true),
            ]),
            url(&[("http://example.com?q=", false), ("contact.v", true)]),
            url(&[("https://example.com#", false), ("contact.v", true)]),
            url(&[
                ("https://user@example.com:8443/p/", false),
                ("contact.v", true),
            ]),
        ];
        for text in &yes {
            assert!(static_url_ok(text), "{text:?}");
        }
        let no = [
            // The variable is in the authority.
            url(&[("https://", false), ("contact.v", true), ("/x", false)]),
            url(&[("https://example.com", false), ("contact.v", true)]),
            url(&[
                ("https://example.com:", false),
                ("contact.v", true),
                ("/", false),
            ]),
            // No authority, or one the parser would read differently.
            url(&[("https:///example.com/", false)]),
            url(&[("https://example.com", false)]),
            url(&[("ftp://example.com/", false)]),
            url(&[("HTTPS://example.com/", false)]),
            url(&[(" https://example.com/", false)]),
            url(&[("https://exa mple.com/", false)]),
            url(&[("https://bücher.example/", false)]),
            // Invalid as written.
            url(&[("https://exa[mple.com/", false)]),
            url(&[("https://example.com:99999/", false)]),
            url(&[("/relative/", false), ("contact.v", true)]),
        ];
        for text in &no {
            assert!(!static_url_ok(text), "{text:?}");
        }
    }

    proptest! {
        /// A verdict of "always valid" holds for any value, and for literal
        /// texts it is the same as parsing them.
        #[test]
        fn a_static_verdict_matches_parsing(
            start in prop::sample::select(vec![
                "https://www.example.com/?name=",
                "https://www.example.com/p/",
                "http://example.com?",
                "https://example.com#",
                "https://u:p@example.com:8080\\x/",
                "https://example.com:99999/",
                "https://[::1]/",
                "https://xn--bcher-kva.example/",
                "https://",
                "https://example.com",
            ]),
            value in ".{0,24}",
            tail in "[ -~]{0,12}",
        ) {
            let text = url(&[(start, false), ("contact.v", true), (&tail, false)]);
            if static_url_ok(&text) {
                let rendered = render(&text, &value);
                prop_assert!(absolute_url("URL", &rendered).is_ok(), "{rendered}");
            }
            let literal = url(&[(start, false), (&tail, false)]);
            let whole = format!("{start}{tail}");
            if static_url_ok(&literal) {
                prop_assert!(absolute_url("URL", &whole).is_ok(), "{whole}");
            }
        }
    }
}
