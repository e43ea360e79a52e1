//! [`SimHost`]: a host that records instead of sending, on a virtual clock.
//! `kflowc simulate`, `kflowc test` and the tests use it; an embedder can use
//! it to test its own workflows.

use std::collections::BTreeMap;
use std::future::{Future, ready};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::clock::VirtualClock;
use super::host::Host;
use super::message::{Outbound, SendResult};
use super::trace::TraceEvent;

/// A recorded send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sent {
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// What was sent.
    pub outbound: Outbound,
    /// What the simulated provider answered.
    pub result: SendResult,
}

/// A recorded tag change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagChange {
    /// When.
    pub at: DateTime<Utc>,
    /// The contact.
    pub contact: String,
    /// The tag.
    pub tag: String,
    /// Added (true) or removed.
    pub present: bool,
}

#[derive(Default)]
struct Record {
    sent: Vec<Sent>,
    tags: Vec<TagChange>,
    trace: Vec<TraceEvent>,
    next_id: u64,
    /// Message kinds (`cta`, `sms`, ...) whose sends fail, with the failure.
    failing: BTreeMap<String, (Option<String>, String)>,
}

/// A host on a [`VirtualClock`] that accepts every send (unless told to fail
/// a kind), numbering messages `msg-1`, `msg-2`, ... and recording it all.
pub struct SimHost {
    clock: VirtualClock,
    record: Mutex<Record>,
}

impl SimHost {
    /// A host reading `clock`.
    pub fn new(clock: VirtualClock) -> SimHost {
        SimHost {
            clock,
            record: Mutex::new(Record::default()),
        }
    }

    fn record(&self) -> MutexGuard<'_, Record> {
        // A panic elsewhere while holding the lock leaves plain data behind;
        // keep using it rather than cascade.
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The clock.
    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// Makes every send of `kind` (`cta`, `whatsapp`, `template`, `sms`,
    /// `email`) fail with this provider code and reason.
    pub fn fail_sends(&self, kind: &str, code: Option<&str>, reason: &str) {
        self.record().failing.insert(
            kind.to_owned(),
            (code.map(str::to_owned), reason.to_owned()),
        );
    }

    /// Everything sent so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.record().sent.clone()
    }

    /// Every tag change so far.
    pub fn tags(&self) -> Vec<TagChange> {
        self.record().tags.clone()
    }

    /// The trace so far.
    pub fn trace(&self) -> Vec<TraceEvent> {
        self.record().trace.clone()
    }
}

impl Host for SimHost {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn send(&self, message: &Outbound) -> impl Future<Output = SendResult> + Send {
        let mut record = self.record();
        let result = match record.failing.get(message.message.kind()) {
            Some((code, reason)) => SendResult::Failed {
                code: code.clone(),
                reason: reason.clone(),
            },
            None => {
                record.next_id += 1;
                SendResult::Accepted {
                    message_id: format!("msg-{}", record.next_id),
                }
            }
        };
        record.sent.push(Sent {
            at: self.clock.now(),
            outbound: message.clone(),
            result: result.clone(),
        });
        ready(result)
    }

    fn set_tag(&self, contact: &str, tag: &str, present: bool) -> impl Future<Output = ()> + Send {
        self.record().tags.push(TagChange {
            at: self.clock.now(),
            contact: contact.to_owned(),
            tag: tag.to_owned(),
            present,
        });
        ready(())
    }

    fn tracing(&self) -> bool {
        true
    }

    fn trace(&self, event: TraceEvent) {
        self.record().trace.push(event);
    }
}
