//! The single writer: one thread owns the write connection and commits jobs
//! in groups.
//!
//! The thread blocks until a job arrives, then takes every job already
//! waiting (up to `max_batch`) into one `BEGIN IMMEDIATE` transaction. Each
//! job runs inside its own `SAVEPOINT`, so a job that fails (or panics) is
//! rolled back alone and its batch-mates still commit. One `COMMIT` — one
//! fsync of the WAL under `synchronous=FULL` — then makes the whole batch
//! durable, and only then is each job answered. No timer is involved: while
//! one batch is being committed the next one queues up, so batches grow with
//! the load and a lone job waits for nothing but its own fsync.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use super::StoreError;

/// Counters the writer keeps; read them with [`super::Store::stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) commits: AtomicU64,
    pub(crate) failed_commits: AtomicU64,
    pub(crate) jobs: AtomicU64,
    pub(crate) largest_batch: AtomicU64,
}

/// A job queued for the writer, its result type erased.
pub(crate) trait Job: Send {
    /// Runs the job in the batch's transaction; false when it failed (its
    /// savepoint must then be rolled back).
    fn run(&mut self, tx: &Transaction<'_>) -> bool;
    /// Records an error met around the job (its savepoint could not be set).
    fn fail(&mut self, error: StoreError);
    /// Answers the caller once the batch's fate is known: `commit` is the
    /// COMMIT's error, if it failed.
    fn answer(self: Box<Self>, commit: Option<&str>);
}

/// A typed job: the closure, then its result, and where to send it.
pub(crate) struct Typed<F, R> {
    work: Option<F>,
    result: Option<Result<R, StoreError>>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<F, R> Typed<F, R> {
    pub(crate) fn new(work: F, reply: oneshot::Sender<Result<R, StoreError>>) -> Typed<F, R> {
        Typed {
            work: Some(work),
            result: None,
            reply,
        }
    }
}

impl<F, R> Job for Typed<F, R>
where
    F: FnOnce(&Transaction<'_>) -> rusqlite::Result<R> + Send,
    R: Send,
{
    fn run(&mut self, tx: &Transaction<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = match catch_unwind(AssertUnwindSafe(|| work(tx))) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(StoreError::Sql(e)),
            Err(_) => Err(StoreError::JobPanicked),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn fail(&mut self, error: StoreError) {
        self.result = Some(Err(error));
    }

    fn answer(self: Box<Self>, commit: Option<&str>) {
        let result = match (self.result, commit) {
            // A job's own error says more than the batch's.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(_)), Some(e)) | (None, Some(e)) => Err(StoreError::CommitFailed(e.to_owned())),
            (Some(Ok(value)), None) => Ok(value),
            (None, None) => Err(StoreError::CommitFailed("the job did not run".to_owned())),
        };
        // The caller may have stopped waiting; its job is stored regardless.
        let _ = self.reply.send(result);
    }
}

/// The writer thread's loop; returns when every sender is gone and the
/// queue is drained.
pub(crate) fn run(
    mut conn: Connection,
    jobs: Receiver<Box<dyn Job>>,
    counters: Arc<Counters>,
    max_batch: usize,
) {
    let max_batch = max_batch.max(1);
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = run_batch(&mut conn, &mut batch);
        match &outcome {
            Ok(()) => counters.commits.fetch_add(1, Ordering::Relaxed),
            Err(_) => counters.failed_commits.fetch_add(1, Ordering::Relaxed),
        };
        counters
            .jobs
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        counters
            .largest_batch
            .fetch_max(batch.len() as u64, Ordering::Relaxed);
        let error = outcome.err();
        for job in batch.drain(..) {
            job.answer(error.as_deref());
        }
    }
}

/// Runs one batch in one transaction; `Err` when nothing of it was stored.
fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| format!("cannot begin: {e}"))?;
    for job in batch.iter_mut() {
        if let Err(e) = tx
            .prepare_cached("SAVEPOINT kflow_job")
            .and_then(|mut s| s.execute([]))
        {
            job.fail(StoreError::Sql(e));
            continue;
        }
        let ok = job.run(&tx);
        // Some errors (I/O, disk full) make SQLite roll back the whole
        // transaction; then every job run so far is lost with it.
        if tx.is_autocommit() {
            return Err("SQLite rolled the batch back after an error".to_owned());
        }
        let rollback = if ok {
            Ok(0)
        } else {
            tx.prepare_cached("ROLLBACK TO kflow_job")
                .and_then(|mut s| s.execute([]))
        };
        // Without the savepoint closed the batch is in an unknown state:
        // drop it whole (rolled back when `tx` drops).
        rollback
            .and_then(|_| tx.prepare_cached("RELEASE kflow_job")?.execute([]))
            .map_err(|e| format!("cannot close a job's savepoint: {e}"))?;
    }
    tx.commit().map_err(|e| e.to_string())?;
    Ok(())
}
