//! The names a session uses inside the mirror, all derived from the sandbox id's hex.
//!
//! | name | what |
//! | --- | --- |
//! | `refs/heads/design/studio-<hex>` | the session branch |
//! | `refs/studio/<hex>/base` | the commit the session started from |
//! | `refs/studio/<hex>/undo/<n>` | heads that a rollback moved away from (kept reachable) |
//! | `refs/studio/<hex>/pushed` | the last value we pushed (the lease of the next push) |
//! | `refs/studio/<hex>/pushing` | the value a push is about to send, recorded before it is sent |
//! | `worktrees/studio-<hex>` | the checkout's administrative directory |
//!
//! `refs/studio/*` is outside `refs/heads/*` and `refs/remotes/*`, so fetches never touch it,
//! and git's garbage collection treats it like any other ref: undone commits are never pruned.

use git2::{BranchType, Repository};
use studio_core::SandboxId;

use crate::error::{GitContext, Result};
use crate::mirror::{self, Base};

#[derive(Debug, Clone)]
pub(crate) struct SessionRefs {
    hex: String,
    branch_name: String,
}

impl SessionRefs {
    pub fn new(id: &SandboxId) -> Self {
        Self {
            hex: id.hex().to_owned(),
            branch_name: id.branch(),
        }
    }

    /// `design/studio-<hex>`, the short branch name.
    pub fn branch_name(&self) -> &str {
        &self.branch_name
    }

    pub fn branch(&self) -> String {
        format!("refs/heads/{}", self.branch_name)
    }

    pub fn base(&self) -> String {
        format!("refs/studio/{}/base", self.hex)
    }

    pub fn pushed(&self) -> String {
        format!("refs/studio/{}/pushed", self.hex)
    }

    pub fn pushing(&self) -> String {
        format!("refs/studio/{}/pushing", self.hex)
    }

    pub fn undo_prefix(&self) -> String {
        format!("refs/studio/{}/undo/", self.hex)
    }

    pub fn undo(&self, n: u64) -> String {
        format!("{}{n}", self.undo_prefix())
    }

    /// Everything under `refs/studio/<hex>/`, for cleanup.
    pub fn all_glob(&self) -> String {
        format!("refs/studio/{}/*", self.hex)
    }

    pub fn worktree_name(&self) -> String {
        format!("studio-{}", self.hex)
    }

    /// Creates the session branch and base ref in `mirror`, at `base`.
    pub fn create(&self, mirror: &Repository, base: &Base) -> Result<()> {
        let commit = mirror
            .find_commit(base.commit)
            .context("find base commit")?;
        let mut branch = mirror
            .branch(self.branch_name(), &commit, false)
            .context("create session branch")?;
        // Upstream = the base branch, as `git switch -c x origin/main` would do: it records the
        // base branch for reopen, and `git status` in the checkout shows how far the session got.
        branch
            .set_upstream(Some(&format!("{}/{}", mirror::REMOTE, base.branch)))
            .context("record base branch")?;
        mirror
            .reference(&self.base(), base.commit, true, "studio: session base")
            .context("record base commit")?;
        Ok(())
    }

    /// Deletes the branch (and its config section) and everything under `refs/studio/<hex>/`.
    /// Best effort: used on cleanup paths, where the first error is the one worth reporting.
    pub fn delete(&self, mirror: &Repository) {
        if let Ok(mut branch) = mirror.find_branch(self.branch_name(), BranchType::Local) {
            let _ = branch.delete();
        }
        if let Ok(references) = mirror.references_glob(&self.all_glob()) {
            for mut reference in references.flatten() {
                let _ = reference.delete();
            }
        }
    }
}
