//! [`Simulation`]: what happened when a workflow ran against a scenario, and
//! the queries expectations compare (actions, path, URLs, texts, missing
//! values). Renderers (the `kflowc simulate` timeline and JSON document)
//! read it through the accessors; it holds data only and never prints.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::SourceFile;
use crate::ir::{Op, Outcome, Program};
use crate::runtime::{
    Contact, Message, RenderedHeader, RenderedTemplateButton, SendResult, Sent, TagChange,
    TraceEvent, TraceKind,
};
use crate::source::LineIndex;

use super::model::{EventKind, KINDS, offset_label, outcome_name};
use crate::check::costs::Billing;
use crate::platform::limits::WINDOW_SECONDS;

/// One line of the timeline, in the order things happened.
#[derive(Debug, Clone)]
pub enum TimelineEntry {
    /// A scenario event.
    Event {
        /// When it happened.
        at: DateTime<Utc>,
        /// What happened.
        kind: EventKind,
        /// The message id the event's reference resolved to; `None` for a
        /// reply, and for `last` when no CTA had been accepted (the event is
        /// then skipped).
        message_id: Option<String>,
    },
    /// Something the engine traced.
    Trace(TraceEvent),
}

/// An action as expected actions name it, with its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Seconds after the start.
    pub at: u64,
    /// `cta`, `template NAME failed`, `sms not sent`, `tag X`, ...
    pub action: String,
}

/// One accepted send and how it is billed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCost {
    /// Seconds after the start.
    pub at: u64,
    /// The simulated provider's id (`msg-1`).
    pub message_id: String,
    /// `cta`, `buttons`, `list`, `whatsapp`, `template`, `sms` or `email`.
    pub kind: &'static str,
    /// How it is billed.
    pub billing: Billing,
}

/// What happened in one simulation.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub(super) scenario_path: PathBuf,
    pub(super) description: Option<String>,
    pub(super) workflow_path: PathBuf,
    pub(super) source: SourceFile,
    pub(super) lines: LineIndex,
    pub(super) program: Program,
    pub(super) start: DateTime<Utc>,
    pub(super) contact: Contact,
    pub(super) custom_values: Vec<(String, String)>,
    pub(super) failures: Vec<(String, String)>,
    pub(super) entries: Vec<TimelineEntry>,
    pub(super) sent: Vec<Sent>,
    pub(super) tags: Vec<TagChange>,
    pub(super) end: DateTime<Utc>,
    /// Runs still waiting at the end.
    pub(super) waiting: usize,
    /// Whether timers were left when the run-on limit stopped the simulation.
    pub(super) cut_short: bool,
    /// The engine refused the program (only a compiler bug can cause it).
    pub(super) load_error: Option<String>,
}

impl Simulation {
    /// The scenario's path.
    pub fn scenario_path(&self) -> &Path {
        &self.scenario_path
    }

    /// The scenario's description.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The workflow's path.
    pub fn workflow_path(&self) -> &Path {
        &self.workflow_path
    }

    /// The program that ran.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The contact as the scenario gave it (before the run changed it).
    pub fn contact(&self) -> &Contact {
        &self.contact
    }

    /// The account's custom values, by name.
    pub fn custom_values(&self) -> &[(String, String)] {
        &self.custom_values
    }

    /// The message kinds the provider refused, with the error code.
    pub fn failures(&self) -> &[(String, String)] {
        &self.failures
    }

    /// Virtual time zero.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// When the simulation stopped.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// Everything that happened, in order.
    pub fn timeline(&self) -> &[TimelineEntry] {
        &self.entries
    }

    /// Every send the provider was asked for, accepted or refused.
    pub fn sent(&self) -> &[Sent] {
        &self.sent
    }

    /// Every tag change.
    pub fn tags(&self) -> &[TagChange] {
        &self.tags
    }

    /// What each send the provider accepted is billed, as the pricing facts
    /// of `docs/language.md` ("Costs") say, now that the time of each send
    /// and the contact's replies are known: a session message is free (it
    /// was only sent inside the window), a utility template is free when
    /// the window was open at that moment and billed otherwise, a marketing
    /// template is always billed, an SMS by the segments of its rendered
    /// text, an email by the email provider. A refused send is not billed.
    pub fn costs(&self) -> Vec<SentCost> {
        // When the contact last wrote on WhatsApp, as of each moment: the
        // scenario's starting value, then every WhatsApp reply or tap.
        let mut replies: Vec<DateTime<Utc>> =
            self.contact.last_whatsapp_inbound.into_iter().collect();
        for entry in &self.entries {
            if let TimelineEntry::Event { at, kind, .. } = entry
                && matches!(
                    kind,
                    EventKind::Reply(crate::ir::Channel::Whatsapp) | EventKind::Chose { .. }
                )
            {
                replies.push(*at);
            }
        }
        let window_open = |at: DateTime<Utc>| {
            replies
                .iter()
                .any(|r| *r <= at && at - *r < chrono::Duration::seconds(WINDOW_SECONDS))
        };
        self.sent
            .iter()
            .filter_map(|s| {
                let SendResult::Accepted { message_id } = &s.result else {
                    return None;
                };
                let billing = match &s.outbound.message {
                    Message::Template { category, .. } if category == "marketing" => {
                        Billing::Marketing
                    }
                    Message::Template { .. } if window_open(s.at) => Billing::FreeUtility,
                    Message::Template { .. } => Billing::Utility,
                    Message::Sms { body, .. } => Billing::Sms {
                        segments: crate::platform::sms::segments(body).0.max(1),
                    },
                    Message::Email { .. } => Billing::Email,
                    _ => Billing::FreeService,
                };
                Some(SentCost {
                    at: self.offset(s.at),
                    message_id: message_id.clone(),
                    kind: s.outbound.message.kind(),
                    billing,
                })
            })
            .collect()
    }

    /// Runs still waiting when the simulation stopped.
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// Whether timers were left when [`RUN_ON_LIMIT`] stopped a simulation
    /// without `until`.
    ///
    /// [`RUN_ON_LIMIT`]: super::RUN_ON_LIMIT
    pub fn cut_short(&self) -> bool {
        self.cut_short
    }

    /// Why the engine refused the workflow, if it did (then nothing ran).
    pub fn load_error(&self) -> Option<&str> {
        self.load_error.as_deref()
    }

    /// Seconds from the start to `at` (0 for a time before it).
    pub fn offset(&self, at: DateTime<Utc>) -> u64 {
        u64::try_from((at - self.start).num_seconds()).unwrap_or(0)
    }

    /// `+12m` for `at`.
    pub fn label(&self, at: DateTime<Utc>) -> String {
        offset_label(self.offset(at))
    }

    /// The workflow's line a span starts on.
    pub fn line_of(&self, span: Option<crate::Span>) -> Option<u32> {
        span.map(|s| self.lines.line_col(self.source.text(), s.start).line)
    }

    fn traces(&self) -> impl Iterator<Item = &TraceEvent> {
        self.entries.iter().filter_map(|e| match e {
            TimelineEntry::Trace(t) => Some(t),
            TimelineEntry::Event { .. } => None,
        })
    }

    fn template_name(&self, event: &TraceEvent) -> Option<&str> {
        match event.node.and_then(|n| self.program.node(n)).map(|n| &n.op) {
            Some(Op::SendTemplate { name, .. }) => Some(name),
            _ => None,
        }
    }

    /// The action a trace event is, if any, as expected actions write it:
    /// sends, refusals, messages not sent and tag changes.
    pub fn action(&self, event: &TraceEvent) -> Option<String> {
        match &event.kind {
            TraceKind::Sent { message, result } => {
                let mut action = message.message.kind().to_owned();
                if let Message::Template { name, .. } = &message.message {
                    action = format!("template {name}");
                }
                if matches!(result, SendResult::Failed { .. }) {
                    action.push_str(" failed");
                }
                Some(action)
            }
            TraceKind::NotSent { kind, .. } if KINDS.contains(&kind.as_str()) => {
                Some(match self.template_name(event) {
                    Some(name) if kind == "template" => format!("template {name} not sent"),
                    _ => format!("{kind} not sent"),
                })
            }
            TraceKind::Tagged { tag, present } => {
                Some(format!("{} {tag}", if *present { "tag" } else { "untag" }))
            }
            _ => None,
        }
    }

    /// Every action in order.
    pub fn actions(&self) -> Vec<Action> {
        self.traces()
            .filter_map(|t| {
                self.action(t).map(|action| Action {
                    at: self.offset(t.at),
                    action,
                })
            })
            .collect()
    }

    /// The outcomes taken, in order (`done` left out); a choice is
    /// `chose:ID`, with the chosen button's or row's id, and a run ended by
    /// its goal adds `goal`.
    pub fn path(&self) -> Vec<String> {
        self.traces()
            .filter_map(|t| match t.kind {
                TraceKind::Outcome {
                    outcome: Outcome::Choice(i),
                } => {
                    let id = t
                        .node
                        .and_then(|n| self.program.node(n))
                        .and_then(|n| n.op.choice_ids())
                        .and_then(|ids| ids.get(i as usize).map(|id| (*id).to_owned()))
                        .unwrap_or_else(|| i.to_string());
                    Some(format!("chose:{id}"))
                }
                TraceKind::Outcome { outcome } if outcome != Outcome::Done => {
                    Some(outcome_name(outcome).to_owned())
                }
                TraceKind::GoalReached { .. } => Some("goal".to_owned()),
                _ => None,
            })
            .collect()
    }

    /// The button URL of every CTA sent (accepted or refused).
    pub fn urls(&self) -> Vec<String> {
        self.sent
            .iter()
            .filter_map(|s| match &s.outbound.message {
                Message::Cta { url, .. } => Some(url.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every rendered text of every message sent.
    pub fn texts(&self) -> Vec<String> {
        let mut texts = Vec::new();
        for sent in &self.sent {
            match &sent.outbound.message {
                Message::Cta {
                    header,
                    body,
                    footer,
                    display_text,
                    url,
                    ..
                } => {
                    texts.push(header_value(header).to_owned());
                    texts.push(body.clone());
                    texts.extend(footer.clone());
                    texts.push(display_text.clone());
                    texts.push(url.clone());
                }
                Message::Buttons {
                    header,
                    body,
                    footer,
                    buttons,
                    ..
                } => {
                    texts.extend(header.as_ref().map(|h| header_value(h).to_owned()));
                    texts.push(body.clone());
                    texts.extend(footer.clone());
                    texts.extend(buttons.iter().map(|b| b.title.clone()));
                }
                Message::List {
                    header,
                    body,
                    footer,
                    button,
                    sections,
                    ..
                } => {
                    texts.extend(header.clone());
                    texts.push(body.clone());
                    texts.extend(footer.clone());
                    texts.push(button.clone());
                    for s in sections {
                        texts.extend(s.title.clone());
                        for r in &s.rows {
                            texts.push(r.title.clone());
                            texts.extend(r.description.clone());
                        }
                    }
                }
                Message::Whatsapp { body } | Message::Sms { body, .. } => texts.push(body.clone()),
                Message::Template {
                    params,
                    header,
                    buttons,
                    ..
                } => {
                    texts.extend(header.as_ref().map(|h| header_value(h).to_owned()));
                    texts.extend(params.iter().cloned());
                    for b in buttons {
                        texts.push(match b {
                            RenderedTemplateButton::Url { text, .. } => text.clone(),
                            RenderedTemplateButton::QuickReply { payload, .. } => payload.clone(),
                        });
                    }
                }
                Message::Email { subject, body, .. } => {
                    texts.push(subject.clone());
                    texts.push(body.clone());
                }
            }
        }
        texts
    }

    /// The variables that rendered empty, in order.
    pub fn missing(&self) -> Vec<String> {
        self.traces()
            .filter_map(|t| match &t.kind {
                TraceKind::MissingValue { var } => Some(var.clone()),
                _ => None,
            })
            .collect()
    }
}

/// A CTA header's text, or its media link.
fn header_value(header: &RenderedHeader) -> &str {
    match header {
        RenderedHeader::Text { text } => text,
        RenderedHeader::Image { link }
        | RenderedHeader::Video { link }
        | RenderedHeader::Document { link } => link,
    }
}
