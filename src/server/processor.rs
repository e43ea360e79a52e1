//! The engine's loop in the service: durable inbox in, durable state out.
//!
//! Webhook handlers only store what they received (the inbox) and answer.
//! This loop takes stored events in arrival order, hands them to the engine,
//! fires due timers, and then writes, in one transaction, everything that
//! changed (contacts, runs, the run counter, message statuses) together with
//! the marks that those events are processed. A crash at any point leaves
//! either the old state with the events still pending (they are processed
//! again on restart) or the new state with the events marked: never half.
//! Sends made while processing an event that is processed again are found in
//! the effect ledger and not repeated (see `host.rs`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{Notify, watch};

use super::host::ServeHost;
use super::inbound::Inbound;
use super::metrics::Metrics;
use crate::runtime::{Changes, Engine, Event, RestoreProblem, RunRecord};
use crate::store::messages::{self, MessageStatus};
use crate::store::{self, Store, StoreError};

/// How many inbox events one transaction covers at most.
const BATCH: usize = 256;

/// Loads stored contacts and runs into `engine`; returns the runs that
/// could not be resumed, and why.
pub(super) fn restore(
    engine: &mut Engine<ServeHost>,
    store: &Store,
) -> Result<Vec<RestoreProblem>, StoreError> {
    let contacts = store.contacts()?;
    let stored = store.load_runs()?;
    let mut problems = Vec::new();
    let mut runs = Vec::new();
    for row in stored {
        match serde_json::from_str::<RunRecord>(&row.data) {
            Ok(run) => runs.push(run),
            Err(e) => problems.push(RestoreProblem {
                run: row.id,
                reason: format!("unreadable record: {e}"),
            }),
        }
    }
    let next_run = store.read(store::meta::next_run)?.unwrap_or(1);
    let (contact_count, run_count) = (contacts.len(), runs.len());
    let refused = engine.restore(contacts, runs, next_run);
    let resumed = run_count.saturating_sub(refused.len());
    problems.extend(refused);
    engine.record_changes();
    // Sends of different runs overlap (see `sends.rs`).
    engine.defer_sends();
    tracing::info!(
        contacts = contact_count,
        runs = resumed,
        not_resumed = problems.len(),
        next_run,
        "state restored from the store"
    );
    Ok(problems)
}

/// Runs the loop until `shutdown` is notified.
pub(super) async fn run(
    mut engine: Engine<ServeHost>,
    store: Store,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let processed = match step(&mut engine, &store, &metrics).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "processing failed, retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
        };
        if processed >= BATCH {
            continue;
        }
        let sleep = match engine.next_due() {
            Some(due) => engine.host().clock().real_until(due),
            None => std::time::Duration::from_secs(3600),
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// What a step covers, recorded durably before the step may send anything
/// and deleted in the step's own commit. A crash in between leaves it
/// behind, and the next start redoes exactly that step: the same events, in
/// the same order, with the clock held at the same instant, from the same
/// committed state. The engine then makes the same decisions, and every send
/// it repeats is found in the effect ledger instead of being made again.
/// Without this, a redo could see an event that arrived during the crashed
/// step, or a later clock, and take a different branch than the sends that
/// were already made.
#[derive(serde::Serialize, serde::Deserialize)]
struct Intent {
    /// The inbox events, in processing order.
    seqs: Vec<u64>,
    /// The instant the step runs at.
    at: chrono::DateTime<chrono::Utc>,
}

/// The step a crash interrupted, if any. One that no longer parses is
/// ignored: the next step then starts afresh from the pending events.
fn load_intent(store: &Store) -> Result<Option<Intent>, StoreError> {
    let raw = store.read(store::meta::step_intent)?;
    Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
}

/// The payloads of inbox events `seqs` not yet processed, in that order.
fn load_items(store: &Store, seqs: &[u64]) -> Result<Vec<(u64, String)>, StoreError> {
    store.read(|conn| store::inbox::pending_payloads(conn, seqs))
}

/// Processes one batch of inbox events and due timers, then commits.
/// Returns how many inbox events it took.
async fn step(
    engine: &mut Engine<ServeHost>,
    store: &Store,
    metrics: &Metrics,
) -> Result<usize, StoreError> {
    let (items, at) = match load_intent(store)? {
        Some(intent) => (load_items(store, &intent.seqs)?, intent.at),
        None => {
            let items: Vec<(u64, String)> = store
                .pending(BATCH)?
                .into_iter()
                .map(|i| (i.seq, i.payload))
                .collect();
            let at = engine.host().clock().now();
            if items.is_empty() && engine.next_due().is_none_or(|due| due > at) {
                return Ok(0);
            }
            let intent = serde_json::to_string(&Intent {
                seqs: items.iter().map(|(seq, _)| *seq).collect(),
                at,
            })?;
            store
                .write(move |tx| store::meta::set_step_intent(tx, &intent))
                .await?;
            (items, at)
        }
    };
    engine.host().freeze(at);
    let result = run_step(engine, store, metrics, items, at).await;
    engine.host().thaw();
    result
}

async fn run_step(
    engine: &mut Engine<ServeHost>,
    store: &Store,
    metrics: &Metrics,
    items: Vec<(u64, String)>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<usize, StoreError> {
    let mut statuses: Vec<(String, MessageStatus, Option<String>)> = Vec::new();
    for (seq, payload) in &items {
        let event: Inbound = match serde_json::from_str(payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(inbox_seq = *seq, error = %e, "inbox item is unreadable, skipped");
                continue;
            }
        };
        // A contact's event waits for the sends its runs already decided,
        // so it meets the state it would have met with awaited sends.
        let contact_of = match &event {
            Inbound::Reply { contact, .. } => Some(contact.as_str()),
            Inbound::Contact { contact } => Some(contact.id.as_str()),
            Inbound::LinkOpened { .. } | Inbound::Status { .. } => None,
        };
        if contact_of.is_some_and(|c| engine.is_sending(c)) {
            super::sends::drain(engine).await;
        }
        match event {
            Inbound::Reply {
                contact,
                channel,
                name,
                choice,
            } => {
                if engine.contact(&contact).is_none() {
                    engine.upsert_contact(new_contact(&contact, channel));
                }
                if let Some(name) = name
                    && let Some(mut c) = engine.contact(&contact).cloned()
                    && !c.fields.contains_key("name")
                {
                    c.fields.insert("name".into(), name);
                    engine.upsert_contact(c);
                }
                let event = match choice {
                    Some(c) if channel == crate::ir::Channel::Whatsapp => Event::Chose {
                        contact,
                        answers: c.answers,
                        id: c.id,
                    },
                    _ => Event::Reply { contact, channel },
                };
                engine.handle(event).await;
            }
            Inbound::Contact { mut contact } => {
                if let Some(old) = engine.contact(&contact.id) {
                    contact.last_whatsapp_inbound =
                        contact.last_whatsapp_inbound.max(old.last_whatsapp_inbound);
                    // The frequency cap's memory is the engine's, not the
                    // admin API's: a record update must not reset it.
                    contact.recent_sends = old.recent_sends.clone();
                }
                engine.upsert_contact(contact);
            }
            Inbound::LinkOpened { token } => {
                let message_id = store.read(|conn| store::links::message_id(conn, &token))?;
                if let Some(message_id) = message_id {
                    engine.handle(Event::LinkOpened { message_id }).await;
                }
            }
            Inbound::Status {
                message_id,
                status,
                error,
            } => {
                let Ok(status) = status.parse::<MessageStatus>() else {
                    continue;
                };
                let stored = pending_status(&statuses, &message_id)
                    .or(store.message(&message_id)?.map(|m| m.status));
                if messages::transition(stored, status).is_none() {
                    Metrics::inc(&metrics.duplicates);
                    continue;
                }
                statuses.push((message_id.clone(), status, error.clone()));
                match status {
                    MessageStatus::Failed => {
                        let reason =
                            error.unwrap_or_else(|| "the provider reported a failure".into());
                        engine
                            .handle(Event::DeliveryFailed { message_id, reason })
                            .await;
                    }
                    MessageStatus::Delivered | MessageStatus::Read => {
                        engine.handle(Event::Delivered { message_id }).await;
                    }
                    MessageStatus::Sent => {}
                }
            }
        }
    }
    engine.fire_due().await;
    // Every send is made and answered before the step commits: no stored
    // run is ever waiting on a send.
    super::sends::drain(engine).await;
    let processed: Vec<u64> = items.iter().map(|(seq, _)| *seq).collect();
    let taken = processed.len();
    StepCommit::new(engine.take_changes(), statuses, processed, at)?
        .write(store)
        .await?;
    let stats = engine.stats();
    metrics
        .events_processed
        .fetch_add(taken as u64, Ordering::Relaxed);
    metrics
        .runs_active
        .store(stats.active as u64, Ordering::Relaxed);
    metrics.runs_started.store(stats.started, Ordering::Relaxed);
    metrics.timers.store(stats.timers as u64, Ordering::Relaxed);
    Ok(taken)
}

fn pending_status(
    statuses: &[(String, MessageStatus, Option<String>)],
    id: &str,
) -> Option<MessageStatus> {
    statuses
        .iter()
        .rev()
        .find(|(m, _, _)| m == id)
        .map(|(_, s, _)| *s)
}

fn new_contact(id: &str, channel: crate::ir::Channel) -> crate::runtime::Contact {
    let mut c = crate::runtime::Contact::new(id);
    match channel {
        crate::ir::Channel::Email => c.email = Some(id.to_owned()),
        _ => c.phone = Some(id.to_owned()),
    }
    c
}

/// Everything one step changed, ready to be written in one transaction:
/// the engine's changes, the delivery statuses, and the marks that the
/// step's events are processed, which also clears the step's intent.
struct StepCommit {
    contacts: Vec<crate::runtime::Contact>,
    runs: Vec<store::RunRecord>,
    ended: Vec<u64>,
    next_run: u64,
    statuses: Vec<(String, MessageStatus, Option<String>)>,
    processed: Vec<u64>,
    at: chrono::DateTime<chrono::Utc>,
}

impl StepCommit {
    /// Encodes the changed runs as stored records; fails, before anything is
    /// written, if a run does not serialise.
    fn new(
        changes: Changes,
        statuses: Vec<(String, MessageStatus, Option<String>)>,
        processed: Vec<u64>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<StepCommit, StoreError> {
        let runs = changes
            .runs
            .iter()
            .map(stored_run)
            .collect::<Result<_, _>>()?;
        Ok(StepCommit {
            contacts: changes.contacts,
            runs,
            ended: changes.ended,
            next_run: changes.next_run,
            statuses,
            processed,
            at,
        })
    }

    /// Writes it all in one job; resolves once it is durable.
    async fn write(self, store: &Store) -> Result<(), StoreError> {
        store
            .write(move |tx| {
                for contact in &self.contacts {
                    store::contacts::save(tx, contact)?;
                }
                for run in &self.runs {
                    store::runs::save(tx, run)?;
                }
                for id in &self.ended {
                    store::runs::delete(tx, *id)?;
                }
                store::meta::set_next_run(tx, self.next_run)?;
                for (id, status, error) in &self.statuses {
                    messages::apply_status(tx, id, *status, error.as_deref(), self.at)?;
                }
                for seq in &self.processed {
                    store::inbox::mark_processed(tx, *seq, self.at)?;
                }
                store::meta::clear_step_intent(tx)
            })
            .await
    }
}

/// A run as the store keeps it: its state as JSON, with the columns the
/// store indexes.
fn stored_run(run: &RunRecord) -> Result<store::RunRecord, serde_json::Error> {
    Ok(store::RunRecord {
        id: run.id,
        workflow: run.workflow.clone(),
        contact: run.contact.clone(),
        data: serde_json::to_string(run)?,
        due_at: run.due,
    })
}
