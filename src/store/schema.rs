//! Opening a database file: pragmas, then the schema migrations.
//!
//! The schema version is `PRAGMA user_version`: the number of steps of
//! [`MIGRATIONS`] applied. Each step runs in its own `BEGIN IMMEDIATE`
//! transaction together with the version bump, so a crash mid-migration
//! leaves the file at the previous version and the next start retries it.
//! Steps are append-only: never edit a released one, add the next.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::StoreError;

/// `PRAGMA application_id` of a kflow store: "kflw" in ASCII.
pub(crate) const APPLICATION_ID: i32 = 0x6b66_6c77;

/// Prepared statements kept per connection: every statement of the store's
/// modules fits, so none is parsed twice.
const STATEMENT_CACHE: usize = 64;

/// The schema steps, oldest first; step `i` takes the file to version `i + 1`.
/// `super` (the module doc) describes every table.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE inbox (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        dedupe_key   TEXT    NOT NULL UNIQUE,
        received_at  INTEGER NOT NULL,
        source       TEXT    NOT NULL,
        payload      TEXT    NOT NULL,
        processed_at INTEGER
    );
    CREATE INDEX inbox_pending ON inbox (seq) WHERE processed_at IS NULL;

    CREATE TABLE contacts (
        id   TEXT PRIMARY KEY,
        data TEXT NOT NULL CHECK (json_valid(data))
    );

    CREATE TABLE runs (
        id       INTEGER PRIMARY KEY,
        workflow TEXT    NOT NULL,
        contact  TEXT    NOT NULL,
        data     TEXT    NOT NULL CHECK (json_valid(data)),
        due_at   INTEGER
    );
    CREATE INDEX runs_due ON runs (due_at) WHERE due_at IS NOT NULL;

    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE effects (
        key          TEXT    PRIMARY KEY,
        run_id       INTEGER,
        created_at   INTEGER NOT NULL,
        request      TEXT    NOT NULL CHECK (json_valid(request)),
        result       TEXT    CHECK (result IS NULL OR json_valid(result)),
        completed_at INTEGER
    );
    CREATE INDEX effects_open ON effects (created_at) WHERE result IS NULL;

    CREATE TABLE messages (
        message_id TEXT    PRIMARY KEY,
        run_id     INTEGER,
        channel    TEXT,
        status     TEXT    NOT NULL
                   CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
        error      TEXT,
        updated_at INTEGER NOT NULL
    );

    CREATE TABLE links (
        token      TEXT    PRIMARY KEY,
        message_id TEXT,
        run_id     INTEGER,
        url        TEXT    NOT NULL,
        expires_at INTEGER NOT NULL,
        opened_at  INTEGER
    );
    "#,
    // 2: indexes for retention (`retention.rs`): each prune batch finds its
    // oldest rows without scanning the table.
    r#"
    CREATE INDEX inbox_processed ON inbox (received_at) WHERE processed_at IS NOT NULL;
    CREATE INDEX effects_completed ON effects (completed_at) WHERE result IS NOT NULL;
    CREATE INDEX messages_updated ON messages (updated_at);
    CREATE INDEX links_expiry ON links (expires_at);
    "#,
    // 3: the engine keeps only what a step works on, so runs are found in
    // the store by contact and by the message they wait on; each run names
    // the version of its workflow, and every version that runs were started
    // on is kept (`programs`). Run ids are derived from the inbox sequence
    // number of the reply that started the run, above every id given before
    // (`run_ids_from`).
    r#"
    ALTER TABLE runs ADD COLUMN version TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN waiting_on TEXT;
    ALTER TABLE runs ADD COLUMN stranded TEXT;
    CREATE INDEX runs_stranded ON runs (id) WHERE stranded IS NOT NULL;
    UPDATE runs SET waiting_on = json_extract(data, '$.wait.message_id');
    CREATE INDEX runs_contact ON runs (contact);
    CREATE INDEX runs_version ON runs (workflow, version);
    CREATE INDEX runs_waiting_on ON runs (waiting_on) WHERE waiting_on IS NOT NULL;
    CREATE TABLE programs (
        workflow  TEXT    NOT NULL,
        version   TEXT    NOT NULL,
        ir        TEXT    NOT NULL CHECK (json_valid(ir)),
        loaded_at INTEGER NOT NULL,
        PRIMARY KEY (workflow, version)
    ) WITHOUT ROWID;
    INSERT INTO meta (key, value) VALUES ('run_ids_from', CAST(max(
        coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'next_run'), 1),
        coalesce((SELECT max(id) + 1 FROM runs), 1)) AS TEXT));
    "#,
];

/// The schema version this build writes.
pub(crate) fn current_version() -> u32 {
    MIGRATIONS.len() as u32
}

fn open_error(path: &Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Opens (creating if needed) the writer connection: WAL, `synchronous=FULL`,
/// foreign keys, a busy timeout, then every pending migration.
pub(crate) fn open_writer(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    if path.as_os_str().is_empty() {
        return Err(open_error(path, "the path is empty"));
    }
    if path.is_dir() {
        return Err(open_error(path, "it is a directory, not a file"));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(open_error(
            path,
            format_args!(
                "the directory {} does not exist (create it first)",
                parent.display()
            ),
        ));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| open_error(path, e))?;
    conn.busy_timeout(busy_timeout)
        .map_err(|e| open_error(path, e))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The first statement that reads the file: a file that is not a SQLite
    // database fails here.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|e| open_error(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_error(
            path,
            format_args!("cannot use write-ahead logging here (journal mode stayed {mode})"),
        ));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(|e| open_error(path, e))?;
    migrate(&conn, path)?;
    Ok(conn)
}

/// Opens a read-only connection to an existing store.
pub(crate) fn open_reader(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Applies every migration the file lacks, one transaction per step.
pub(crate) fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let supported = current_version();
    loop {
        // Read the version inside the write transaction, so two processes
        // starting at once do not both apply a step.
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
            .map_err(|e| open_error(path, e))?;
        let found = version(&tx).map_err(|e| open_error(path, e))?;
        let app: i32 = tx
            .query_row("PRAGMA application_id", [], |row| row.get(0))
            .map_err(|e| open_error(path, e))?;
        if app != 0 && app != APPLICATION_ID {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
                application_id: app,
            });
        }
        if found > supported {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found,
                supported,
            });
        }
        if found == supported {
            // Nothing to do; the transaction only read.
            return Ok(());
        }
        let next = found + 1;
        let step = MIGRATIONS[found as usize];
        tx.execute_batch(step)
            .and_then(|()| {
                tx.execute_batch(&format!(
                    "PRAGMA user_version = {next}; PRAGMA application_id = {APPLICATION_ID};"
                ))
            })
            .and_then(|()| tx.commit())
            .map_err(|source| StoreError::Migration {
                version: next,
                source,
            })?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store at schema version 2 holding `rows` (SQL), migrated by
    /// opening it as this build does.
    fn migrated_from_version_2(rows: &str) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("v2.db");
        let conn = Connection::open(&path).expect("create");
        for step in &MIGRATIONS[..2] {
            conn.execute_batch(step).expect("earlier step");
        }
        conn.execute_batch(&format!(
            "PRAGMA user_version = 2; PRAGMA application_id = {APPLICATION_ID}; {rows}"
        ))
        .expect("version 2 rows");
        drop(conn);
        let conn = open_writer(&path, Duration::from_secs(5)).expect("migrates");
        assert_eq!(version(&conn).expect("version"), current_version());
        (dir, conn)
    }

    /// A store written by a build with schema version 2 (runs numbered by a
    /// counter, the engine loading every run at start) keeps its runs: step
    /// 3 finds the message each waits on, and derives run ids above every id
    /// given before.
    #[test]
    fn step_3_keeps_runs_of_a_version_2_store() {
        let (_dir, conn) = migrated_from_version_2(
            "INSERT INTO meta (key, value) VALUES ('next_run', '42');
             INSERT INTO runs (id, workflow, contact, data, due_at) VALUES
               (40, 'w', 'c1', '{\"wait\":{\"for\":\"cta\",\"message_id\":\"wamid.A\"}}', 5),
               (41, 'w', 'c2', '{\"wait\":{\"for\":\"timer\"}}', 6);",
        );
        let waiting: Vec<(u64, Option<String>, String)> = conn
            .prepare("SELECT id, waiting_on, version FROM runs ORDER BY id")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .expect("runs");
        assert_eq!(
            waiting,
            [
                (40, Some("wamid.A".to_owned()), String::new()),
                (41, None, String::new())
            ]
        );
        assert_eq!(
            super::super::meta::run_ids_from(&conn).expect("meta"),
            Some(42)
        );
    }

    /// Ids handed out by the old counter may run past the stored counter
    /// (a crash between a run's save and the counter's): derived ids start
    /// above both.
    #[test]
    fn derived_run_ids_start_above_every_stored_run() {
        let (_dir, conn) = migrated_from_version_2(
            "INSERT INTO meta (key, value) VALUES ('next_run', '3');
             INSERT INTO runs (id, workflow, contact, data) VALUES (9, 'w', 'c', '{}');",
        );
        assert_eq!(
            super::super::meta::run_ids_from(&conn).expect("meta"),
            Some(10)
        );
    }
}
