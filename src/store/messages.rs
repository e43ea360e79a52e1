//! `messages`: messages we sent and their delivery status.
//!
//! A status only moves forward: `sent` < `delivered` < `read`, and `failed`
//! is terminal. Providers deliver status notifications late, twice and out
//! of order, and Meta may skip `delivered` (a `read` implies it), so
//! [`apply_status`] follows [`transition`]:
//!
//! | stored \ incoming | sent | delivered | read | failed |
//! |---|---|---|---|---|
//! | (none)     | sent | delivered | read | failed |
//! | sent       | –    | delivered | read | failed |
//! | delivered  | –    | –         | read | failed |
//! | read       | –    | –         | –    | –      |
//! | failed     | –    | –         | –    | –      |
//!
//! (– = ignored.) `failed` is accepted after `sent` and `delivered`
//! (WhatsApp can report a failure after accepting a message) but not after
//! `read`: a message the contact read was delivered, whatever comes later.
//!
//! A status for an unknown message id is **recorded** (without run or
//! channel), not dropped: the provider's webhook can overtake the commit
//! of the send that produced the id. [`record_sent`] then adopts the row
//! and keeps its more advanced status.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::{micros, time};

/// A message's delivery status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    /// The provider accepted it.
    Sent,
    /// It reached the contact's device.
    Delivered,
    /// The contact read it (so it was delivered).
    Read,
    /// It could not be delivered; terminal.
    Failed,
}

impl MessageStatus {
    /// Every status, in order.
    pub const ALL: [MessageStatus; 4] = [
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
        MessageStatus::Failed,
    ];

    /// The name used by WhatsApp and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
        }
    }

    /// Whether the message reached the contact (`read` implies it).
    pub fn is_delivered(self) -> bool {
        matches!(self, MessageStatus::Delivered | MessageStatus::Read)
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is not one of `sent`, `delivered`, `read`, `failed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown message status `{}`", self.0)
    }
}

impl std::error::Error for UnknownStatus {}

impl FromStr for MessageStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<MessageStatus, UnknownStatus> {
        MessageStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl ToSql for MessageStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for MessageStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<MessageStatus> {
        value
            .as_str()?
            .parse()
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// The status after `incoming` arrives for a message at `stored` (`None`:
/// not known yet); `None` when the notification changes nothing.
pub fn transition(stored: Option<MessageStatus>, incoming: MessageStatus) -> Option<MessageStatus> {
    use MessageStatus::{Delivered, Failed, Read, Sent};
    let accepted = match stored {
        None => true,
        Some(Sent) => matches!(incoming, Delivered | Read | Failed),
        Some(Delivered) => matches!(incoming, Read | Failed),
        Some(Read | Failed) => false,
    };
    accepted.then_some(incoming)
}

/// What [`apply_status`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange {
    /// The status moved (`from` is `None` for a message id not seen before).
    Advanced {
        /// The status before.
        from: Option<MessageStatus>,
        /// The status now.
        to: MessageStatus,
    },
    /// A duplicate or a regression: nothing changed.
    Ignored,
}

/// One message as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    /// The provider's message id.
    pub message_id: String,
    /// The run that sent it; `None` until [`record_sent`] for an id first
    /// seen in a status.
    pub run_id: Option<u64>,
    /// The channel (`whatsapp`, `sms`, `email`), when known.
    pub channel: Option<String>,
    /// The current status.
    pub status: MessageStatus,
    /// The provider's error, for a failed message.
    pub error: Option<String>,
    /// When the status last changed (the notification's time).
    pub updated_at: DateTime<Utc>,
}

/// Records a message the provider accepted (status `sent`). If a status
/// for the id arrived first, the row keeps that status and gains the run
/// and channel.
pub fn record_sent(
    conn: &Connection,
    message_id: &str,
    run: Option<u64>,
    channel: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO messages (message_id, run_id, channel, status, updated_at)
         VALUES (?1, ?2, ?3, 'sent', ?4)
         ON CONFLICT (message_id) DO UPDATE SET
             run_id = coalesce(messages.run_id, excluded.run_id),
             channel = coalesce(messages.channel, excluded.channel)",
    )?
    .execute(params![message_id, run, channel, micros(now)])?;
    Ok(())
}

/// Applies a status notification (`at`: when the provider says it
/// happened); `error` is kept for `failed` only.
pub fn apply_status(
    conn: &Connection,
    message_id: &str,
    status: MessageStatus,
    error: Option<&str>,
    at: DateTime<Utc>,
) -> rusqlite::Result<StatusChange> {
    let stored: Option<MessageStatus> = conn
        .prepare_cached("SELECT status FROM messages WHERE message_id = ?1")?
        .query_row([message_id], |row| row.get(0))
        .optional()?;
    let Some(to) = transition(stored, status) else {
        return Ok(StatusChange::Ignored);
    };
    let error = error.filter(|_| to == MessageStatus::Failed);
    conn.prepare_cached(
        "INSERT INTO messages (message_id, status, error, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (message_id) DO UPDATE SET
             status = excluded.status, error = excluded.error, updated_at = excluded.updated_at",
    )?
    .execute(params![message_id, to, error, micros(at)])?;
    Ok(StatusChange::Advanced { from: stored, to })
}

/// One message's record.
pub fn load(conn: &Connection, message_id: &str) -> rusqlite::Result<Option<MessageRecord>> {
    conn.prepare_cached(
        "SELECT message_id, run_id, channel, status, error, updated_at FROM messages
         WHERE message_id = ?1",
    )?
    .query_row([message_id], |row| {
        Ok(MessageRecord {
            message_id: row.get(0)?,
            run_id: row.get(1)?,
            channel: row.get(2)?,
            status: row.get(3)?,
            error: row.get(4)?,
            updated_at: time(5, row.get(5)?)?,
        })
    })
    .optional()
}
