//! `effects`: the effect ledger, so that a provider call is never silently
//! repeated or silently lost.
//!
//! The protocol, for every call with an outside effect (a send, a tag sync):
//!
//! 1. [`begin`] with a key that names the effect deterministically (run id
//!    and step, say) and the request, and wait for it to commit.
//! 2. If it says [`EffectState::Fresh`], make the call.
//! 3. [`complete`] with the provider's answer — in the same write job as
//!    whatever follows from it (the sent message, the run's next state).
//!
//! Beginning a key again (after a restart, or a replayed event) tells what
//! happened the first time: [`EffectState::Completed`] with the stored
//! result, to reuse instead of calling again, or [`EffectState::InDoubt`]:
//! begun but never completed, so the process died (or is still waiting)
//! between the request and the answer, and whether the provider acted is
//! unknown. An in-doubt effect is not resent automatically; [`in_doubt`]
//! lists them for an operator, who can resolve one with [`complete`].

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{micros, time};

/// What [`begin`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EffectState {
    /// New: the begin is recorded and the call may be made.
    Fresh,
    /// Done before: this is the stored result (JSON); do not call again.
    Completed(String),
    /// Begun before and never completed: the outcome of that call is
    /// unknown. Do not call again without an operator's decision.
    InDoubt,
}

/// What [`complete`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// The result is recorded.
    Recorded,
    /// The effect already had a result; the first one stays.
    AlreadyCompleted,
    /// No effect has this key (it was never begun).
    Unknown,
}

/// An effect begun and not completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenEffect {
    /// The effect's key.
    pub key: String,
    /// The run that made it.
    pub run_id: Option<u64>,
    /// When it was begun.
    pub created_at: DateTime<Utc>,
    /// The request, as JSON.
    pub request: String,
}

/// Begins an effect: records `request` (JSON) under `key` if the key is
/// new, else reports what became of it. The request of the first begin is
/// kept.
pub fn begin(
    conn: &Connection,
    key: &str,
    run: u64,
    request: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<EffectState> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO effects (key, run_id, created_at, request) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO NOTHING",
        )?
        .execute(params![key, run, micros(now), request])?;
    if inserted == 1 {
        return Ok(EffectState::Fresh);
    }
    let result: Option<String> = conn
        .prepare_cached("SELECT result FROM effects WHERE key = ?1")?
        .query_row([key], |row| row.get(0))?;
    Ok(result.map_or(EffectState::InDoubt, EffectState::Completed))
}

/// Records an effect's result (JSON).
pub fn complete(
    conn: &Connection,
    key: &str,
    result: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Completion> {
    let changed = conn
        .prepare_cached(
            "UPDATE effects SET result = ?2, completed_at = ?3 WHERE key = ?1 AND result IS NULL",
        )?
        .execute(params![key, result, micros(now)])?;
    if changed == 1 {
        return Ok(Completion::Recorded);
    }
    let exists = conn
        .prepare_cached("SELECT 1 FROM effects WHERE key = ?1")?
        .query_row([key], |_| Ok(()))
        .optional()?
        .is_some();
    Ok(if exists {
        Completion::AlreadyCompleted
    } else {
        Completion::Unknown
    })
}

/// Effects begun and never completed, oldest first. Right after a start
/// these are the calls a crash interrupted; while running, calls in flight
/// are listed too (compare `created_at` with the provider timeout).
pub fn in_doubt(conn: &Connection) -> rusqlite::Result<Vec<OpenEffect>> {
    conn.prepare_cached(
        "SELECT key, run_id, created_at, request FROM effects
         WHERE result IS NULL ORDER BY created_at, key",
    )?
    .query_map([], |row| {
        Ok(OpenEffect {
            key: row.get(0)?,
            run_id: row.get(1)?,
            created_at: time(2, row.get(2)?)?,
            request: row.get(3)?,
        })
    })?
    .collect()
}
