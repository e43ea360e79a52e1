//! The one door between the engine and the world: [`Host`].
//!
//! Every effect leaves the engine through it (sends, tags, the clock, the
//! trace), so the same engine runs under simulation, in tests and in the
//! service; only the host differs.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::message::{Outbound, SendResult, StepRef};
use super::trace::TraceEvent;

/// What the engine needs from its embedder.
pub trait Host {
    /// The current time: the wall clock, or a [`super::VirtualClock`].
    fn now(&self) -> DateTime<Utc>;

    /// Sends one message. A provider answers `Accepted` once the message is
    /// taken (not necessarily delivered), or `Failed`.
    fn send(&self, message: &Outbound) -> impl Future<Output = SendResult> + Send;

    /// Adds (`present`) or removes a tag on a contact in the embedder's records.
    fn set_tag(&self, contact: &str, tag: &str, present: bool) -> impl Future<Output = ()> + Send;

    /// A message the engine did not send because a rule only checkable at
    /// send time failed: no phone number or email address, the WhatsApp
    /// window closed, a rendered text over its limit. The run goes on (a
    /// waited CTA along Not Delivered). Called whether or not the host
    /// traces, so a service can count and log every message never sent.
    fn not_sent(&self, step: &StepRef, kind: &str, reason: &str) {
        let _ = (step, kind, reason);
    }

    /// Whether [`Host::trace`] wants events; building them costs time, so the
    /// engine asks first.
    fn tracing(&self) -> bool {
        false
    }

    /// Receives a trace event when [`Host::tracing`] is true.
    fn trace(&self, event: TraceEvent) {
        let _ = event;
    }
}
