//! Messages answered by a choice: rendering a `buttons` or `list` send, and
//! matching a button or list reply to the run waiting on the message it
//! answers.
//!
//! A reply names the message it answers (the Cloud API's `context.id`) and
//! the id of the chosen button or row. Only the run waiting on that very
//! message takes it, along the choice's edge. A reply to an earlier message,
//! a plain text reply, or a choice the message does not offer leaves a
//! waiting run where it is, and the trace says which it was. Every choice is
//! also a WhatsApp reply: it refreshes the window, resumes `await reply
//! whatsapp` and starts `on reply whatsapp` runs as any reply does.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::send::{header_ok, limit, render_header, whatsapp_ready};
use super::{Engine, Wait};
use crate::ir::{self, Op, Outcome};
use crate::platform::limits::{
    BUTTON_TITLE_MAX, BUTTONS_BODY_MAX, CTA_FOOTER_MAX, CTA_HEADER_TEXT_MAX, LIST_BODY_MAX,
    LIST_BUTTON_MAX, LIST_ROW_DESCRIPTION_MAX, LIST_ROW_TITLE_MAX, LIST_SECTION_TITLE_MAX,
};
use crate::runtime::host::Host;
use crate::runtime::message::{Message, Outbound, RenderedChoice, RenderedSection};
use crate::runtime::render::Values;
use crate::runtime::trace::TraceKind;

/// A button or list reply: the chosen id and the message it answers.
pub(super) struct Chosen<'a> {
    /// The `context.id` of the reply, when the provider gave one.
    pub(super) answers: Option<&'a str>,
    /// The chosen button's or row's id.
    pub(super) id: &'a str,
}

impl<H: Host> Engine<H> {
    /// Renders a `send_buttons` or `send_list` node for the run's contact,
    /// holding the rendered text to the platform's limits.
    pub(super) fn render_choices(
        &self,
        run_id: u64,
        node: &ir::Node,
        now: DateTime<Utc>,
    ) -> Result<Outbound, String> {
        let Some(run) = self.runs.get(&run_id) else {
            return Err("the run ended".into());
        };
        let contact_ix = run.contact as usize;
        let to = whatsapp_ready(&self.contacts[contact_ix], now)?;
        let values = self.values(contact_ix);
        let mut missing = Vec::new();
        let message = match &node.op {
            Op::SendButtons { message, .. } => buttons(&values, message, &mut missing),
            Op::SendList { message, .. } => list(&values, message, &mut missing),
            _ => Err("not a message with choices".to_owned()),
        };
        self.report_missing(run_id, node, missing);
        Ok(self.outbound(run_id, node, to, message?))
    }

    /// Offers a button or list reply to the run of workflow (family) `w` waiting on
    /// the message it answers. True when a run took it (so it starts or
    /// resumes nothing else in `w`). `traced` collects the runs whose
    /// trace already says why the reply left them waiting.
    pub(super) async fn offer_choice(
        &mut self,
        w: u32,
        contact: u32,
        chosen: &Chosen<'_>,
        traced: &mut HashSet<u64>,
    ) -> bool {
        let target = chosen
            .answers
            .and_then(|m| self.by_message.get(m).copied())
            .filter(|run_id| {
                self.runs.get(run_id).is_some_and(|r| {
                    self.family_of(r) == w
                        && r.contact == contact
                        && matches!(r.wait, Wait::Choice { .. })
                })
            });
        let Some(run_id) = target else {
            return false;
        };
        let Some(run) = self.runs.get(&run_id) else {
            return false;
        };
        let offered = self.workflows[run.workflow as usize]
            .node(run.node)
            .and_then(|n| n.op.choice_ids())
            .unwrap_or_default();
        match offered.iter().position(|id| *id == chosen.id) {
            Some(index) => {
                let index = u8::try_from(index).unwrap_or(u8::MAX);
                if let Some(message_id) = chosen.answers {
                    self.by_message.remove(message_id);
                    self.decided
                        .note(message_id, Outcome::Choice(index), self.host.now());
                }
                self.resume(run_id, Outcome::Choice(index)).await;
            }
            None => {
                let listed = offered
                    .iter()
                    .map(|id| format!("`{id}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                traced.insert(run_id);
                self.trace_run(run_id, None, || TraceKind::Ignored {
                    event: format!("choice `{}`", chosen.id),
                    reason: format!(
                        "the message this run waits on offers {listed}, not `{}`; the run still waits (the reply refreshed the WhatsApp window)",
                        chosen.id
                    ),
                });
            }
        }
        true
    }

    /// Traces why a reply leaves a run of workflow `w` that waits for a
    /// choice where it is: it chose on another message, or it was text.
    pub(super) fn choice_still_waits(
        &self,
        w: u32,
        contact: u32,
        chosen: Option<&Chosen<'_>>,
        traced: &mut HashSet<u64>,
    ) {
        for t in super::CHANNELS {
            let Some(&run_id) = self.active.get(&super::run_key(w, contact, t)) else {
                continue;
            };
            let Some(Wait::Choice { message_id }) = self.runs.get(&run_id).map(|r| &r.wait) else {
                continue;
            };
            let (event, why) = match chosen {
                Some(c) => (
                    format!("choice `{}`", c.id),
                    match c.answers {
                        Some(other) => format!(
                            "it answers an earlier message ({other}), not the one this run waits on ({message_id})"
                        ),
                        None => format!(
                            "the reply does not say which message it answers, and this run waits on {message_id}"
                        ),
                    },
                ),
                None => (
                    "reply on whatsapp".to_owned(),
                    "a text reply is not a choice: the run still waits for the contact to tap a button or row".to_owned(),
                ),
            };
            traced.insert(run_id);
            self.trace_run(run_id, None, || TraceKind::Ignored {
                event,
                reason: format!("{why} (the reply refreshed the WhatsApp window)"),
            });
        }
    }
}

fn footer(
    values: &Values<'_>,
    footer: &Option<ir::Text>,
    missing: &mut Vec<String>,
) -> Result<Option<String>, String> {
    let footer = footer.as_ref().map(|f| values.text(f, missing));
    if let Some(f) = &footer {
        limit("footer", f, 0, CTA_FOOTER_MAX)?;
    }
    Ok(footer)
}

fn buttons(
    values: &Values<'_>,
    message: &ir::ButtonsMessage,
    missing: &mut Vec<String>,
) -> Result<Message, String> {
    let header = message
        .header
        .as_ref()
        .map(|h| render_header(values, h, missing));
    if let Some(header) = &header {
        header_ok(header)?;
    }
    let body = values.text(&message.body, missing);
    limit("body", &body, 1, BUTTONS_BODY_MAX)?;
    let footer = footer(values, &message.footer, missing)?;
    let mut titles = HashSet::new();
    let mut buttons = Vec::with_capacity(message.buttons.len());
    for b in &message.buttons {
        let title = values.text(&b.title, missing);
        limit("button title", &title, 1, BUTTON_TITLE_MAX)?;
        // WhatsApp refuses a message whose buttons share a title (131009);
        // variables can make two titles equal only once rendered.
        if !titles.insert(title.clone()) {
            return Err(format!(
                "two buttons render the same title `{title}`, which WhatsApp refuses"
            ));
        }
        buttons.push(RenderedChoice {
            id: b.id.clone(),
            title,
            description: None,
        });
    }
    Ok(Message::Buttons {
        from: message.from.clone(),
        header,
        body,
        footer,
        buttons,
    })
}

fn list(
    values: &Values<'_>,
    message: &ir::ListMessage,
    missing: &mut Vec<String>,
) -> Result<Message, String> {
    let header = message.header.as_ref().map(|h| values.text(h, missing));
    if let Some(h) = &header {
        limit("header", h, 1, CTA_HEADER_TEXT_MAX)?;
    }
    let body = values.text(&message.body, missing);
    limit("body", &body, 1, LIST_BODY_MAX)?;
    let footer = footer(values, &message.footer, missing)?;
    let button = values.text(&message.button, missing);
    limit("list button label", &button, 1, LIST_BUTTON_MAX)?;
    let mut sections = Vec::with_capacity(message.sections.len());
    for section in &message.sections {
        let title = section.title.as_ref().map(|t| values.text(t, missing));
        if let Some(t) = &title {
            limit("section title", t, 1, LIST_SECTION_TITLE_MAX)?;
        }
        let mut rows = Vec::with_capacity(section.rows.len());
        for row in &section.rows {
            let title = values.text(&row.title, missing);
            limit("row title", &title, 1, LIST_ROW_TITLE_MAX)?;
            // An empty description is left out rather than sent empty.
            let description = row
                .description
                .as_ref()
                .map(|d| values.text(d, missing))
                .filter(|d| !d.is_empty());
            if let Some(d) = &description {
                limit("row description", d, 0, LIST_ROW_DESCRIPTION_MAX)?;
            }
            rows.push(RenderedChoice {
                id: row.id.clone(),
                title,
                description,
            });
        }
        sections.push(RenderedSection { title, rows });
    }
    Ok(Message::List {
        from: message.from.clone(),
        header,
        body,
        footer,
        button,
        sections,
    })
}
