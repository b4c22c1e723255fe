//! The embedded backend: one SQLite file in WAL mode.
//!
//! # Concurrency
//! SQLite allows one writer at a time. Rather than letting many connections race for the write
//! lock (and fail with "database is locked" once a busy timeout runs out under load), every write
//! goes through a pool of exactly **one** connection: writers queue in the pool, in process,
//! without ever contending for the file lock. Reads use a separate pool of read-only connections
//! that, thanks to WAL, never wait for the writer. Multi-statement writes start with
//! `BEGIN IMMEDIATE`, which takes the write lock up front, so that even a second process on the
//! same file (`studio migrate`, a mistaken second server) waits for it within the busy timeout
//! instead of failing a half-done transaction with `SQLITE_BUSY`.
//!
//! # Durability
//! `synchronous=NORMAL` in WAL mode: a commit is appended to the WAL with `write(2)` before the
//! call returns, and fsynced at checkpoints. That is durable against any crash of the Studio
//! process (the OS has the bytes) — what "written before acknowledged" requires, and what the
//! crash test checks. A power loss may lose the last commits before a checkpoint; `FULL` would
//! prevent that at the price of an fsync per write (milliseconds, against the ≤1 ms append
//! goal), while protecting little: the same power loss also ends every sandbox's processes, and
//! git does not fsync its work trees either. A server that needs power-loss durability for its
//! state should use PostgreSQL.
//!
//! # Timestamps
//! Stored as text in one fixed-width UTC form, so string order is time order (see `ts`).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::error::{BoxError, Result, StoreError};
use crate::migrations::{self, MigrationReport};
use crate::url::redact_url;

/// How long a write waits for the file lock held by *another process* before failing. Writers of
/// this process never wait for it: they queue for the single write connection instead.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a call waits for a pooled connection (i.e. for the writers queued before it).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
const READ_CONNECTIONS: u32 = 4;

/// The SQLite [`Store`](crate::Store). Cheap to clone (the pools are shared).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: the only writer of this process.
    writer: SqlitePool,
    /// `query_only` connections for reads (the writer pool itself for an in-memory database).
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    pub async fn open(url: &str) -> Result<(Self, MigrationReport)> {
        let open_err = |source: BoxError| StoreError::Open {
            url: redact_url(url),
            source,
        };
        let mut options = SqliteConnectOptions::from_str(url).map_err(|e| open_err(e.into()))?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !url.contains("mode=") {
            options = options.create_if_missing(true);
        }
        if !in_memory {
            check_directory_exists(options.get_filename()).map_err(open_err)?;
        }
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);

        // The writer is opened first: it creates the file and switches it to WAL.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A local file connection cannot go stale; pinging it would cost a round trip to
            // SQLite's worker thread on every call. Keeping it open also keeps an in-memory
            // database alive.
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await
            .map_err(|e| open_err(e.into()))?;

        let report =
            migrations::run_sqlite(&writer)
                .await
                .map_err(|source| StoreError::Migrate {
                    url: redact_url(url),
                    source,
                })?;

        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READ_CONNECTIONS)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .test_before_acquire(false)
                .connect_with(options.pragma("query_only", "ON"))
                .await
                .map_err(|e| open_err(e.into()))?
        };
        Ok((Self { writer, reader }, report))
    }

    /// Starts a write transaction holding the write lock from its first statement.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// SQLite's own message for a missing directory is "unable to open database file"; say which.
fn check_directory_exists(file: &Path) -> std::result::Result<(), BoxError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            Err(format!("directory {} does not exist", dir.display()).into())
        }
        _ => Ok(()),
    }
}

const TS_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// A timestamp as stored: `2026-11-22T14:30:59.123456Z`, always UTC, always 27 characters, so
/// that SQL comparisons and `MAX()` on the text compare instants. (sqlx's own encoding is
/// RFC 3339 with a variable number of fraction digits, which does not sort.)
pub(crate) fn ts(at: OffsetDateTime) -> Result<String> {
    at.to_offset(time::UtcOffset::UTC)
        .format(TS_FORMAT)
        .map_err(|e| crate::error::invalid("timestamp", e))
}

mod access;
mod queries;
mod status;
