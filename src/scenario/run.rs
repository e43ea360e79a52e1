//! The driver: a workflow against a scenario in virtual time.
//!
//! The engine runs with a [`SimHost`] on a [`VirtualClock`] set to the
//! scenario's start. Before each scenario event the clock moves to the
//! event's time, firing every timer due by then (so a timer due at the same
//! moment as an event fires first); after the last event it runs to `until`,
//! or until no timer is left. The timeline merges the scenario's events with
//! the engine's trace, in the order they happened.

use std::path::PathBuf;

use crate::SourceFile;
use crate::diag::Diagnostic;
use crate::ir::Program;
use crate::runtime::{
    Engine, Event, Message, RenderedTemplateButton, SendResult, Sent, SimHost, VirtualClock,
};
use crate::source::LineIndex;

use super::block_on::block_on;
use super::model::{EventKind, MessageRef, Scenario};
use super::simulation::{Simulation, TimelineEntry};

/// How long a simulation without `until` goes on after its last event while
/// timers remain: past any single kflow duration (365 days).
pub const RUN_ON_LIMIT: chrono::Duration = chrono::Duration::days(400);

/// A compiled workflow ready to run against scenarios, with its source so
/// timelines can name the lines things happened on.
#[derive(Debug, Clone)]
pub struct Workflow {
    path: PathBuf,
    source: SourceFile,
    program: Program,
}

impl Workflow {
    /// A workflow compiled elsewhere; `path` is how reports name its file.
    pub fn new(path: impl Into<PathBuf>, source: SourceFile, program: Program) -> Workflow {
        Workflow {
            path: path.into(),
            source,
            program,
        }
    }

    /// Checks and compiles `source` (see [`crate::compile`]); its name is
    /// the path reports show. A file with errors is refused with every
    /// diagnostic.
    pub fn compile(source: SourceFile) -> Result<Workflow, Vec<Diagnostic>> {
        let program = crate::compile(&source)?;
        Ok(Workflow::new(PathBuf::from(source.name()), source, program))
    }

    /// The compiled program.
    pub fn program(&self) -> &Program {
        &self.program
    }
}

/// Runs the workflow against the scenario in virtual time and returns what
/// happened. It never fails: an engine that refuses the program (only a
/// compiler bug can cause it) is recorded in [`Simulation::load_error`].
pub fn run(scenario: &Scenario, workflow: Workflow) -> Simulation {
    block_on(run_events(scenario, workflow))
}

async fn run_events(scenario: &Scenario, workflow: Workflow) -> Simulation {
    let clock = VirtualClock::new(scenario.start);
    let host = SimHost::new(clock.clone());
    for (kind, code) in &scenario.failures {
        host.fail_sends(kind, Some(code), provider_reason(code));
    }
    let mut engine = Engine::new(host);
    let load_error = engine
        .load(workflow.program.clone())
        .err()
        .map(|e| e.to_string());
    engine.upsert_contact(scenario.contact.clone());
    for (key, value) in &scenario.custom_values {
        engine.set_custom_value(key.clone(), value.clone());
    }
    let mut entries = Vec::new();
    let mut traced = 0;
    let collect =
        |engine: &Engine<SimHost>, entries: &mut Vec<TimelineEntry>, traced: &mut usize| {
            let trace = engine.host().trace();
            let total = trace.len();
            entries.extend(trace.into_iter().skip(*traced).map(TimelineEntry::Trace));
            *traced = total;
        };
    let mut last_at = scenario.start;
    for event in &scenario.events {
        let at = scenario.start + seconds(event.at);
        last_at = at;
        engine.advance(&clock, at).await;
        collect(&engine, &mut entries, &mut traced);
        let message_id = match &event.what {
            EventKind::Reply(_) | EventKind::Tagged(_) => None,
            EventKind::LinkOpened(r) => resolve(r, &engine.host().sent(), |m| {
                matches!(m, Message::Cta { .. })
            }),
            // A status is about the last message that waits for one.
            EventKind::DeliveryFailed(r, _) | EventKind::Delivered(r) => {
                resolve(r, &engine.host().sent(), |m| {
                    matches!(
                        m,
                        Message::Cta { .. } | Message::Buttons { .. } | Message::List { .. }
                    ) || quick_replies(m)
                })
            }
            EventKind::Chose { list, answers, .. } => {
                resolve(answers, &engine.host().sent(), |m| match m {
                    Message::List { .. } => *list,
                    // A template's quick replies are buttons too.
                    Message::Buttons { .. } => !*list,
                    m => !*list && quick_replies(m),
                })
            }
        };
        entries.push(TimelineEntry::Event {
            at,
            kind: event.what.clone(),
            message_id: message_id.clone(),
        });
        let engine_event = match (&event.what, message_id) {
            (EventKind::Tagged(tag), _) => {
                // As an embedder records a tag set elsewhere: the contact
                // record, updated.
                if let Some(mut contact) = engine.contact(&scenario.contact.id).cloned() {
                    contact.tags.insert(tag.clone());
                    engine.upsert_contact(contact);
                }
                None
            }
            (EventKind::Reply(channel), _) => Some(Event::Reply {
                contact: scenario.contact.id.clone(),
                channel: *channel,
            }),
            (EventKind::LinkOpened(_), Some(message_id)) => Some(Event::LinkOpened { message_id }),
            (EventKind::DeliveryFailed(_, reason), Some(message_id)) => {
                Some(Event::DeliveryFailed {
                    message_id,
                    reason: reason.clone(),
                })
            }
            (EventKind::Delivered(_), Some(message_id)) => Some(Event::Delivered { message_id }),
            // A choice with no message to answer is still a reply.
            (EventKind::Chose { id, .. }, answers) => Some(Event::Chose {
                contact: scenario.contact.id.clone(),
                answers,
                id: id.clone(),
            }),
            (_, None) => None,
        };
        if let Some(engine_event) = engine_event {
            engine.handle(engine_event).await;
        }
        collect(&engine, &mut entries, &mut traced);
    }
    let mut cut_short = false;
    match scenario.until {
        Some(until) => {
            engine
                .advance(&clock, scenario.start + seconds(until))
                .await
        }
        None => {
            let limit = last_at + RUN_ON_LIMIT;
            while let Some(due) = engine.next_due() {
                if due > limit {
                    cut_short = true;
                    clock.set(limit);
                    break;
                }
                clock.set(due);
                engine.fire_due().await;
            }
        }
    }
    collect(&engine, &mut entries, &mut traced);
    let host = engine.host();
    Simulation {
        scenario_path: scenario.path.clone(),
        description: scenario.description.clone(),
        workflow_path: workflow.path,
        lines: LineIndex::new(workflow.source.text()),
        source: workflow.source,
        program: workflow.program,
        start: scenario.start,
        contact: scenario.contact.clone(),
        custom_values: scenario
            .custom_values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        failures: scenario
            .failures
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        entries,
        sent: host.sent(),
        tags: host.tags(),
        end: clock.now(),
        waiting: engine.stats().active,
        cut_short,
        load_error,
    }
}

/// Seconds as a duration; offsets past chrono's range are clamped (the
/// reader's durations never get there).
pub(crate) fn seconds(n: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1_000_000))
}

/// Whether `m` is a template with quick replies, which a tap answers and
/// which waits for a status as a `buttons` message does.
fn quick_replies(m: &Message) -> bool {
    matches!(m, Message::Template { buttons, .. }
        if buttons.iter().any(|b| matches!(b, RenderedTemplateButton::QuickReply { .. })))
}

/// The message an event refers to: `last` is the last message of the
/// event's kind (`kind`) the provider accepted so far.
fn resolve(
    reference: &MessageRef,
    sent: &[Sent],
    kind: impl Fn(&Message) -> bool,
) -> Option<String> {
    match reference {
        MessageRef::Id(id) => Some(id.clone()),
        MessageRef::Last => sent.iter().rev().find_map(|s| match &s.result {
            SendResult::Accepted { message_id } if kind(&s.outbound.message) => {
                Some(message_id.clone())
            }
            _ => None,
        }),
    }
}

/// What the simulated provider says when it refuses a send with `code`
/// (a scenario's `[provider] fail`): WhatsApp's wording for the codes it
/// documents, a generic refusal otherwise.
pub fn provider_reason(code: &str) -> &'static str {
    match code {
        "131047" => {
            "Re-engagement message: more than 24 hours have passed since the customer last replied"
        }
        "131026" => "Message undeliverable",
        "131049" => "Meta chose not to deliver the message, to keep engagement healthy",
        _ => "the provider refused the message",
    }
}
