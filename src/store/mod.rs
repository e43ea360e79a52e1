//! The durable store behind `kflowc serve`: one SQLite file.
//!
//! Everything `serve` must not forget lives here: incoming webhook events,
//! contacts, runs and their deadlines, the effect ledger, sent messages and
//! their delivery statuses, and click-tracking links. The file is created on
//! first open and migrated forward (see [`Store::open`]); nothing else needs
//! to run.
//!
//! # Durability and group commit
//!
//! The file is in WAL mode with `synchronous=FULL`: a commit returns only
//! after the WAL is fsynced, so it survives power loss, not only a crash of
//! the process. All writes go through one writer thread ([`Store::write`]).
//! It takes every job waiting into one transaction, runs each inside its own
//! savepoint (a failing job is rolled back alone and reports its error; its
//! batch-mates commit), commits once and only then answers the jobs. So a
//! write's future resolves only once what it wrote is durable — a webhook
//! can be answered 200 right after [`Store::enqueue`] returns — while the
//! throughput is not bounded by one fsync per event: under load each fsync
//! carries a batch. [`Store::stats`] counts commits and jobs.
//!
//! Reads use separate read-only connections (WAL lets them run while the
//! writer writes) and are synchronous: they are short, indexed queries.
//!
//! All of kflow's SQL is in this module. Each operation is a function on a
//! `&Connection` in the module of the table it touches, usable inside any
//! [`Store::write`] job, so several operations can commit atomically (e.g.
//! complete an effect, record the message it sent and save the run). Some
//! also exist as a method on [`Store`] that runs the operation alone; the
//! ones the service does not need are grouped apart, for tests, benchmarks
//! and tools.
//!
//! The store never reads a clock: every operation that stamps a time takes
//! it (`now`) from its caller, so a service running on a sped-up or frozen
//! clock stamps its own time, and tests can choose theirs.
//!
//! # Schema
//!
//! Times are `INTEGER` Unix **microseconds** (UTC), like the runtime's
//! clocks; the API takes and returns [`chrono::DateTime<Utc>`]. Ids of runs
//! are `u64` in the API, stored as SQLite's signed 64-bit integers (values
//! above `i64::MAX` are refused). Columns named `data`, `request` and
//! `result` hold JSON text and are checked with `json_valid`.
//!
//! - `inbox(seq, dedupe_key UNIQUE, received_at, source, payload,
//!   processed_at)` — incoming events, in arrival order
//!   ([`inbox`]). Meta retries a webhook for up to 7 days, so every
//!   notification carries a key (a message id, or a message id and status)
//!   and a key already present is not stored again
//!   ([`Enqueued::Duplicate`]). Processed rows stay, so their keys keep
//!   de-duplicating, until [`retention`] prunes those received before a
//!   cutoff (keep at least 7 days). A partial index on unprocessed rows keeps
//!   [`inbox::pending`] fast however many processed rows there are.
//! - `contacts(id, data)` — each runtime [`Contact`] as JSON, with its
//!   fields, tags and the time of its last WhatsApp inbound message (the
//!   24-hour window) ([`contacts`]).
//! - `runs(id, workflow, contact, data, due_at)` — the engine's run records
//!   as opaque JSON, with the deadline of the run's current wait; an index on
//!   `due_at` (non-null rows only) makes "what is due now" a range scan
//!   ([`runs`]).
//! - `meta(key, value)` — small named values: the engine's next run id,
//!   the processing step in progress, the service clock's origin, counters
//!   ([`meta`]).
//! - `effects(key, run_id, created_at, request, result, completed_at)` —
//!   the effect ledger ([`effects`]). An effect (a provider call) is begun
//!   — committed with its request — before the call, and completed with its
//!   result after; a key begun and never completed is *in doubt*: the
//!   process died between the two, and whether the provider acted is
//!   unknown. It is reported, never silently resent or silently dropped.
//! - `messages(message_id, run_id, channel, status, error, updated_at)` —
//!   sent messages and their delivery status, moving one way only
//!   ([`messages`]).
//! - `links(token, message_id, run_id, url, expires_at, opened_at)` —
//!   click-tracking tokens ([`links`]).
//!
//! The schema version is `PRAGMA user_version` and the file is marked with
//! `PRAGMA application_id` "kflw" (see `schema.rs`).

pub mod contacts;
pub mod db;
pub mod effects;
mod error;
pub mod inbox;
pub mod links;
pub mod messages;
pub mod meta;
mod one_call;
pub mod pg;
pub mod programs;
pub mod retention;
pub mod runs;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};
use tokio::sync::oneshot;

use crate::runtime::Contact;

pub use effects::{Completion, EffectState, OpenEffect};
pub use error::StoreError;
pub use inbox::{Enqueued, InboxItem};
pub use links::LinkOpen;
pub use messages::{MessageRecord, MessageStatus, StatusChange};
pub use runs::RunRecord;

/// The schema version this build creates and understands.
pub fn schema_version() -> u32 {
    schema::current_version()
}

/// Tuning for [`Store::open_with`].
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Most jobs committed in one transaction (default 512).
    pub max_batch: usize,
    /// Most idle read-only connections kept for reuse (default 4).
    pub readers: usize,
    /// How long a statement waits for a lock held by another connection
    /// (default 5 s).
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            max_batch: 512,
            readers: 4,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// What the writer has done since the store was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed (one fsync each).
    pub commits: u64,
    /// Batches whose COMMIT failed (all their jobs were told so).
    pub failed_commits: u64,
    /// Jobs run, successful or not.
    pub jobs: u64,
    /// The most jobs one batch held.
    pub largest_batch: u64,
}

/// The store: one writer thread and a few read-only connections. Cheap to
/// clone (clones share both); the writer stops once the last clone is
/// dropped, after committing every job already queued.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    options: StoreOptions,
    jobs: Option<Sender<Box<dyn writer::Job>>>,
    writer: Option<JoinHandle<()>>,
    counters: Arc<writer::Counters>,
    readers: Mutex<Vec<Connection>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what is queued and stop;
        // waiting for it means the file is closed when the store is gone.
        drop(self.jobs.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Store {
    /// Opens the store at `path` with default options, creating the file
    /// (not its directory) if needed and migrating its schema forward.
    ///
    /// Refused, with a message naming the path: a missing directory, a path
    /// that is a directory, a file that is not a SQLite database or belongs
    /// to another program, and a store written by a newer kflow (its schema
    /// version is beyond this build's).
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with(path, StoreOptions::default())
    }

    /// [`Store::open`] with explicit options.
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open_writer(&path, options.busy_timeout)?;
        let counters = Arc::new(writer::Counters::default());
        let (jobs, queue) = mpsc::channel();
        let writer = {
            let counters = Arc::clone(&counters);
            let max_batch = options.max_batch;
            std::thread::Builder::new()
                .name("kflow-store-writer".to_owned())
                .spawn(move || writer::run(conn, queue, counters, max_batch))
                .map_err(|e| StoreError::Open {
                    path: path.clone(),
                    reason: format!("cannot start the writer thread: {e}"),
                })?
        };
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                options,
                jobs: Some(jobs),
                writer: Some(writer),
                counters,
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The writer's counters.
    pub fn stats(&self) -> WriterStats {
        let c = &self.inner.counters;
        WriterStats {
            commits: c.commits.load(Ordering::Relaxed),
            failed_commits: c.failed_commits.load(Ordering::Relaxed),
            jobs: c.jobs.load(Ordering::Relaxed),
            largest_batch: c.largest_batch.load(Ordering::Relaxed),
        }
    }

    /// Queues `job` for the writer thread and returns a future of its
    /// result, which resolves once the job's transaction has **committed**
    /// (is fsynced). The job runs in a transaction shared with the other
    /// jobs of its batch, inside its own savepoint.
    ///
    /// If the job returns an error (or panics), only its own changes are
    /// rolled back and the error is returned. If the batch's COMMIT fails,
    /// nothing of the batch is stored and every job in it gets
    /// [`StoreError::CommitFailed`] (or its own error). The job is queued by
    /// this call, so jobs run in the order of the calls, and it runs even if
    /// the future is dropped.
    ///
    /// Keep jobs short — they hold up the whole batch — and free of
    /// `COMMIT`/`ROLLBACK` statements of their own.
    pub fn write<R, F>(
        &self,
        job: F,
    ) -> impl Future<Output = Result<R, StoreError>> + Send + 'static
    where
        F: FnOnce(&Transaction<'_>) -> rusqlite::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let queued = match &self.inner.jobs {
            Some(queue) => queue
                .send(Box::new(writer::Typed::new(job, reply)))
                .map_err(|_| StoreError::WriterGone),
            None => Err(StoreError::WriterGone),
        };
        async move {
            queued?;
            answer.await.map_err(|_| StoreError::WriterGone)?
        }
    }

    /// Runs `query` on a read-only connection. It sees every write whose
    /// [`Store::write`] has returned. Blocking, like any rusqlite call; for a
    /// consistent view across several statements, open a transaction on the
    /// connection (`unchecked_transaction`).
    pub fn read<R>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<R>,
    ) -> Result<R, StoreError> {
        let pooled = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => schema::open_reader(&self.inner.path, self.inner.options.busy_timeout)?,
        };
        let result = query(&conn);
        // A connection left inside a transaction would pin an old snapshot.
        if conn.is_autocommit() {
            let mut readers = self.inner.readers.lock().unwrap_or_else(|e| e.into_inner());
            if readers.len() < self.inner.options.readers {
                readers.push(conn);
            }
        }
        Ok(result?)
    }

    // ----- what the service uses alone -----

    /// Stores several events of one webhook atomically (all or none), each
    /// de-duplicated on its own and stamped `now`; returns once they are
    /// durable. Items are `(dedupe_key, source, payload)`.
    pub async fn enqueue_all(
        &self,
        items: Vec<(String, String, String)>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Enqueued>, StoreError> {
        self.write(move |tx| {
            items
                .iter()
                .map(|(key, source, payload)| inbox::enqueue(tx, key, source, payload, now))
                .collect()
        })
        .await
    }

    /// Up to `limit` unprocessed events, oldest first.
    pub fn pending(&self, limit: usize) -> Result<Vec<InboxItem>, StoreError> {
        self.read(|conn| inbox::pending(conn, limit))
    }

    /// Every contact, by id.
    pub fn contacts(&self) -> Result<Vec<Contact>, StoreError> {
        self.read(contacts::load_all)
    }

    /// Every run record, by id.
    pub fn load_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.read(runs::load_all)
    }

    /// Effects begun and never completed, oldest first.
    pub fn in_doubt(&self) -> Result<Vec<OpenEffect>, StoreError> {
        self.read(effects::in_doubt)
    }

    /// One message's record.
    pub fn message(&self, message_id: &str) -> Result<Option<MessageRecord>, StoreError> {
        self.read(|conn| messages::load(conn, message_id))
    }
}

/// A time as stored: Unix microseconds.
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A stored time back to UTC; `column` names the column in the error.
pub(crate) fn time(column: usize, v: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(v).ok_or(rusqlite::Error::IntegralValueOutOfRange(column, v))
}

/// An optional stored time back to UTC.
pub(crate) fn opt_time(column: usize, v: Option<i64>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    v.map(|v| time(column, v)).transpose()
}

/// A `LIMIT` value: SQLite takes a signed integer.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
