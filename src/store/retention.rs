//! What the store forgets, and when: one home for the rules of pruning.
//!
//! Only rows nothing will ask for again are deleted, in batches of at most
//! `limit` rows per call so a pass never holds the writer for long:
//!
//! - **inbox**: processed events received before the cutoff. Their keys stop
//!   de-duplicating then, so the cutoff should be at least 7 days back (how
//!   long Meta retries a webhook). Unprocessed events are never deleted.
//! - **effects**: completed sends of the ledger, completed before the cutoff
//!   and belonging to no waiting run (a step of a waiting run can still be
//!   redone after a crash and must find its sends). Sends in doubt stay:
//!   operators list them.
//! - **messages**: delivery statuses last changed before the cutoff, of
//!   messages no waiting run was sent by.
//! - **links**: tracking links that expired before the cutoff; opening one
//!   then answers 404 instead of the expired page.
//! - **programs**: workflow versions no run runs on, last saved (by a start
//!   that loaded them) before the cutoff. A version still loaded is saved
//!   again by the next commit of a run started on it.
//!
//! Finished runs are deleted when they end (`runs.rs`), so no pass is
//! needed for them.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::micros;

/// The tables pruned, in the order a pass visits them.
pub const TABLES: [&str; 5] = ["inbox", "effects", "messages", "links", "programs"];

/// Deletes up to `limit` prunable rows of `table` older than `cutoff`;
/// returns how many. An unknown table deletes nothing.
pub fn prune(
    conn: &Connection,
    table: &str,
    cutoff: DateTime<Utc>,
    limit: usize,
) -> rusqlite::Result<usize> {
    let Some(sql) = statement(table) else {
        return Ok(0);
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(sql)?
        .execute(params![micros(cutoff), limit])
}

/// The statement that prunes a batch of `table`: `$1` the cutoff (Unix
/// microseconds), `$2` the batch size. Both stores run the same text
/// (SQLite numbers `$1`, `$2` in order of appearance).
pub(crate) fn statement(table: &str) -> Option<&'static str> {
    Some(match table {
        "inbox" => {
            "DELETE FROM inbox WHERE seq IN (SELECT seq FROM inbox \
             WHERE processed_at IS NOT NULL AND received_at < $1 ORDER BY seq LIMIT $2)"
        }
        "effects" => {
            "DELETE FROM effects WHERE key IN (SELECT key FROM effects \
             WHERE result IS NOT NULL AND completed_at < $1 \
             AND (run_id IS NULL OR run_id NOT IN (SELECT id FROM runs)) LIMIT $2)"
        }
        "messages" => {
            "DELETE FROM messages WHERE message_id IN (SELECT message_id FROM messages \
             WHERE updated_at < $1 \
             AND (run_id IS NULL OR run_id NOT IN (SELECT id FROM runs)) LIMIT $2)"
        }
        "links" => {
            "DELETE FROM links WHERE token IN (SELECT token FROM links \
             WHERE expires_at < $1 LIMIT $2)"
        }
        "programs" => {
            "DELETE FROM programs WHERE (workflow, version) IN (SELECT workflow, version \
             FROM programs p WHERE loaded_at < $1 AND NOT EXISTS (SELECT 1 FROM runs r \
             WHERE r.workflow = p.workflow AND r.version = p.version) LIMIT $2)"
        }
        _ => return None,
    })
}

/// Rows of each pruned table, for operators and tests.
pub fn counts(conn: &Connection) -> rusqlite::Result<Vec<(&'static str, u64)>> {
    TABLES
        .iter()
        .map(|table| {
            let n: i64 =
                conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
            Ok((*table, n.max(0) as u64))
        })
        .collect()
}
