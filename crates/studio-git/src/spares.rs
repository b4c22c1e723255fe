//! The spare-checkout pool: at most one prepared worktree per mirror (see `checkout.rs` for why).
//!
//! Lifecycle: a session start (or [`GitWorkspace::warm_up`]) schedules a build on the blocking
//! pool if no spare is ready or being built; the next session start of the same repository takes
//! it. Spares are process-local knowledge: whatever an earlier process left on disk is purged the
//! first time this process touches the mirror, since nobody can vouch for its state.

use std::path::PathBuf;
use std::sync::Arc;

use git2::{Oid, Repository};

use crate::checkout::{self, Spare};
use crate::error::{GitContext, Result};
use crate::mirror;
use crate::source::RepoSource;
use crate::workspace::{GitWorkspace, Inner, MirrorState, lock};

#[derive(Debug, Default)]
pub(crate) struct SparePool {
    ready: Option<Spare>,
    building: bool,
    purged: bool,
}

impl SparePool {
    pub fn take(&mut self) -> Option<Spare> {
        self.ready.take()
    }
}

impl Inner {
    fn spares_dir(&self, mirror_name: &str) -> PathBuf {
        self.config.data_dir.join("spares").join(mirror_name)
    }

    /// Call with the mirror's fetch lock held, before any spare of it is built or claimed.
    pub(crate) fn purge_stale_spares_once(
        &self,
        state: &MirrorState,
        mirror: &Repository,
        source: &RepoSource,
    ) {
        let mut pool = lock(&state.spares);
        if !pool.purged {
            let spares_dir = self.spares_dir(&source.mirror_name);
            checkout::purge_spares(mirror, &state.worktrees, &spares_dir);
            pool.purged = true;
        }
    }

    /// Blocking. Builds a spare at `at` unless one is ready or already being built; with `wait`,
    /// an in-flight build is waited for instead of skipped.
    fn build_spare_if_missing(&self, mirror_name: &str, at: Oid, wait: bool) -> Result<()> {
        let state = self.mirror_state(mirror_name);
        {
            let mut pool = lock(&state.spares);
            while wait && pool.building {
                pool = state
                    .spare_built
                    .wait(pool)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            if pool.ready.is_some() || pool.building || !pool.purged {
                return Ok(());
            }
            pool.building = true;
        }
        let mirror_path = mirror::mirrors_dir(&self.config.data_dir).join(mirror_name);
        let built = Repository::open_bare(&mirror_path)
            .context("open mirror")
            .and_then(|mirror| {
                let spares_dir = self.spares_dir(mirror_name);
                let spare = checkout::build_spare(&mirror, &state.worktrees, &spares_dir, at)?;
                Ok((mirror, spare))
            });
        let mut pool = lock(&state.spares);
        pool.building = false;
        state.spare_built.notify_all();
        let (mirror, spare) = built?;
        match pool.ready {
            None => pool.ready = Some(spare),
            // Cannot happen while `building` guards the pool, but never leak a worktree.
            Some(_) => {
                drop(pool);
                checkout::remove_worktree(&mirror, &state.worktrees, &spare.name, None)?;
            }
        }
        Ok(())
    }
}

impl GitWorkspace {
    /// Schedules a background spare build for the mirror, if spares are enabled.
    pub(crate) fn refill_spare(&self, mirror_name: String, at: Oid) {
        if !self.inner.config.spare_checkouts {
            return;
        }
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = inner.build_spare_if_missing(&mirror_name, at, false) {
                tracing::warn!(mirror = %mirror_name, error = %e, "preparing a spare checkout failed");
            }
        });
    }

    /// Fetches the repository's mirror and, if spares are enabled, prepares a spare checkout of
    /// the base branch now, so that the next [`GitWorkspace::open_session`] of this repository
    /// is fast. Returns once the spare is ready.
    pub async fn warm_up(&self, repository: &str, base_branch: Option<&str>) -> Result<()> {
        let (repository, base_branch) = (repository.to_owned(), base_branch.map(str::to_owned));
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let source = RepoSource::parse(&repository)?;
            let state = inner.mirror_state(&source.mirror_name);
            let base = {
                let _fetching = lock(&state.fetch);
                let (mirror, base) = mirror::sync(
                    &inner.config.data_dir,
                    &source,
                    inner.config.token.as_ref(),
                    base_branch.as_deref(),
                )?;
                inner.purge_stale_spares_once(&state, &mirror, &source);
                base
            };
            if inner.config.spare_checkouts {
                inner.build_spare_if_missing(&source.mirror_name, base.commit, true)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| crate::GitError::Internal(format!("warm-up task failed: {e}")))?
    }

    /// Whether a spare checkout of `repository` is ready to be claimed.
    pub async fn spare_ready(&self, repository: &str) -> Result<bool> {
        let source = RepoSource::parse(repository)?;
        let state = self.inner.mirror_state(&source.mirror_name);
        let ready = lock(&state.spares).ready.is_some();
        Ok(ready)
    }
}
