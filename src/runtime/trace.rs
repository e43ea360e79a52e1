//! What a run did and why, for simulation timelines, tests and operators.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::message::{Outbound, SendResult};
use crate::ir::{NodeId, Outcome};
use crate::source::Span;

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// The workflow's name.
    pub workflow: String,
    /// The run.
    pub run: u64,
    /// The contact.
    pub contact: String,
    /// The IR node involved, if any.
    pub node: Option<NodeId>,
    /// Its source span, if any.
    pub span: Option<Span>,
    /// What happened.
    pub kind: TraceKind,
}

/// The kinds of trace events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum TraceKind {
    /// A trigger started a run.
    Started {
        /// The trigger's channel.
        channel: String,
    },
    /// A message went to the provider.
    Sent {
        /// The rendered message.
        message: Box<Outbound>,
        /// The provider's answer.
        result: SendResult,
    },
    /// A message was not sent: a rule only checkable at send time failed.
    NotSent {
        /// `cta`, `whatsapp`, ...
        kind: String,
        /// Why.
        reason: String,
    },
    /// A variable had no value and rendered empty.
    MissingValue {
        /// The variable.
        var: String,
    },
    /// A tag was added or removed.
    Tagged {
        /// The tag.
        tag: String,
        /// Added (true) or removed.
        present: bool,
    },
    /// The run is waiting.
    Waiting {
        /// For what: `timer`, `cta`, `buttons`, `list`, `template`,
        /// `reply`, or `quiet hours` (a send held until they end).
        on: String,
        /// Until when at the latest.
        until: DateTime<Utc>,
    },
    /// A node ended with this outcome.
    Outcome {
        /// The outcome.
        outcome: Outcome,
    },
    /// An event arrived that changes nothing (a link opened after its
    /// timeout, a second outcome, a reply during a run).
    Ignored {
        /// The event.
        event: String,
        /// Why it changes nothing.
        reason: String,
    },
    /// The workflow's goal holds, so the run ends here.
    GoalReached {
        /// The goal's condition, as written.
        goal: String,
    },
    /// The contact's time zone is not one kflow knows: quiet hours are read
    /// in the workflow's default zone instead.
    TimezoneFallback {
        /// The contact's value.
        value: String,
        /// The zone used.
        zone: String,
    },
    /// The run ended.
    Ended,
}
