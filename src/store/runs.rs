//! `runs`: the engine's run records.
//!
//! A run record is opaque to the store: the engine serialises a run to JSON
//! (`data`) and names its workflow and the version it runs on, its contact,
//! the message it waits on (`waiting_on`) and the deadline of its current
//! wait (`due_at`, none when the run waits for nothing timed). Waiting runs
//! are rows, not tasks: the service loads the runs of the contacts an event
//! names ([`of_contacts`]), of the messages a status or a click names
//! ([`contacts_waiting_on`]), and of the deadlines that fell due
//! ([`contacts_due`]), and nothing else.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{limit, micros, opt_time};

/// One run as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    /// The engine's run id.
    pub id: u64,
    /// The workflow's name.
    pub workflow: String,
    /// The version of the workflow it runs on (see [`super::programs`]).
    pub version: String,
    /// The contact's id.
    pub contact: String,
    /// The run's state as JSON (must be valid JSON).
    pub data: String,
    /// When the run's current wait times out, if it has a deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// The message whose outcome it waits for (a CTA, buttons or a list).
    pub waiting_on: Option<String>,
}

const COLUMNS: &str = "id, workflow, version, contact, data, due_at, waiting_on";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: row.get(0)?,
        workflow: row.get(1)?,
        version: row.get(2)?,
        contact: row.get(3)?,
        data: row.get(4)?,
        due_at: opt_time(5, row.get(5)?)?,
        waiting_on: row.get(6)?,
    })
}

/// Inserts or replaces a run record.
pub fn save(conn: &Connection, run: &RunRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO runs (id, workflow, version, contact, data, due_at, waiting_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET workflow = excluded.workflow,
             version = excluded.version, contact = excluded.contact, data = excluded.data,
             due_at = excluded.due_at, waiting_on = excluded.waiting_on",
    )?
    .execute(params![
        run.id,
        run.workflow,
        run.version,
        run.contact,
        run.data,
        run.due_at.map(micros),
        run.waiting_on,
    ])?;
    Ok(())
}

/// Deletes a run record (the run ended); false if there was none.
pub fn delete(conn: &Connection, id: u64) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM runs WHERE id = ?1")?
        .execute([id])?
        == 1)
}

/// Every run record, by id (for loading the engine at start).
pub fn load_all(conn: &Connection) -> rusqlite::Result<Vec<RunRecord>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM runs ORDER BY id"))?
        .query_map([], from_row)?
        .collect()
}

/// Up to `max` runs due at or before `t`, earliest deadline first (ties by
/// id). Runs without a deadline are never due.
pub fn due_before(
    conn: &Connection,
    t: DateTime<Utc>,
    max: usize,
) -> rusqlite::Result<Vec<RunRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM runs WHERE due_at IS NOT NULL AND due_at <= ?1
         ORDER BY due_at, id LIMIT ?2"
    ))?
    .query_map(params![micros(t), limit(max)], from_row)?
    .collect()
}

/// Every run of these contacts (a JSON array of ids keeps it one
/// statement, however many there are), by id.
pub fn of_contacts(conn: &Connection, contacts: &[String]) -> rusqlite::Result<Vec<RunRecord>> {
    if contacts.is_empty() {
        return Ok(Vec::new());
    }
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM runs WHERE contact IN (SELECT value FROM json_each(?1))
         AND stranded IS NULL ORDER BY id"
    ))?
    .query_map([json_array(contacts)], from_row)?
    .collect()
}

/// The contacts of the runs waiting on these messages.
pub fn contacts_waiting_on(
    conn: &Connection,
    message_ids: &[String],
) -> rusqlite::Result<Vec<String>> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.prepare_cached(
        "SELECT DISTINCT contact FROM runs WHERE waiting_on IN (SELECT value FROM json_each(?1))
         AND stranded IS NULL",
    )?
    .query_map([json_array(message_ids)], |row| row.get(0))?
    .collect()
}

/// The contacts of up to `max` runs due at or before `t`, earliest deadline
/// first (a contact may come more than once).
pub fn contacts_due(
    conn: &Connection,
    t: DateTime<Utc>,
    max: usize,
) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT contact FROM runs WHERE due_at IS NOT NULL AND due_at <= ?1
         AND stranded IS NULL ORDER BY due_at, id LIMIT ?2",
    )?
    .query_map(params![micros(t), limit(max)], |row| row.get(0))?
    .collect()
}

/// The earliest deadline of any run.
pub fn next_due(conn: &Connection) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let due: Option<i64> = conn
        .prepare_cached(
            "SELECT due_at FROM runs WHERE due_at IS NOT NULL AND stranded IS NULL
             ORDER BY due_at LIMIT 1",
        )?
        .query_row([], |row| row.get(0))
        .optional()?;
    opt_time(0, due)
}

/// How many runs there are, and how many of them wait with a deadline.
pub fn counts(conn: &Connection) -> rusqlite::Result<(u64, u64)> {
    let count = |sql: &str| -> rusqlite::Result<u64> {
        let n: i64 = conn.prepare_cached(sql)?.query_row([], |row| row.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok((
        count("SELECT count(*) FROM runs WHERE stranded IS NULL")?,
        count("SELECT count(*) FROM runs WHERE due_at IS NOT NULL AND stranded IS NULL")?,
    ))
}

/// Sets a run aside: it could not be resumed, for `reason`. It is kept,
/// and not loaded again until [`unstrand_all`].
pub fn strand(conn: &Connection, id: u64, reason: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE runs SET stranded = ?2 WHERE id = ?1")?
        .execute(params![id, reason])?;
    Ok(())
}

/// Brings back every run set aside; returns how many.
pub fn unstrand_all(conn: &Connection) -> rusqlite::Result<usize> {
    conn.prepare_cached("UPDATE runs SET stranded = NULL WHERE stranded IS NOT NULL")?
        .execute([])
}

/// Strings as one JSON array, for `json_each`.
pub(crate) fn json_array(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}
