//! `links`: click-tracking tokens.
//!
//! A CTA's URL is replaced by a redirect through a random token. Opening
//! the token before it expires redirects to the URL; the first such open is
//! recorded (`opened_at`) and reported as [`LinkOpen::First`], so the run
//! waiting on it can be resumed exactly once (enqueue that event in the same
//! write job as [`open`]). Later opens still redirect ([`LinkOpen::Again`]).
//! At or after `expires_at` a token no longer redirects.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::micros;

/// What opening a token found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkOpen {
    /// The first open: redirect, and tell the run.
    First {
        /// Where to redirect.
        url: String,
        /// The message the link was in.
        message_id: Option<String>,
        /// The run that sent it.
        run_id: Option<u64>,
    },
    /// Opened before: redirect only.
    Again {
        /// Where to redirect.
        url: String,
    },
    /// The token has expired.
    Expired {
        /// When it stopped working.
        at: DateTime<Utc>,
    },
    /// No such token.
    Unknown,
}

/// Creates a link; fails if the token exists (tokens must be unique).
pub fn create(
    conn: &Connection,
    token: &str,
    message_id: Option<&str>,
    run: Option<u64>,
    url: &str,
    expires_at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO links (token, message_id, run_id, url, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![token, message_id, run, url, micros(expires_at)])?;
    Ok(())
}

/// Records the id the provider gave the message a link was sent in (known
/// only once the send is accepted, after [`create`]).
pub fn attach_message(conn: &Connection, token: &str, message_id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE links SET message_id = ?1 WHERE token = ?2")?
        .execute(params![message_id, token])?;
    Ok(())
}

/// The id of the message a link was sent in; `None` if the token is
/// unknown or its send was never accepted.
pub fn message_id(conn: &Connection, token: &str) -> rusqlite::Result<Option<String>> {
    let found: Option<Option<String>> = conn
        .prepare_cached("SELECT message_id FROM links WHERE token = ?1")?
        .query_row([token], |row| row.get(0))
        .optional()?;
    Ok(found.flatten())
}

/// What opening a token at `now` would give, without marking it opened: a
/// read, so a request for an unknown, expired or already opened link costs
/// the writer nothing. [`open`] decides again inside the write.
pub fn peek(conn: &Connection, token: &str, now: DateTime<Utc>) -> rusqlite::Result<LinkOpen> {
    Ok(look_up(conn, token, now)?.0)
}

/// Opens a token at `now`: the first open within its lifetime marks it.
pub fn open(conn: &Connection, token: &str, now: DateTime<Utc>) -> rusqlite::Result<LinkOpen> {
    let (open, first) = look_up(conn, token, now)?;
    if first {
        conn.prepare_cached("UPDATE links SET opened_at = ?2 WHERE token = ?1")?
            .execute(params![token, micros(now)])?;
    }
    Ok(open)
}

/// A link as stored: message id, run id, URL, expiry and first open (Unix
/// microseconds).
pub(crate) type LinkRow = (Option<String>, Option<u64>, String, i64, Option<i64>);

/// The token's state at `now`, and whether this would be its first open.
fn look_up(
    conn: &Connection,
    token: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<(LinkOpen, bool)> {
    let found: Option<LinkRow> = conn
        .prepare_cached(
            "SELECT message_id, run_id, url, expires_at, opened_at FROM links WHERE token = ?1",
        )?
        .query_row([token], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .optional()?;
    decide(found, now).ok_or(rusqlite::Error::IntegralValueOutOfRange(3, 0))
}

/// What opening a link found as `row` means at `now`, and whether it is
/// the first open: the one rule both stores apply. `None` only for an
/// expiry no date can hold.
pub(crate) fn decide(row: Option<LinkRow>, now: DateTime<Utc>) -> Option<(LinkOpen, bool)> {
    let Some((message_id, run_id, url, expires_at, opened_at)) = row else {
        return Some((LinkOpen::Unknown, false));
    };
    if micros(now) >= expires_at {
        let at = DateTime::from_timestamp_micros(expires_at)?;
        return Some((LinkOpen::Expired { at }, false));
    }
    if opened_at.is_some() {
        return Some((LinkOpen::Again { url }, false));
    }
    Some((
        LinkOpen::First {
            url,
            message_id,
            run_id,
        },
        true,
    ))
}
