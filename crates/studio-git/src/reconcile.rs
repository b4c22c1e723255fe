//! What the branch says happened, for callers whose own record of it may be behind.
//!
//! A commit is made in git before anyone else hears of it (the store, the clients), so after a
//! crash the branch may hold commits that were never recorded elsewhere, or sit where a rollback
//! left it without the store having seen the rollback. The branch and the undo refs are the
//! truth; these reads let the caller catch up with them:
//! - [`SessionCore::commit_log`]: every commit of the session, oldest first, with the paths it
//!   changed and whether a rollback moved the branch past it;
//! - [`SessionCore::last_change_to`]: for an edit that turned out to change nothing (typically
//!   the retry of an edit committed just before a crash), the commit that made the path what
//!   the edit asked for, so the retry can answer with the commit that carries its change.

use std::collections::HashSet;

use git2::{Commit, ErrorCode, ObjectType, Oid, Sort};
use studio_core::CommitInfo;

use crate::core::{SessionCore, commit_info};
use crate::error::{GitContext, GitError, Result};
use crate::path_guard::RepoPath;
use crate::sync;

/// One commit of a session, as the branch and the undo refs record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCommit {
    pub commit: CommitInfo,
    /// The paths the commit changed relative to its parent, sorted.
    pub paths: Vec<String>,
    /// True when a rollback moved the branch past this commit (it is kept under an undo ref and
    /// can be rolled forward to).
    pub rolled_back: bool,
}

impl SessionCore {
    /// Every commit of the session since its base, on the branch or kept by an undo ref, oldest
    /// first (parents before children; otherwise by commit time).
    pub fn commit_log(&mut self) -> Result<Vec<LoggedCommit>> {
        let head = self.head()?.id();
        let on_branch: HashSet<Oid> = self.session_commits(&[head])?;
        let mut tips: Vec<Oid> = self.undo_tips()?.values().copied().collect();
        tips.push(head);
        let mut walk = self.repo.revwalk().context("walk session")?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME | Sort::REVERSE)
            .context("walk session")?;
        for tip in tips {
            walk.push(tip).context("walk session")?;
        }
        walk.hide(self.base).context("walk session")?;
        walk.map(|oid| {
            let oid = oid.context("walk session")?;
            let commit = self.repo.find_commit(oid).context("read commit")?;
            Ok(LoggedCommit {
                paths: self.changed_paths(&commit)?,
                rolled_back: !on_branch.contains(&oid),
                commit: commit_info(&commit),
            })
        })
        .collect()
    }

    /// The commit of the branch that last made `input` hold `content` (`None`: deleted it), if
    /// the branch head holds that now and a commit of this session made it so. `None` when the
    /// head holds something else, or when the base already had it (no session commit carries
    /// it).
    ///
    /// Walks back from the head along first parents (a session's branch is a chain from its
    /// base) to the first commit whose parent held something else at the path.
    pub fn last_change_to(
        &self,
        input: &str,
        content: Option<&[u8]>,
    ) -> Result<Option<CommitInfo>> {
        let parsed = RepoPath::parse(input).map_err(|r| GitError::refused(input, r))?;
        // The path a write of `input` records (a parent may be a symlink inside the checkout).
        let path = self.resolve(input, &parsed)?.repo_path;
        let wanted = content
            .map(|c| Oid::hash_object(ObjectType::Blob, c))
            .transpose()
            .context("hash content")?;
        let held = |commit: &Commit<'_>| -> Result<Option<Oid>> {
            let tree = commit.tree().context("read tree")?;
            match tree.get_path(path.as_path()) {
                Ok(entry) => Ok(Some(entry.id())),
                Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
                Err(e) => Err(e).context("look up path"),
            }
        };
        let mut at = self.head()?;
        if held(&at)? != wanted {
            return Ok(None);
        }
        while at.id() != self.base && at.parent_count() > 0 {
            let parent = at.parent(0).context("read parent")?;
            if held(&parent)? != wanted {
                return Ok(Some(commit_info(&at)));
            }
            at = parent;
        }
        Ok(None)
    }

    fn changed_paths(&self, commit: &Commit<'_>) -> Result<Vec<String>> {
        let tree = commit.tree().context("read tree")?;
        let parent = commit
            .parent(0)
            .and_then(|p| p.tree())
            .context("read parent tree")?;
        Ok(sync::changed_paths(&self.repo, &parent, &tree, None)?
            .into_iter()
            .collect())
    }
}
