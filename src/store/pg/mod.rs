//! The store on PostgreSQL, for several `kflowc serve` workers on one
//! database (`[server] database = "postgres://..."`).
//!
//! The tables are the SQLite store's (see [`crate::store`]), with each
//! contact's shard on the rows routed by it; `schema.rs` has them. Any
//! worker accepts webhooks; each event is stored with the shard of the
//! contact it concerns, and only the worker holding that shard's lease
//! processes it (`lease.rs`), so a contact's events are processed in order
//! by one worker at a time, and each deadline is fired by one worker. A
//! status whose message is not yet known when it arrives is routed later,
//! when the send's completion is stored (or after half a minute to a shard
//! of its own, if it never is). `NOTIFY kflow_inbox` wakes the workers
//! when a webhook is stored.
//!
//! Every operation of [`crate::store::db::Db`] is here with the meaning the
//! SQLite one has; statements that carry many rows use `unnest` so a step's
//! commit is a few round trips whatever its size.

mod lease;
mod schema;
mod step;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::Notify;
use tokio_postgres::NoTls;

use super::db::{EffectBegin, EffectEnd, NewEvent, Route, RunCounts, shard_of};
use super::{EffectState, Enqueued, LinkOpen, MessageStatus, OpenEffect, StoreError};
use lease::{Worker, pool_error};

pub(crate) use lease::BALANCE_EVERY;
pub(crate) use step::{begin_step, commit_step, next_due, step_state};

/// Connections kept open per worker.
const POOL_SIZE: usize = 16;

/// The channel `NOTIFY` wakes workers on.
const CHANNEL: &str = "kflow_inbox";

/// The least time between two `NOTIFY`s of one process, in microseconds.
const NOTIFY_EVERY: i64 = 2_000;

/// A worker's connection to the database. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    config: tokio_postgres::Config,
    worker: Worker,
    /// When this process last sent `NOTIFY` (Unix microseconds): at most
    /// one every [`NOTIFY_EVERY`], since each takes a lock every commit in
    /// the database shares, and one wakes every worker anyway.
    notified: std::sync::atomic::AtomicI64,
    /// Background tasks (lease renewal, the listener), stopped on drop.
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in self
            .tasks
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("worker", &self.inner.worker.id)
            .finish()
    }
}

pub(crate) fn pg_error(e: tokio_postgres::Error) -> StoreError {
    // The server's own message (with its detail) says the most.
    match e.as_db_error() {
        Some(db) => StoreError::Postgres(format!("{}: {}", db.code().code(), db.message())),
        None => StoreError::Postgres(e.to_string()),
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`,
    /// with `password` if given), migrates its schema forward and starts
    /// renewing this worker's leases. Holds no shard until
    /// [`PgStore::balance`].
    pub async fn connect(url: &str, password: Option<&str>) -> Result<PgStore, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Postgres(format!("the database URL is not valid: {e}")))?;
        if let Some(p) = password {
            config.password(p);
        }
        config.application_name("kflow");
        config.connect_timeout(std::time::Duration::from_secs(10));
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Postgres(e.to_string()))?;
        let mut client = pool.get().await.map_err(pool_error)?;
        schema::migrate(&mut client).await?;
        drop(client);
        let id = format!(
            "{}-{}-{:08x}",
            hostname(),
            std::process::id(),
            rand::random::<u32>()
        );
        let store = PgStore {
            inner: Arc::new(Inner {
                pool,
                config,
                worker: Worker::new(id),
                notified: std::sync::atomic::AtomicI64::new(0),
                tasks: Mutex::new(Vec::new()),
            }),
        };
        store.spawn_renewal();
        Ok(store)
    }

    fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    fn worker(&self) -> &Worker {
        &self.inner.worker
    }

    /// This worker's id (in logs and in the `workers` table).
    pub fn worker_id(&self) -> &str {
        &self.inner.worker.id
    }

    /// Whether this worker may still act for `contact`: it holds the
    /// contact's shard and the lease surely runs (see `lease.rs`).
    pub fn holds_contact(&self, contact: &str) -> bool {
        self.worker().holds(shard_of(contact))
    }

    /// The shards this worker holds now.
    pub fn shards(&self) -> Vec<i32> {
        self.worker().shards()
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(task);
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    /// Renews the leases every `RENEW_EVERY`, whatever the steps are doing.
    /// Holds only a weak reference, so dropping the store stops it.
    fn spawn_renewal(&self) {
        let weak = Arc::downgrade(&self.inner);
        self.spawn(async move {
            loop {
                tokio::time::sleep(lease::RENEW_EVERY).await;
                let Some(inner) = weak.upgrade() else { return };
                let renewed = match inner.pool.get().await {
                    Ok(client) => lease::renew(&client, &inner.worker).await,
                    Err(e) => Err(pool_error(e)),
                };
                if let Err(e) = renewed {
                    tracing::warn!(worker = %inner.worker.id, error = %e, "could not renew leases");
                }
            }
        });
    }

    /// Wakes `wake` whenever any worker stores a webhook (`LISTEN`), on a
    /// connection of its own that is opened again if it drops.
    pub fn listen(&self, wake: Arc<Notify>) {
        let config = self.inner.config.clone();
        self.spawn(async move {
            loop {
                if let Err(e) = listen_once(&config, &wake).await {
                    tracing::warn!(error = %e, "lost the PostgreSQL notification connection; reconnecting");
                }
                // Wake anyway: something may have arrived while deaf.
                wake.notify_one();
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
    }

    /// Takes or gives back shards so every live worker holds its share;
    /// call between steps.
    pub async fn balance(&self) -> Result<(), StoreError> {
        lease::balance(self.pool(), self.worker()).await
    }

    /// Gives back every shard (a clean shutdown), so other workers take
    /// them over at once instead of after the lease.
    pub async fn release(&self) -> Result<(), StoreError> {
        lease::release_all(self.pool(), self.worker()).await
    }

    /// Wakes the other workers (`NOTIFY`), unless this process did less
    /// than [`NOTIFY_EVERY`] ago. Best effort: a worker not woken finds the
    /// event within a second anyway.
    async fn notify(&self, client: &deadpool_postgres::Object) {
        use std::sync::atomic::Ordering;
        let now = Utc::now().timestamp_micros();
        let last = self.inner.notified.load(Ordering::Relaxed);
        if now - last < NOTIFY_EVERY
            || self
                .inner
                .notified
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Err(e) = client
            .execute("SELECT pg_notify($1, '')", &[&CHANNEL])
            .await
        {
            tracing::debug!(error = %e, "NOTIFY failed; workers find the event on their next look");
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool().get().await.map_err(pool_error)
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kflow".to_owned())
}

/// Listens until the connection ends.
async fn listen_once(config: &tokio_postgres::Config, wake: &Notify) -> Result<(), StoreError> {
    use futures_util::StreamExt as _;
    let (client, mut connection) = config.connect(NoTls).await.map_err(pg_error)?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let statement = format!("LISTEN {CHANNEL}");
    let listened = client.batch_execute(&statement);
    tokio::pin!(listened);
    let mut listening = false;
    loop {
        tokio::select! {
            done = &mut listened, if !listening => {
                done.map_err(pg_error)?;
                listening = true;
            }
            message = messages.next() => match message {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(_))) => wake.notify_one(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(pg_error(e)),
                None => return Ok(()),
            }
        }
    }
}

/// Times as stored: Unix microseconds.
fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::Postgres(format!("a stored time is out of range: {v}")))
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Postgres(format!("{v} is beyond a BIGINT")))
}

pub(crate) async fn enqueue_all(
    store: &PgStore,
    events: Vec<NewEvent>,
    now: DateTime<Utc>,
) -> Result<Vec<Enqueued>, StoreError> {
    let mut keys = Vec::with_capacity(events.len());
    let mut sources = Vec::with_capacity(events.len());
    let mut payloads = Vec::with_capacity(events.len());
    let mut shards: Vec<Option<i32>> = Vec::with_capacity(events.len());
    let mut routes: Vec<Option<&str>> = Vec::with_capacity(events.len());
    for e in &events {
        keys.push(e.key.as_str());
        sources.push(e.source.as_str());
        payloads.push(e.payload.as_str());
        match &e.route {
            Route::Contact(c) => {
                shards.push(Some(shard_of(c)));
                routes.push(None);
            }
            Route::Message(m) => {
                shards.push(None);
                routes.push(Some(m.as_str()));
            }
        }
    }
    let client = store.client().await?;
    // One statement, so one round trip and atomic without a transaction
    // block: every event of the webhook is stored, or none. A status takes
    // its message's shard when the message is known already.
    let insert = client
        .prepare_cached(
            "INSERT INTO inbox (dedupe_key, received_at, source, payload, shard, route)
             SELECT e.key, $1, e.source, e.payload,
                    COALESCE(e.shard, (SELECT m.shard FROM messages m WHERE m.message_id = e.route)),
                    e.route
             FROM unnest($2::text[], $3::text[], $4::text[], $5::integer[], $6::text[])
                  WITH ORDINALITY AS e(key, source, payload, shard, route, n)
             ORDER BY e.n
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key, seq",
        )
        .await
        .map_err(pg_error)?;
    let rows = client
        .query(
            &insert,
            &[&micros(now), &keys, &sources, &payloads, &shards, &routes],
        )
        .await
        .map_err(pg_error)?;
    let stored: std::collections::HashMap<String, i64> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    if !stored.is_empty() {
        store.notify(&client).await;
    }
    Ok(keys
        .iter()
        .map(|k| {
            stored
                .get(*k)
                .map_or(Enqueued::Duplicate, |seq| Enqueued::New(to_u64(*seq)))
        })
        .collect())
}

const LINK_ROW: &str =
    "SELECT message_id, run_id, url, expires_at, opened_at, shard FROM links WHERE token = $1";

fn link_row(row: &tokio_postgres::Row) -> super::links::LinkRow {
    (
        row.get(0),
        row.get::<_, Option<i64>>(1).map(to_u64),
        row.get(2),
        row.get(3),
        row.get(4),
    )
}

fn decided(
    row: Option<super::links::LinkRow>,
    now: DateTime<Utc>,
) -> Result<(LinkOpen, bool), StoreError> {
    super::links::decide(row, now)
        .ok_or_else(|| StoreError::Postgres("a link's expiry is out of range".into()))
}

pub(crate) async fn link_peek(
    store: &PgStore,
    token: &str,
    now: DateTime<Utc>,
) -> Result<LinkOpen, StoreError> {
    let client = store.client().await?;
    let row = client
        .query_opt(LINK_ROW, &[&token])
        .await
        .map_err(pg_error)?;
    Ok(decided(row.as_ref().map(link_row), now)?.0)
}

pub(crate) async fn link_open(
    store: &PgStore,
    token: &str,
    key: &str,
    event: &str,
    now: DateTime<Utc>,
) -> Result<LinkOpen, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg_error)?;
    let row = tx
        .query_opt(&format!("{LINK_ROW} FOR UPDATE"), &[&token])
        .await
        .map_err(pg_error)?;
    let shard: Option<i32> = row.as_ref().map(|r| r.get(5));
    let (open, first) = decided(row.as_ref().map(link_row), now)?;
    if first {
        tx.execute(
            "UPDATE links SET opened_at = $2 WHERE token = $1",
            &[&token, &micros(now)],
        )
        .await
        .map_err(pg_error)?;
        tx.execute(
            "INSERT INTO inbox (dedupe_key, received_at, source, payload, shard)
             VALUES ($1, $2, 'link', $3, $4) ON CONFLICT (dedupe_key) DO NOTHING",
            &[&key, &micros(now), &event, &shard],
        )
        .await
        .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)?;
    if first {
        store.notify(&client).await;
    }
    Ok(open)
}

async fn meta(store: &PgStore, key: &str) -> Result<Option<String>, StoreError> {
    let client = store.client().await?;
    Ok(client
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
        .await
        .map_err(pg_error)?
        .map(|r| r.get(0)))
}

pub(crate) async fn clock_origin(
    store: &PgStore,
    wall: DateTime<Utc>,
) -> Result<DateTime<Utc>, StoreError> {
    let client = store.client().await?;
    client
        .execute(
            "INSERT INTO meta (key, value) VALUES ('clock_origin', $1) ON CONFLICT (key) DO NOTHING",
            &[&wall.to_rfc3339()],
        )
        .await
        .map_err(pg_error)?;
    drop(client);
    Ok(meta(store, "clock_origin")
        .await?
        .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map_or(wall, |t| t.with_timezone(&Utc)))
}

pub(crate) async fn run_ids_from(store: &PgStore) -> Result<u64, StoreError> {
    Ok(meta(store, "run_ids_from")
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(1))
}

pub(crate) async fn in_doubt(store: &PgStore) -> Result<Vec<OpenEffect>, StoreError> {
    let client = store.client().await?;
    let rows = client
        .query(
            "SELECT key, run_id, created_at, request FROM effects
             WHERE result IS NULL ORDER BY created_at, key",
            &[],
        )
        .await
        .map_err(pg_error)?;
    rows.iter()
        .map(|r| {
            Ok(OpenEffect {
                key: r.get(0),
                run_id: r.get::<_, Option<i64>>(1).map(to_u64),
                created_at: time(r.get(2))?,
                request: r.get(3),
            })
        })
        .collect()
}

pub(crate) async fn unstrand(store: &PgStore) -> Result<usize, StoreError> {
    let client = store.client().await?;
    let n = client
        .execute(
            "UPDATE runs SET stranded = NULL WHERE stranded IS NOT NULL",
            &[],
        )
        .await
        .map_err(pg_error)?;
    Ok(n as usize)
}

pub(crate) async fn save_program(
    store: &PgStore,
    workflow: &str,
    version: &str,
    ir: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let client = store.client().await?;
    client
        .execute(
            "INSERT INTO programs (workflow, version, ir, loaded_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (workflow, version) DO UPDATE SET loaded_at = excluded.loaded_at",
            &[&workflow, &version, &ir, &micros(now)],
        )
        .await
        .map_err(pg_error)?;
    Ok(())
}

pub(crate) async fn load_program(
    store: &PgStore,
    workflow: &str,
    version: &str,
) -> Result<Option<String>, StoreError> {
    let client = store.client().await?;
    Ok(client
        .query_opt(
            "SELECT ir FROM programs WHERE workflow = $1 AND version = $2",
            &[&workflow, &version],
        )
        .await
        .map_err(pg_error)?
        .map(|r| r.get(0)))
}

pub(crate) async fn link_message_id(
    store: &PgStore,
    token: &str,
) -> Result<Option<String>, StoreError> {
    let client = store.client().await?;
    Ok(client
        .query_opt("SELECT message_id FROM links WHERE token = $1", &[&token])
        .await
        .map_err(pg_error)?
        .and_then(|r| r.get(0)))
}

pub(crate) async fn message_status(
    store: &PgStore,
    message_id: &str,
) -> Result<Option<MessageStatus>, StoreError> {
    let client = store.client().await?;
    let status: Option<String> = client
        .query_opt(
            "SELECT status FROM messages WHERE message_id = $1",
            &[&message_id],
        )
        .await
        .map_err(pg_error)?
        .map(|r| r.get(0));
    Ok(status.and_then(|s| s.parse().ok()))
}

pub(crate) async fn effect_begin(
    store: &PgStore,
    begin: EffectBegin,
    now: DateTime<Utc>,
) -> Result<EffectState, StoreError> {
    let client = store.client().await?;
    let (token, url, expires) = match &begin.link {
        Some((t, u, e)) => (Some(t.as_str()), Some(u.as_str()), Some(micros(*e))),
        None => (None, None, None),
    };
    // One statement: the begin and a CTA's link together, or neither. Its
    // final SELECT sees the table as it was before the statement, so an
    // existing entry's result tells a completed send from one in doubt.
    let row = client
        .query_one(
            "WITH ins AS (
                 INSERT INTO effects (key, run_id, created_at, request) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO NOTHING RETURNING key
             ), link AS (
                 INSERT INTO links (token, run_id, url, expires_at, shard)
                 SELECT $5::text, $2, $6::text, $7::bigint, $8
                 WHERE $5::text IS NOT NULL AND EXISTS (SELECT 1 FROM ins)
             )
             SELECT EXISTS (SELECT 1 FROM ins), (SELECT result FROM effects WHERE key = $1)",
            &[
                &begin.key,
                &to_i64(begin.run)?,
                &micros(now),
                &begin.request,
                &token,
                &url,
                &expires,
                &shard_of(&begin.contact),
            ],
        )
        .await
        .map_err(pg_error)?;
    let inserted: bool = row.get(0);
    let result: Option<String> = row.get(1);
    Ok(match (inserted, result) {
        (true, _) => EffectState::Fresh,
        (false, Some(result)) => EffectState::Completed(result),
        (false, None) => EffectState::InDoubt,
    })
}

pub(crate) async fn effect_end(
    store: PgStore,
    end: EffectEnd,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let client = store.client().await?;
    client
        .execute(
            "WITH e AS (
                 UPDATE effects SET result = $2, completed_at = $3 WHERE key = $1 AND result IS NULL
             ), m AS (
                 INSERT INTO messages (message_id, run_id, channel, status, updated_at, shard)
                 SELECT $4::text, $5, $6, 'sent', $3, $7 WHERE $4::text IS NOT NULL
                 ON CONFLICT (message_id) DO UPDATE SET
                     run_id = COALESCE(messages.run_id, excluded.run_id),
                     channel = COALESCE(messages.channel, excluded.channel),
                     shard = COALESCE(messages.shard, excluded.shard)
             ), l AS (
                 UPDATE links SET message_id = $4::text WHERE token = $8::text AND $4::text IS NOT NULL
             )
             SELECT 1",
            &[
                &end.key,
                &end.result,
                &micros(now),
                &end.message_id,
                &to_i64(end.run)?,
                &end.channel,
                &shard_of(&end.contact),
                &end.token,
            ],
        )
        .await
        .map_err(pg_error)?;
    Ok(())
}

pub(crate) async fn prune(
    store: &PgStore,
    table: &str,
    cutoff: DateTime<Utc>,
    batch: usize,
) -> Result<usize, StoreError> {
    let Some(sql) = super::retention::statement(table) else {
        return Ok(0);
    };
    let client = store.client().await?;
    let n = client
        .execute(
            sql,
            &[&micros(cutoff), &i64::try_from(batch).unwrap_or(i64::MAX)],
        )
        .await
        .map_err(pg_error)?;
    Ok(n as usize)
}

pub(crate) async fn pending_count(store: &PgStore) -> Result<u64, StoreError> {
    let client = store.client().await?;
    let n: i64 = client
        .query_one("SELECT count(*) FROM inbox WHERE processed_at IS NULL", &[])
        .await
        .map_err(pg_error)?
        .get(0);
    Ok(to_u64(n))
}

pub(crate) async fn run_counts(store: &PgStore) -> Result<RunCounts, StoreError> {
    let client = store.client().await?;
    let row = client
        .query_one(
            "SELECT count(*), count(due_at) FROM runs WHERE stranded IS NULL",
            &[],
        )
        .await
        .map_err(pg_error)?;
    Ok(RunCounts {
        active: to_u64(row.get(0)),
        timers: to_u64(row.get(1)),
    })
}
