//! The engine's [`Host`] in the service: the service clock, and sends that go
//! through the effect ledger to the real providers.
//!
//! Every send is begun in the ledger (durably) before the provider is called
//! and completed after, under a key made of the workflow, run and node, which
//! are the same when an event is processed again after a crash. So a send is
//! made at most once: processing again finds the stored result and reuses it;
//! a send whose answer was lost in a crash is "in doubt", is not repeated, is
//! listed for operators, and takes the Not Delivered path. A CTA's URL is
//! replaced by a tracking link on the public URL, created before the send.

use std::future::Future;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};

use super::clock::ServiceClock;
use super::metrics::Metrics;
use crate::providers::Providers;
use crate::runtime::{Host, Message, Outbound, SendResult, StepRef};
use crate::store::EffectState;
use crate::store::db::{Db, EffectBegin, EffectEnd};

/// The service's host.
pub(super) struct ServeHost {
    clock: ServiceClock,
    /// The instant a processing step runs at, while one runs: every read of
    /// the time in a step gives the same answer, so a step redone after a
    /// crash decides exactly as the first attempt did.
    frozen: std::sync::Mutex<Option<DateTime<Utc>>>,
    db: Db,
    providers: Arc<Providers>,
    public_url: String,
    metrics: Arc<Metrics>,
}

impl ServeHost {
    /// A host sending through `providers`, recording in `db`.
    pub(super) fn new(
        clock: ServiceClock,
        db: Db,
        providers: Arc<Providers>,
        public_url: &str,
        metrics: Arc<Metrics>,
    ) -> ServeHost {
        ServeHost {
            clock,
            frozen: std::sync::Mutex::new(None),
            db,
            providers,
            public_url: public_url.trim_end_matches('/').to_owned(),
            metrics,
        }
    }

    /// The clock.
    pub(super) fn clock(&self) -> &ServiceClock {
        &self.clock
    }

    /// Holds the time at `at` until [`ServeHost::thaw`].
    pub(super) fn freeze(&self, at: DateTime<Utc>) {
        *self.frozen.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
    }

    /// Lets the time run again.
    pub(super) fn thaw(&self) {
        *self.frozen.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn current(&self) -> DateTime<Utc> {
        self.frozen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_else(|| self.clock.now())
    }
}

/// The ledger key of a send: stable across reprocessing.
pub(super) fn effect_key(out: &Outbound) -> String {
    format!("{}:{}:{}", out.step.workflow, out.step.run, out.step.node.0)
}

/// A new link token: 128 random bits, URL-safe base64 (22 characters).
pub(super) fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn failed(reason: String) -> SendResult {
    SendResult::Failed { code: None, reason }
}

fn channel(message: &Message) -> &'static str {
    message.channel().as_str()
}

impl ServeHost {
    async fn send_once(&self, out: &Outbound) -> SendResult {
        let key = effect_key(out);
        let run = out.step.run;
        let request = serde_json::to_string(out).unwrap_or_default();
        let now = self.current();
        // A CTA's tracking link is stored in the same transaction as the
        // ledger's begin: one commit (one fsync) before the provider call
        // instead of two, and never a begun send without its link. A link
        // that cannot be stored rolls the begin back: "not sent".
        let link = match &out.message {
            Message::Cta {
                url,
                timeout_seconds,
                ..
            } => Some((
                new_token(),
                url.clone(),
                now.checked_add_signed(chrono::Duration::seconds(
                    (*timeout_seconds).min(i64::MAX as u64 / 1_000_000) as i64,
                ))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            )),
            _ => None,
        };
        let token = link.as_ref().map(|(t, _, _)| t.clone());
        let begun = self
            .db
            .effect_begin(
                EffectBegin {
                    key: key.clone(),
                    run,
                    contact: out.contact.clone(),
                    request,
                    link,
                },
                now,
            )
            .await;
        match begun {
            Err(e) => {
                tracing::error!(
                    effect = %key,
                    run,
                    contact = %out.contact,
                    error = %e,
                    "not sent: the ledger could not record the send"
                );
                return failed(format!(
                    "not sent: the ledger could not record the send: {e}"
                ));
            }
            Ok(EffectState::Completed(json)) => {
                return serde_json::from_str(&json).unwrap_or_else(|e| {
                    failed(format!(
                        "stored result of an earlier attempt is unreadable: {e}"
                    ))
                });
            }
            Ok(EffectState::InDoubt) => {
                tracing::warn!(
                    effect = %key,
                    run,
                    contact = %out.contact,
                    "send in doubt, not resent; it takes the Not Delivered path"
                );
                return failed(
                    "in doubt: an earlier attempt was interrupted between the request and its answer; not resent (see the effects ledger)"
                        .into(),
                );
            }
            Ok(EffectState::Fresh) => {}
        }
        let tracked = token.as_ref().map(|t| format!("{}/l/{t}", self.public_url));
        // Several workers: a send is made only while this worker surely
        // still owns the contact, and its answer recorded only then (else
        // the worker that took the contact over has already counted it in
        // doubt).
        let contact = out.contact.as_str();
        if !self.db.may_send(contact) {
            return self.left_in_doubt(&key, out, "before the request");
        }
        let result = self
            .providers
            .send_while(out, &key, tracked.as_deref(), &|| self.db.may_send(contact))
            .await;
        if !self.db.may_send(contact) {
            return self.left_in_doubt(&key, out, "while the request was out");
        }
        match &result {
            SendResult::Accepted { .. } => Metrics::inc(&self.metrics.sends_accepted),
            SendResult::Failed { .. } => Metrics::inc(&self.metrics.sends_failed),
        }
        let id = match &result {
            SendResult::Accepted { message_id } => Some(message_id.clone()),
            SendResult::Failed { .. } => None,
        };
        self.complete(key, &result, id, token, out).await;
        result
    }

    /// A send this worker may no longer make or record: another worker took
    /// the contact over (this one was paused past its lease). The ledger
    /// entry stays begun and not completed, in doubt, which is what the new
    /// owner found and acted on.
    fn left_in_doubt(&self, key: &str, out: &Outbound, when: &str) -> SendResult {
        tracing::warn!(
            effect = %key,
            run = out.step.run,
            contact = %out.contact,
            when,
            "this worker lost the contact to another worker; the send is left in doubt"
        );
        failed(format!(
            "in doubt: this worker lost the contact to another worker {when}"
        ))
    }

    /// Records the result, the sent message and the link's message id in one
    /// transaction.
    async fn complete(
        &self,
        key: String,
        result: &SendResult,
        id: Option<String>,
        token: Option<String>,
        out: &Outbound,
    ) {
        let end = EffectEnd {
            key: key.clone(),
            result: serde_json::to_string(result).unwrap_or_default(),
            run: out.step.run,
            contact: out.contact.clone(),
            channel: channel(&out.message),
            message_id: id,
            token,
        };
        let run = out.step.run;
        let now = self.current();
        let written = self.db.effect_end(end, now);
        let recorded = async move {
            if let Err(e) = written.await {
                tracing::error!(
                    effect = %key,
                    run,
                    error = %e,
                    "could not record the result of a send (it stays in doubt)"
                );
            }
        };
        if self.db.writes_in_call_order() {
            // The job is queued now and commits with the writer's next
            // batch, ahead of the step's own commit (jobs run in call
            // order); the engine need not wait for its fsync before its next
            // send.
            tokio::spawn(recorded);
        } else {
            // Nothing is written until awaited: the result must be stored
            // before the step's commit, so wait for it here.
            recorded.await;
        }
    }
}

impl Host for ServeHost {
    fn now(&self) -> DateTime<Utc> {
        self.current()
    }

    fn send(&self, message: &Outbound) -> impl Future<Output = SendResult> + Send {
        self.send_once(message)
    }

    fn not_sent(&self, step: &StepRef, kind: &str, reason: &str) {
        Metrics::inc(&self.metrics.sends_not_made);
        tracing::warn!(
            workflow = %step.workflow,
            run = step.run,
            node = step.node.0,
            kind,
            reason,
            "message not sent"
        );
    }

    fn set_tag(
        &self,
        _contact: &str,
        _tag: &str,
        _present: bool,
    ) -> impl Future<Output = ()> + Send {
        // Tags live on the contact record, which the processor stores with the
        // run's other changes.
        std::future::ready(())
    }
}
