//! What can go wrong opening or writing the store.

use std::fmt;
use std::path::PathBuf;

/// An error from the store.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file could not be opened or set up.
    Open {
        /// The path given to [`super::Store::open`].
        path: PathBuf,
        /// What went wrong, in words.
        reason: String,
    },
    /// The file was written by a newer kflow: its schema version is beyond
    /// the migrations this build knows, so it is refused rather than guessed
    /// at.
    TooNew {
        /// The path of the database.
        path: PathBuf,
        /// The schema version found in the file (`PRAGMA user_version`).
        found: u32,
        /// The newest schema version this build knows.
        supported: u32,
    },
    /// The file is a SQLite database but not a kflow store (its
    /// `PRAGMA application_id` belongs to some other program).
    Foreign {
        /// The path of the database.
        path: PathBuf,
        /// The application id found.
        application_id: i32,
    },
    /// A schema migration failed; the database stays at the version before
    /// it.
    Migration {
        /// The version the failed step would have reached.
        version: u32,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A statement failed (a job's own error, or a read's).
    Sql(rusqlite::Error),
    /// A value did not convert to or from JSON.
    Json(serde_json::Error),
    /// The batch's COMMIT failed, so nothing in it was stored, even jobs
    /// that had succeeded.
    CommitFailed(String),
    /// The job panicked; its savepoint was rolled back and its batch-mates
    /// were unaffected.
    JobPanicked,
    /// The writer thread is gone (it panicked, or the store was shut down).
    WriterGone,
    /// PostgreSQL refused a statement, or the connection to it failed.
    Postgres(String),
    /// This worker no longer owns a shard it was working on (its lease ran
    /// out and another worker took it): the step is abandoned, and the new
    /// owner redoes it.
    Fenced(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Open { path, reason } => {
                write!(f, "cannot open the store {}: {reason}", path.display())
            }
            StoreError::TooNew {
                path,
                found,
                supported,
            } => write!(
                f,
                "the store {} has schema version {found}, newer than the {supported} this kflow \
                 knows; it was written by a newer kflow, so upgrade kflow (or restore a backup)",
                path.display()
            ),
            StoreError::Foreign {
                path,
                application_id,
            } => write!(
                f,
                "{} is a SQLite database of another program (application_id {application_id:#x}), \
                 not a kflow store",
                path.display()
            ),
            StoreError::Migration { version, source } => {
                write!(
                    f,
                    "migrating the store to version {version} failed: {source}"
                )
            }
            StoreError::Sql(e) => write!(f, "store: {e}"),
            StoreError::Json(e) => write!(f, "store: bad JSON: {e}"),
            StoreError::CommitFailed(e) => write!(f, "store: commit failed: {e}"),
            StoreError::JobPanicked => f.write_str("store: a write job panicked"),
            StoreError::WriterGone => f.write_str("store: the writer thread has stopped"),
            StoreError::Postgres(e) => write!(f, "PostgreSQL: {e}"),
            StoreError::Fenced(e) => write!(f, "lost a shard to another worker: {e}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Migration { source, .. } | StoreError::Sql(source) => Some(source),
            StoreError::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Sql(e)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> StoreError {
        StoreError::Json(e)
    }
}
