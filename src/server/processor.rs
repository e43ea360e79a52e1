//! The engine's loop in the service: durable inbox in, durable state out.
//!
//! Webhook handlers only store what they received (the inbox) and answer.
//! This loop takes stored events in arrival order, loads from the store
//! the contacts they name and every run of those contacts (and the runs
//! whose deadlines fell due), hands the events to the engine, fires the due
//! timers, and then writes, in one transaction, everything that changed
//! (contacts, runs, message statuses) together with the marks that those
//! events are processed. Then the engine forgets what it loaded: the store
//! holds every contact and waiting run, the process only what one step
//! works on, so memory does not grow with the runs waiting and a start
//! reads nothing but the workflows.
//!
//! A crash at any point leaves either the old state with the events still
//! pending (they are processed again on restart) or the new state with the
//! events marked: never half. Each step is recorded before it may send
//! anything (`Db::begin_step`), and a step a crash interrupted is redone
//! first, with exactly the same events at the same instant, from the same
//! committed state: the engine then makes the same decisions (run ids come
//! from the inbox sequence numbers of the replies that start them, not from
//! a counter), and every send it repeats is found in the effect ledger
//! instead of being made again (see `host.rs`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{Notify, watch};

use super::host::ServeHost;
use super::inbound::Inbound;
use super::metrics::Metrics;
use crate::ir::Program;
use crate::runtime::{Engine, Event, RunRecord};
use crate::store::db::{Db, StepCommit, StepKeys, StepWork};
use crate::store::messages::{self, MessageStatus};
use crate::store::{self, StoreError};

/// How many inbox events one step covers at most.
const BATCH: usize = 256;

/// How many due runs one step loads at most.
const DUE_BATCH: usize = 4096;

/// How long, in wall-clock time, a delivery status may wait for the
/// completion of the send it reports to be stored (PostgreSQL routes it by
/// the message's contact) before it is routed on its own.
const ROUTE_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Run ids given per inbox event: an event starts at most one run per
/// workflow, and the service loads at most this many workflows.
pub(super) const RUNS_PER_EVENT: u64 = 256;

/// What a step loaded: the message of each clicked link, the runs that
/// cannot be resumed (with why), and the deadlines due at its instant.
type Loaded = (
    HashMap<String, String>,
    Vec<(u64, String)>,
    Vec<chrono::DateTime<chrono::Utc>>,
);

/// The engine and what the loop keeps beside it.
pub(super) struct Processor {
    pub(super) engine: Engine<ServeHost>,
    pub(super) db: Db,
    /// The IR (JSON) of each version loaded, by workflow and version, saved
    /// with the runs that use it.
    pub(super) programs: HashMap<(String, String), Arc<str>>,
    /// The first run id derived from inbox sequence numbers.
    pub(super) run_ids_from: u64,
    pub(super) metrics: Arc<Metrics>,
}

/// Runs the loop until `shutdown` is notified.
pub(super) async fn run(
    mut processor: Processor,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = processor.db.balance_every();
    let mut balanced: Option<std::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        // Several workers on one database: take or give back shards now
        // and then, between steps.
        if let Some(every) = every
            && balanced.is_none_or(|at| at.elapsed() >= every)
        {
            if let Err(e) = processor.db.balance().await {
                tracing::warn!(error = %e, "could not balance shards, retrying");
            }
            balanced = Some(std::time::Instant::now());
        }
        let busy = match processor.step().await {
            Ok(busy) => busy,
            Err(StoreError::Fenced(e)) => {
                tracing::warn!(reason = %e, "step abandoned: its shards moved to another worker, which redoes it");
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "processing failed, retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
        };
        if busy {
            continue;
        }
        let sleep = match processor.db.next_due().await {
            Ok(Some(due)) => processor.engine.host().clock().real_until(due),
            Ok(None) => std::time::Duration::from_secs(3600),
            Err(e) => {
                tracing::error!(error = %e, "could not read the next deadline, retrying");
                std::time::Duration::from_millis(200)
            }
        };
        let sleep = every.map_or(sleep, |every| sleep.min(every));
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
            _ = shutdown.changed() => {}
        }
    }
}

impl Processor {
    /// Processes one step; true when there may be more to do at once (a
    /// full batch of events or of due runs).
    async fn step(&mut self) -> Result<bool, StoreError> {
        let clock = self.engine.host().clock();
        let now = clock.now();
        let unroutable_before = now - clock.span(ROUTE_GRACE);
        let Some(work) = self.db.begin_step(BATCH, now, unroutable_before).await? else {
            return Ok(false);
        };
        self.engine.host().freeze(work.at);
        let result = self.run_step(work).await;
        // Committed or not, the store holds the truth: what the step loaded
        // is forgotten, and a failed step is redone from the store.
        self.engine.evict();
        self.engine.host().thaw();
        result
    }

    async fn run_step(&mut self, work: StepWork) -> Result<bool, StoreError> {
        let StepWork {
            at, items, redo, ..
        } = &work;
        let (at, redo) = (*at, *redo);
        if redo {
            tracing::info!(events = items.len(), %at, "redoing a step a crash interrupted");
        }
        let mut events = Vec::with_capacity(items.len());
        for (seq, payload) in items {
            match serde_json::from_str::<Inbound>(payload) {
                Ok(e) => events.push((*seq, e)),
                Err(e) => {
                    tracing::warn!(inbox_seq = *seq, error = %e, "inbox item is unreadable, skipped")
                }
            }
        }
        let (links, stranded, due) = self.load(&events, &work).await?;
        let mut statuses: Vec<(String, MessageStatus, Option<String>)> = Vec::new();
        for (seq, event) in events {
            self.engine
                .number_runs_from(self.run_ids_from + seq * RUNS_PER_EVENT);
            self.handle(event, &links, &mut statuses).await?;
        }
        let fired = self.engine.fire_due().await;
        // Every deadline due at the step's instant is decided now.
        let clock = self.engine.host().clock();
        let decided = clock.now();
        for due in due {
            self.metrics
                .timer_lateness
                .observe(clock.real_seconds(decided - due));
        }
        // Every send is made and answered before the step commits: no stored
        // run is ever waiting on a send.
        super::sends::drain(&mut self.engine).await;
        let processed: Vec<u64> = work.items.iter().map(|(seq, _)| *seq).collect();
        let taken = processed.len();
        let mut commit = self.commit(statuses, processed, at)?;
        commit.stranded = stranded;
        self.db.commit_step(commit, &work).await?;
        let stats = self.engine.stats();
        self.metrics
            .events_processed
            .fetch_add(taken as u64, Ordering::Relaxed);
        self.metrics
            .runs_started
            .store(stats.started, Ordering::Relaxed);
        Ok(taken >= BATCH || fired >= DUE_BATCH)
    }

    /// Loads what the step's events and deadlines need: the contacts they
    /// name, every run of those contacts, and the runs due at `at` with
    /// theirs. Returns the message each clicked link was sent in, the runs
    /// that cannot be resumed (with why), and the deadlines due.
    async fn load(
        &mut self,
        events: &[(u64, Inbound)],
        work: &StepWork,
    ) -> Result<Loaded, StoreError> {
        let mut keys = StepKeys {
            due: Some(work.at),
            due_limit: DUE_BATCH,
            ..StepKeys::default()
        };
        let mut links = HashMap::new();
        for (_, event) in events {
            match event {
                Inbound::Reply { contact, .. } => keys.contacts.push(contact.clone()),
                Inbound::Contact { contact } => keys.contacts.push(contact.id.clone()),
                Inbound::Status { message_id, .. } => keys.messages.push(message_id.clone()),
                Inbound::LinkOpened { token } => {
                    if let Some(message_id) = self.db.link_message_id(token).await? {
                        keys.messages.push(message_id.clone());
                        links.insert(token.clone(), message_id);
                    }
                }
            }
        }
        let state = self.db.step_state(&keys, work).await?;
        let mut runs = Vec::with_capacity(state.runs.len());
        let mut stranded = Vec::new();
        let due: Vec<_> = state
            .runs
            .iter()
            .filter_map(|r| r.due_at)
            .filter(|d| *d <= work.at)
            .collect();
        for row in state.runs {
            match serde_json::from_str::<RunRecord>(&row.data) {
                Ok(run) => runs.push(run),
                Err(e) => stranded.push((row.id, format!("unreadable record: {e}"))),
            }
        }
        self.load_versions(&runs).await?;
        for problem in self.engine.hydrate(state.contacts, runs) {
            stranded.push((problem.run, problem.reason));
        }
        // A run that cannot be resumed is set aside (kept, never loaded
        // again until the next start), so its deadline does not come back
        // every step.
        for (run, reason) in &stranded {
            tracing::warn!(run, %reason, "not resumed; set aside until the next start");
        }
        Ok((links, stranded, due))
    }

    /// Loads, from the store, the versions of workflows that runs started
    /// on before the workflow changed.
    async fn load_versions(&mut self, runs: &[RunRecord]) -> Result<(), StoreError> {
        for run in runs {
            if run.version.is_empty() || self.engine.has_version(&run.workflow, &run.version) {
                continue;
            }
            let Some(ir) = self.db.load_program(&run.workflow, &run.version).await? else {
                continue;
            };
            match serde_json::from_str::<Program>(&ir) {
                Ok(program) => match self.engine.load_old_version(program, run.version.clone()) {
                    Ok(()) => {
                        tracing::info!(workflow = %run.workflow, version = %run.version, "loaded an earlier version for its waiting runs");
                        self.programs
                            .insert((run.workflow.clone(), run.version.clone()), ir.into());
                    }
                    Err(e) => {
                        tracing::warn!(workflow = %run.workflow, version = %run.version, error = %e, "an earlier version cannot be loaded")
                    }
                },
                Err(e) => {
                    tracing::warn!(workflow = %run.workflow, version = %run.version, error = %e, "an earlier version is unreadable")
                }
            }
        }
        Ok(())
    }

    /// Hands one inbox event to the engine.
    async fn handle(
        &mut self,
        event: Inbound,
        links: &HashMap<String, String>,
        statuses: &mut Vec<(String, MessageStatus, Option<String>)>,
    ) -> Result<(), StoreError> {
        let engine = &mut self.engine;
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
                if let Some(message_id) = links.get(&token) {
                    engine
                        .handle(Event::LinkOpened {
                            message_id: message_id.clone(),
                        })
                        .await;
                }
            }
            Inbound::Status {
                message_id,
                status,
                error,
            } => {
                let Ok(status) = status.parse::<MessageStatus>() else {
                    return Ok(());
                };
                let stored = match pending_status(statuses, &message_id) {
                    Some(s) => Some(s),
                    None => self.db.message_status(&message_id).await?,
                };
                if messages::transition(stored, status).is_none() {
                    Metrics::inc(&self.metrics.duplicates);
                    return Ok(());
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
        Ok(())
    }

    /// Everything the step changed, ready to be written in one transaction;
    /// fails, before anything is written, if a run does not serialise.
    fn commit(
        &mut self,
        statuses: Vec<(String, MessageStatus, Option<String>)>,
        processed: Vec<u64>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<StepCommit, StoreError> {
        let changes = self.engine.take_changes();
        let runs = changes
            .runs
            .iter()
            .map(stored_run)
            .collect::<Result<Vec<_>, _>>()?;
        let mut programs = Vec::new();
        for run in &runs {
            let key = (run.workflow.clone(), run.version.clone());
            if let Some(ir) = self.programs.get(&key)
                && !programs
                    .iter()
                    .any(|(w, v, _): &(String, String, Arc<str>)| *w == key.0 && *v == key.1)
            {
                programs.push((key.0, key.1, Arc::clone(ir)));
            }
        }
        Ok(StepCommit {
            contacts: changes.contacts,
            runs,
            ended: changes.ended,
            statuses,
            processed,
            at,
            programs,
            stranded: Vec::new(),
        })
    }
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

/// A run as the store keeps it: its state as JSON, with the columns the
/// store indexes.
fn stored_run(run: &RunRecord) -> Result<store::RunRecord, serde_json::Error> {
    let waiting_on = match &run.wait {
        crate::runtime::Wait::Cta { message_id } | crate::runtime::Wait::Choice { message_id } => {
            Some(message_id.clone())
        }
        _ => None,
    };
    Ok(store::RunRecord {
        id: run.id,
        workflow: run.workflow.clone(),
        version: run.version.clone(),
        contact: run.contact.clone(),
        data: serde_json::to_string(run)?,
        due_at: run.due,
        waiting_on,
    })
}
