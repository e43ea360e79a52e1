//! The PostgreSQL schema: the SQLite store's tables (see `crate::store`),
//! plus what several workers on one database need: each contact's shard on
//! the rows routed by it, the shards' leases, the workers' heartbeats, and
//! the steps in progress (`intents`), one row per step.
//!
//! The version is the one row of `kflow_schema`. Starts are serialised by
//! an advisory lock, so workers starting together apply each step once;
//! steps are append-only, like SQLite's.

use deadpool_postgres::Client;

use super::pg_error;
use crate::store::StoreError;

/// The advisory lock key held while migrating: "kflw".
const MIGRATION_LOCK: i64 = 0x6b66_6c77;

/// The schema steps, oldest first.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema. Times are Unix microseconds, as in SQLite.
    r#"
    CREATE TABLE inbox (
        seq          BIGSERIAL PRIMARY KEY,
        dedupe_key   TEXT    NOT NULL UNIQUE,
        received_at  BIGINT  NOT NULL,
        source       TEXT    NOT NULL,
        payload      TEXT    NOT NULL,
        processed_at BIGINT,
        shard        INTEGER,
        route        TEXT
    );
    CREATE INDEX inbox_pending ON inbox (shard, seq) WHERE processed_at IS NULL;
    CREATE INDEX inbox_unrouted ON inbox (seq) WHERE processed_at IS NULL AND shard IS NULL;
    CREATE INDEX inbox_processed ON inbox (received_at) WHERE processed_at IS NOT NULL;

    CREATE TABLE contacts (
        id   TEXT PRIMARY KEY,
        data TEXT NOT NULL
    );

    CREATE TABLE runs (
        id         BIGINT  PRIMARY KEY,
        workflow   TEXT    NOT NULL,
        version    TEXT    NOT NULL,
        contact    TEXT    NOT NULL,
        shard      INTEGER NOT NULL,
        data       TEXT    NOT NULL,
        due_at     BIGINT,
        waiting_on TEXT,
        stranded   TEXT
    );
    CREATE INDEX runs_contact ON runs (contact);
    CREATE INDEX runs_due ON runs (due_at) WHERE due_at IS NOT NULL AND stranded IS NULL;
    CREATE INDEX runs_waiting_on ON runs (waiting_on) WHERE waiting_on IS NOT NULL;
    CREATE INDEX runs_version ON runs (workflow, version);
    CREATE INDEX runs_stranded ON runs (id) WHERE stranded IS NOT NULL;

    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    INSERT INTO meta (key, value) VALUES ('run_ids_from', '1');

    CREATE TABLE effects (
        key          TEXT   PRIMARY KEY,
        run_id       BIGINT,
        created_at   BIGINT NOT NULL,
        request      TEXT   NOT NULL,
        result       TEXT,
        completed_at BIGINT
    );
    CREATE INDEX effects_open ON effects (created_at) WHERE result IS NULL;
    CREATE INDEX effects_completed ON effects (completed_at) WHERE result IS NOT NULL;

    CREATE TABLE messages (
        message_id TEXT    PRIMARY KEY,
        run_id     BIGINT,
        channel    TEXT,
        status     TEXT    NOT NULL
                   CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
        error      TEXT,
        updated_at BIGINT  NOT NULL,
        shard      INTEGER
    );
    CREATE INDEX messages_updated ON messages (updated_at);

    CREATE TABLE links (
        token      TEXT    PRIMARY KEY,
        message_id TEXT,
        run_id     BIGINT,
        url        TEXT    NOT NULL,
        expires_at BIGINT  NOT NULL,
        opened_at  BIGINT,
        shard      INTEGER NOT NULL
    );
    CREATE INDEX links_expiry ON links (expires_at);

    CREATE TABLE programs (
        workflow  TEXT   NOT NULL,
        version   TEXT   NOT NULL,
        ir        TEXT   NOT NULL,
        loaded_at BIGINT NOT NULL,
        PRIMARY KEY (workflow, version)
    );

    CREATE TABLE shards (
        shard       INTEGER PRIMARY KEY,
        owner       TEXT,
        epoch       BIGINT  NOT NULL DEFAULT 0,
        lease_until TIMESTAMPTZ
    );
    INSERT INTO shards (shard) SELECT generate_series(0, 63);

    CREATE TABLE workers (
        id         TEXT PRIMARY KEY,
        heartbeat  TIMESTAMPTZ NOT NULL,
        started_at TIMESTAMPTZ NOT NULL
    );

    CREATE TABLE intents (
        id     BIGSERIAL PRIMARY KEY,
        worker TEXT      NOT NULL,
        at     BIGINT    NOT NULL,
        seqs   BIGINT[]  NOT NULL,
        shards INTEGER[] NOT NULL
    );
    "#,
];

/// Applies every step the database lacks; refuses a database written by a
/// newer kflow.
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg_error)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS kflow_schema (version INTEGER NOT NULL)")
        .await
        .map_err(pg_error)?;
    let found: Option<i32> = tx
        .query_opt("SELECT version FROM kflow_schema", &[])
        .await
        .map_err(pg_error)?
        .map(|row| row.get(0));
    let found = found.unwrap_or(0);
    let supported = MIGRATIONS.len() as i32;
    if found > supported {
        return Err(StoreError::Postgres(format!(
            "the database has kflow schema version {found}, newer than the {supported} this kflow knows; upgrade kflow"
        )));
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(step).await.map_err(|e| {
            StoreError::Postgres(format!("migrating to schema version {}: {e}", i + 1))
        })?;
    }
    if found < supported {
        tx.execute("DELETE FROM kflow_schema", &[])
            .await
            .map_err(pg_error)?;
        tx.execute(
            "INSERT INTO kflow_schema (version) VALUES ($1)",
            &[&supported],
        )
        .await
        .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)
}
