//! `runs`: the engine's run records.
//!
//! A run record is opaque to the store: the engine serialises a run to JSON
//! (`data`) and names its workflow, contact and the deadline of its current
//! wait (`due_at`, none when the run waits for nothing timed). Waiting runs
//! are rows, not tasks: a scheduler asks [`due_before`] for what is due and
//! loads only that.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{limit, micros, opt_time};

/// One run as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    /// The engine's run id.
    pub id: u64,
    /// The workflow's name.
    pub workflow: String,
    /// The contact's id.
    pub contact: String,
    /// The run's state as JSON (must be valid JSON).
    pub data: String,
    /// When the run's current wait times out, if it has a deadline.
    pub due_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, workflow, contact, data, due_at";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: row.get(0)?,
        workflow: row.get(1)?,
        contact: row.get(2)?,
        data: row.get(3)?,
        due_at: opt_time(4, row.get(4)?)?,
    })
}

/// Inserts or replaces a run record.
pub fn save(conn: &Connection, run: &RunRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO runs (id, workflow, contact, data, due_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET workflow = excluded.workflow,
             contact = excluded.contact, data = excluded.data, due_at = excluded.due_at",
    )?
    .execute(params![
        run.id,
        run.workflow,
        run.contact,
        run.data,
        run.due_at.map(micros)
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
