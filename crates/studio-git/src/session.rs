//! [`Session`]: the async handle to one sandbox's checkout and branch.
//!
//! Each method takes the session's mutex (a tokio mutex, held across the await) and runs its git
//! work on tokio's blocking pool. Operations on one session are therefore strictly serialized,
//! while different sessions share no mutable state and run in parallel. If the caller stops
//! waiting, the blocking work still completes with the mutex held, so no operation is ever cut
//! in half.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use studio_core::{CommitInfo, CommitPattern, SandboxId};
use tokio::sync::Mutex;

use crate::core::{Record, SessionCore, commit_info};
use crate::error::{GitError, Result};
use crate::reconcile::LoggedCommit;
use crate::rollback::RollbackTarget;

/// What a session is, fixed when it is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub sandbox_id: SandboxId,
    /// The repository source, with any credentials redacted.
    pub repository: String,
    /// `design/studio-<hex>`.
    pub branch: String,
    /// The branch of the remote the session started from.
    pub base_branch: String,
    /// The commit the session started from (40 hex digits).
    pub base_commit: String,
    /// The session's working tree.
    pub checkout: PathBuf,
}

/// A design session: a checkout on branch `design/studio-<hex>`. Cheap to clone; clones share
/// the same serialized session. The session's lock is an async one, held (on a blocking thread)
/// for the whole operation, a push's network I/O included: only this session's own callers wait
/// for it, and they wait without holding a runtime thread.
#[derive(Clone)]
pub struct Session {
    info: Arc<SessionInfo>,
    core: Arc<Mutex<SessionCore>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("info", &self.info).finish()
    }
}

impl Session {
    pub(crate) fn new(info: SessionInfo, core: SessionCore) -> Self {
        Self {
            info: Arc::new(info),
            core: Arc::new(Mutex::new(core)),
        }
    }

    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Writes `content` to `path` (relative to the repository root) atomically and commits
    /// exactly that path with the message `pattern.render(description, now)`.
    ///
    /// Returns `None` when the content equals the branch head's (no empty commit is made).
    pub async fn write_file(
        &self,
        path: &str,
        content: impl Into<Vec<u8>>,
        description: &str,
        pattern: &CommitPattern,
    ) -> Result<Option<CommitInfo>> {
        let (path, content) = (path.to_owned(), content.into());
        let (description, pattern) = (description.to_owned(), pattern.clone());
        self.run(move |core| {
            let record = Record::Commit {
                description: &description,
                pattern: &pattern,
            };
            core.write(&path, &content, record)
        })
        .await
    }

    /// Writes like [`Session::write_file`] but only stages the change (auto-commit off).
    pub async fn write_file_uncommitted(
        &self,
        path: &str,
        content: impl Into<Vec<u8>>,
    ) -> Result<()> {
        let (path, content) = (path.to_owned(), content.into());
        self.run(move |core| core.write(&path, &content, Record::Stage).map(drop))
            .await
    }

    /// Deletes `path` and commits the deletion. `None` if the file was not tracked (it is still
    /// removed from the working tree). [`GitError::FileNotFound`] if it exists nowhere.
    pub async fn delete_file(
        &self,
        path: &str,
        description: &str,
        pattern: &CommitPattern,
    ) -> Result<Option<CommitInfo>> {
        let path = path.to_owned();
        let (description, pattern) = (description.to_owned(), pattern.clone());
        self.run(move |core| {
            let record = Record::Commit {
                description: &description,
                pattern: &pattern,
            };
            core.delete(&path, record)
        })
        .await
    }

    /// Deletes like [`Session::delete_file`] but only stages the deletion.
    pub async fn delete_file_uncommitted(&self, path: &str) -> Result<()> {
        let path = path.to_owned();
        self.run(move |core| core.delete(&path, Record::Stage).map(drop))
            .await
    }

    /// The git blob id of what `path` holds in the working tree now, `None` if there is no such
    /// file; the guard of a read (`read.rs`). Serialized with the session's writes.
    pub async fn current_blob(&self, path: &str) -> Result<Option<String>> {
        let path = path.to_owned();
        self.run(move |core| crate::read::current_blob(&core.root, &path))
            .await
    }

    /// The session's commits on its branch since the base, oldest first.
    pub async fn history(&self) -> Result<Vec<CommitInfo>> {
        self.run(|core| core.history()).await
    }

    /// Commits every uncommitted edit of the session (auto-commit off) as one commit;
    /// `None` when there is none. Finalize calls it before pushing.
    pub async fn commit_staged(
        &self,
        description: &str,
        pattern: &CommitPattern,
    ) -> Result<Option<CommitInfo>> {
        let (description, pattern) = (description.to_owned(), pattern.clone());
        self.run(move |core| core.commit_staged(&description, &pattern))
            .await
    }

    /// Every commit the session made, oldest first: those on the branch and those a rollback
    /// moved past (`rolled_back`), each with the paths it changed. After a crash this is what a
    /// record of the session's commits (the store's) is rebuilt from: the git commit is made
    /// before anyone else records it.
    pub async fn commit_log(&self) -> Result<Vec<LoggedCommit>> {
        self.run(|core| core.commit_log()).await
    }

    /// The commit on the branch that last made `path` hold `content` (`None`: made it absent,
    /// for a delete), provided the branch head holds exactly that now; `None` if the head holds
    /// something else, or the session's base already did (no session commit carries it).
    ///
    /// For an edit that answered "unchanged" (`write_file`/`delete_file` returned `None`): when
    /// it retries an edit that was committed before a crash, this is that commit.
    pub async fn commit_carrying(
        &self,
        path: &str,
        content: Option<Vec<u8>>,
    ) -> Result<Option<CommitInfo>> {
        let path = path.to_owned();
        self.run(move |core| core.last_change_to(&path, content.as_deref()))
            .await
    }

    /// The commit the branch points at now (the base before the first edit).
    pub async fn head(&self) -> Result<CommitInfo> {
        self.run(|core| Ok(commit_info(&core.head()?))).await
    }

    /// Moves the branch, working tree and index to `target`; returns the new head. The previous
    /// head stays reachable (see `rollback.rs`), so rolling forward again works.
    pub async fn rollback(&self, target: RollbackTarget) -> Result<CommitInfo> {
        self.run(move |core| core.rollback(&target)).await
    }

    /// Pushes the branch to the repository's remote with a lease on the last value we pushed;
    /// returns the pushed commit id (40 hex digits).
    pub async fn push(&self) -> Result<String> {
        self.run(|core| core.push().map(|oid| oid.to_string()))
            .await
    }

    async fn run<T, F>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SessionCore) -> Result<T> + Send + 'static,
    {
        let mut core = Arc::clone(&self.core).lock_owned().await;
        tokio::task::spawn_blocking(move || op(&mut core))
            .await
            .map_err(|e| GitError::Internal(format!("session task failed: {e}")))?
    }
}
