//! `kflowc simulate`: run a workflow against a scenario in virtual time and
//! show what it did and when.
//!
//! The engine runs with a [`SimHost`] on a [`VirtualClock`] set to the
//! scenario's start. Before each scenario event the clock moves to the
//! event's time, firing every timer due by then (so a timer due at the same
//! moment as an event fires first); after the last event it runs to `until`,
//! or until no timer is left. The timeline merges the scenario's events with
//! the engine's trace, in the order they happened.

use std::future::Future;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, ValueEnum};
use kflow::SourceFile;
use kflow::diag::Diagnostic;
use kflow::ir::{Op, Outcome, Program};
use kflow::report::{FileReport, json};
use kflow::runtime::{
    Engine, Event, Message, RenderedHeader, SendResult, Sent, SimHost, TagChange, TraceEvent,
    TraceKind, VirtualClock,
};
use kflow::source::LineIndex;
use serde_json::{Value, json};

use crate::Exit;
use crate::human_out::{HumanReports, Stream};
use crate::input::{self, Input};
use crate::scenario::{self, EventKind, MessageRef, Scenario, offset_label};

/// How long a simulation without `until` goes on after its last event while
/// timers remain: past any single kflow duration (365 days).
const RUN_ON_LIMIT: chrono::Duration = chrono::Duration::days(400);

/// The version of the `--format json` document; bumped on incompatible change.
const JSON_VERSION: u32 = 1;

/// `kflowc simulate` arguments.
#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// The .kflow file to run; defaults to the scenario's `workflow`.
    #[arg(value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,

    /// The scenario (TOML): the contact, custom values and a timeline of
    /// events such as replies and link opens.
    #[arg(long, short, value_name = "SCENARIO.toml")]
    pub(crate) scenario: PathBuf,

    /// How to print the timeline.
    #[arg(long, value_enum, default_value_t = SimulateFormat::Human)]
    pub(crate) format: SimulateFormat,
}

/// Output formats of `kflowc simulate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SimulateFormat {
    /// A timeline for people: one line per thing that happened, with the
    /// rendered messages.
    Human,
    /// One JSON document: the timeline with the engine's trace, the sends,
    /// the actions and the outcomes taken.
    Json,
}

/// Runs `kflowc simulate`.
pub(crate) fn run(args: &SimulateArgs) -> Exit {
    let scenario = match scenario::load(&args.scenario) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Failure;
        }
    };
    let prepared = match prepare(&scenario, args.file.as_deref()) {
        Ok(prepared) => prepared,
        Err(Unprepared::Failure(message)) => {
            eprintln!("error: {message}");
            return Exit::Failure;
        }
        Err(Unprepared::Errors(file, diagnostics)) => {
            let text = match args.format {
                SimulateFormat::Human => human_diagnostics(&file, &diagnostics),
                SimulateFormat::Json => {
                    json::render(&[FileReport::new(&file, &diagnostics)]) + "\n"
                }
            };
            if let Err(error) = write_stdout(&text) {
                return write_failed(&error);
            }
            eprintln!("error: {} has errors; nothing was simulated", file.name());
            return Exit::Problems;
        }
    };
    let simulation = simulate(&scenario, prepared);
    let text = match args.format {
        SimulateFormat::Human => simulation.human(),
        SimulateFormat::Json => {
            let mut text = serde_json::to_string_pretty(&simulation.json())
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            text.push('\n');
            text
        }
    };
    match write_stdout(&text) {
        Ok(()) => Exit::Success,
        Err(error) => write_failed(&error),
    }
}

fn write_stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

pub(crate) fn write_failed(error: &io::Error) -> Exit {
    if error.kind() != io::ErrorKind::BrokenPipe {
        eprintln!("error: cannot write the output: {error}");
    }
    Exit::Failure
}

/// Diagnostics drawn for stdout exactly as `kflowc check` draws them.
pub(crate) fn human_diagnostics(file: &SourceFile, diagnostics: &[Diagnostic]) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = HumanReports::for_stream(Stream::Stdout).write_file(&mut out, file, diagnostics);
    String::from_utf8_lossy(&out).into_owned()
}

/// A workflow ready to run.
pub(crate) struct Prepared {
    path: PathBuf,
    source: SourceFile,
    program: Program,
}

/// Why a scenario's workflow cannot run.
pub(crate) enum Unprepared {
    /// It cannot be found, read or loaded (exit 2).
    Failure(String),
    /// It has errors (exit 1).
    Errors(SourceFile, Vec<Diagnostic>),
}

/// Reads and compiles the workflow: `file` when given, else the scenario's.
pub(crate) fn prepare(scenario: &Scenario, file: Option<&Path>) -> Result<Prepared, Unprepared> {
    let Some(path) = file
        .map(Path::to_path_buf)
        .or_else(|| scenario.workflow.clone())
    else {
        return Err(Unprepared::Failure(format!(
            "{}: no workflow to run: name it on the command line (`kflowc simulate FILE --scenario ...`) or in the scenario (`workflow = \"flow.kflow\"`)",
            scenario.path.display()
        )));
    };
    let source = input::load(&Input::File(path.clone()), "<stdin>")
        .map_err(|e| Unprepared::Failure(e.to_string()))?;
    let program = kflow::compile(&source).map_err(|d| Unprepared::Errors(source.clone(), d))?;
    Ok(Prepared {
        path,
        source,
        program,
    })
}

/// The rendered fields of a message, as (key, value) lines under its line.
type Details = Vec<(String, String)>;

/// One line of the timeline.
#[derive(Debug, Clone)]
enum Entry {
    /// A scenario event, with the message id it was resolved to.
    Event {
        at: DateTime<Utc>,
        kind: EventKind,
        message_id: Option<String>,
    },
    /// Something the engine traced.
    Trace(TraceEvent),
}

/// What happened in one simulation.
pub(crate) struct Simulation {
    scenario_path: PathBuf,
    description: Option<String>,
    workflow_path: PathBuf,
    source: SourceFile,
    lines: LineIndex,
    program: Program,
    start: DateTime<Utc>,
    contact: kflow::runtime::Contact,
    custom_values: Vec<(String, String)>,
    failures: Vec<(String, String)>,
    entries: Vec<Entry>,
    sent: Vec<Sent>,
    tags: Vec<TagChange>,
    end: DateTime<Utc>,
    /// Runs still waiting at the end.
    waiting: usize,
    /// Whether timers were left when the run-on limit stopped the simulation.
    cut_short: bool,
    /// The engine refused the program (only a compiler bug can cause it).
    load_error: Option<String>,
}

/// An action as `[expect] actions` names it, with its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Action {
    /// Seconds after the start.
    pub(crate) at: u64,
    /// `cta`, `template NAME failed`, `tag X`, ...
    pub(crate) action: String,
}

/// Runs the prepared workflow against the scenario.
pub(crate) fn simulate(scenario: &Scenario, prepared: Prepared) -> Simulation {
    block_on(run_events(scenario, prepared))
}

async fn run_events(scenario: &Scenario, prepared: Prepared) -> Simulation {
    let clock = VirtualClock::new(scenario.start);
    let host = SimHost::new(clock.clone());
    for (kind, code) in &scenario.failures {
        host.fail_sends(kind, Some(code), provider_reason(code));
    }
    let mut engine = Engine::new(host);
    let load_error = engine
        .load(prepared.program.clone())
        .err()
        .map(|e| e.to_string());
    engine.upsert_contact(scenario.contact.clone());
    for (key, value) in &scenario.custom_values {
        engine.set_custom_value(key.clone(), value.clone());
    }
    let mut entries = Vec::new();
    let mut traced = 0;
    let collect = |engine: &Engine<SimHost>, entries: &mut Vec<Entry>, traced: &mut usize| {
        let trace = engine.host().trace();
        let total = trace.len();
        entries.extend(trace.into_iter().skip(*traced).map(Entry::Trace));
        *traced = total;
    };
    let mut last_at = scenario.start;
    for event in &scenario.events {
        let at = scenario.start + seconds(event.at);
        last_at = at;
        engine.advance(&clock, at).await;
        collect(&engine, &mut entries, &mut traced);
        let message_id = match &event.what {
            EventKind::Reply(_) => None,
            EventKind::LinkOpened(r)
            | EventKind::DeliveryFailed(r, _)
            | EventKind::Delivered(r) => resolve(r, &engine.host().sent()),
        };
        entries.push(Entry::Event {
            at,
            kind: event.what.clone(),
            message_id: message_id.clone(),
        });
        let engine_event = match (&event.what, message_id) {
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
        workflow_path: prepared.path,
        lines: LineIndex::new(prepared.source.text()),
        source: prepared.source,
        program: prepared.program,
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

fn seconds(n: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1_000_000))
}

/// The message an event refers to: `last` is the last CTA the provider
/// accepted so far.
fn resolve(reference: &MessageRef, sent: &[Sent]) -> Option<String> {
    match reference {
        MessageRef::Id(id) => Some(id.clone()),
        MessageRef::Last => {
            sent.iter()
                .rev()
                .find_map(|s| match (&s.outbound.message, &s.result) {
                    (Message::Cta { .. }, SendResult::Accepted { message_id }) => {
                        Some(message_id.clone())
                    }
                    _ => None,
                })
        }
    }
}

/// What the simulated provider says when it refuses a send with `code`.
fn provider_reason(code: &str) -> &'static str {
    match code {
        "131047" => {
            "Re-engagement message: more than 24 hours have passed since the customer last replied"
        }
        "131026" => "Message undeliverable",
        "131049" => "Meta chose not to deliver the message, to keep engagement healthy",
        _ => "the provider refused the message",
    }
}

impl Simulation {
    fn offset(&self, at: DateTime<Utc>) -> u64 {
        u64::try_from((at - self.start).num_seconds()).unwrap_or(0)
    }

    fn label(&self, at: DateTime<Utc>) -> String {
        offset_label(self.offset(at))
    }

    /// `line 9` for a span's start.
    fn line_of(&self, span: Option<kflow::Span>) -> Option<u32> {
        span.map(|s| self.lines.line_col(self.source.text(), s.start).line)
    }

    fn traces(&self) -> impl Iterator<Item = &TraceEvent> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Trace(t) => Some(t),
            Entry::Event { .. } => None,
        })
    }

    fn template_name(&self, event: &TraceEvent) -> Option<&str> {
        match event.node.and_then(|n| self.program.node(n)).map(|n| &n.op) {
            Some(Op::SendTemplate { name, .. }) => Some(name),
            _ => None,
        }
    }

    /// The action a trace event is, if any: sends, refusals, messages not
    /// sent and tag changes.
    fn action(&self, event: &TraceEvent) -> Option<String> {
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
            TraceKind::NotSent { kind, .. } if scenario::KINDS.contains(&kind.as_str()) => {
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
    pub(crate) fn actions(&self) -> Vec<Action> {
        self.traces()
            .filter_map(|t| {
                self.action(t).map(|action| Action {
                    at: self.offset(t.at),
                    action,
                })
            })
            .collect()
    }

    /// The outcomes taken, in order (`done` left out).
    pub(crate) fn path(&self) -> Vec<String> {
        self.traces()
            .filter_map(|t| match t.kind {
                TraceKind::Outcome { outcome } if outcome != Outcome::Done => {
                    Some(scenario::outcome_name(outcome).to_owned())
                }
                _ => None,
            })
            .collect()
    }

    /// The button URL of every CTA sent (accepted or refused).
    pub(crate) fn urls(&self) -> Vec<String> {
        self.sent
            .iter()
            .filter_map(|s| match &s.outbound.message {
                Message::Cta { url, .. } => Some(url.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every rendered text of every message sent.
    pub(crate) fn texts(&self) -> Vec<String> {
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
                    texts.push(header_text(header).1.to_owned());
                    texts.push(body.clone());
                    texts.extend(footer.clone());
                    texts.push(display_text.clone());
                    texts.push(url.clone());
                }
                Message::Whatsapp { body } | Message::Sms { body, .. } => texts.push(body.clone()),
                Message::Template { params, .. } => texts.extend(params.iter().cloned()),
                Message::Email { subject, body, .. } => {
                    texts.push(subject.clone());
                    texts.push(body.clone());
                }
            }
        }
        texts
    }

    /// The variables that rendered empty, in order.
    pub(crate) fn missing(&self) -> Vec<String> {
        self.traces()
            .filter_map(|t| match &t.kind {
                TraceKind::MissingValue { var } => Some(var.clone()),
                _ => None,
            })
            .collect()
    }

    /// Runs still waiting when the simulation stopped.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Why the simulation could not run at all, if it could not.
    pub(crate) fn load_error(&self) -> Option<&str> {
        self.load_error.as_deref()
    }

    /// The readable timeline.
    pub(crate) fn human(&self) -> String {
        let mut out = String::new();
        let header = |out: &mut String, key: &str, value: &str| {
            out.push_str(&format!("{key:<10}{value}\n"));
        };
        header(
            &mut out,
            "scenario",
            &self.scenario_path.display().to_string(),
        );
        if let Some(description) = &self.description {
            for line in description.lines() {
                header(&mut out, "", line.trim());
            }
        }
        header(
            &mut out,
            "workflow",
            &format!(
                "{:?} ({})",
                self.program.workflow,
                self.workflow_path.display()
            ),
        );
        let mut contact = self.contact.id.clone();
        let reach: Vec<&str> = [&self.contact.phone, &self.contact.email]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !reach.is_empty() {
            contact.push_str(&format!(" ({})", reach.join(", ")));
        }
        contact.push_str(&match self.contact.last_whatsapp_inbound {
            Some(t) if t <= self.start => format!(
                ", last wrote on WhatsApp {} before the start",
                kflow::check::limits::format_duration(
                    u64::try_from((self.start - t).num_seconds()).unwrap_or(0)
                )
            ),
            Some(t) => format!(", last wrote on WhatsApp at {}", self.label(t)),
            None => ", never wrote on WhatsApp".to_owned(),
        });
        header(&mut out, "contact", &contact);
        if !self.contact.fields.is_empty() {
            let fields: Vec<String> = self
                .contact
                .fields
                .iter()
                .map(|(k, v)| format!("{k} {v:?}"))
                .collect();
            header(&mut out, "fields", &fields.join(", "));
        }
        if !self.contact.tags.is_empty() {
            let tags: Vec<&str> = self.contact.tags.iter().map(String::as_str).collect();
            header(&mut out, "tags", &tags.join(", "));
        }
        if !self.custom_values.is_empty() {
            let values: Vec<String> = self
                .custom_values
                .iter()
                .map(|(k, v)| format!("{k} {v:?}"))
                .collect();
            header(&mut out, "custom", &values.join(", "));
        }
        for (kind, code) in &self.failures {
            header(
                &mut out,
                "provider",
                &format!(
                    "refuses every {kind} with {code} ({})",
                    provider_reason(code)
                ),
            );
        }
        header(
            &mut out,
            "start",
            &self.start.to_rfc3339_opts(SecondsFormat::Secs, true),
        );
        out.push('\n');

        let mut lines: Vec<(String, String, Details)> = Vec::new();
        if let Some(error) = &self.load_error {
            lines.push((
                "+0s".into(),
                format!("the engine refused the workflow: {error}"),
                Vec::new(),
            ));
        }
        for entry in &self.entries {
            let (at, text, details) = match entry {
                Entry::Event {
                    at,
                    kind,
                    message_id,
                } => (
                    *at,
                    self.event_line(kind, message_id.as_deref()),
                    Vec::new(),
                ),
                Entry::Trace(t) => {
                    let (text, details) = self.trace_line(t);
                    (t.at, text, details)
                }
            };
            lines.push((self.label(at), text, details));
        }
        let end = if self.cut_short {
            format!(
                "stopped {} after the last event with {} still waiting; set `until` to run longer",
                kflow::check::limits::format_duration(RUN_ON_LIMIT.num_seconds() as u64),
                runs(self.waiting)
            )
        } else if self.waiting == 0 {
            "end: no run is waiting".to_owned()
        } else {
            format!("end: {} still waiting", runs(self.waiting))
        };
        lines.push((self.label(self.end), end, Vec::new()));

        let width = lines.iter().map(|(at, _, _)| at.len()).max().unwrap_or(3) + 2;
        for (at, text, details) in lines {
            out.push_str(&format!("{at:<width$}{text}\n"));
            let key_width = details.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
            for (key, value) in details {
                let indent = " ".repeat(width + 2);
                out.push_str(&format!("{indent}{key:<key_width$}{value}\n"));
            }
        }
        out
    }

    fn event_line(&self, kind: &EventKind, message_id: Option<&str>) -> String {
        let id = |r: &MessageRef| match (r, message_id) {
            (_, Some(id)) => id.to_owned(),
            (r, None) => r.to_string(),
        };
        let unresolved = if message_id.is_none() {
            ": no CTA has been sent, so there is nothing to refer to; the event is skipped"
        } else {
            ""
        };
        match kind {
            EventKind::Reply(channel) => {
                format!("reply on {} from {}", channel.as_str(), self.contact.id)
            }
            EventKind::LinkOpened(r) => format!("link opened ({}){unresolved}", id(r)),
            EventKind::DeliveryFailed(r, reason) => {
                format!("delivery failed ({}): {reason}{unresolved}", id(r))
            }
            EventKind::Delivered(r) => format!("delivered ({}){unresolved}", id(r)),
        }
    }

    fn at_line(&self, event: &TraceEvent) -> String {
        self.line_of(event.span)
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default()
    }

    fn trace_line(&self, event: &TraceEvent) -> (String, Vec<(String, String)>) {
        let line = self.at_line(event);
        match &event.kind {
            TraceKind::Started { channel } => {
                let trigger = self
                    .program
                    .triggers
                    .iter()
                    .find(|t| t.channel.as_str() == channel)
                    .and_then(|t| self.line_of(Some(t.span)))
                    .map(|l| format!(", line {l}"))
                    .unwrap_or_default();
                (
                    format!("run {} started (on reply {channel}{trigger})", event.run),
                    Vec::new(),
                )
            }
            TraceKind::Sent { message, result } => {
                let action = self.action(event).unwrap_or_default();
                let mut details = Vec::new();
                let text = match result {
                    SendResult::Accepted { message_id } => {
                        format!("{action} to {} ({message_id})", message.to)
                    }
                    SendResult::Failed { code, reason } => {
                        details.push(("to".to_owned(), message.to.clone()));
                        let code = code
                            .as_deref()
                            .map(|c| format!("{c}: "))
                            .unwrap_or_default();
                        format!("{action}: the provider refused it ({code}{reason})")
                    }
                };
                let accepted = matches!(result, SendResult::Accepted { .. });
                details.extend(self.message_details(event, &message.message, accepted));
                (text, details)
            }
            TraceKind::NotSent { kind, reason } => {
                let action = self
                    .action(event)
                    .unwrap_or_else(|| format!("{kind} not sent"));
                (format!("{action}: {reason}{line}"), Vec::new())
            }
            TraceKind::MissingValue { var } => (
                format!("missing value {{{{{var}}}}} rendered empty{line}"),
                Vec::new(),
            ),
            TraceKind::Tagged { .. } => (
                format!("{}{line}", self.action(event).unwrap_or_default()),
                Vec::new(),
            ),
            TraceKind::Waiting { on, until } => {
                let until = self.label(*until);
                let text = match on.as_str() {
                    "cta" => format!(
                        "waiting for the link to be opened or a delivery failure, until {until}"
                    ),
                    "timer" => format!("waiting until {until}"),
                    "reply" => {
                        let channel =
                            match event.node.and_then(|n| self.program.node(n)).map(|n| &n.op) {
                                Some(Op::AwaitReply { channel, .. }) => channel.as_str(),
                                _ => "any channel",
                            };
                        format!("waiting for a reply on {channel} until {until}")
                    }
                    other => format!("waiting on {other} until {until}"),
                };
                (text, Vec::new())
            }
            TraceKind::Outcome { outcome } => {
                let text = match (outcome, event.node.and_then(|n| self.program.node(n))) {
                    (Outcome::Done, Some(node)) if matches!(node.op, Op::Wait { .. }) => {
                        format!("wait over{line}")
                    }
                    (outcome, _) => {
                        format!("outcome {}{line}", scenario::outcome_name(*outcome))
                    }
                };
                (text, Vec::new())
            }
            TraceKind::Ignored {
                event: what,
                reason,
            } => (format!("ignored {what}: {reason}"), Vec::new()),
            TraceKind::Ended => (format!("run {} ended", event.run), Vec::new()),
        }
    }

    /// The rendered message, one field a line; a refused CTA's link never
    /// became active, so it gets no `link` line.
    fn message_details(
        &self,
        event: &TraceEvent,
        message: &Message,
        accepted: bool,
    ) -> Vec<(String, String)> {
        let mut details: Vec<(String, String)> = Vec::new();
        let mut add = |key: &str, value: String| details.push((key.to_owned(), value));
        match message {
            Message::Cta {
                from,
                header,
                body,
                footer,
                display_text,
                url,
                timeout_seconds,
            } => {
                if let Some(from) = from {
                    add("from", from.clone());
                }
                let (kind, value) = header_text(header);
                add(
                    "header",
                    if kind == "text" {
                        format!("text {value:?}")
                    } else {
                        format!("{kind} {value}")
                    },
                );
                add("body", format!("{body:?}"));
                if let Some(footer) = footer {
                    add("footer", format!("{footer:?}"));
                }
                add("button", format!("{display_text:?} -> {url}"));
                if accepted {
                    let expires = self.label(event.at + seconds(*timeout_seconds));
                    add(
                        "link",
                        format!(
                            "active {} (until {expires})",
                            kflow::check::limits::format_duration(*timeout_seconds)
                        ),
                    );
                }
            }
            Message::Whatsapp { body } => add("body", format!("{body:?}")),
            Message::Template {
                language,
                category,
                params,
                ..
            } => {
                add("language", language.clone());
                add("category", category.clone());
                for (i, param) in params.iter().enumerate() {
                    add(&format!("{{{{{}}}}}", i + 1), format!("{param:?}"));
                }
            }
            Message::Sms { body, from } => {
                if let Some(from) = from {
                    add("from", from.clone());
                }
                add("body", format!("{body:?}"));
            }
            Message::Email {
                subject,
                body,
                from,
            } => {
                if let Some(from) = from {
                    add("from", from.clone());
                }
                add("subject", format!("{subject:?}"));
                add("body", format!("{body:?}"));
            }
        }
        details
    }

    /// The machine-readable document.
    pub(crate) fn json(&self) -> Value {
        let timeline: Vec<Value> = self
            .entries
            .iter()
            .map(|entry| match entry {
                Entry::Event {
                    at,
                    kind,
                    message_id,
                } => {
                    let mut event = match kind {
                        EventKind::Reply(channel) => json!({
                            "what": "reply",
                            "channel": channel.as_str(),
                            "contact": self.contact.id,
                        }),
                        EventKind::LinkOpened(r) => {
                            json!({"what": "link_opened", "message": r.to_string()})
                        }
                        EventKind::DeliveryFailed(r, reason) => json!({
                            "what": "delivery_failed",
                            "message": r.to_string(),
                            "reason": reason,
                        }),
                        EventKind::Delivered(r) => {
                            json!({"what": "delivered", "message": r.to_string()})
                        }
                    };
                    if !matches!(kind, EventKind::Reply(_)) {
                        event["message_id"] = json!(message_id);
                    }
                    json!({
                        "at": at,
                        "offset": self.label(*at),
                        "offset_seconds": self.offset(*at),
                        "source": "scenario",
                        "event": event,
                    })
                }
                Entry::Trace(trace) => json!({
                    "at": trace.at,
                    "offset": self.label(trace.at),
                    "offset_seconds": self.offset(trace.at),
                    "source": "engine",
                    "line": self.line_of(trace.span),
                    "trace": trace,
                }),
            })
            .collect();
        let actions: Vec<Value> = self
            .actions()
            .into_iter()
            .map(|a| json!({"offset": offset_label(a.at), "offset_seconds": a.at, "action": a.action}))
            .collect();
        let sends: Vec<Value> = self
            .sent
            .iter()
            .map(|s| {
                let mut value = json!(s);
                value["offset"] = json!(self.label(s.at));
                value
            })
            .collect();
        json!({
            "version": JSON_VERSION,
            "scenario": self.scenario_path.display().to_string(),
            "workflow": {
                "name": self.program.workflow,
                "file": self.workflow_path.display().to_string(),
            },
            "contact": self.contact,
            "custom_values": self.custom_values.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            "start": self.start,
            "end": self.end,
            "end_offset": self.label(self.end),
            "timeline": timeline,
            "sends": sends,
            "tags": self.tags,
            "actions": actions,
            "path": self.path(),
            "missing": self.missing(),
            "waiting": self.waiting,
            "cut_short": self.cut_short,
            "load_error": self.load_error,
        })
    }
}

fn runs(n: usize) -> String {
    if n == 1 {
        "1 run".to_owned()
    } else {
        format!("{n} runs")
    }
}

fn header_text(header: &RenderedHeader) -> (&'static str, &str) {
    match header {
        RenderedHeader::Text { text } => ("text", text),
        RenderedHeader::Image { link } => ("image", link),
        RenderedHeader::Video { link } => ("video", link),
        RenderedHeader::Document { link } => ("document", link),
    }
}

/// Runs a future to completion on this thread. The simulated host never
/// waits, so this only ever polls; it parks the thread if a future is pending.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}
