//! The service's database, whichever it is: what `kflowc serve` asks of
//! its store, one operation each, on the embedded SQLite file ([`Store`])
//! or on a PostgreSQL server shared by several workers.
//!
//! The table modules of [`crate::store`] hold SQLite's statements; this
//! module is the service's view: a webhook enqueued with the contact it
//! concerns, a processing step begun, loaded, and committed whole, a send
//! begun and completed in the effect ledger, a batch pruned. Each backend
//! implements every operation with the same meaning (see `sqlite.rs` and
//! `crate::store::pg`), and `tests/store_db.rs` holds both to it.

mod sqlite;

use std::sync::Arc;

use tokio::sync::Notify;

use chrono::{DateTime, Utc};

use super::pg::{self, PgStore};
use super::{EffectState, Enqueued, LinkOpen, MessageStatus, OpenEffect, RunRecord, Store};
use super::{StoreError, WriterStats};
use crate::runtime::Contact;

/// The service's database.
#[derive(Clone, Debug)]
pub enum Db {
    /// The embedded SQLite file: one process.
    Sqlite(Store),
    /// A PostgreSQL database shared by several workers.
    Postgres(PgStore),
}

/// Contacts are spread over this many shards; on PostgreSQL a worker
/// processes whole shards. Fixed: every stored row routed by contact
/// carries its shard.
pub const SHARDS: i32 = 64;

/// The shard of a contact: FNV-1a of its id, so every worker and every
/// version of kflow agree.
pub fn shard_of(contact: &str) -> i32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in contact.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % SHARDS as u64) as i32
}

/// An event to store, with the key that recognises a provider's retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// What identifies the notification across retries.
    pub key: String,
    /// Which provider or endpoint sent it.
    pub source: String,
    /// The event, as the service encodes it.
    pub payload: String,
    /// What it concerns, so the worker that owns that contact takes it.
    pub route: Route,
}

/// What an event concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// A contact, by id (a reply, a contact update).
    Contact(String),
    /// A message we sent, by the provider's id (a delivery status): its
    /// contact is found from the message.
    Message(String),
}

/// A processing step's events and instant: a new step, or one a crash
/// interrupted, which is redone with exactly the same events at the same
/// instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepWork {
    /// The instant the step runs at.
    pub at: DateTime<Utc>,
    /// The inbox events, in processing order: sequence number and payload.
    pub items: Vec<(u64, String)>,
    /// Whether this step redoes one a crash interrupted.
    pub redo: bool,
    /// The shards it covers (PostgreSQL; empty on SQLite, where one process
    /// owns everything).
    pub shards: Vec<i32>,
    /// Its record (PostgreSQL's `intents` row).
    pub intent: Option<i64>,
}

/// What a step needs loaded: the contacts its events name, the messages
/// its statuses and clicks name, and the deadlines due at its instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepKeys {
    /// Contacts by id.
    pub contacts: Vec<String>,
    /// Messages by provider id: the runs waiting on them.
    pub messages: Vec<String>,
    /// The step's instant: runs due at or before it are loaded.
    pub due: Option<DateTime<Utc>>,
    /// The most due runs loaded in one step.
    pub due_limit: usize,
}

/// The state a step works on: the contacts and every run of each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepState {
    /// The contacts that exist.
    pub contacts: Vec<Contact>,
    /// Every run of those contacts.
    pub runs: Vec<RunRecord>,
}

/// Everything one step changed, written in one transaction with the marks
/// that its events are processed.
#[derive(Clone, Debug, Default)]
pub struct StepCommit {
    /// Contacts that changed.
    pub contacts: Vec<Contact>,
    /// Runs that started or moved and still exist.
    pub runs: Vec<RunRecord>,
    /// Runs that ended.
    pub ended: Vec<u64>,
    /// Delivery statuses: message id, status, error.
    pub statuses: Vec<(String, MessageStatus, Option<String>)>,
    /// The inbox events processed.
    pub processed: Vec<u64>,
    /// The step's instant.
    pub at: DateTime<Utc>,
    /// The versions the step's runs run on, with their IR (JSON): saved if
    /// missing, so every version with runs can be loaded again.
    pub programs: Vec<(String, String, Arc<str>)>,
    /// Runs that could not be resumed, with why: set aside (kept, never
    /// loaded) until [`Db::unstrand`] at the next start.
    pub stranded: Vec<(u64, String)>,
}

/// A send about to be made: its ledger entry, and the tracking link a CTA
/// carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectBegin {
    /// The ledger key.
    pub key: String,
    /// The run sending.
    pub run: u64,
    /// The contact it goes to.
    pub contact: String,
    /// The request, as JSON.
    pub request: String,
    /// A CTA's link: token, target URL, expiry.
    pub link: Option<(String, String, DateTime<Utc>)>,
}

/// A send's answer: the ledger's result, and the message the provider
/// accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectEnd {
    /// The ledger key.
    pub key: String,
    /// The result, as JSON.
    pub result: String,
    /// The run that sent.
    pub run: u64,
    /// The contact it went to.
    pub contact: String,
    /// The channel (`whatsapp`, `sms`, `email`).
    pub channel: &'static str,
    /// The provider's message id, when it accepted the message.
    pub message_id: Option<String>,
    /// The CTA's link token, to attach the message id to.
    pub token: Option<String>,
}

/// Runs and deadlines, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Runs in progress (waiting).
    pub active: u64,
    /// Runs waiting with a deadline.
    pub timers: u64,
}

impl Db {
    /// Stores several events of one webhook atomically (all or none), each
    /// de-duplicated on its own and stamped `now`; resolves once durable.
    pub async fn enqueue_all(
        &self,
        events: Vec<NewEvent>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Enqueued>, StoreError> {
        match self {
            Db::Sqlite(s) => sqlite::enqueue_all(s, events, now).await,
            Db::Postgres(p) => pg::enqueue_all(p, events, now).await,
        }
    }

    /// What opening a link would give at `now`, without opening it.
    pub async fn link_peek(&self, token: &str, now: DateTime<Utc>) -> Result<LinkOpen, StoreError> {
        match self {
            Db::Sqlite(s) => sqlite::link_peek(s, token, now),
            Db::Postgres(p) => pg::link_peek(p, token, now).await,
        }
    }

    /// Opens a link at `now`; the first open also enqueues `event` (under
    /// `key`) for the run waiting on the link's message, atomically.
    pub async fn link_open(
        &self,
        token: &str,
        key: &str,
        event: &str,
        now: DateTime<Utc>,
    ) -> Result<LinkOpen, StoreError> {
        match self {
            Db::Sqlite(s) => sqlite::link_open(s, token, key, event, now).await,
            Db::Postgres(p) => pg::link_open(p, token, key, event, now).await,
        }
    }

    /// The service clock's origin, stored on first start.
    pub async fn clock_origin(&self, wall: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
        match self {
            Db::Sqlite(s) => s.write(move |tx| super::meta::clock_origin(tx, wall)).await,
            Db::Postgres(p) => pg::clock_origin(p, wall).await,
        }
    }

    /// Brings back every run set aside as not resumable (at start: the
    /// workflow or version it needs may be loaded again); returns how many.
    pub async fn unstrand(&self) -> Result<usize, StoreError> {
        match self {
            Db::Sqlite(s) => s.write(|tx| super::runs::unstrand_all(tx)).await,
            Db::Postgres(p) => pg::unstrand(p).await,
        }
    }

    /// Sends begun and never completed.
    pub async fn in_doubt(&self) -> Result<Vec<OpenEffect>, StoreError> {
        match self {
            Db::Sqlite(s) => s.in_doubt(),
            Db::Postgres(p) => pg::in_doubt(p).await,
        }
    }

    /// The first run id of the ids derived from inbox sequence numbers
    /// (every id given before is below it).
    pub async fn run_ids_from(&self) -> Result<u64, StoreError> {
        match self {
            Db::Sqlite(s) => sqlite::run_ids_from(s),
            Db::Postgres(p) => pg::run_ids_from(p).await,
        }
    }

    /// Saves a workflow version's IR (JSON).
    pub async fn save_program(
        &self,
        workflow: &str,
        version: &str,
        ir: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(s) => {
                let (w, v, ir) = (workflow.to_owned(), version.to_owned(), ir.to_owned());
                s.write(move |tx| super::programs::save(tx, &w, &v, &ir, now))
                    .await
            }
            Db::Postgres(p) => pg::save_program(p, workflow, version, ir, now).await,
        }
    }

    /// A workflow version's IR (JSON), if saved.
    pub async fn load_program(
        &self,
        workflow: &str,
        version: &str,
    ) -> Result<Option<String>, StoreError> {
        match self {
            Db::Sqlite(s) => s.read(|conn| super::programs::load(conn, workflow, version)),
            Db::Postgres(p) => pg::load_program(p, workflow, version).await,
        }
    }

    /// The next step: one a crash interrupted, else up to `limit` pending
    /// events at `now`; `None` when there is nothing to do at `now` (no
    /// event, no deadline due). A new step is recorded before it is
    /// returned, so a crash before its commit redoes it. On PostgreSQL, a
    /// status stored before `unroutable_before` whose message is still
    /// unknown is given a shard of its own (see `pg`).
    pub async fn begin_step(
        &self,
        limit: usize,
        now: DateTime<Utc>,
        unroutable_before: DateTime<Utc>,
    ) -> Result<Option<StepWork>, StoreError> {
        match self {
            Db::Sqlite(s) => sqlite::begin_step(s, limit, now).await,
            Db::Postgres(p) => pg::begin_step(p, limit, now, unroutable_before).await,
        }
    }

    /// Loads what a step needs, on the shards it covers.
    pub async fn step_state(
        &self,
        keys: &StepKeys,
        work: &StepWork,
    ) -> Result<StepState, StoreError> {
        match self {
            Db::Sqlite(s) => sqlite::step_state(s, keys),
            Db::Postgres(p) => pg::step_state(p, keys, &work.shards).await,
        }
    }

    /// The message a link was sent in.
    pub async fn link_message_id(&self, token: &str) -> Result<Option<String>, StoreError> {
        match self {
            Db::Sqlite(s) => s.read(|conn| super::links::message_id(conn, token)),
            Db::Postgres(p) => pg::link_message_id(p, token).await,
        }
    }

    /// A message's stored delivery status.
    pub async fn message_status(
        &self,
        message_id: &str,
    ) -> Result<Option<MessageStatus>, StoreError> {
        match self {
            Db::Sqlite(s) => Ok(s.message(message_id)?.map(|m| m.status)),
            Db::Postgres(p) => pg::message_status(p, message_id).await,
        }
    }

    /// Writes what a step changed, marks its events processed and forgets
    /// its record, in one transaction; resolves once durable.
    pub async fn commit_step(&self, commit: StepCommit, work: &StepWork) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(s) => sqlite::commit_step(s, commit).await,
            Db::Postgres(p) => pg::commit_step(p, commit, &work.shards, work.intent).await,
        }
    }

    /// The earliest deadline of any run this process may fire.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self {
            Db::Sqlite(s) => s.read(super::runs::next_due),
            Db::Postgres(p) => pg::next_due(p).await,
        }
    }

    /// Begins a send in the ledger (with a CTA's link); resolves once
    /// durable, with what became of an earlier attempt under the same key.
    pub async fn effect_begin(
        &self,
        begin: EffectBegin,
        now: DateTime<Utc>,
    ) -> Result<EffectState, StoreError> {
        match self {
            Db::Sqlite(s) => sqlite::effect_begin(s, begin, now).await,
            Db::Postgres(p) => pg::effect_begin(p, begin, now).await,
        }
    }

    /// Completes a send in the ledger, with the message it sent. On SQLite
    /// the write is queued by this call, ahead of every write asked for
    /// after it ([`Db::writes_in_call_order`]), so a caller need not await
    /// it before the step's commit; elsewhere nothing is written until the
    /// future is awaited.
    pub fn effect_end(
        &self,
        end: EffectEnd,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        match self {
            Db::Sqlite(s) => futures_util::future::Either::Left(sqlite::effect_end(s, end, now)),
            Db::Postgres(p) => {
                futures_util::future::Either::Right(pg::effect_end(p.clone(), end, now))
            }
        }
    }

    /// Whether this process may still make a send to `contact`: always on
    /// SQLite; on PostgreSQL while it holds the contact's shard and the
    /// lease surely runs. A worker paused past its lease must not send what
    /// the worker that took the contact over has decided.
    pub fn may_send(&self, contact: &str) -> bool {
        match self {
            Db::Sqlite(_) => true,
            Db::Postgres(p) => p.holds_contact(contact),
        }
    }

    /// Whether writes are queued when asked for and commit in that order
    /// (the SQLite writer), rather than when their futures are awaited.
    pub fn writes_in_call_order(&self) -> bool {
        matches!(self, Db::Sqlite(_))
    }

    /// Deletes up to `batch` prunable rows of `table` older than `cutoff`
    /// (see [`super::retention`]); returns how many.
    pub async fn prune(
        &self,
        table: &'static str,
        cutoff: DateTime<Utc>,
        batch: usize,
    ) -> Result<usize, StoreError> {
        match self {
            Db::Sqlite(s) => {
                s.write(move |tx| super::retention::prune(tx, table, cutoff, batch))
                    .await
            }
            Db::Postgres(p) => pg::prune(p, table, cutoff, batch).await,
        }
    }

    /// Events waiting to be processed.
    pub async fn pending_count(&self) -> Result<u64, StoreError> {
        match self {
            Db::Sqlite(s) => s.read(super::inbox::pending_count),
            Db::Postgres(p) => pg::pending_count(p).await,
        }
    }

    /// Runs in progress and runs waiting with a deadline.
    pub async fn run_counts(&self) -> Result<RunCounts, StoreError> {
        match self {
            Db::Sqlite(s) => {
                let (active, timers) = s.read(super::runs::counts)?;
                Ok(RunCounts { active, timers })
            }
            Db::Postgres(p) => pg::run_counts(p).await,
        }
    }

    /// The SQLite writer's counters (group commit); none for PostgreSQL.
    pub fn writer_stats(&self) -> Option<WriterStats> {
        match self {
            Db::Sqlite(s) => Some(s.stats()),
            Db::Postgres(_) => None,
        }
    }

    /// Opens the database `[server] database` names: a `postgres://` or
    /// `postgresql://` URL (with `password`, if given) connects to
    /// PostgreSQL; anything else is the path of the SQLite file.
    pub async fn open(database: &str, password: Option<&str>) -> Result<Db, StoreError> {
        if is_postgres_url(database) {
            Ok(Db::Postgres(PgStore::connect(database, password).await?))
        } else {
            Ok(Db::Sqlite(Store::open(database)?))
        }
    }

    /// Between steps: on PostgreSQL, heartbeats and takes or gives back
    /// shards so the live workers share them; nothing on SQLite.
    pub async fn balance(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(_) => Ok(()),
            Db::Postgres(p) => p.balance().await,
        }
    }

    /// How often to call [`Db::balance`] (PostgreSQL); `None` for SQLite.
    pub fn balance_every(&self) -> Option<std::time::Duration> {
        match self {
            Db::Sqlite(_) => None,
            Db::Postgres(_) => Some(pg::BALANCE_EVERY),
        }
    }

    /// At a clean shutdown: on PostgreSQL, gives every shard back so other
    /// workers take them over at once; nothing on SQLite.
    pub async fn release(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(_) => Ok(()),
            Db::Postgres(p) => p.release().await,
        }
    }

    /// Wakes `wake` when another process stores an event (PostgreSQL's
    /// `LISTEN`); on SQLite the one process wakes itself.
    pub fn listen(&self, wake: Arc<Notify>) {
        if let Db::Postgres(p) = self {
            p.listen(wake);
        }
    }
}

/// Whether `[server] database` names a PostgreSQL server.
pub fn is_postgres_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shard function is part of the stored data: it must never change.
    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(shard_of(""), (0xcbf2_9ce4_8422_2325u64 % 64) as i32);
        assert_eq!(shard_of("+15551230001"), shard_of("+15551230001"));
        let mut seen = [0u32; SHARDS as usize];
        for i in 0..6400 {
            seen[shard_of(&format!("+1555{i:07}")) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (50..=150).contains(&n)), "{seen:?}");
    }
}
