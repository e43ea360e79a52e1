//! Which worker processes which contacts: shards and their leases.
//!
//! Contacts are spread over [`SHARDS`] shards by a hash of their id
//! ([`crate::store::db::shard_of`]); every event, run, message and link of
//! a contact carries its shard. A worker processes only the shards it
//! holds a lease on, so each contact's events are processed by one worker
//! at a time, in arrival order, and each deadline is fired by one worker.
//!
//! - A lease lasts [`LEASE`] on the database's clock and is renewed every
//!   [`RENEW_EVERY`] by a task of its own, so a long step (a slow provider)
//!   does not lose it.
//! - Between steps a worker heartbeats, counts the live workers and takes
//!   free or expired shards up to its fair share (`ceil(64 / live)`),
//!   releasing what it holds beyond it, so shards spread over the workers
//!   as they come and go. Taking a shard bumps its epoch.
//! - Every write that a step's decisions depend on (its record, its
//!   commit) checks, in its own transaction, that the worker still holds
//!   each of the step's shards at the epoch it took them with, and locks
//!   those rows until it commits ([`fence`]). A worker whose lease ran out
//!   (it was paused, or cut off) finds it lost them, and its step is
//!   abandoned; the new owner redoes the step from its record, and sends it
//!   repeats are found in the effect ledger.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use deadpool_postgres::{GenericClient, Pool};

use super::pg_error;
use crate::store::StoreError;
use crate::store::db::SHARDS;

/// How long a lease lasts without renewal.
pub(crate) const LEASE: Duration = Duration::from_secs(10);

/// How often a worker renews its leases.
pub(crate) const RENEW_EVERY: Duration = Duration::from_secs(2);

/// How often a worker looks for shards to take or give back between steps.
pub(crate) const BALANCE_EVERY: Duration = Duration::from_secs(1);

/// How much sooner than the database a worker counts its leases out: the
/// two clocks may run at slightly different rates, and a send decided on a
/// lease about to end must not reach the provider after it.
const MARGIN: Duration = Duration::from_secs(2);

/// This process as a worker: its id and the shards it holds, with the
/// epoch each was taken at.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) id: String,
    held: Mutex<BTreeMap<i32, i64>>,
    /// Until when, on this machine's monotonic clock, the leases of the
    /// shards held surely run: the start of the last renewal that found
    /// them all, plus the lease, less [`MARGIN`]. A process paused past it
    /// (SIGSTOP, a frozen machine) finds it passed when it wakes.
    valid_until: Mutex<Option<Instant>>,
}

impl Worker {
    pub(crate) fn new(id: String) -> Worker {
        Worker {
            id,
            held: Mutex::new(BTreeMap::new()),
            valid_until: Mutex::new(None),
        }
    }

    /// Whether this worker surely still holds `shard`: held, and its lease
    /// not yet run out.
    pub(crate) fn holds(&self, shard: i32) -> bool {
        let until = *self.valid_until.lock().unwrap_or_else(|e| e.into_inner());
        until.is_some_and(|u| Instant::now() < u) && self.held().contains_key(&shard)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, i64>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The shards held now.
    pub(crate) fn shards(&self) -> Vec<i32> {
        self.held().keys().copied().collect()
    }

    /// The epochs `shards` were taken at (a shard no longer held has none).
    fn epochs(&self, shards: &[i32]) -> Vec<Option<i64>> {
        let held = self.held();
        shards.iter().map(|s| held.get(s).copied()).collect()
    }

    /// Forgets shards found taken by another worker.
    fn lose(&self, shards: &[i32]) {
        let mut held = self.held();
        for s in shards {
            held.remove(s);
        }
    }
}

/// The interval as PostgreSQL reads it.
fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Heartbeats, then takes free or expired shards up to the fair share and
/// gives back any beyond it. Call between steps only: a shard given back
/// must have no step in progress.
pub(crate) async fn balance(pool: &Pool, worker: &Worker) -> Result<(), StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let lease = seconds(LEASE);
    client
        .execute(
            "INSERT INTO workers (id, heartbeat, started_at) VALUES ($1, now(), now())
             ON CONFLICT (id) DO UPDATE SET heartbeat = now()",
            &[&worker.id],
        )
        .await
        .map_err(pg_error)?;
    // Workers silent for six leases are gone for good.
    client
        .execute(
            "DELETE FROM workers WHERE heartbeat < now() - make_interval(secs => $1)",
            &[&(6.0 * lease)],
        )
        .await
        .map_err(pg_error)?;
    let live: i64 = client
        .query_one(
            "SELECT count(*) FROM workers WHERE heartbeat > now() - make_interval(secs => $1)",
            &[&lease],
        )
        .await
        .map_err(pg_error)?
        .get(0);
    let fair = (i64::from(SHARDS) + live.max(1) - 1) / live.max(1);
    renew(&client, worker).await?;
    let held = worker.shards().len() as i64;
    if held < fair {
        let taken = client
            .query(
                "UPDATE shards SET owner = $1, epoch = epoch + 1,
                     lease_until = now() + make_interval(secs => $2)
                 WHERE shard IN (SELECT shard FROM shards
                     WHERE owner IS NULL OR lease_until IS NULL OR lease_until < now()
                     ORDER BY shard LIMIT $3 FOR UPDATE SKIP LOCKED)
                 RETURNING shard, epoch",
                &[&worker.id, &lease, &(fair - held)],
            )
            .await
            .map_err(pg_error)?;
        if !taken.is_empty() {
            // Taken in the same breath as the renewal above, whose start
            // already bounds their leases too.
            let mut map = worker.held();
            for row in &taken {
                map.insert(row.get(0), row.get(1));
            }
            tracing::info!(
                worker = %worker.id,
                taken = taken.len(),
                held = map.len(),
                live,
                "took shards"
            );
        }
    } else if held > fair {
        let extra: Vec<i32> = worker
            .shards()
            .into_iter()
            .rev()
            .take((held - fair) as usize)
            .collect();
        client
            .execute(
                "UPDATE shards SET owner = NULL, lease_until = NULL
                 WHERE owner = $1 AND shard = ANY($2)",
                &[&worker.id, &extra],
            )
            .await
            .map_err(pg_error)?;
        worker.lose(&extra);
        tracing::info!(worker = %worker.id, released = extra.len(), live, "gave shards back to share them");
    }
    Ok(())
}

/// Extends the leases of every shard held; forgets the ones another worker
/// took since (possible only once a lease ran out).
pub(crate) async fn renew(
    client: &deadpool_postgres::Client,
    worker: &Worker,
) -> Result<(), StoreError> {
    let asked = Instant::now();
    let rows = client
        .query(
            "UPDATE shards SET lease_until = now() + make_interval(secs => $2)
             WHERE owner = $1 RETURNING shard, epoch",
            &[&worker.id, &seconds(LEASE)],
        )
        .await
        .map_err(pg_error)?;
    // The leases found run at least LEASE from when the renewal was asked.
    *worker.valid_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(asked + LEASE - MARGIN);
    let still: BTreeMap<i32, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let lost: Vec<i32> = worker
        .shards()
        .into_iter()
        .filter(|s| !still.contains_key(s))
        .collect();
    if !lost.is_empty() {
        tracing::warn!(worker = %worker.id, shards = ?lost, "lost shards to another worker");
        worker.lose(&lost);
    }
    Ok(())
}

/// Gives back every shard, so other workers take them at once (a clean
/// shutdown).
pub(crate) async fn release_all(pool: &Pool, worker: &Worker) -> Result<(), StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    client
        .execute(
            "UPDATE shards SET owner = NULL, lease_until = NULL WHERE owner = $1",
            &[&worker.id],
        )
        .await
        .map_err(pg_error)?;
    client
        .execute("DELETE FROM workers WHERE id = $1", &[&worker.id])
        .await
        .map_err(pg_error)?;
    let all = worker.shards();
    worker.lose(&all);
    Ok(())
}

/// Inside a transaction: checks that the worker still holds `shards` at
/// the epochs it took them with and that their leases run, and locks those
/// rows until the transaction ends, so no other worker can take them in
/// between. Fails with [`StoreError::Fenced`] (and forgets the shards lost)
/// otherwise.
pub(crate) async fn fence(
    tx: &deadpool_postgres::Transaction<'_>,
    worker: &Worker,
    shards: &[i32],
) -> Result<(), StoreError> {
    if shards.is_empty() {
        return Ok(());
    }
    let rows = tx
        .query(
            "SELECT shard, epoch FROM shards
             WHERE shard = ANY($1) AND owner = $2 AND lease_until > now()
             FOR SHARE",
            &[&shards, &worker.id],
        )
        .await
        .map_err(pg_error)?;
    let found: BTreeMap<i32, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let lost: Vec<i32> = shards
        .iter()
        .zip(worker.epochs(shards))
        .filter(|(s, epoch)| epoch.is_none() || found.get(s).copied() != *epoch)
        .map(|(s, _)| *s)
        .collect();
    if lost.is_empty() {
        return Ok(());
    }
    worker.lose(&lost);
    Err(StoreError::Fenced(format!(
        "worker {} no longer holds shard(s) {lost:?}",
        worker.id
    )))
}

pub(crate) fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Postgres(e.to_string())
}
