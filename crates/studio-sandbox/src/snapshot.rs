//! A read-only view of one sandbox, served from the store.
//!
//! Reads never go through a sandbox's actor: every change is persisted before it is announced, so
//! the store is always at least as new as anything a client has heard, and a slow actor (busy
//! installing dependencies) never delays a status request. The one live field, the renderer's
//! [`RendererResources`], is read from its cgroup files through the supervisor's unit handle,
//! not asked of the actor either.

use studio_core::{CommitInfo, SandboxId, SandboxStatus};
use studio_store::SandboxRecord;
use time::OffsetDateTime;

/// What `GET /api/v1/sandboxes/{id}` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxSnapshot {
    pub id: SandboxId,
    pub status: SandboxStatus,
    /// The preview's front-door URL ([`crate::PublicUrls::preview`]); set while the sandbox
    /// has (or, stopped, may get again) a renderer.
    pub renderer_url: Option<String>,
    pub websocket_url: String,
    pub repository: String,
    pub branch: String,
    pub base_branch: String,
    /// The commits on the session branch (rolled-back ones excluded), oldest first.
    pub commits: Vec<CommitInfo>,
    pub restarts: u32,
    pub created_at: OffsetDateTime,
    pub last_activity: OffsetDateTime,
    pub pull_request: Option<(String, u64)>,
    /// What the renderer uses now; `None` while it does not run, or where this host has no
    /// cgroup controller to read it from.
    pub resources: Option<RendererResources>,
}

/// The memory and CPU time of a sandbox's renderer: its whole process tree (Vite and anything
/// it started), as its cgroup counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RendererResources {
    /// Memory charged to the tree now, page cache included.
    pub memory_bytes: u64,
    /// CPU time the tree used since the renderer started, in microseconds.
    pub cpu_usage_usec: u64,
}

impl SandboxSnapshot {
    pub(crate) fn from_record(
        record: SandboxRecord,
        commits: Vec<studio_store::StoredCommit>,
        urls: &crate::config::PublicUrls,
        resources: Option<RendererResources>,
    ) -> Self {
        // The front door's URL: stable for the sandbox's whole life (stop/start, restarts, a
        // server restart), so a page or an iframe that holds it keeps working.
        let renderer_url = (record.status.has_renderer()
            || record.status == SandboxStatus::Stopped)
            .then(|| urls.preview(&record.id));
        Self {
            websocket_url: urls.websocket(&record.id),
            renderer_url,
            id: record.id,
            status: record.status,
            repository: record.repository,
            branch: record.branch,
            base_branch: record.base_branch,
            commits: commits
                .into_iter()
                .filter(|c| !c.rolled_back)
                .map(|c| c.commit)
                .collect(),
            restarts: record.runtime.restarts,
            created_at: record.created_at,
            last_activity: record.last_activity_at,
            pull_request: record.pull_request.map(|pr| (pr.url, pr.number)),
            resources,
        }
    }
}
