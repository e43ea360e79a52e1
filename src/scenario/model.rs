//! What a scenario is, independent of how it was written down: the contact,
//! the account's custom values, the simulated provider's refusals, the
//! timeline of events and the expectations. The TOML reader
//! ([`Scenario::from_toml`], feature `scenario`) builds these; an embedder
//! may also build them in code.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, TimeZone as _, Utc};

use crate::ir::{Channel, Outcome};
use crate::runtime::Contact;

/// When a scenario starts unless it says otherwise: a Monday morning.
const DEFAULT_START: (i32, u32, u32, u32) = (2026, 3, 2, 9);

/// The contact id when a scenario gives none.
pub(crate) const DEFAULT_CONTACT: &str = "contact";

/// The message kinds a send can have, as `Message::kind` names them: what
/// `[provider] fail` and expected actions may name.
pub const KINDS: [&str; 7] = [
    "cta", "buttons", "list", "whatsapp", "template", "sms", "email",
];

/// Every outcome an expected path may name, as the IR spells them. `done`
/// is left out: it is not a choice between paths. (Read by the TOML
/// reader, feature `scenario`.)
#[cfg(feature = "scenario")]
pub(crate) const OUTCOMES: [(&str, Outcome); 8] = [
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
pub fn outcome_name(outcome: Outcome) -> &'static str {
    outcome.as_str()
}

/// `+12m`: an offset from the start as timelines and expectations print it.
pub fn offset_label(seconds: u64) -> String {
    format!("+{}", crate::duration::format(seconds))
}

/// A scenario, read and checked: one contact, custom values and a timeline
/// of events to run a workflow against in virtual time, and optionally what
/// should happen.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario file, as named on the command line or found; reports
    /// show it.
    pub path: PathBuf,
    /// The workflow file, resolved against the scenario's directory.
    pub workflow: Option<PathBuf>,
    /// What the scenario shows, for people.
    pub description: Option<String>,
    /// Virtual time zero.
    pub start: DateTime<Utc>,
    /// Seconds after `start` at which the simulation stops, if given;
    /// otherwise it runs on while timers remain (up to [`RUN_ON_LIMIT`]).
    ///
    /// [`RUN_ON_LIMIT`]: super::RUN_ON_LIMIT
    pub until: Option<u64>,
    /// The one contact.
    pub contact: Contact,
    /// Account custom values.
    pub custom_values: BTreeMap<String, String>,
    /// Message kinds (see [`KINDS`]) the simulated provider refuses, with
    /// the error code it gives.
    pub failures: BTreeMap<String, String>,
    /// The timeline, in time order.
    pub events: Vec<ScenarioEvent>,
    /// What should happen, for `kflowc test` and [`Simulation::check`].
    ///
    /// [`Simulation::check`]: super::Simulation::check
    pub expect: Option<Expect>,
}

impl Scenario {
    /// A scenario with what a file that says nothing else gets: the default
    /// start (Monday 2026-03-02 09:00 UTC), a contact with the id `contact`
    /// and no phone, no custom values or refusals, no events and no
    /// expectations. `path` names it in reports.
    pub fn new(path: impl Into<PathBuf>) -> Scenario {
        let (y, mo, d, h) = DEFAULT_START;
        Scenario {
            path: path.into(),
            workflow: None,
            description: None,
            start: Utc
                .with_ymd_and_hms(y, mo, d, h, 0, 0)
                .single()
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            until: None,
            contact: Contact::new(DEFAULT_CONTACT),
            custom_values: BTreeMap::new(),
            failures: BTreeMap::new(),
            events: Vec::new(),
            expect: None,
        }
    }
}

/// One event of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioEvent {
    /// Seconds after the start.
    pub at: u64,
    /// What happens.
    pub what: EventKind,
}

/// What happens at an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The contact writes on a channel.
    Reply(Channel),
    /// The contact opens a CTA's link.
    LinkOpened(MessageRef),
    /// The provider reports a message undelivered, with its reason.
    DeliveryFailed(MessageRef, String),
    /// The provider reports a message delivered.
    Delivered(MessageRef),
    /// The contact gets a tag from outside the workflow (the booking page,
    /// an agent, another system): `tagged = "booked"`.
    Tagged(String),
    /// The contact taps a reply button (`button_reply = "id"`) or picks a
    /// list row (`list_reply = "id"`) on a message: a WhatsApp reply that
    /// answers that message.
    Chose {
        /// The chosen button's or row's id.
        id: String,
        /// A list row (true) or a reply button.
        list: bool,
        /// The message it answers; `last` is the last message of that
        /// kind sent.
        answers: MessageRef,
    },
}

/// Which message an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageRef {
    /// The last message of the kind the event is about that the provider
    /// accepted before it: a CTA for `link_opened`; a CTA, `buttons` or
    /// `list` message for statuses; a `buttons` message for
    /// `button_reply` and a `list` for `list_reply`.
    Last,
    /// A message id, such as `msg-1` (the simulated provider numbers
    /// messages in send order).
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
pub struct Expect {
    /// Sends, refusals and tag changes in order.
    pub actions: Option<Vec<ExpectedAction>>,
    /// The outcomes taken, in order, as [`outcome_name`] spells them.
    pub path: Option<Vec<String>>,
    /// The button URL of every CTA rendered, in order.
    pub urls: Option<Vec<String>>,
    /// Texts that some rendered message must contain.
    pub contains: Vec<String>,
    /// The variables that had no value, in order (`contact.first_name`).
    pub missing: Option<Vec<String>>,
    /// How many runs are still waiting when the simulation stops.
    pub waiting: Option<u64>,
}

/// One expected action: `cta`, `+12m tag clicked-booking`, `sms not sent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedAction {
    /// When, in seconds after the start, if the expectation says; without
    /// it any time matches.
    pub at: Option<u64>,
    /// The action as the timeline writes it (see [`Action`]).
    ///
    /// [`Action`]: super::Action
    pub action: String,
}
