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
//! Stored as text in one fixed-width UTC form, so string order is time order (see [`ts`]).

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::types::Json;
use studio_core::{CommitInfo, Event, EventKind, SandboxId, SandboxStatus};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::Store;
use crate::error::{BoxError, Result, StoreError, constraint_violation, for_sandbox};
use crate::migrations::{self, MigrationReport};
use crate::model::{
    NewSandbox, PortLease, PullRequest, RuntimeState, SandboxFilter, SandboxRecord, StoredCommit,
    terminal_statuses,
};
use crate::rows::{
    self, CommitRow, EventRow, LeaseRow, SandboxParams, SandboxRow, commit_columns, event_columns,
    lease_columns, sandbox_columns,
};
use crate::url::{Backend, redact_url};

/// How long a write waits for the file lock held by *another process* before failing. Writers of
/// this process never wait for it: they queue for the single write connection instead.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a call waits for a pooled connection (i.e. for the writers queued before it).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
const READ_CONNECTIONS: u32 = 4;

/// The SQLite [`Store`]. Cheap to clone (the pools are shared).
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

fn ensure_found(rows_affected: u64, id: &SandboxId) -> Result<()> {
    if rows_affected == 0 {
        return Err(StoreError::SandboxNotFound(id.clone()));
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn insert_sandbox(&self, new: &NewSandbox) -> Result<SandboxRecord> {
        let p = SandboxParams::new(new)?;
        let created_at = ts(new.created_at)?;
        let sql = concat!(
            "INSERT INTO sandboxes (id, kind, repository, base_branch, branch, work_dir, status, \
               auto_commit, commit_pattern, timeout_secs, max_restarts, components, github_repo, \
               setup, wrapper, created_at, last_activity_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) \
             RETURNING ",
            sandbox_columns!()
        );
        let row: SandboxRow = sqlx::query_as(sql)
            .bind(new.id.to_string())
            .bind(&new.kind)
            .bind(&new.repository)
            .bind(&new.base_branch)
            .bind(&new.branch)
            .bind(p.work_dir)
            .bind(new.status.as_str())
            .bind(new.config.auto_commit)
            .bind(&new.config.commit_pattern.0)
            .bind(p.timeout_secs)
            .bind(p.max_restarts)
            .bind(p.components)
            .bind(&new.config.github_repo)
            .bind(p.setup)
            .bind(&new.config.wrapper)
            .bind(created_at)
            .fetch_one(&self.writer)
            .await
            .map_err(|e| match constraint_violation(&e) {
                Some(sqlx::error::ErrorKind::UniqueViolation) => {
                    StoreError::SandboxExists(new.id.clone())
                }
                _ => e.into(),
            })?;
        row.try_into()
    }

    async fn get_sandbox(&self, id: &SandboxId) -> Result<Option<SandboxRecord>> {
        let sql = concat!(
            "SELECT ",
            sandbox_columns!(),
            " FROM sandboxes WHERE id = $1"
        );
        let row: Option<SandboxRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.map(SandboxRecord::try_from).transpose()
    }

    async fn list_sandboxes(&self, filter: &SandboxFilter) -> Result<Vec<SandboxRecord>> {
        // The status list travels as one JSON array parameter, so the statement is static.
        let sql = concat!(
            "SELECT ",
            sandbox_columns!(),
            " FROM sandboxes \
             WHERE $1 IS NULL OR status IN (SELECT value FROM json_each($1)) \
             ORDER BY created_at, id"
        );
        let statuses = filter.status_strings().map(Json);
        let found: Vec<SandboxRow> = sqlx::query_as(sql)
            .bind(statuses)
            .fetch_all(&self.reader)
            .await?;
        rows::rows_into(found)
    }

    async fn delete_sandbox(&self, id: &SandboxId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sandboxes WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_status(
        &self,
        id: &SandboxId,
        status: SandboxStatus,
        at: OffsetDateTime,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sandboxes SET status = $2, \
               finished_at = CASE WHEN $3 THEN COALESCE(finished_at, $4) ELSE finished_at END \
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(status.is_terminal())
        .bind(ts(at)?)
        .execute(&self.writer)
        .await?;
        ensure_found(done.rows_affected(), id)
    }

    async fn update_runtime(&self, id: &SandboxId, runtime: &RuntimeState) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sandboxes SET renderer_port = $2, adoption = $3, restarts = $4 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(runtime.renderer_port.map(i32::from))
        .bind(runtime.adoption.as_ref().map(Json))
        .bind(rows::to_i32("restart count", runtime.restarts)?)
        .execute(&self.writer)
        .await?;
        ensure_found(done.rows_affected(), id)
    }

    async fn touch_activity(&self, id: &SandboxId, at: OffsetDateTime) -> Result<()> {
        // MAX() on the fixed-width text is MAX() on the instants.
        let done = sqlx::query(
            "UPDATE sandboxes SET last_activity_at = MAX(last_activity_at, $2) WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(ts(at)?)
        .execute(&self.writer)
        .await?;
        ensure_found(done.rows_affected(), id)
    }

    async fn set_pull_request(&self, id: &SandboxId, pr: &PullRequest) -> Result<()> {
        let done = sqlx::query("UPDATE sandboxes SET pr_url = $2, pr_number = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(&pr.url)
            .bind(rows::to_i64("pull request number", pr.number)?)
            .execute(&self.writer)
            .await?;
        ensure_found(done.rows_affected(), id)
    }

    async fn record_commit(&self, id: &SandboxId, commit: &CommitInfo) -> Result<()> {
        sqlx::query(
            "INSERT INTO commits (sandbox_id, hash, message, committed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sandbox_id, hash) DO UPDATE SET rolled_back = 0",
        )
        .bind(id.to_string())
        .bind(&commit.hash)
        .bind(&commit.message)
        .bind(ts(commit.timestamp)?)
        .execute(&self.writer)
        .await
        .map_err(|e| for_sandbox(e, id))?;
        Ok(())
    }

    async fn mark_rolled_back(&self, id: &SandboxId, hashes: &[String]) -> Result<u64> {
        self.set_rolled_back(id, hashes, true).await
    }

    async fn mark_restored(&self, id: &SandboxId, hashes: &[String]) -> Result<u64> {
        self.set_rolled_back(id, hashes, false).await
    }

    async fn commits(&self, id: &SandboxId) -> Result<Vec<StoredCommit>> {
        let sql = concat!(
            "SELECT ",
            commit_columns!(),
            " FROM commits WHERE sandbox_id = $1 ORDER BY id"
        );
        let found: Vec<CommitRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_all(&self.reader)
            .await?;
        Ok(found.into_iter().map(StoredCommit::from).collect())
    }

    async fn append_event(&self, id: &SandboxId, kind: EventKind, payload: Value) -> Result<Event> {
        let now = ts(OffsetDateTime::now_utc())?;
        let mut tx = self.begin_write().await?;
        // Taking the seq and inserting the event commit together: a failed insert rolls the
        // counter back too, so the sequence never has a gap.
        let seq: Option<i64> = sqlx::query_scalar(
            "UPDATE sandboxes SET next_event_seq = next_event_seq + 1 WHERE id = $1 \
             RETURNING next_event_seq - 1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let seq = seq.ok_or_else(|| StoreError::SandboxNotFound(id.clone()))?;
        sqlx::query(
            "INSERT INTO events (sandbox_id, seq, kind, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.to_string())
        .bind(seq)
        .bind(kind.as_str())
        .bind(Json(&payload))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let seq = u64::try_from(seq).map_err(|e| crate::error::corrupt("event seq", e))?;
        Ok(Event { kind, payload, seq })
    }

    async fn events_since(&self, id: &SandboxId, since: u64, limit: u32) -> Result<Vec<Event>> {
        let sql = concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE sandbox_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        let found: Vec<EventRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .bind(rows::seq_bound(since))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        rows::rows_into(found)
    }

    async fn prune_events(&self, older_than: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM events WHERE created_at < $1")
            .bind(ts(older_than)?)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn lease_next_port(
        &self,
        id: &SandboxId,
        range: RangeInclusive<u16>,
        skip: &BTreeSet<u16>,
    ) -> Result<u16> {
        // Under BEGIN IMMEDIATE nobody can lease between our read and our insert.
        let mut tx = self.begin_write().await?;
        let taken: Vec<i32> =
            sqlx::query_scalar("SELECT port FROM port_leases WHERE port BETWEEN $1 AND $2")
                .bind(i32::from(*range.start()))
                .bind(i32::from(*range.end()))
                .fetch_all(&mut *tx)
                .await?;
        let taken: BTreeSet<u16> = taken
            .into_iter()
            .filter_map(|p| u16::try_from(p).ok())
            .collect();
        let port =
            rows::lowest_free_port(&range, &taken, skip).ok_or_else(|| StoreError::NoFreePort {
                range: range.clone(),
            })?;
        sqlx::query("INSERT INTO port_leases (port, sandbox_id, leased_at) VALUES ($1, $2, $3)")
            .bind(i32::from(port))
            .bind(id.to_string())
            .bind(ts(OffsetDateTime::now_utc())?)
            .execute(&mut *tx)
            .await
            .map_err(|e| for_sandbox(e, id))?;
        tx.commit().await?;
        Ok(port)
    }

    async fn try_lease_port(&self, id: &SandboxId, port: u16) -> Result<bool> {
        let held: Option<i32> = sqlx::query_scalar(TRY_LEASE_SQL)
            .bind(i32::from(port))
            .bind(id.to_string())
            .bind(ts(OffsetDateTime::now_utc())?)
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| for_sandbox(e, id))?;
        Ok(held.is_some())
    }

    async fn release_port(&self, id: &SandboxId, port: u16) -> Result<bool> {
        let done = sqlx::query("DELETE FROM port_leases WHERE port = $1 AND sandbox_id = $2")
            .bind(i32::from(port))
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn release_ports(&self, id: &SandboxId) -> Result<u64> {
        let done = sqlx::query("DELETE FROM port_leases WHERE sandbox_id = $1")
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn port_leases(&self) -> Result<Vec<PortLease>> {
        let sql = concat!(
            "SELECT ",
            lease_columns!(),
            " FROM port_leases ORDER BY port"
        );
        let found: Vec<LeaseRow> = sqlx::query_as(sql).fetch_all(&self.reader).await?;
        rows::rows_into(found)
    }

    async fn reclaim_stale_leases(&self) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM port_leases WHERE sandbox_id NOT IN \
               (SELECT id FROM sandboxes WHERE status NOT IN (SELECT value FROM json_each($1)))",
        )
        .bind(Json(terminal_statuses()))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// Inserts the lease, or keeps it if this sandbox already holds the port; returns a row exactly
/// when the sandbox holds the port afterwards. (The no-op `DO UPDATE` is what makes RETURNING
/// report an existing lease of our own.)
pub(crate) const TRY_LEASE_SQL: &str = "INSERT INTO port_leases (port, sandbox_id, leased_at) VALUES ($1, $2, $3) \
     ON CONFLICT (port) DO UPDATE SET sandbox_id = excluded.sandbox_id \
       WHERE port_leases.sandbox_id = excluded.sandbox_id \
     RETURNING port";

impl SqliteStore {
    async fn set_rolled_back(
        &self,
        id: &SandboxId,
        hashes: &[String],
        rolled_back: bool,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE commits SET rolled_back = $3 \
             WHERE sandbox_id = $1 AND rolled_back <> $3 AND hash IN (SELECT value FROM json_each($2))",
        )
        .bind(id.to_string())
        .bind(Json(hashes))
        .bind(rolled_back)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }
}
