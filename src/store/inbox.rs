//! `inbox`: incoming events, de-duplicated, in arrival order.
//!
//! A webhook handler enqueues what the provider sent (one row per
//! notification, keyed by what identifies it across retries) and answers 200
//! once [`super::Store::enqueue`] returns. The engine then takes
//! [`pending`] items in `seq` order and marks each processed, ideally in the
//! same write job as the effects of processing it.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{limit, micros, time};

/// What [`enqueue`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored, with this sequence number.
    New(u64),
    /// The key was already stored (a provider retry); nothing changed.
    Duplicate,
}

/// One stored event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxItem {
    /// Arrival order: 1, 2, 3, ...; never reused, even after retention prunes old rows ([`super::retention`]).
    pub seq: u64,
    /// The key that identifies the notification across retries.
    pub dedupe_key: String,
    /// When it was stored.
    pub received_at: DateTime<Utc>,
    /// Which provider or endpoint sent it (free text, e.g. `whatsapp`).
    pub source: String,
    /// The event as the caller chose to store it.
    pub payload: String,
}

/// Stores an event unless `dedupe_key` is already known.
pub fn enqueue(
    conn: &Connection,
    dedupe_key: &str,
    source: &str,
    payload: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Enqueued> {
    let seq: Option<u64> = conn
        .prepare_cached(
            // Not `ON CONFLICT DO NOTHING`: a refused insert would still use
            // up a sequence number, and retries would leave gaps.
            "INSERT INTO inbox (dedupe_key, received_at, source, payload)
             SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM inbox WHERE dedupe_key = ?1)
             RETURNING seq",
        )?
        .query_row(params![dedupe_key, micros(now), source, payload], |row| {
            row.get(0)
        })
        .optional()?;
    Ok(seq.map_or(Enqueued::Duplicate, Enqueued::New))
}

/// Up to `max` unprocessed events, oldest first.
pub fn pending(conn: &Connection, max: usize) -> rusqlite::Result<Vec<InboxItem>> {
    conn.prepare_cached(
        "SELECT seq, dedupe_key, received_at, source, payload FROM inbox
         WHERE processed_at IS NULL ORDER BY seq LIMIT ?1",
    )?
    .query_map([limit(max)], |row| {
        Ok(InboxItem {
            seq: row.get(0)?,
            dedupe_key: row.get(1)?,
            received_at: time(2, row.get(2)?)?,
            source: row.get(3)?,
            payload: row.get(4)?,
        })
    })?
    .collect()
}

/// The payloads of the events `seqs` that are still unprocessed, in the
/// order given (a step redone after a crash takes exactly its own events);
/// unknown or already processed ones are left out.
pub fn pending_payloads(conn: &Connection, seqs: &[u64]) -> rusqlite::Result<Vec<(u64, String)>> {
    let mut select =
        conn.prepare_cached("SELECT payload FROM inbox WHERE seq = ?1 AND processed_at IS NULL")?;
    let mut found = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        if let Some(payload) = select.query_row([seq], |row| row.get(0)).optional()? {
            found.push((seq, payload));
        }
    }
    Ok(found)
}

/// How many events are waiting to be processed (the backlog).
pub fn pending_count(conn: &Connection) -> rusqlite::Result<u64> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM inbox WHERE processed_at IS NULL")?
        .query_row([], |row| row.get(0))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Marks an event processed; false if it was unknown or already processed.
pub fn mark_processed(conn: &Connection, seq: u64, now: DateTime<Utc>) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE inbox SET processed_at = ?2 WHERE seq = ?1 AND processed_at IS NULL",
        )?
        .execute(params![seq, micros(now)])?;
    Ok(changed == 1)
}
