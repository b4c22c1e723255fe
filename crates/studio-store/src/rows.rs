//! Rows as both databases return them, and their conversion to and from domain types.
//!
//! The two schemas use the same column names, and every field type here decodes from both (for
//! SQLite a timestamp is RFC 3339 text, for PostgreSQL a `timestamptz`; JSON is text or `jsonb`),
//! so one set of row structs and one set of checks serves both backends.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use sqlx::types::Json;
use studio_core::{CommitInfo, CommitPattern, Event, SandboxConfig, SandboxId, SandboxStatus};
use time::OffsetDateTime;

use crate::error::{Result, corrupt, invalid};
use crate::model::{PullRequest, RuntimeState, SandboxRecord, StoredCommit};

// Select lists matching the row structs below. Macros rather than consts so that `concat!` can
// build each statement as a `&'static str` (sqlx only takes static SQL without an audit marker).

/// The select list matching [`SandboxRow`].
macro_rules! sandbox_columns {
    () => {
        "id, kind, repository, base_branch, branch, work_dir, status, auto_commit, \
         commit_pattern, timeout_secs, max_restarts, components, github_repo, setup, wrapper, \
         renderer_port, adoption, restarts, created_at, last_activity_at, finished_at, pr_url, \
         pr_number, next_event_seq - 1 AS last_event_seq"
    };
}

/// The select list matching [`CommitRow`].
macro_rules! commit_columns {
    () => {
        "hash, message, committed_at, rolled_back"
    };
}

/// The select list matching [`EventRow`].
macro_rules! event_columns {
    () => {
        "seq, kind, payload"
    };
}

pub(crate) use {commit_columns, event_columns, sandbox_columns};

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SandboxRow {
    id: String,
    kind: String,
    repository: String,
    base_branch: String,
    branch: String,
    work_dir: String,
    status: String,
    auto_commit: bool,
    commit_pattern: String,
    timeout_secs: f64,
    max_restarts: i32,
    components: Json<Vec<String>>,
    github_repo: Option<String>,
    setup: Json<Vec<String>>,
    wrapper: Option<String>,
    renderer_port: Option<i32>,
    adoption: Option<Json<Value>>,
    restarts: i32,
    created_at: OffsetDateTime,
    last_activity_at: OffsetDateTime,
    finished_at: Option<OffsetDateTime>,
    pr_url: Option<String>,
    pr_number: Option<i64>,
    last_event_seq: i64,
}

impl TryFrom<SandboxRow> for SandboxRecord {
    type Error = crate::StoreError;

    fn try_from(row: SandboxRow) -> Result<Self> {
        let id: SandboxId = row.id.parse().map_err(|e| corrupt("sandbox id", e))?;
        let status: SandboxStatus = row
            .status
            .parse()
            .map_err(|e| corrupt("sandbox status", e))?;
        let timeout = Duration::try_from_secs_f64(row.timeout_secs)
            .map_err(|e| corrupt("sandbox timeout", e))?;
        let pull_request = match (row.pr_url, row.pr_number) {
            (Some(url), Some(number)) => Some(PullRequest {
                url,
                number: u64::try_from(number).map_err(|e| corrupt("pull request number", e))?,
            }),
            _ => None,
        };
        Ok(Self {
            id,
            kind: row.kind,
            config: SandboxConfig {
                auto_commit: row.auto_commit,
                commit_pattern: CommitPattern(row.commit_pattern),
                timeout,
                max_restarts: u32::try_from(row.max_restarts)
                    .map_err(|e| corrupt("max restarts", e))?,
                components: row.components.0,
                github_repo: row.github_repo,
                setup: row.setup.0,
                wrapper: row.wrapper,
            },
            repository: row.repository,
            base_branch: row.base_branch,
            branch: row.branch,
            work_dir: PathBuf::from(row.work_dir),
            status,
            runtime: RuntimeState {
                renderer_port: row
                    .renderer_port
                    .map(|p| u16::try_from(p).map_err(|e| corrupt("renderer port", e)))
                    .transpose()?,
                adoption: row.adoption.map(|j| j.0),
                restarts: u32::try_from(row.restarts).map_err(|e| corrupt("restart count", e))?,
            },
            created_at: row.created_at,
            last_activity_at: row.last_activity_at,
            finished_at: row.finished_at,
            pull_request,
            last_event_seq: u64::try_from(row.last_event_seq)
                .map_err(|e| corrupt("event seq", e))?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CommitRow {
    hash: String,
    message: String,
    committed_at: OffsetDateTime,
    rolled_back: bool,
}

impl From<CommitRow> for StoredCommit {
    fn from(row: CommitRow) -> Self {
        Self {
            commit: CommitInfo {
                hash: row.hash,
                message: row.message,
                timestamp: row.committed_at,
            },
            rolled_back: row.rolled_back,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    seq: i64,
    kind: String,
    payload: Json<Value>,
}

impl TryFrom<EventRow> for Event {
    type Error = crate::StoreError;

    fn try_from(row: EventRow) -> Result<Self> {
        Ok(Self {
            kind: row.kind.parse().map_err(|e| corrupt("event type", e))?,
            payload: row.payload.0,
            seq: u64::try_from(row.seq).map_err(|e| corrupt("event seq", e))?,
        })
    }
}

pub(crate) fn rows_into<R, T>(rows: Vec<R>) -> Result<Vec<T>>
where
    T: TryFrom<R, Error = crate::StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

// ---- statements both dialects share ----------------------------------------------------

// ---- values going in --------------------------------------------------------------------

/// Column values of a new sandbox that need converting before they can be bound.
pub(crate) struct SandboxParams<'a> {
    pub work_dir: &'a str,
    pub timeout_secs: f64,
    pub max_restarts: i32,
    pub components: Json<&'a [String]>,
    pub setup: Json<&'a [String]>,
}

impl<'a> SandboxParams<'a> {
    pub(crate) fn new(new: &'a crate::NewSandbox) -> Result<Self> {
        let work_dir = new
            .work_dir
            .to_str()
            .ok_or_else(|| invalid("work dir", format!("{:?} is not valid UTF-8", new.work_dir)))?;
        Ok(Self {
            work_dir,
            timeout_secs: new.config.timeout.as_secs_f64(),
            max_restarts: to_i32("max restarts", new.config.max_restarts)?,
            components: Json(&new.config.components),
            setup: Json(&new.config.setup),
        })
    }
}

pub(crate) fn to_i32(what: &'static str, n: u32) -> Result<i32> {
    i32::try_from(n).map_err(|_| invalid(what, format!("{n} is too large")))
}

pub(crate) fn to_i64(what: &'static str, n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| invalid(what, format!("{n} is too large")))
}

/// An event seq bound as `seq > $n`: anything beyond i64 simply matches nothing.
pub(crate) fn seq_bound(since: u64) -> i64 {
    i64::try_from(since).unwrap_or(i64::MAX)
}
