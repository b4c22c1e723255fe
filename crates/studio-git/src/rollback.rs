//! Rollback: move the session branch to an earlier (or undone) commit without losing anything.
//!
//! Order of work, chosen so that a crash at any point loses no commit:
//! 1. validate the target (it must belong to this session),
//! 2. keep the current head reachable under `refs/studio/<hex>/undo/<n>` (unless an undo ref
//!    already reaches it),
//! 3. update only the paths that differ between the head (plus staged edits) and the target,
//!    in the working tree and the index (`sync.rs`),
//! 4. move the branch, with a compare-and-swap on the head we started from.
//!
//! A commit belongs to the session if it is the base, or if it descends from the base and is
//! reachable from the branch head or an undo ref. So rolling *forward* to an undone commit works,
//! while the base's ancestors and other sessions' commits are refused.

use std::collections::{BTreeMap, HashSet};

use git2::Oid;
use studio_core::CommitInfo;

use crate::core::{SessionCore, commit_info};
use crate::error::{GitContext, GitError, Result};
use crate::sync;

/// Where to roll back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackTarget {
    /// Undo the last `n` commits of the branch (following first parents). `n` may reach, but not
    /// pass, the session's base.
    Steps(u32),
    /// A commit of this session, by full or abbreviated (at least 4 hex digits) hash. Includes
    /// commits undone by earlier rollbacks, and the base itself.
    Commit(String),
}

impl SessionCore {
    pub fn rollback(&mut self, target: &RollbackTarget) -> Result<CommitInfo> {
        let head = self.head()?.id();
        let target = match target {
            RollbackTarget::Steps(n) => self.steps_back(head, *n)?,
            RollbackTarget::Commit(hash) => self.session_commit(head, hash)?,
        };
        if target != head {
            self.keep_reachable(head)?;
            self.move_worktree(head, target)?;
            self.repo
                .reference_matching(
                    &self.refs.branch(),
                    target,
                    true,
                    head,
                    &format!("studio: rollback to {target}"),
                )
                .context("move session branch")?;
        }
        let commit = self.repo.find_commit(target).context("read commit")?;
        Ok(commit_info(&commit))
    }

    fn steps_back(&self, head: Oid, steps: u32) -> Result<Oid> {
        if steps == 0 {
            return Err(GitError::RollbackOutOfRange {
                requested: 0,
                available: self.history()?.len() as u32,
            });
        }
        let mut at = head;
        for taken in 0..steps {
            if at == self.base {
                return Err(GitError::RollbackOutOfRange {
                    requested: steps,
                    available: taken,
                });
            }
            let commit = self.repo.find_commit(at).context("read commit")?;
            at = commit.parent_id(0).context("read parent")?;
        }
        Ok(at)
    }

    fn session_commit(&mut self, head: Oid, hash: &str) -> Result<Oid> {
        let unknown = || GitError::UnknownCommit {
            commit: hash.to_owned(),
        };
        let hash = hash.trim();
        if !(4..=40).contains(&hash.len()) || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(unknown());
        }
        let oid = self
            .repo
            .find_commit_by_prefix(hash)
            .map_err(|_| unknown())?
            .id();
        let mut tips: Vec<Oid> = self.undo_tips()?.values().copied().collect();
        tips.push(head);
        if oid == self.base || self.session_commits(&tips)?.contains(&oid) {
            Ok(oid)
        } else {
            Err(GitError::NotInSession {
                commit: oid.to_string(),
            })
        }
    }

    /// Creates `undo/<n>` for `head` unless an existing undo ref already reaches it.
    fn keep_reachable(&mut self, head: Oid) -> Result<()> {
        let undone: Vec<Oid> = self.undo_tips()?.values().copied().collect();
        if head == self.base || self.session_commits(&undone)?.contains(&head) {
            return Ok(());
        }
        let next = self.undo_tips()?.keys().next_back().map_or(1, |n| n + 1);
        self.repo
            .reference(
                &self.refs.undo(next),
                head,
                false,
                "studio: keep commits undone by a rollback",
            )
            .context("keep undone commits")?;
        self.undo_tips()?.insert(next, head);
        Ok(())
    }

    /// Undo refs by number: read from the repository once, then kept up to date in memory
    /// (only this session writes them).
    pub(crate) fn undo_tips(&mut self) -> Result<&mut BTreeMap<u64, Oid>> {
        if self.undo_tips.is_none() {
            let prefix = self.refs.undo_prefix();
            let mut tips = BTreeMap::new();
            let refs = self
                .repo
                .references_glob(&format!("{prefix}*"))
                .context("list undo refs")?;
            for reference in refs {
                let reference = reference.context("read undo ref")?;
                let number = reference
                    .name()
                    .ok()
                    .and_then(|n| n.strip_prefix(&prefix))
                    .and_then(|n| n.parse::<u64>().ok());
                if let (Some(number), Some(target)) = (number, reference.target()) {
                    tips.insert(number, target);
                }
            }
            self.undo_tips = Some(tips);
        }
        Ok(self.undo_tips.get_or_insert_default())
    }

    /// Commits reachable from `tips` but not from the base: one walk over the session's own
    /// commits (never the base history), however many undo refs there are.
    pub(crate) fn session_commits(&self, tips: &[Oid]) -> Result<HashSet<Oid>> {
        if tips.is_empty() {
            return Ok(HashSet::new());
        }
        let mut walk = self.repo.revwalk().context("walk session")?;
        for tip in tips {
            walk.push(*tip).context("walk session")?;
        }
        walk.hide(self.base).context("walk session")?;
        walk.map(|oid| oid.context("walk session")).collect()
    }

    /// Makes the working tree and index equal to `to`, touching only differing paths.
    pub(crate) fn move_worktree(&mut self, from: Oid, to: Oid) -> Result<()> {
        let from_tree = self
            .repo
            .find_commit(from)
            .and_then(|c| c.tree())
            .context("read tree")?;
        let to_tree = self
            .repo
            .find_commit(to)
            .and_then(|c| c.tree())
            .context("read tree")?;
        let mut index = self.repo.index().context("open index")?;
        // Comparing the whole index with the head costs a pass over every tracked file; skip it
        // when the session knows it staged nothing.
        let staged = self.index_may_differ.then_some(&index);
        let paths = sync::changed_paths(&self.repo, &from_tree, &to_tree, staged)?;
        self.index_may_differ = true;
        sync::apply(
            &self.repo,
            &self.root,
            &mut index,
            &to_tree,
            &paths,
            self.durability,
        )?;
        index.write().context("write index")?;
        self.index_may_differ = false;
        Ok(())
    }
}
