//! Spare checkouts: building, purging and handing out at most one prepared worktree per mirror
//! (see `checkout.rs` for why); the pool itself lives in `state`.
//!
//! Lifecycle: a session start (or [`GitWorkspace::warm_up`](crate::GitWorkspace::warm_up))
//! schedules a build on the blocking pool if no spare is ready or being built; the next session
//! start of the same repository takes it. Spares are process-local knowledge: whatever an earlier process left on disk is purged the
//! first time this process touches the mirror, since nobody can vouch for its state.

use std::path::PathBuf;
use std::sync::Arc;

use git2::{Oid, Repository};

use crate::checkout;
use crate::error::{GitContext, Result};
use crate::lock::lock;
use crate::mirror::{self, Base};
use crate::source::RepoSource;
use crate::state::{MirrorState, Shared};

impl Shared {
    fn spares_dir(&self, mirror_name: &str) -> PathBuf {
        self.config.data_dir.join("spares").join(mirror_name)
    }

    /// Fetches the repository into its mirror (creating it on first use) and, the first time
    /// this process touches the mirror, purges the spares an earlier process left. Call with the
    /// mirror's fetch lock held, before any spare of it is built or claimed.
    pub(crate) fn sync_mirror(
        &self,
        state: &MirrorState,
        source: &RepoSource,
        base_branch: Option<&str>,
    ) -> Result<(Repository, Base)> {
        let (mirror, base) = mirror::sync(
            &self.config.data_dir,
            source,
            self.config.token.as_ref(),
            base_branch,
        )?;
        self.purge_stale_spares_once(state, &mirror, source);
        Ok((mirror, base))
    }

    /// Call with the mirror's fetch lock held, before any spare of it is built or claimed.
    fn purge_stale_spares_once(
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

    /// Schedules a background spare build for the mirror, if spares are enabled.
    pub(crate) fn refill_spare(self: &Arc<Self>, mirror_name: String, at: Oid) {
        if !self.config.spare_checkouts {
            return;
        }
        let shared = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = shared.build_spare_if_missing(&mirror_name, at, false) {
                tracing::warn!(mirror = %mirror_name, error = %e, "preparing a spare checkout failed");
            }
        });
    }

    /// Blocking. Fetches the repository's mirror and, if spares are enabled, builds its spare at
    /// the base branch (waiting for a build already under way).
    pub(crate) fn warm_up(&self, repository: &str, base_branch: Option<&str>) -> Result<()> {
        let source = self.source(repository)?;
        let state = self.mirror_state(&source.mirror_name);
        let base = {
            let _fetching = lock(&state.fetch);
            let (_mirror, base) = self.sync_mirror(&state, &source, base_branch)?;
            base
        };
        if self.config.spare_checkouts {
            self.build_spare_if_missing(&source.mirror_name, base.commit, true)?;
        }
        Ok(())
    }

    /// Whether a spare checkout of `repository` is ready to be claimed.
    pub(crate) fn spare_ready(&self, repository: &str) -> Result<bool> {
        let source = self.source(repository)?;
        let state = self.mirror_state(&source.mirror_name);
        let ready = lock(&state.spares).ready.is_some();
        Ok(ready)
    }
}
