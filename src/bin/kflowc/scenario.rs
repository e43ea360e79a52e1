//! Scenario files: a contact, custom values and a timeline of events to run a
//! workflow against in virtual time, and optionally what should happen.
//!
//! ```toml
//! workflow = "booking_cta.kflow"     # relative to this file
//! start = "2026-03-02T09:00:00Z"     # optional
//! until = "3d"                       # optional: when the simulation stops
//!
//! [contact]
//! id = "ana"
//! phone = "+15551230000"
//! first_name = "Ana"                 # other keys are contact fields
//! tags = ["vip"]
//! last_whatsapp_inbound = "-25h"     # relative to start
//!
//! [custom_values]
//! agent_calendar = "dr-lee"
//!
//! [provider]
//! fail = { cta = "131047" }          # sends of this kind are refused
//!
//! [[events]]
//! at = "0s"
//! reply = "whatsapp"
//!
//! [[events]]
//! at = "12m"
//! link_opened = "last"               # or delivery_failed, delivered
//!
//! [expect]
//! actions = ["cta", "+12m tag clicked-booking"]
//! path = ["window_open", "opened"]
//! ```
//!
//! Reading is strict: an unknown key, a duration or timestamp that does not
//! parse, an unknown channel or message kind is a [`ScenarioError`] naming
//! the file, line and column, never a guess.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone as _, Utc};
use kflow::ir::{Channel, Outcome};
use kflow::runtime::Contact;
use kflow::source::LineIndex;
use serde::Deserialize;
use toml::Spanned;

/// When a scenario starts unless it says otherwise: a Monday morning.
const DEFAULT_START: (i32, u32, u32, u32) = (2026, 3, 2, 9);

/// The contact id when `[contact]` gives none.
const DEFAULT_CONTACT: &str = "contact";

/// The message kinds a send can have, as `Message::kind` names them.
pub(crate) const KINDS: [&str; 5] = ["cta", "whatsapp", "template", "sms", "email"];

/// Every outcome an `[expect] path` may name, as the IR spells them. `done`
/// is left out: it is not a choice between paths.
const OUTCOMES: [(&str, Outcome); 8] = [
    ("window_open", Outcome::WindowOpen),
    ("window_closed", Outcome::WindowClosed),
    ("opened", Outcome::Opened),
    ("not_delivered", Outcome::NotDelivered),
    ("timeout", Outcome::Timeout),
    ("replied", Outcome::Replied),
    ("true", Outcome::True),
    ("false", Outcome::False),
];

/// The name of an outcome as scenarios and timelines write it.
pub(crate) fn outcome_name(outcome: Outcome) -> &'static str {
    OUTCOMES
        .iter()
        .find(|(_, o)| *o == outcome)
        .map_or("done", |(name, _)| name)
}

/// A scenario, read and checked.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// The scenario file, as named on the command line or found.
    pub(crate) path: PathBuf,
    /// The workflow file, resolved against the scenario's directory.
    pub(crate) workflow: Option<PathBuf>,
    /// What the scenario shows, for people.
    pub(crate) description: Option<String>,
    /// Virtual time zero.
    pub(crate) start: DateTime<Utc>,
    /// Seconds after `start` at which the simulation stops, if given.
    pub(crate) until: Option<u64>,
    /// The one contact.
    pub(crate) contact: Contact,
    /// Account custom values.
    pub(crate) custom_values: BTreeMap<String, String>,
    /// Message kinds the simulated provider refuses, with the error code.
    pub(crate) failures: BTreeMap<String, String>,
    /// The timeline, in time order.
    pub(crate) events: Vec<ScenarioEvent>,
    /// What should happen, for `kflowc test`.
    pub(crate) expect: Option<Expect>,
}

/// One event of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScenarioEvent {
    /// Seconds after the start.
    pub(crate) at: u64,
    /// What happens.
    pub(crate) what: EventKind,
}

/// What happens at an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// The contact writes on a channel.
    Reply(Channel),
    /// The contact opens a CTA's link.
    LinkOpened(MessageRef),
    /// The provider reports a message undelivered.
    DeliveryFailed(MessageRef, String),
    /// The provider reports a message delivered.
    Delivered(MessageRef),
}

/// Which message an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MessageRef {
    /// The last CTA the provider accepted before the event.
    Last,
    /// A message id, such as `msg-1`.
    Id(String),
}

impl fmt::Display for MessageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageRef::Last => f.write_str("last"),
            MessageRef::Id(id) => f.write_str(id),
        }
    }
}

/// `[expect]`: what `kflowc test` compares. Absent keys are not compared.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expect {
    /// Sends, refusals and tag changes in order.
    pub(crate) actions: Option<Vec<ExpectedAction>>,
    /// The outcomes taken, in order.
    pub(crate) path: Option<Vec<String>>,
    /// The button URL of every CTA rendered, in order.
    pub(crate) urls: Option<Vec<String>>,
    /// Texts that some rendered message must contain.
    pub(crate) contains: Vec<String>,
    /// The variables that had no value, in order.
    pub(crate) missing: Option<Vec<String>>,
    /// How many runs are still waiting when the simulation stops.
    pub(crate) waiting: Option<u64>,
}

/// One expected action: `cta`, `+12m tag clicked-booking`, `sms not sent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpectedAction {
    /// When, in seconds after the start, if the expectation says.
    pub(crate) at: Option<u64>,
    /// The action as the timeline writes it.
    pub(crate) action: String,
}

/// A scenario that cannot be used; its `Display` is the whole message.
#[derive(Debug)]
pub(crate) struct ScenarioError {
    /// The file.
    path: String,
    /// `line:column` and the source line with a caret, when known.
    at: Option<Located>,
    /// What is wrong.
    message: String,
}

#[derive(Debug)]
struct Located {
    line: usize,
    column: usize,
    source_line: String,
    width: usize,
}

impl ScenarioError {
    /// A problem with the file as a whole (it cannot be read, ...).
    pub(crate) fn file(path: &Path, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            path: display(path),
            at: None,
            message: message.into(),
        }
    }

    fn at(
        path: &Path,
        text: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError {
            path: display(path),
            at: locate(text, span),
            message: message.into(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            None => write!(f, "{}: {}", self.path, self.message),
            Some(at) => {
                write!(
                    f,
                    "{}:{}:{}: {}",
                    self.path, at.line, at.column, self.message
                )?;
                let number = at.line.to_string();
                let pad = " ".repeat(number.len());
                write!(
                    f,
                    "\n{pad} |\n{number} | {}\n{pad} | {}{}",
                    at.source_line,
                    " ".repeat(at.column - 1),
                    "^".repeat(at.width.max(1))
                )
            }
        }
    }
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Line, column and the line's text for a byte span; the caret covers the
/// span's part on its first line.
fn locate(text: &str, span: Range<usize>) -> Option<Located> {
    let start = span.start.min(text.len());
    if !text.is_char_boundary(start) || u32::try_from(text.len()).is_err() {
        return None;
    }
    let index = LineIndex::new(text);
    let at = index.line_col(text, start as u32);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let source_line = text[line_start..line_end].trim_end_matches('\r');
    let end = span.end.clamp(start, line_end.max(start));
    let width = text.get(start..end).map_or(1, |s| s.chars().count());
    // Columns count characters; tabs are shown as one space so the caret lines up.
    Some(Located {
        line: at.line as usize,
        column: text[line_start..start].chars().count() + 1,
        source_line: source_line.replace('\t', " "),
        width,
    })
}

// The file as written. Only what serde can check is checked here; the rest
// (durations, channels, names) is checked with spans in `Reader`.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    workflow: Option<Spanned<String>>,
    description: Option<String>,
    start: Option<Spanned<toml::Value>>,
    until: Option<Spanned<String>>,
    contact: Option<BTreeMap<String, Spanned<toml::Value>>>,
    custom_values: Option<BTreeMap<String, Spanned<toml::Value>>>,
    provider: Option<RawProvider>,
    #[serde(default)]
    events: Vec<Spanned<RawEvent>>,
    expect: Option<Spanned<RawExpect>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    #[serde(default)]
    fail: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    at: Spanned<String>,
    reply: Option<Spanned<String>>,
    link_opened: Option<Spanned<String>>,
    delivery_failed: Option<Spanned<String>>,
    delivered: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    actions: Option<Vec<Spanned<String>>>,
    path: Option<Vec<Spanned<String>>>,
    urls: Option<Vec<String>>,
    contains: Option<Vec<String>>,
    missing: Option<Vec<Spanned<String>>>,
    waiting: Option<Spanned<i64>>,
}

/// Whether a TOML document has an `[expect]` table; `kflowc test` runs only
/// those. A file that is not TOML is an error: it may be a broken scenario.
pub(crate) fn has_expect(path: &Path, text: &str) -> Result<bool, ScenarioError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    Ok(table.contains_key("expect"))
}

fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> ScenarioError {
    let message = error.message().trim_end().to_owned();
    match error.span() {
        Some(span) => ScenarioError::at(path, text, span, message),
        None => ScenarioError::file(path, message),
    }
}

/// Reads a scenario file.
pub(crate) fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ScenarioError::file(path, format!("cannot read the scenario: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ScenarioError::file(path, "the scenario is not valid UTF-8"))?;
    parse(path, &text)
}

/// Reads a scenario from its text; `path` names it in errors and anchors
/// the relative `workflow` path.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let raw: RawScenario = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    Reader { path, text }.scenario(raw)
}

struct Reader<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Reader<'_> {
    fn error<T>(&self, span: Range<usize>, message: impl Into<String>) -> Result<T, ScenarioError> {
        Err(ScenarioError::at(self.path, self.text, span, message))
    }

    fn scenario(&self, raw: RawScenario) -> Result<Scenario, ScenarioError> {
        let workflow = match raw.workflow {
            Some(w) if w.get_ref().trim().is_empty() => {
                return self.error(
                    w.span(),
                    "`workflow` is empty; name the .kflow file, relative to this scenario",
                );
            }
            Some(w) => Some(tidy(
                &self
                    .path
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(w.into_inner()),
            )),
            None => None,
        };
        let start = match raw.start {
            Some(s) => self.start(s)?,
            None => {
                let (y, mo, d, h) = DEFAULT_START;
                Utc.with_ymd_and_hms(y, mo, d, h, 0, 0)
                    .single()
                    .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
            }
        };
        let contact = self.contact(raw.contact.unwrap_or_default(), start)?;
        let custom_values = self.custom_values(raw.custom_values.unwrap_or_default())?;
        let failures = self.failures(raw.provider)?;
        let events = self.events(raw.events)?;
        let until = match raw.until {
            Some(u) => {
                let seconds = self.offset(&u, "until")?;
                if let Some(last) = events.last().filter(|e| e.at > seconds) {
                    return self.error(
                        u.span(),
                        format!(
                            "`until` ({}) comes before the last event ({}); the simulation would stop before it",
                            offset_label(seconds),
                            offset_label(last.at)
                        ),
                    );
                }
                Some(seconds)
            }
            None => None,
        };
        let expect = raw.expect.map(|e| self.expect(e)).transpose()?;
        Ok(Scenario {
            path: self.path.to_path_buf(),
            workflow,
            description: raw.description,
            start,
            until,
            contact,
            custom_values,
            failures,
            events,
            expect,
        })
    }

    fn start(&self, value: Spanned<toml::Value>) -> Result<DateTime<Utc>, ScenarioError> {
        let span = value.span();
        let text = match value.into_inner() {
            toml::Value::String(s) => s,
            toml::Value::Datetime(d) => d.to_string(),
            other => {
                return self.error(
                    span,
                    format!(
                        "`start` must be a timestamp such as \"2026-03-02T09:00:00Z\", not {}",
                        type_name(&other)
                    ),
                );
            }
        };
        match DateTime::parse_from_rfc3339(&text) {
            // RFC 3339 years have four digits, so a start plus any
            // scenario's span stays far inside chrono's range.
            Ok(t) => Ok(t.with_timezone(&Utc)),
            Err(_) => self.error(
                span,
                format!(
                    "`start` = `{text}` is not a timestamp with a time zone; write one such as \"2026-03-02T09:00:00Z\""
                ),
            ),
        }
    }

    /// Seconds in an offset from the start such as `12m` or `+1d2h`.
    fn offset(&self, value: &Spanned<String>, key: &str) -> Result<u64, ScenarioError> {
        let text = value.get_ref();
        let unsigned = text.strip_prefix('+').unwrap_or(text);
        kflow::syntax::parse_duration(unsigned).or_else(|problem| {
            self.error(
                value.span(),
                format!(
                    "`{key}`: {problem}; write a time after the start as a kflow duration, such as \"0s\", \"12m\" or \"1d2h\""
                ),
            )
        })
    }

    fn contact(
        &self,
        table: BTreeMap<String, Spanned<toml::Value>>,
        start: DateTime<Utc>,
    ) -> Result<Contact, ScenarioError> {
        let mut contact = Contact::new(DEFAULT_CONTACT);
        for (key, value) in table {
            let span = value.span();
            match key.as_str() {
                "tags" => {
                    let toml::Value::Array(items) = value.into_inner() else {
                        return self.error(
                            span,
                            "`contact.tags` must be a list of strings, such as [\"vip\"]",
                        );
                    };
                    let mut tags = BTreeSet::new();
                    for item in items {
                        match item {
                            toml::Value::String(tag) if !tag.trim().is_empty() => {
                                tags.insert(tag);
                            }
                            _ => {
                                return self.error(span, "`contact.tags` must be a list of non-empty strings, such as [\"vip\"]");
                            }
                        }
                    }
                    contact.tags = tags;
                }
                _ => {
                    let toml::Value::String(text) = value.get_ref().clone() else {
                        return self.error(
                            span,
                            format!(
                                "`contact.{key}` must be a string, not {}; write it in quotes",
                                type_name(value.get_ref())
                            ),
                        );
                    };
                    match key.as_str() {
                        "id" if text.trim().is_empty() => {
                            return self.error(span, "`contact.id` is empty");
                        }
                        "id" => contact.id = text,
                        "phone" => {
                            if !is_e164(&text) {
                                return self.error(
                                    span,
                                    format!("`contact.phone` = `{text}` is not an E.164 number; write it as \"+15551230000\""),
                                );
                            }
                            contact.phone = Some(text);
                        }
                        "email" => {
                            if !is_email(&text) {
                                return self.error(
                                    span,
                                    format!("`contact.email` = `{text}` is not an email address"),
                                );
                            }
                            contact.email = Some(text);
                        }
                        "last_whatsapp_inbound" => {
                            let seconds = self.signed_offset(&text, span)?;
                            contact.last_whatsapp_inbound =
                                Some(start + chrono::Duration::seconds(seconds));
                        }
                        _ => {
                            if !is_ident(&key) {
                                return self.error(
                                    span,
                                    format!("`contact.{key}` is not a field name; fields are lowercase letters, digits and `_`, such as `first_name`"),
                                );
                            }
                            contact.fields.insert(key, text);
                        }
                    }
                }
            }
        }
        Ok(contact)
    }

    /// `-25h`, `+1h` or `0s`: seconds relative to the start.
    fn signed_offset(&self, text: &str, span: Range<usize>) -> Result<i64, ScenarioError> {
        let (sign, rest) = match text.strip_prefix('-') {
            Some(rest) => (-1, rest),
            None => (1, text.strip_prefix('+').unwrap_or(text)),
        };
        match kflow::syntax::parse_duration(rest) {
            Ok(seconds) => Ok(sign * seconds as i64),
            Err(problem) => self.error(
                span,
                format!(
                    "`contact.last_whatsapp_inbound`: {problem}; write when the contact last wrote on WhatsApp relative to the start, such as \"-25h\" (25 hours before)"
                ),
            ),
        }
    }

    fn custom_values(
        &self,
        table: BTreeMap<String, Spanned<toml::Value>>,
    ) -> Result<BTreeMap<String, String>, ScenarioError> {
        let mut values = BTreeMap::new();
        for (key, value) in table {
            let span = value.span();
            let toml::Value::String(text) = value.into_inner() else {
                return self.error(
                    span,
                    format!("`custom_values.{key}` must be a string; write it in quotes"),
                );
            };
            if !is_ident(&key) {
                return self.error(
                    span,
                    format!("`custom_values.{key}` is not a custom value name; names are lowercase letters, digits and `_`"),
                );
            }
            values.insert(key, text);
        }
        Ok(values)
    }

    fn failures(
        &self,
        provider: Option<RawProvider>,
    ) -> Result<BTreeMap<String, String>, ScenarioError> {
        let mut failures = BTreeMap::new();
        for (kind, code) in provider.map(|p| p.fail).unwrap_or_default() {
            if !KINDS.contains(&kind.as_str()) {
                return self.error(
                    code.span(),
                    format!(
                        "`provider.fail.{kind}`: `{kind}` is not a message kind{}; kinds are {}",
                        suggest(&kind, &KINDS),
                        KINDS.join(", ")
                    ),
                );
            }
            if code.get_ref().trim().is_empty() {
                return self.error(
                    code.span(),
                    format!("`provider.fail.{kind}` is empty; give the provider's error code, such as \"131047\""),
                );
            }
            failures.insert(kind, code.into_inner());
        }
        Ok(failures)
    }

    fn events(&self, raw: Vec<Spanned<RawEvent>>) -> Result<Vec<ScenarioEvent>, ScenarioError> {
        if raw.is_empty() {
            return Err(ScenarioError::file(
                self.path,
                "the scenario has no [[events]]; runs start with a reply, such as\n\n    [[events]]\n    at = \"0s\"\n    reply = \"whatsapp\"",
            ));
        }
        let mut events: Vec<ScenarioEvent> = Vec::new();
        for event in raw {
            let span = event.span();
            let event = event.into_inner();
            let at = self.offset(&event.at, "at")?;
            if let Some(before) = events.last().filter(|e| e.at > at) {
                return self.error(
                    event.at.span(),
                    format!(
                        "events must be in time order: this one at {} comes after one at {}",
                        offset_label(at),
                        offset_label(before.at)
                    ),
                );
            }
            let given: Vec<&str> = [
                ("reply", event.reply.is_some()),
                ("link_opened", event.link_opened.is_some()),
                ("delivery_failed", event.delivery_failed.is_some()),
                ("delivered", event.delivered.is_some()),
            ]
            .iter()
            .filter(|(_, present)| *present)
            .map(|(key, _)| *key)
            .collect();
            if given.len() != 1 {
                let found = if given.is_empty() {
                    "none".to_owned()
                } else {
                    given.join(", ")
                };
                return self.error(
                    span,
                    format!(
                        "an event needs exactly one of `reply`, `link_opened`, `delivery_failed` or `delivered` (found {found})"
                    ),
                );
            }
            if let Some(reason) = &event.reason
                && event.delivery_failed.is_none()
            {
                return self.error(reason.span(), "`reason` goes only with `delivery_failed`");
            }
            let what = if let Some(channel) = event.reply {
                EventKind::Reply(self.channel(&channel)?)
            } else if let Some(message) = event.link_opened {
                EventKind::LinkOpened(self.message_ref(&message, "link_opened")?)
            } else if let Some(message) = event.delivery_failed {
                let reason = event.reason.map_or_else(
                    || "the provider reported the message undelivered".to_owned(),
                    Spanned::into_inner,
                );
                EventKind::DeliveryFailed(self.message_ref(&message, "delivery_failed")?, reason)
            } else if let Some(message) = event.delivered {
                EventKind::Delivered(self.message_ref(&message, "delivered")?)
            } else {
                return self.error(
                    span,
                    "an event needs `reply`, `link_opened`, `delivery_failed` or `delivered`",
                );
            };
            events.push(ScenarioEvent { at, what });
        }
        Ok(events)
    }

    fn channel(&self, value: &Spanned<String>) -> Result<Channel, ScenarioError> {
        match value.get_ref().as_str() {
            "whatsapp" => Ok(Channel::Whatsapp),
            "sms" => Ok(Channel::Sms),
            "email" => Ok(Channel::Email),
            other => {
                const CHANNELS: [&str; 3] = ["whatsapp", "sms", "email"];
                self.error(
                    value.span(),
                    format!(
                        "`reply`: `{other}` is not a channel{}; channels are whatsapp, sms and email",
                        suggest(other, &CHANNELS)
                    ),
                )
            }
        }
    }

    fn message_ref(&self, value: &Spanned<String>, key: &str) -> Result<MessageRef, ScenarioError> {
        let text = value.get_ref();
        if text == "last" {
            return Ok(MessageRef::Last);
        }
        let numbered = text
            .strip_prefix("msg-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if numbered {
            Ok(MessageRef::Id(text.clone()))
        } else {
            self.error(
                value.span(),
                format!(
                    "`{key}` = `{text}`: name the message as \"last\" (the last CTA sent) or by its id, such as \"msg-1\" (the simulated provider numbers messages in send order)"
                ),
            )
        }
    }

    fn expect(&self, raw: Spanned<RawExpect>) -> Result<Expect, ScenarioError> {
        let span = raw.span();
        let raw = raw.into_inner();
        let actions = match raw.actions {
            Some(items) => Some(
                items
                    .iter()
                    .map(|item| self.expected_action(item))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let path = match raw.path {
            Some(items) => {
                let mut path = Vec::new();
                for item in items {
                    let name = item.get_ref().as_str();
                    if !OUTCOMES.iter().any(|(n, _)| *n == name) {
                        let names: Vec<&str> = OUTCOMES.iter().map(|(n, _)| *n).collect();
                        return self.error(
                            item.span(),
                            format!(
                                "`path`: `{name}` is not an outcome{}; outcomes are {}",
                                suggest(name, &names),
                                names.join(", ")
                            ),
                        );
                    }
                    path.push(item.into_inner());
                }
                Some(path)
            }
            None => None,
        };
        let missing = match raw.missing {
            Some(items) => {
                let mut vars = Vec::new();
                for item in items {
                    let name = item.get_ref();
                    let valid = name.split_once('.').is_some_and(|(scope, key)| {
                        matches!(scope, "contact" | "custom_values") && is_ident(key)
                    });
                    if !valid {
                        return self.error(
                            item.span(),
                            format!("`missing`: `{name}` is not a variable; write it as in the workflow without braces, such as \"contact.first_name\""),
                        );
                    }
                    vars.push(item.into_inner());
                }
                Some(vars)
            }
            None => None,
        };
        let waiting = match raw.waiting {
            Some(w) if *w.get_ref() < 0 => {
                return self.error(w.span(), "`waiting` is a number of runs, 0 or more");
            }
            Some(w) => Some(w.into_inner() as u64),
            None => None,
        };
        let expect = Expect {
            actions,
            path,
            urls: raw.urls,
            contains: raw.contains.unwrap_or_default(),
            missing,
            waiting,
        };
        let empty = expect.actions.is_none()
            && expect.path.is_none()
            && expect.urls.is_none()
            && expect.contains.is_empty()
            && expect.missing.is_none()
            && expect.waiting.is_none();
        if empty {
            return self.error(
                span,
                "`[expect]` is empty; give at least one of `actions`, `path`, `urls`, `contains`, `missing` or `waiting`",
            );
        }
        Ok(expect)
    }

    /// `[+OFFSET ]ACTION`, where ACTION is one the timeline writes: `cta`,
    /// `template NAME`, `sms failed`, `email not sent`, `tag X`, `untag X`.
    fn expected_action(&self, item: &Spanned<String>) -> Result<ExpectedAction, ScenarioError> {
        let text = item.get_ref().trim();
        let (at, action) = match text.strip_prefix('+') {
            Some(rest) => {
                let (offset, action) = rest.split_once(' ').unwrap_or((rest, ""));
                let seconds = kflow::syntax::parse_duration(offset).or_else(|problem| {
                    self.error(
                        item.span(),
                        format!("`actions`: {problem}; an action may start with its time after the start, such as \"+12m tag clicked\""),
                    )
                })?;
                (Some(seconds), action.trim())
            }
            None => (None, text),
        };
        let action = action.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Err(problem) = check_action(&action) {
            return self.error(item.span(), format!("`actions`: {problem}"));
        }
        Ok(ExpectedAction { at, action })
    }
}

/// Whether `action` is one a timeline can show.
fn check_action(action: &str) -> Result<(), String> {
    const FORMS: &str = "actions are `cta`, `whatsapp`, `template NAME`, `sms`, `email` (each optionally followed by `failed` or `not sent`), `tag NAME` and `untag NAME`";
    let (kind, rest) = action.split_once(' ').unwrap_or((action, ""));
    match kind {
        "tag" | "untag" if rest.is_empty() => {
            Err(format!("`{kind}` needs the tag, such as `{kind} vip`"))
        }
        "tag" | "untag" => Ok(()),
        "template" => {
            let rest = rest
                .strip_suffix(" failed")
                .or_else(|| rest.strip_suffix(" not sent"))
                .unwrap_or(rest);
            if rest.is_empty() || rest.contains(' ') {
                Err(format!(
                    "`{action}`: `template` needs the template's name, such as `template booking_reopen`"
                ))
            } else {
                Ok(())
            }
        }
        "cta" | "whatsapp" | "sms" | "email" => match rest {
            "" | "failed" | "not sent" => Ok(()),
            _ => Err(format!(
                "`{action}`: after `{kind}` only `failed` or `not sent` may follow; {FORMS}"
            )),
        },
        "" => Err(format!("an action is empty; {FORMS}")),
        _ => {
            const WORDS: [&str; 7] = [
                "cta", "whatsapp", "template", "sms", "email", "tag", "untag",
            ];
            Err(format!(
                "`{kind}` is not an action{}; {FORMS}",
                suggest(kind, &WORDS)
            ))
        }
    }
}

/// ` (did you mean `x`?)` when one of `options` is close to `word`.
fn suggest(word: &str, options: &[&str]) -> String {
    options
        .iter()
        .map(|o| (strsim::jaro_winkler(word, o), o))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| format!(" (did you mean `{o}`?)"))
        .unwrap_or_default()
}

fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "a number",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "true or false",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

fn is_ident(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_e164(phone: &str) -> bool {
    phone.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

fn is_email(email: &str) -> bool {
    email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
    })
}

/// `dir/../flows/a.kflow` as `flows/a.kflow`: `..` after a named directory
/// cancels it, so reports show the path a person would write. Only the text
/// changes; a symlinked directory could make the two differ, which is rare
/// enough for a display path (the file is opened by the tidied path too).
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            Component::ParentDir if matches!(out.last(), Some(Component::RootDir)) => {}
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// `+12m`: an offset from the start as timelines print it.
pub(crate) fn offset_label(seconds: u64) -> String {
    format!("+{}", kflow::check::limits::format_duration(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Scenario, String> {
        parse(Path::new("dir/s.toml"), text).map_err(|e| e.to_string())
    }

    const MINIMAL: &str = "[[events]]\nat = \"0s\"\nreply = \"whatsapp\"\n";

    #[test]
    fn a_full_scenario_reads() {
        let scenario = read(
            r#"
workflow = "flow.kflow"
start = 2026-03-02T10:00:00+01:00
until = "3d"
[contact]
id = "ana"
phone = "+15551230000"
email = "ana@example.com"
first_name = "Ana"
tags = ["vip"]
last_whatsapp_inbound = "-25h"
[custom_values]
agent_calendar = "dr-lee"
[provider]
fail = { cta = "131047" }
[[events]]
at = "0s"
reply = "whatsapp"
[[events]]
at = "+12m"
link_opened = "last"
[[events]]
at = "1h"
delivery_failed = "msg-2"
reason = "blocked"
[expect]
actions = ["cta failed", "+12m tag clicked", "template booking_reopen"]
path = ["window_open", "not_delivered"]
missing = ["contact.first_name"]
waiting = 0
"#,
        )
        .expect("valid");
        assert_eq!(scenario.workflow, Some(PathBuf::from("dir/flow.kflow")));
        assert_eq!(scenario.start.to_rfc3339(), "2026-03-02T09:00:00+00:00");
        assert_eq!(scenario.until, Some(3 * 86_400));
        assert_eq!(
            scenario.contact.last_whatsapp_inbound,
            Some(scenario.start - chrono::Duration::hours(25))
        );
        assert_eq!(scenario.contact.fields["first_name"], "Ana");
        assert_eq!(scenario.failures["cta"], "131047");
        assert_eq!(scenario.events.len(), 3);
        assert_eq!(
            scenario.events[2].what,
            EventKind::DeliveryFailed(MessageRef::Id("msg-2".into()), "blocked".into())
        );
        let expect = scenario.expect.expect("has expectations");
        let actions = expect.actions.expect("actions");
        assert_eq!(
            actions[1],
            ExpectedAction {
                at: Some(720),
                action: "tag clicked".into()
            }
        );
    }

    #[test]
    fn a_minimal_scenario_has_defaults() {
        let scenario = read(MINIMAL).expect("valid");
        assert_eq!(scenario.contact.id, "contact");
        assert_eq!(scenario.start.to_rfc3339(), "2026-03-02T09:00:00+00:00");
        assert!(scenario.workflow.is_none() && scenario.expect.is_none());
    }

    /// Each bad input, and a part of the message it must give.
    #[test]
    fn bad_scenarios_are_explained() {
        let cases: &[(&str, &str)] = &[
            ("bogus = 1\n", "dir/s.toml:1:1: unknown field `bogus`"),
            ("", "has no [[events]]"),
            (
                "[[events]]\nat = \"12x\"\nreply = \"sms\"\n",
                "dir/s.toml:2:6: `at`: `12x` is not a duration",
            ),
            (
                "[[events]]\nat = \"5\"\nreply = \"sms\"\n",
                "`5` is not a duration",
            ),
            (
                "[[events]]\nat = 5\nreply = \"sms\"\n",
                "invalid type: integer `5`, expected a string",
            ),
            (
                "[[events]]\nat = \"0s\"\nreply = \"whatsap\"\n",
                "`whatsap` is not a channel (did you mean `whatsapp`?)",
            ),
            ("[[events]]\nat = \"0s\"\n", "exactly one of"),
            (
                "[[events]]\nat = \"0s\"\nreply = \"sms\"\nlink_opened = \"last\"\n",
                "(found reply, link_opened)",
            ),
            (
                "[[events]]\nat = \"1m\"\nreply = \"sms\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
                "in time order",
            ),
            (
                "[[events]]\nat = \"0s\"\nlink_opened = \"first\"\n",
                "\"last\"",
            ),
            (
                "[[events]]\nat = \"0s\"\nreply = \"sms\"\nreason = \"x\"\n",
                "only with `delivery_failed`",
            ),
            (
                "start = \"2026-03-02T09:00:00\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
                "not a timestamp with a time zone",
            ),
            (
                "start = \"tomorrow\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
                "dir/s.toml:1:9:",
            ),
            (
                "until = \"1m\"\n[[events]]\nat = \"2m\"\nreply = \"sms\"\n",
                "comes before the last event",
            ),
            (
                "[contact]\nphone = \"5551230000\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
                "not an E.164 number",
            ),
            (
                "[contact]\nage = 42\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
                "`contact.age` must be a string",
            ),
            (
                "[contact]\nFirst = \"x\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
                "is not a field name",
            ),
            (
                "[contact]\nlast_whatsapp_inbound = \"yesterday\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
                "last_whatsapp_inbound",
            ),
            (
                "[provider]\nfail = { ctaa = \"131047\" }\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
                "(did you mean `cta`?)",
            ),
            ("[provider]\nfails = {}\n", "unknown field `fails`"),
            (&format!("{MINIMAL}[expect]\n"), "`[expect]` is empty"),
            (
                &format!("{MINIMAL}[expect]\nactions = [\"tagg x\"]\n"),
                "(did you mean `tag`?)",
            ),
            (
                &format!("{MINIMAL}[expect]\nactions = [\"cta sent\"]\n"),
                "only `failed` or `not sent`",
            ),
            (
                &format!("{MINIMAL}[expect]\nactions = [\"template\"]\n"),
                "needs the template's name",
            ),
            (
                &format!("{MINIMAL}[expect]\nactions = [\"+1x cta\"]\n"),
                "`1x` is not a duration",
            ),
            (
                &format!("{MINIMAL}[expect]\npath = [\"open\"]\n"),
                "`open` is not an outcome (did you mean `opened`?)",
            ),
            (
                &format!("{MINIMAL}[expect]\nmissing = [\"{{{{contact.x}}}}\"]\n"),
                "is not a variable",
            ),
            (
                &format!("{MINIMAL}[expect]\nsent_at = []\n"),
                "unknown field `sent_at`",
            ),
            ("[[events]\n", "dir/s.toml:1:"),
        ];
        for (text, wanted) in cases {
            match read(text) {
                Ok(_) => panic!("accepted:\n{text}"),
                Err(message) => assert!(
                    message.contains(wanted),
                    "for\n{text}\nwanted {wanted:?} in:\n{message}"
                ),
            }
        }
    }

    #[test]
    fn errors_show_the_line() {
        let message = read("[[events]]\nat = \"12x\"\nreply = \"sms\"\n").expect_err("an error");
        assert!(
            message.ends_with("  |\n2 | at = \"12x\"\n  |      ^^^^^"),
            "{message}"
        );
    }

    #[test]
    fn workflow_paths_are_tidied() {
        for (given, tidied) in [
            ("tests/simulate/../../examples/a.kflow", "examples/a.kflow"),
            ("./a.kflow", "a.kflow"),
            ("../a.kflow", "../a.kflow"),
            ("x/../../a.kflow", "../a.kflow"),
            ("/a/../../b.kflow", "/b.kflow"),
        ] {
            assert_eq!(tidy(Path::new(given)), PathBuf::from(tidied), "{given}");
        }
    }

    #[test]
    fn actions_are_checked() {
        for ok in [
            "cta",
            "cta failed",
            "sms not sent",
            "template x_y",
            "template x not sent",
            "tag a b",
            "untag vip",
        ] {
            assert_eq!(check_action(ok), Ok(()), "{ok}");
        }
        for bad in ["", "tag", "send", "email sent", "template a b"] {
            assert!(check_action(bad).is_err(), "{bad}");
        }
    }
}
