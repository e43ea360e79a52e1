//! `kflowc simulate`: run a workflow against a scenario in virtual time and
//! show what it did and when.
//!
//! Reading the scenario, the driver and the queries are the library's
//! (`kflow::scenario`); this module finds and compiles the workflow and
//! draws the result: the timeline for people and the `--format json`
//! document. Both renderers are presentation, so they stay with the command
//! line; embedders get the typed data they are drawn from ([`Simulation`]).

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use chrono::SecondsFormat;
use clap::{Args, ValueEnum};
use kflow::SourceFile;
use kflow::diag::Diagnostic;
use kflow::ir::{Op, Outcome};
use kflow::report::{FileReport, json};
use kflow::runtime::{Message, RenderedHeader, SendResult, TraceEvent, TraceKind};
use kflow::scenario::{
    self, EventKind, MessageRef, RUN_ON_LIMIT, Scenario, Simulation, TimelineEntry, Workflow,
    offset_label, outcome_name, provider_reason,
};
use serde_json::{Value, json};

use crate::Exit;
use crate::human_out::{HumanReports, Stream};
use crate::input::{self, Input};

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
    let scenario = match Scenario::load(&args.scenario) {
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
    let simulation = scenario::run(&scenario, prepared);
    let text = match args.format {
        SimulateFormat::Human => Render { sim: &simulation }.human(),
        SimulateFormat::Json => {
            let mut text = serde_json::to_string_pretty(&Render { sim: &simulation }.json())
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

/// Why a scenario's workflow cannot run.
pub(crate) enum Unprepared {
    /// It cannot be found, read or loaded (exit 2).
    Failure(String),
    /// It has errors (exit 1).
    Errors(SourceFile, Vec<Diagnostic>),
}

/// Reads and compiles the workflow: `file` when given, else the scenario's.
pub(crate) fn prepare(scenario: &Scenario, file: Option<&Path>) -> Result<Workflow, Unprepared> {
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
    Ok(Workflow::new(path, source, program))
}

/// The rendered fields of a message, as (key, value) lines under its line.
type Details = Vec<(String, String)>;

/// Draws a simulation: the timeline and the JSON document.
struct Render<'a> {
    sim: &'a Simulation,
}

impl Render<'_> {
    /// The readable timeline.
    fn human(&self) -> String {
        let mut out = String::new();
        let header = |out: &mut String, key: &str, value: &str| {
            out.push_str(&format!("{key:<10}{value}\n"));
        };
        header(
            &mut out,
            "scenario",
            &self.sim.scenario_path().display().to_string(),
        );
        if let Some(description) = self.sim.description() {
            for line in description.lines() {
                header(&mut out, "", line.trim());
            }
        }
        header(
            &mut out,
            "workflow",
            &format!(
                "{:?} ({})",
                self.sim.program().workflow,
                self.sim.workflow_path().display()
            ),
        );
        let mut contact = self.sim.contact().id.clone();
        let reach: Vec<&str> = [&self.sim.contact().phone, &self.sim.contact().email]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !reach.is_empty() {
            contact.push_str(&format!(" ({})", reach.join(", ")));
        }
        contact.push_str(&match self.sim.contact().last_whatsapp_inbound {
            Some(t) if t <= self.sim.start() => format!(
                ", last wrote on WhatsApp {} before the start",
                kflow::duration::format(
                    u64::try_from((self.sim.start() - t).num_seconds()).unwrap_or(0)
                )
            ),
            Some(t) => format!(", last wrote on WhatsApp at {}", self.sim.label(t)),
            None => ", never wrote on WhatsApp".to_owned(),
        });
        header(&mut out, "contact", &contact);
        if !self.sim.contact().fields.is_empty() {
            let fields: Vec<String> = self
                .sim
                .contact()
                .fields
                .iter()
                .map(|(k, v)| format!("{k} {v:?}"))
                .collect();
            header(&mut out, "fields", &fields.join(", "));
        }
        if !self.sim.contact().tags.is_empty() {
            let tags: Vec<&str> = self.sim.contact().tags.iter().map(String::as_str).collect();
            header(&mut out, "tags", &tags.join(", "));
        }
        if !self.sim.custom_values().is_empty() {
            let values: Vec<String> = self
                .sim
                .custom_values()
                .iter()
                .map(|(k, v)| format!("{k} {v:?}"))
                .collect();
            header(&mut out, "custom", &values.join(", "));
        }
        for (kind, code) in self.sim.failures() {
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
            &self.sim.start().to_rfc3339_opts(SecondsFormat::Secs, true),
        );
        out.push('\n');

        let mut lines: Vec<(String, String, Details)> = Vec::new();
        if let Some(error) = self.sim.load_error() {
            lines.push((
                "+0s".into(),
                format!("the engine refused the workflow: {error}"),
                Vec::new(),
            ));
        }
        for entry in self.sim.timeline() {
            let (at, text, details) = match entry {
                TimelineEntry::Event {
                    at,
                    kind,
                    message_id,
                } => (
                    *at,
                    self.event_line(kind, message_id.as_deref()),
                    Vec::new(),
                ),
                TimelineEntry::Trace(t) => {
                    let (text, details) = self.trace_line(t);
                    (t.at, text, details)
                }
            };
            lines.push((self.sim.label(at), text, details));
        }
        let end = if self.sim.cut_short() {
            format!(
                "stopped {} after the last event with {} still waiting; set `until` to run longer",
                kflow::duration::format(RUN_ON_LIMIT.num_seconds() as u64),
                runs(self.sim.waiting())
            )
        } else if self.sim.waiting() == 0 {
            "end: no run is waiting".to_owned()
        } else {
            format!("end: {} still waiting", runs(self.sim.waiting()))
        };
        lines.push((self.sim.label(self.sim.end()), end, Vec::new()));

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
                format!(
                    "reply on {} from {}",
                    channel.as_str(),
                    self.sim.contact().id
                )
            }
            EventKind::LinkOpened(r) => format!("link opened ({}){unresolved}", id(r)),
            EventKind::DeliveryFailed(r, reason) => {
                format!("delivery failed ({}): {reason}{unresolved}", id(r))
            }
            EventKind::Delivered(r) => format!("delivered ({}){unresolved}", id(r)),
        }
    }

    fn at_line(&self, event: &TraceEvent) -> String {
        self.sim
            .line_of(event.span)
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default()
    }

    fn trace_line(&self, event: &TraceEvent) -> (String, Vec<(String, String)>) {
        let line = self.at_line(event);
        match &event.kind {
            TraceKind::Started { channel } => {
                let trigger = self
                    .sim
                    .program()
                    .triggers
                    .iter()
                    .find(|t| t.channel.as_str() == channel)
                    .and_then(|t| self.sim.line_of(Some(t.span)))
                    .map(|l| format!(", line {l}"))
                    .unwrap_or_default();
                (
                    format!("run {} started (on reply {channel}{trigger})", event.run),
                    Vec::new(),
                )
            }
            TraceKind::Sent { message, result } => {
                let action = self.sim.action(event).unwrap_or_default();
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
                    .sim
                    .action(event)
                    .unwrap_or_else(|| format!("{kind} not sent"));
                (format!("{action}: {reason}{line}"), Vec::new())
            }
            TraceKind::MissingValue { var } => (
                format!("missing value {{{{{var}}}}} rendered empty{line}"),
                Vec::new(),
            ),
            TraceKind::Tagged { .. } => (
                format!("{}{line}", self.sim.action(event).unwrap_or_default()),
                Vec::new(),
            ),
            TraceKind::Waiting { on, until } => {
                let until = self.sim.label(*until);
                let text = match on.as_str() {
                    "cta" => format!(
                        "waiting for the link to be opened or a delivery failure, until {until}"
                    ),
                    "timer" => format!("waiting until {until}"),
                    "reply" => {
                        let channel = match event
                            .node
                            .and_then(|n| self.sim.program().node(n))
                            .map(|n| &n.op)
                        {
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
                let text = match (outcome, event.node.and_then(|n| self.sim.program().node(n))) {
                    (Outcome::Done, Some(node)) if matches!(node.op, Op::Wait { .. }) => {
                        format!("wait over{line}")
                    }
                    (outcome, _) => {
                        format!("outcome {}{line}", outcome_name(*outcome))
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
                    let expires =
                        offset_label(self.sim.offset(event.at).saturating_add(*timeout_seconds));
                    add(
                        "link",
                        format!(
                            "active {} (until {expires})",
                            kflow::duration::format(*timeout_seconds)
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
    fn json(&self) -> Value {
        let timeline: Vec<Value> = self
            .sim
            .timeline()
            .iter()
            .map(|entry| match entry {
                TimelineEntry::Event {
                    at,
                    kind,
                    message_id,
                } => {
                    let mut event = match kind {
                        EventKind::Reply(channel) => json!({
                            "what": "reply",
                            "channel": channel.as_str(),
                            "contact": self.sim.contact().id,
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
                        "offset": self.sim.label(*at),
                        "offset_seconds": self.sim.offset(*at),
                        "source": "scenario",
                        "event": event,
                    })
                }
                TimelineEntry::Trace(trace) => json!({
                    "at": trace.at,
                    "offset": self.sim.label(trace.at),
                    "offset_seconds": self.sim.offset(trace.at),
                    "source": "engine",
                    "line": self.sim.line_of(trace.span),
                    "trace": trace,
                }),
            })
            .collect();
        let actions: Vec<Value> = self.sim
            .actions()
            .into_iter()
            .map(|a| json!({"offset": offset_label(a.at), "offset_seconds": a.at, "action": a.action}))
            .collect();
        let sends: Vec<Value> = self
            .sim
            .sent()
            .iter()
            .map(|s| {
                let mut value = json!(s);
                value["offset"] = json!(self.sim.label(s.at));
                value
            })
            .collect();
        json!({
            "version": JSON_VERSION,
            "scenario": self.sim.scenario_path().display().to_string(),
            "workflow": {
                "name": self.sim.program().workflow,
                "file": self.sim.workflow_path().display().to_string(),
            },
            "contact": self.sim.contact(),
            "custom_values": self.sim.custom_values().iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            "start": self.sim.start(),
            "end": self.sim.end(),
            "end_offset": self.sim.label(self.sim.end()),
            "timeline": timeline,
            "sends": sends,
            "tags": self.sim.tags(),
            "actions": actions,
            "path": self.sim.path(),
            "missing": self.sim.missing(),
            "waiting": self.sim.waiting(),
            "cut_short": self.sim.cut_short(),
            "load_error": self.sim.load_error(),
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
