//! The records the store reads and writes, in domain terms (no SQL types).

use std::path::PathBuf;

use serde_json::Value;
use studio_core::{CommitInfo, SandboxConfig, SandboxId, SandboxStatus};
use time::OffsetDateTime;

/// Everything known about a sandbox when it is created.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSandbox {
    pub id: SandboxId,
    /// The create request's `type`, e.g. `component-studio`.
    pub kind: String,
    pub config: SandboxConfig,
    /// Git URL, `file://` URL or local path the sandbox was cloned from.
    pub repository: String,
    pub base_branch: String,
    /// The session branch, normally `id.branch()`.
    pub branch: String,
    pub work_dir: PathBuf,
    pub status: SandboxStatus,
    /// Also the initial last-activity time.
    pub created_at: OffsetDateTime,
}

/// A stored sandbox. Timestamps come back in UTC, truncated to microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxRecord {
    pub id: SandboxId,
    pub kind: String,
    pub config: SandboxConfig,
    pub repository: String,
    pub base_branch: String,
    pub branch: String,
    pub work_dir: PathBuf,
    pub status: SandboxStatus,
    pub runtime: RuntimeState,
    pub created_at: OffsetDateTime,
    pub last_activity_at: OffsetDateTime,
    /// When the sandbox reached a terminal status (`expired` or `finalized`).
    pub finished_at: Option<OffsetDateTime>,
    pub pull_request: Option<PullRequest>,
    /// The seq of the newest event ever appended (0 if none), even if it was pruned since.
    pub last_event_seq: u64,
}

/// What the supervisor needs to find (or re-adopt) a sandbox's renderer after a restart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuntimeState {
    /// The TCP port of a renderer started before renderers moved to Unix sockets. Studio no
    /// longer writes one; a record that still has one marks a sandbox to move onto its socket.
    pub renderer_port: Option<u16>,
    /// The supervisor's re-adoption record (pid, process group, start time...), opaque here.
    pub adoption: Option<Value>,
    /// Renderer restarts so far.
    pub restarts: u32,
}

/// The pull request a finalized sandbox opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub url: String,
    pub number: u64,
}

/// A commit of a sandbox's branch and whether a rollback moved past it (it still exists in git).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCommit {
    pub commit: CommitInfo,
    pub rolled_back: bool,
}

/// Which sandboxes [`Store::list_sandboxes`](crate::Store::list_sandboxes) returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxFilter {
    /// Only sandboxes in one of these statuses; `None` means all.
    pub statuses: Option<Vec<SandboxStatus>>,
}

impl SandboxFilter {
    /// Every sandbox, terminal ones included.
    pub fn all() -> Self {
        Self { statuses: None }
    }

    /// Sandboxes that are not terminal: the ones a restarted server must look after.
    pub fn live() -> Self {
        Self::with_statuses(SandboxStatus::ALL.into_iter().filter(|s| !s.is_terminal()))
    }

    pub fn with_statuses(statuses: impl IntoIterator<Item = SandboxStatus>) -> Self {
        Self {
            statuses: Some(statuses.into_iter().collect()),
        }
    }

    /// The statuses as stored strings, for binding.
    pub(crate) fn status_strings(&self) -> Option<Vec<String>> {
        self.statuses
            .as_ref()
            .map(|list| list.iter().map(|s| s.as_str().to_owned()).collect())
    }
}

/// A schema migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationInfo {
    pub version: i64,
    pub description: String,
}

/// What [`migrate`](crate::migrate) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Migrations this call applied, oldest first; empty when the schema was up to date.
    pub applied: Vec<MigrationInfo>,
    /// The newest migration now in the database.
    pub schema_version: Option<i64>,
}

/// A scoped token to store: only its SHA-256, never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSandboxToken {
    /// `tok_<hex>`: how the token is listed and revoked.
    pub id: String,
    pub sandbox_id: SandboxId,
    /// SHA-256 of the token, 64 lowercase hex digits.
    pub token_hash: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A stored scoped token (what may be shown of it: never the token, nor its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxToken {
    pub id: String,
    pub sandbox_id: SandboxId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What the front door needs of a sandbox on every preview request, in one read: whether it is
/// running, and the preview epoch its cookies must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviewGate {
    pub status: SandboxStatus,
    pub epoch: u64,
}
