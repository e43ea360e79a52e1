//! `meta`: small named values, one row each.
//!
//! Generic access ([`get`], [`set`], [`next_id`]) and the named values the
//! service keeps here, each with its own functions so that its key and its
//! encoding live in one place:
//!
//! - `next_run` — the engine's next run id ([`next_run`], [`set_next_run`]).
//! - `step_intent` — what the processing step in progress covers, as JSON
//!   chosen by the caller ([`step_intent`], [`set_step_intent`],
//!   [`clear_step_intent`]); left behind only by a crash mid-step.
//! - `run_ids_from` — the first run id derived from inbox sequence numbers
//!   ([`run_ids_from`]).
//! - `clock_origin` — the moment service time and wall time agreed, set once
//!   on first start ([`clock_origin`]).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// The key of the engine's next run id.
const NEXT_RUN: &str = "next_run";

/// The key of the processing step in progress.
const STEP_INTENT: &str = "step_intent";

/// The key of the service clock's origin.
const CLOCK_ORIGIN: &str = "clock_origin";

/// The key of the first run id derived from inbox sequence numbers.
const RUN_IDS_FROM: &str = "run_ids_from";

/// A named value.
pub fn get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()
}

/// Sets a named value, replacing any earlier one.
pub fn set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

/// Deletes a named value; false if there was none.
fn delete(conn: &Connection, key: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM meta WHERE key = ?1")?
        .execute([key])?
        == 1)
}

/// The next value of the counter `name`: 1 the first time, then one more
/// each call. Inside a write job it is durable with the job.
pub fn next_id(conn: &Connection, name: &str) -> rusqlite::Result<u64> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
         RETURNING CAST(value AS INTEGER)",
    )?
    .query_row([name], |row| row.get(0))
}

/// The engine's next run id as last committed; `None` before the first
/// commit, or if the stored value is not a number (the caller then starts
/// from its own default, as on a fresh store).
pub fn next_run(conn: &Connection) -> rusqlite::Result<Option<u64>> {
    Ok(get(conn, NEXT_RUN)?.and_then(|v| v.parse().ok()))
}

/// Records the engine's next run id.
pub fn set_next_run(conn: &Connection, id: u64) -> rusqlite::Result<()> {
    set(conn, NEXT_RUN, &id.to_string())
}

/// The first run id derived from inbox sequence numbers: run ids given
/// before such ids (by an older kflow's counter) are all below it. Set by
/// the schema migration that introduced them.
pub fn run_ids_from(conn: &Connection) -> rusqlite::Result<Option<u64>> {
    Ok(get(conn, RUN_IDS_FROM)?.and_then(|v| v.parse().ok()))
}

/// The step in progress, as the caller encoded it, if one was recorded and
/// not cleared (a crash between [`set_step_intent`] and the step's commit).
pub fn step_intent(conn: &Connection) -> rusqlite::Result<Option<String>> {
    get(conn, STEP_INTENT)
}

/// Records the step about to run, before it may have any outside effect.
pub fn set_step_intent(conn: &Connection, intent: &str) -> rusqlite::Result<()> {
    set(conn, STEP_INTENT, intent)
}

/// Forgets the step in progress; call it in the step's own commit.
pub fn clear_step_intent(conn: &Connection) -> rusqlite::Result<()> {
    delete(conn, STEP_INTENT).map(|_| ())
}

/// The service clock's origin: the one stored, or `now` (a wall-clock
/// reading) stored as the origin if there is none yet. A stored value that
/// no longer parses gives `now` too, without replacing it.
pub fn clock_origin(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<DateTime<Utc>> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
    )?
    .execute(params![CLOCK_ORIGIN, now.to_rfc3339()])?;
    let stored = get(conn, CLOCK_ORIGIN)?;
    Ok(stored
        .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map_or(now, |t| t.with_timezone(&Utc)))
}
