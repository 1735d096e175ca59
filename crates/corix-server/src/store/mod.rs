//! The store: the truth for what users own. SQLite (WAL) in the data dir, behind one connection;
//! every query here is short, so handlers call it directly. All SQL lives in this module, so a
//! PostgreSQL store means a second implementation of these methods, not new handlers.

mod accounts;
mod computers;
mod migrations;
mod workspaces;

pub use accounts::{ApiKeyRow, User};
pub use computers::ComputerRow;
pub use workspaces::WorkspaceRow;

use parking_lot::Mutex;
use rusqlite::Connection;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    pub fn open(path: &Path) -> StoreResult<Store> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // The CLI may write while the server runs.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Self::from_connection(conn)
    }

    pub fn open_in_memory() -> StoreResult<Store> {
        Self::from_connection(Connection::open_in_memory()?)
    }

    fn from_connection(mut conn: Connection) -> StoreResult<Store> {
        migrations::apply(&mut conn)?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        Ok(f(&self.conn.lock())?)
    }

    /// A value kept across restarts (the instance id, for example).
    pub fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        self.with(|c| {
            c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
                .optional()
        })
    }

    pub fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                [key, value],
            )
            .map(drop)
        })
    }
}

use rusqlite::OptionalExtension;

/// Timestamps are RFC 3339 in UTC with second precision, as the API shows them.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A unique constraint failure becomes a conflict with this message.
fn unique_violation(err: rusqlite::Error, message: &str) -> StoreError {
    match &err {
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(message.to_string())
        }
        _ => StoreError::Sqlite(err),
    }
}
