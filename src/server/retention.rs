//! `[retention]` and the pruner: how long the service keeps what it no
//! longer needs, and the task that forgets it on a schedule, in small
//! batches (see `store::retention` for what is prunable).
//!
//! Ages count on the service clock, so a sped-up test clock (`time_scale`)
//! ages rows as fast as it runs workflows.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Deserialize;
use tokio::sync::watch;

use super::clock::ServiceClock;
use super::metrics::Metrics;
use crate::store::{self, db::Db};

/// `[retention]`: ages as kflow durations (`30d`, `12h`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    /// Processed inbox events, counted from when they arrived. Their keys
    /// de-duplicate webhook retries, which Meta makes for up to 7 days.
    #[serde(default = "thirty_days")]
    pub inbox: String,
    /// Completed sends in the effect ledger (of runs no longer waiting).
    #[serde(default = "thirty_days")]
    pub effects: String,
    /// Delivery statuses of messages no waiting run sent.
    #[serde(default = "thirty_days")]
    pub messages: String,
    /// Tracking links, counted from their expiry.
    #[serde(default = "thirty_days")]
    pub links: String,
    /// Workflow versions no run runs on, counted from the last start that
    /// loaded them.
    #[serde(default = "thirty_days")]
    pub programs: String,
    /// How often the pruner runs.
    #[serde(default = "ten_minutes")]
    pub every: String,
    /// Rows deleted per transaction, so a pass never holds the writer long.
    #[serde(default = "default_batch")]
    pub batch: usize,
}

impl Default for RetentionSection {
    fn default() -> RetentionSection {
        RetentionSection {
            inbox: thirty_days(),
            effects: thirty_days(),
            messages: thirty_days(),
            links: thirty_days(),
            programs: thirty_days(),
            every: ten_minutes(),
            batch: default_batch(),
        }
    }
}

fn thirty_days() -> String {
    "30d".to_owned()
}

fn ten_minutes() -> String {
    "10m".to_owned()
}

fn default_batch() -> usize {
    500
}

/// The section, read: seconds for each table, in `store::retention::TABLES`
/// order, and the interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Retention {
    pub(super) keep: [(&'static str, u64); 5],
    pub(super) every: u64,
    pub(super) batch: usize,
}

/// The shortest inbox retention that still de-duplicates Meta's retries.
pub(super) const META_RETRIES_SECONDS: u64 = 7 * 86_400;

impl RetentionSection {
    /// Reads the durations; an unreadable one, a zero interval or a zero
    /// batch is an error naming the key.
    pub(super) fn read(&self) -> Result<Retention, String> {
        let age = |key: &str, text: &str| {
            crate::duration::parse(text)
                .map_err(|e| format!("[retention] {key} = \"{text}\": {e}"))
                .and_then(|s| {
                    if s == 0 {
                        Err(format!("[retention] {key} must be more than zero"))
                    } else {
                        Ok(s)
                    }
                })
        };
        let keep = [
            ("inbox", age("inbox", &self.inbox)?),
            ("effects", age("effects", &self.effects)?),
            ("messages", age("messages", &self.messages)?),
            ("links", age("links", &self.links)?),
            ("programs", age("programs", &self.programs)?),
        ];
        if self.batch == 0 {
            return Err("[retention] batch must be at least 1".into());
        }
        Ok(Retention {
            keep,
            every: age("every", &self.every)?,
            batch: self.batch,
        })
    }
}

/// Prunes every table once, a batch per transaction; returns the rows
/// deleted per table.
pub(super) async fn pass(
    db: &Db,
    clock: &ServiceClock,
    retention: &Retention,
) -> Result<[(&'static str, u64); 5], store::StoreError> {
    let now = clock.now();
    let mut deleted = retention.keep.map(|(table, _)| (table, 0u64));
    for (i, (table, keep)) in retention.keep.iter().enumerate() {
        let cutoff =
            now - chrono::Duration::seconds(i64::try_from(*keep).unwrap_or(i64::MAX / 1_000_000));
        let batch = retention.batch;
        loop {
            let table = *table;
            let n = db.prune(table, cutoff, batch).await?;
            deleted[i].1 += n as u64;
            if n < batch {
                break;
            }
            // Let webhooks and the engine's commit in between batches.
            tokio::task::yield_now().await;
        }
    }
    Ok(deleted)
}

/// Runs a pass every `retention.every` of service time until shutdown.
pub(super) async fn run(
    db: Db,
    clock: ServiceClock,
    retention: Retention,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match pass(&db, &clock, &retention).await {
            Ok(deleted) => {
                let total: u64 = deleted.iter().map(|(_, n)| n).sum();
                metrics.rows_pruned.fetch_add(total, Ordering::Relaxed);
                if total > 0 {
                    tracing::info!(
                        inbox = deleted[0].1,
                        effects = deleted[1].1,
                        messages = deleted[2].1,
                        links = deleted[3].1,
                        programs = deleted[4].1,
                        "pruned rows past their retention"
                    );
                }
            }
            Err(e) => tracing::error!(error = %e, "pruning failed; it is tried again next time"),
        }
        let next = clock.now()
            + chrono::Duration::seconds(
                i64::try_from(retention.every).unwrap_or(i64::MAX / 1_000_000),
            );
        tokio::select! {
            _ = tokio::time::sleep(clock.real_until(next)) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
