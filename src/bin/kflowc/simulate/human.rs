//! The timeline of a simulation, for people.

use super::*;

impl Render<'_> {
    /// The readable timeline.
    pub(super) fn human(&self) -> String {
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
            EventKind::Tagged(tag) => format!(
                "{} is tagged {tag:?} outside the workflow",
                self.sim.contact().id
            ),
            EventKind::Chose {
                id: chosen,
                list,
                answers,
            } => {
                let what = if *list { "list row" } else { "button" };
                let kind = if *list { "list" } else { "buttons" };
                match message_id {
                    Some(m) => format!("{} taps {what} {chosen:?} on {m}", self.sim.contact().id),
                    None => format!(
                        "{} taps {what} {chosen:?} ({answers}): no `{kind}` message has been sent, so it answers none and counts as a plain reply",
                        self.sim.contact().id
                    ),
                }
            }
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
                    "quiet hours" => format!("held by quiet hours until {until}"),
                    "template" => format!(
                        "waiting for a tap on a quick reply or a delivery failure, until {until}"
                    ),
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
                    (Outcome::Choice(i), Some(node)) => {
                        let id = node
                            .op
                            .choice_ids()
                            .and_then(|ids| ids.get(*i as usize).map(|id| (*id).to_owned()))
                            .unwrap_or_else(|| i.to_string());
                        format!("outcome chose {id:?}{line}")
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
            TraceKind::GoalReached { goal } => (
                format!("goal reached ({goal}): the run ends{line}"),
                Vec::new(),
            ),
            TraceKind::TimezoneFallback { value, zone } => (
                format!(
                    "time zone {value:?} of the contact is not one kflow knows: quiet hours are read in {zone}{line}"
                ),
                Vec::new(),
            ),
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
                add("header", header_line(header));
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
            Message::Buttons {
                from,
                header,
                body,
                footer,
                buttons,
            } => {
                if let Some(from) = from {
                    add("from", from.clone());
                }
                if let Some(header) = header {
                    add("header", header_line(header));
                }
                add("body", format!("{body:?}"));
                if let Some(footer) = footer {
                    add("footer", format!("{footer:?}"));
                }
                for b in buttons {
                    add("reply", format!("{:?} {:?}", b.id, b.title));
                }
            }
            Message::List {
                from,
                header,
                body,
                footer,
                button,
                sections,
            } => {
                if let Some(from) = from {
                    add("from", from.clone());
                }
                if let Some(header) = header {
                    add("header", format!("text {header:?}"));
                }
                add("body", format!("{body:?}"));
                if let Some(footer) = footer {
                    add("footer", format!("{footer:?}"));
                }
                add("button", format!("{button:?}"));
                for s in sections {
                    if let Some(title) = &s.title {
                        add("section", format!("{title:?}"));
                    }
                    for r in &s.rows {
                        match &r.description {
                            Some(d) => add("row", format!("{:?} {:?} {d:?}", r.id, r.title)),
                            None => add("row", format!("{:?} {:?}", r.id, r.title)),
                        }
                    }
                }
            }
            Message::Whatsapp { body } => add("body", format!("{body:?}")),
            Message::Template {
                language,
                category,
                params,
                header,
                buttons,
                ..
            } => {
                add("language", language.clone());
                add("category", category.clone());
                if let Some(header) = header {
                    add("header", header_line(header));
                }
                for (i, param) in params.iter().enumerate() {
                    add(&format!("{{{{{}}}}}", i + 1), format!("{param:?}"));
                }
                for b in buttons {
                    match b {
                        RenderedTemplateButton::Url { index, text } => {
                            add(&format!("button {index}"), format!("url {text:?}"));
                        }
                        RenderedTemplateButton::QuickReply { index, payload } => {
                            add(&format!("button {index}"), format!("reply {payload:?}"));
                        }
                    }
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
}

/// A header as the timeline shows it: `text "Hi"`, `image https://...`.
fn header_line(header: &kflow::runtime::RenderedHeader) -> String {
    let (kind, value) = header_text(header);
    if kind == "text" {
        format!("text {value:?}")
    } else {
        format!("{kind} {value}")
    }
}
