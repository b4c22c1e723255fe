//! What a sandbox does when asked: file edits, rollback, finalize, process control.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::json;
use studio_core::{EventKind, SandboxStatus};
use studio_renderer::WriteEffect;

use super::Actor;
use crate::error::ManagerError;
use crate::request::{Execute, FileOp, RollbackTo};

/// How a renderer (re)start, or an edit's effect on the renderer, ended. The outer `Err` is a
/// record the store did not take: the caller fails its request with it. The inner one is the
/// renderer's own failure, already announced (`failed`, an `error` event): an edit or rollback
/// that caused it still happened, while a start or restart request fails with it.
type Started = Result<Result<(), ManagerError>, ManagerError>;

impl Actor {
    /// Writes or deletes one file, auto-commits it, tells the clients, and restarts the renderer
    /// only when dependencies changed (everything else reaches the page by hot update).
    pub(super) async fn execute(&mut self, req: Execute) -> Result<Option<String>, ManagerError> {
        let started = Instant::now();
        let pattern = &self.config.commit_pattern;
        let path = req.op.path().to_owned();
        let session = &self.session;
        // Here, in the actor, so no other edit of this sandbox can come between the check and
        // the write.
        if let Some(expected) = &req.expected_hash {
            let current = session
                .current_blob(&path)
                .await
                .map_err(crate::git_error)?;
            // A retried write whose first attempt landed finds its own content: not stale, and
            // answered below with the commit it made.
            let retried = match &req.op {
                FileOp::Write { content, .. } => {
                    current.as_deref() == Some(studio_git::blob_id(content).as_str())
                }
                FileOp::Delete { .. } => current.is_none(),
            };
            if current.as_deref() != Some(expected.as_str()) && !retried {
                return Err(ManagerError::conflict(
                    "stale_file",
                    format!(
                        "{path} changed since it was read: expected blob {expected}, it is {}; \
                         nothing was written (read the file again)",
                        current.map_or_else(|| "absent".to_owned(), |c| format!("now {c}"))
                    ),
                ));
            }
        }
        // `carried`: an edit that changed nothing, answered with the commit that made the file
        // what it is. A retry of an edit committed before a crash (or before a store failure)
        // gets its commit, not `null`, and the store learns it if it had missed it.
        let (commit, carried) = match (req.op, self.config.auto_commit) {
            (FileOp::Write { path, content }, true) => {
                let probe = content.clone();
                match session
                    .write_file(&path, content, &req.description, pattern)
                    .await
                {
                    Ok(None) => (session.commit_carrying(&path, Some(probe)).await, true),
                    other => (other, false),
                }
            }
            (FileOp::Delete { path }, true) => {
                match session.delete_file(&path, &req.description, pattern).await {
                    Err(studio_git::GitError::FileNotFound { path: missing }) => {
                        let carrying = session.commit_carrying(&path, None).await.and_then(|c| {
                            c.map(Some)
                                .ok_or(studio_git::GitError::FileNotFound { path: missing })
                        });
                        (carrying, true)
                    }
                    other => (other, false),
                }
            }
            (FileOp::Write { path, content }, false) => (
                session
                    .write_file_uncommitted(&path, content)
                    .await
                    .map(|()| None),
                false,
            ),
            (FileOp::Delete { path }, false) => (
                session.delete_file_uncommitted(&path).await.map(|()| None),
                false,
            ),
        };
        let commit = commit.map_err(crate::git_error)?;
        match (&commit, carried) {
            // Only an old commit can be known already: a new one is recorded without asking.
            (Some(commit), true) => {
                super::reconcile::record_once(&self.shared, &self.announce, &self.id, commit)
                    .await?
            }
            (Some(commit), false) => {
                super::reconcile::record(&self.shared, &self.announce, &self.id, commit).await?
            }
            (None, _) => {}
        }
        // The edit is written and committed whatever the renderer makes of it: a package.json npm
        // rejects is the user's edit like a component with a syntax error, and is reported the
        // same way (an `error` event), not as a failed request that did happen after all.
        if let Err(e) = self
            .apply_write_effect(studio_renderer::write_effect(&path))
            .await?
        {
            tracing::warn!(sandbox = %self.id, path, "the renderer did not follow an edit: {}", e.message);
        }
        crate::refresh::refresh(
            &self.shared.config.renderer_socket(&self.id),
            &[path.as_str()],
        )
        .await;
        self.retry_failed_renderer().await?;
        self.shared
            .metrics
            .execute_took(started.elapsed().as_secs_f64());
        Ok(commit.map(|c| c.hash))
    }

    /// Moves the branch; commits rolled back past stay in git (under undo refs) and in the store,
    /// marked, so `git_commits` shows the branch as it now is.
    pub(super) async fn rollback(&mut self, target: RollbackTo) -> Result<String, ManagerError> {
        let target = match target {
            RollbackTo::Steps(n) => studio_git::RollbackTarget::Steps(n),
            RollbackTo::Commit(hash) => studio_git::RollbackTarget::Commit(hash),
        };
        let head = self
            .session
            .rollback(target)
            .await
            .map_err(crate::git_error)?;
        let on_branch: HashSet<String> = self
            .session
            .history()
            .await
            .map_err(crate::git_error)?
            .into_iter()
            .map(|c| c.hash)
            .collect();
        let stored = self.shared.store.commits(&self.id).await?;
        let (kept, undone): (Vec<_>, Vec<_>) = stored
            .into_iter()
            .partition(|c| on_branch.contains(&c.commit.hash));
        let undone: Vec<String> = undone
            .into_iter()
            .filter(|c| !c.rolled_back)
            .map(|c| c.commit.hash)
            .collect();
        let restored: Vec<String> = kept
            .into_iter()
            .filter(|c| c.rolled_back)
            .map(|c| c.commit.hash)
            .collect();
        self.shared
            .store
            .mark_rolled_back(&self.id, &undone)
            .await?;
        self.shared.store.mark_restored(&self.id, &restored).await?;
        // Dependencies may differ at the target: re-prepare (cheap when nothing changed). The branch
        // has moved either way; a renderer that cannot follow is reported by an `error` event.
        if let Err(e) = self
            .apply_write_effect(WriteEffect::ReinstallAndRestart)
            .await?
        {
            tracing::warn!(sandbox = %self.id, "the renderer did not follow a rollback: {}", e.message);
        }
        // Many files may have changed: every module is re-read from disk on the reload below.
        crate::refresh::refresh(&self.shared.config.renderer_socket(&self.id), &[]).await;
        self.retry_failed_renderer().await?;
        self.announce
            .event(EventKind::Reload, json!({ "commit_hash": head.hash }))
            .await?;
        Ok(head.hash)
    }

    /// Pushes the branch, opens (or finds) the pull request and revokes the previews; the run
    /// loop then tears the sandbox down. Any failure here leaves the sandbox running and
    /// untouched, so the user can retry.
    pub(super) async fn finalize(
        &mut self,
        title: &str,
        description: &str,
    ) -> Result<(String, u64), ManagerError> {
        if !self.config.auto_commit {
            // Auto-commit off: what the session wrote is staged; it becomes one commit now.
            let staged = self
                .session
                .commit_staged(title, &self.config.commit_pattern)
                .await
                .map_err(crate::git_error)?;
            if let Some(commit) = &staged {
                super::reconcile::record(&self.shared, &self.announce, &self.id, commit).await?;
            }
        }
        let commits = self.session.history().await.map_err(crate::git_error)?;
        if commits.is_empty() {
            return Err(ManagerError::conflict(
                "no_commits",
                "this sandbox has no commits yet: there is nothing to open a pull request for",
            ));
        }
        let repo = match &self.config.github_repo {
            Some(name) => name.parse().map_err(|e: studio_forge::RepoError| ManagerError::invalid("invalid_github_repo", e.to_string()))?,
            None => self.shared.forge.repo_from_remote_url(&self.repository).map_err(|e| {
                ManagerError::invalid(
                    "github_repo_unknown",
                    format!("cannot tell which GitHub repository to open the pull request on ({e}); create the sandbox with github_repo"),
                )
            })?,
        };
        let finalize_error = |e: ManagerError| {
            tracing::warn!(sandbox = %self.id, "finalize failed: {}", e.message);
            e
        };
        self.session
            .push()
            .await
            .map_err(|e| finalize_error(crate::git_error(e).during("push")))?;
        let body = studio_forge::pull_request_body(description, &commits);
        let branch = self.id.branch();
        let pr = match self
            .shared
            .forge
            .open_pull_request(&repo, &branch, &self.base_branch, title, &body)
            .await
        {
            Ok(pr) => pr,
            Err(e) => {
                let e = finalize_error(ManagerError::from(e));
                self.announce.error(&e.message).await;
                return Err(e);
            }
        };
        let record = studio_store::PullRequest {
            url: pr.url.clone(),
            number: pr.number,
        };
        self.shared
            .store
            .set_pull_request(&self.id, &record)
            .await?;
        // A retry after a failed revocation finds the pull request it opened (see the forge).
        self.revoke_previews().await?;
        Ok((pr.url, pr.number))
    }

    pub(super) async fn restart(&mut self) -> Result<(), ManagerError> {
        self.require_not_terminal("restart")?;
        self.set_status(SandboxStatus::Restarting).await?;
        let result = self.requested_restart().await;
        self.after_start(result).await?
    }

    /// A restart the actor asks for: the supervisor counts it among its restarts, but it is no
    /// crash, so its increment is accounted for here rather than in [`Actor::on_renderer`].
    async fn requested_restart(&mut self) -> Result<(), ManagerError> {
        let result = self.unit.restart().await;
        self.unit_restarts_seen = self.unit_restarts_seen.max(self.unit.restart_count());
        result
    }

    pub(super) async fn stop(&mut self) -> Result<(), ManagerError> {
        self.require_not_terminal("stop")?;
        self.revoke_previews().await?;
        self.unit.stop().await?;
        self.save_runtime().await?;
        self.set_status(SandboxStatus::Stopped).await
    }

    pub(super) async fn start(&mut self) -> Result<(), ManagerError> {
        self.start_renderer().await?
    }

    async fn start_renderer(&mut self) -> Started {
        self.require_not_terminal("start")?;
        if self.status == SandboxStatus::Running {
            return Ok(Ok(()));
        }
        self.set_status(SandboxStatus::Starting).await?;
        let result = self.unit.start().await;
        self.after_start(result).await
    }

    /// A renderer that crashed out (`failed`: Vite cannot start on what the checkout holds, e.g. a
    /// package.json that is not JSON) gets one more start after each edit or rollback, which may
    /// be the fix. Without this the sandbox would stay `failed` until someone calls `start`. A start
    /// that fails again is announced like any other (`error` event) and costs one attempt.
    /// Fails only when the store did not take the renderer's status.
    async fn retry_failed_renderer(&mut self) -> Result<(), ManagerError> {
        if self.status != SandboxStatus::Failed {
            return Ok(());
        }
        if let Err(e) = self.start_renderer().await? {
            tracing::info!(sandbox = %self.id, "the renderer still does not start: {}", e.message);
        }
        Ok(())
    }

    /// Records how a renderer (re)start ended: `running`, or `failed` with an `error` event.
    async fn after_start(&mut self, result: Result<(), ManagerError>) -> Started {
        match result {
            Ok(()) => {
                self.save_runtime().await?;
                self.set_status(SandboxStatus::Running).await?;
                Ok(Ok(()))
            }
            Err(e) => {
                if let Err(persist) = self.set_status(SandboxStatus::Failed).await {
                    // The request fails with the store's error; why the renderer failed is
                    // not to be lost with it.
                    tracing::warn!(sandbox = %self.id, "the renderer did not start: {}", e.message);
                    return Err(persist);
                }
                self.announce.error(&e.message).await;
                Ok(Err(e))
            }
        }
    }

    /// Dependencies changed: install into a new store entry, swap it in, restart the renderer.
    /// `studio.json` changed: regenerate `.studio/` (Vite reloads itself). Anything else: nothing,
    /// Vite's hot update carries it to the page.
    ///
    /// Every failure of the renderer is announced as an `error` event before it is returned.
    async fn apply_write_effect(&mut self, effect: WriteEffect) -> Started {
        match effect {
            // Vite's hot update carries the change to the page by itself.
            WriteEffect::HotUpdate => return Ok(Ok(())),
            // `.studio/` and `node_modules/` are refused by the git path guard before anything is
            // written (node_modules files are hard links into stores other sandboxes share), so a
            // write never gets here; should one, it must not trigger an install.
            WriteEffect::Reserved => return Ok(Ok(())),
            WriteEffect::Regenerate | WriteEffect::ReinstallAndRestart => {}
        }
        let prepared = match self.shared.renderer.prepare(&self.renderer_spec()).await {
            Ok(prepared) => prepared,
            Err(e) => {
                let e = ManagerError::from(e).during("renderer preparation");
                self.announce.error(&e.message).await;
                return Ok(Err(e));
            }
        };
        if prepared.report.needs_restart() && self.status.has_renderer() {
            self.set_status(SandboxStatus::Restarting).await?;
            let result = self.requested_restart().await;
            return self.after_start(result).await;
        }
        Ok(Ok(()))
    }

    pub(super) fn renderer_spec(&self) -> studio_renderer::SandboxSpec {
        super::setup::renderer_spec(&self.shared, &self.id, self.session.info(), &self.config)
    }

    fn require_not_terminal(&self, action: &str) -> Result<(), ManagerError> {
        if self.status.is_terminal() {
            return Err(ManagerError::wrong_status(action, self.status));
        }
        Ok(())
    }
}
