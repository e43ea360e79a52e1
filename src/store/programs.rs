//! `programs`: every version of every workflow that runs were started on.
//!
//! A run records the version of its workflow it started on (the service
//! names a version by a hash of its IR). When a changed workflow is
//! deployed, new runs start on the new version while the runs already
//! waiting resume and finish on theirs: the service saves each version it
//! loads here, and loads an older one back when a waiting run needs it.
//! Retention forgets a version no run uses and no one loads any more
//! ([`super::retention`]).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::micros;

/// Saves a version's IR (JSON) as loaded at `now` (a start that loads it
/// again refreshes the time retention counts from).
pub fn save(
    conn: &Connection,
    workflow: &str,
    version: &str,
    ir: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    insert(conn, workflow, version, ir, now, true)
}

/// Saves a version's IR unless it is saved already, leaving a saved one
/// as it is (a step's commit calls it for the versions its runs use).
pub fn ensure(
    conn: &Connection,
    workflow: &str,
    version: &str,
    ir: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    insert(conn, workflow, version, ir, now, false)
}

fn insert(
    conn: &Connection,
    workflow: &str,
    version: &str,
    ir: &str,
    now: DateTime<Utc>,
    refresh: bool,
) -> rusqlite::Result<()> {
    let on_conflict = if refresh {
        "DO UPDATE SET loaded_at = excluded.loaded_at"
    } else {
        "DO NOTHING"
    };
    conn.prepare_cached(&format!(
        "INSERT INTO programs (workflow, version, ir, loaded_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (workflow, version) {on_conflict}"
    ))?
    .execute(params![workflow, version, ir, micros(now)])?;
    Ok(())
}

/// A version's IR (JSON), if it was saved.
pub fn load(conn: &Connection, workflow: &str, version: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT ir FROM programs WHERE workflow = ?1 AND version = ?2")?
        .query_row([workflow, version], |row| row.get(0))
        .optional()
}
