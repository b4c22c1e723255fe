//! The blocking half of a session: file edits, commits and history on an open worktree.
//!
//! A `SessionCore` is owned by exactly one [`Session`](crate::Session) and only ever used from a
//! blocking thread, one operation at a time (the session's mutex guarantees it).
//!
//! Invariants kept by every operation here:
//! - Commits are built from the branch head's tree plus exactly the touched path
//!   (`TreeUpdateBuilder`), never from the whole index, so untracked or unrelated staged files are
//!   never swept into a commit.
//! - The index mirrors what the session wrote: a committed write leaves the index equal to the new
//!   head for that path; an uncommitted write stages it. `sync.rs` relies on this to find
//!   uncommitted edits without scanning the working tree.
//! - `repo.commit` updates the branch only if it still points at the parent we built on, so a
//!   concurrent writer could never be silently overwritten.
//!
//! The core also remembers two facts that would otherwise cost a scan on every rollback: whether
//! the index may hold staged edits (`index_may_differ`), and the undo refs. Both are only ever
//! changed by this session, one operation at a time, so the memory stays true; after a reopen
//! they start as "unknown" and are recomputed once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use git2::build::TreeUpdateBuilder;
use git2::{Commit, Oid, Repository, Signature, Tree};
use studio_core::{CommitInfo, CommitPattern, SecretToken};
use time::OffsetDateTime;

use crate::config::Author;
use crate::error::{GitContext, GitError, Result};
use crate::files::{self, Durability, Kind};
use crate::path_guard::{self, RepoPath, ResolveError, Resolved};
use crate::refs::SessionRefs;
use crate::source::RepoSource;

/// What to record for an edit: nothing (auto-commit off), or a commit with this description.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Record<'a> {
    Stage,
    Commit {
        description: &'a str,
        pattern: &'a CommitPattern,
    },
}

pub(crate) struct SessionCore {
    pub repo: Repository,
    /// Canonical path of the checkout.
    pub root: PathBuf,
    pub refs: SessionRefs,
    pub base: Oid,
    pub source: RepoSource,
    pub author: Author,
    pub max_file_bytes: u64,
    pub token: Option<SecretToken>,
    /// Whether files written into the checkout are fsync'd (`GitConfig::durable`).
    pub durability: Durability,
    /// False only when the index is known to equal the head's tree (fresh checkout, after a
    /// rollback, after committed-only edits). True means "diff the index before a rollback".
    pub index_may_differ: bool,
    /// Undo refs by number, loaded on first use (see `rollback.rs`).
    pub undo_tips: Option<BTreeMap<u64, Oid>>,
}

impl SessionCore {
    pub fn head(&self) -> Result<Commit<'_>> {
        branch_head(&self.repo, &self.refs)
    }

    pub fn write(
        &mut self,
        input: &str,
        content: &[u8],
        record: Record<'_>,
    ) -> Result<Option<CommitInfo>> {
        let path = RepoPath::parse(input).map_err(|r| GitError::refused(input, r))?;
        let size = content.len() as u64;
        if size > self.max_file_bytes {
            return Err(GitError::TooLarge {
                path: input.to_owned(),
                size,
                limit: self.max_file_bytes,
            });
        }
        let target = self.resolve(input, &path)?;
        let path = &target.repo_path;
        let head = branch_head(&self.repo, &self.refs)?;
        let head_tree = head.tree().context("read head tree")?;
        let tracked = head_tree.get_path(path.as_path()).ok();
        let mut index = self.repo.index().context("open index")?;
        let indexed = index.get_path(path.as_path(), 0);
        // Keep an existing executable bit; everything else becomes a regular file.
        let was_executable = indexed
            .as_ref()
            .map(|e| e.mode as i32)
            .or(tracked.as_ref().map(|e| e.filemode()))
            == Some(i32::from(git2::FileMode::BlobExecutable));
        let kind = if was_executable {
            Kind::Executable
        } else {
            Kind::File
        };
        let blob = self.repo.blob(content).context("store content")?;
        // Until the commit lands, the index may hold this edit uncommitted.
        let index_was_clean = !self.index_may_differ;
        self.index_may_differ = true;

        // Skipping an identical write spares the dev server a pointless reload.
        let rewrite = !files::has_content(&target.abs, content);
        if rewrite {
            files::atomic_write(&target.parent, &target.abs, content, kind, self.durability)
                .map_err(|e| GitError::io(format!("write {path}"), e))?;
        }
        if rewrite || indexed.as_ref().is_none_or(|e| e.id != blob) {
            let meta = std::fs::symlink_metadata(&target.abs)
                .map_err(|e| GitError::io(format!("stat {path}"), e))?;
            index
                .add(&files::index_entry(path, blob, kind, &meta))
                .context("stage file")?;
            index.write().context("write index")?;
        }

        let unchanged =
            tracked.is_some_and(|e| e.id() == blob && e.filemode() == i32::from(kind.mode()));
        let commit = self.commit_edit(record, !unchanged, &head, &head_tree, |update| {
            update.upsert(path.as_path(), blob, kind.mode());
        })?;
        self.index_may_differ = index_differs_after(record, index_was_clean);
        Ok(commit)
    }

    pub fn delete(&mut self, input: &str, record: Record<'_>) -> Result<Option<CommitInfo>> {
        let path = RepoPath::parse(input).map_err(|r| GitError::refused(input, r))?;
        let target = self.resolve(input, &path)?;
        let path = &target.repo_path;
        let head = branch_head(&self.repo, &self.refs)?;
        let head_tree = head.tree().context("read head tree")?;
        let tracked = head_tree.get_path(path.as_path()).is_ok();
        let index_was_clean = !self.index_may_differ;
        self.index_may_differ = true;
        let existed = files::remove_file_and_empty_parents(&self.root, &target.abs)
            .map_err(|e| GitError::io(format!("delete {path}"), e))?;
        let mut index = self.repo.index().context("open index")?;
        let indexed = index.get_path(path.as_path(), 0).is_some();
        if indexed {
            index.remove_path(path.as_path()).context("unstage file")?;
            index.write().context("write index")?;
        }
        if !existed && !tracked && !indexed {
            return Err(GitError::FileNotFound {
                path: input.to_owned(),
            });
        }
        let commit = self.commit_edit(record, tracked, &head, &head_tree, |update| {
            update.remove(path.as_path());
        })?;
        self.index_may_differ = index_differs_after(record, index_was_clean);
        Ok(commit)
    }

    /// Commits what the session's uncommitted edits staged (auto-commit off), as one commit on
    /// the branch; `None` when the index holds nothing the head does not. Only the index is
    /// read: it holds exactly the session's writes (see the invariants above), never untracked
    /// files of the working tree.
    pub fn commit_staged(
        &mut self,
        description: &str,
        pattern: &CommitPattern,
    ) -> Result<Option<CommitInfo>> {
        let head = self.head()?;
        let mut index = self.repo.index().context("open index")?;
        let tree = index.write_tree().context("build tree from the index")?;
        if tree == head.tree_id() {
            return Ok(None);
        }
        let commit = self.commit(&head, tree, description, pattern)?;
        drop(head);
        self.index_may_differ = false;
        Ok(Some(commit))
    }

    /// The session's commits since its base, oldest first.
    pub fn history(&self) -> Result<Vec<CommitInfo>> {
        let head = self.head()?;
        let mut walk = self.repo.revwalk().context("walk history")?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .context("walk history")?;
        walk.push(head.id()).context("walk history")?;
        walk.hide(self.base).context("walk history")?;
        walk.map(|oid| {
            let commit = self
                .repo
                .find_commit(oid.context("walk history")?)
                .context("read commit")?;
            Ok(commit_info(&commit))
        })
        .collect()
    }

    /// Commits an edit as `record` asks: `head`'s tree with `change` applied, on top of `head`.
    /// `Ok(None)` when the edit is only staged, or when it `changes` nothing in the head's tree.
    fn commit_edit(
        &self,
        record: Record<'_>,
        changes: bool,
        head: &Commit<'_>,
        head_tree: &Tree<'_>,
        change: impl FnOnce(&mut TreeUpdateBuilder),
    ) -> Result<Option<CommitInfo>> {
        let Record::Commit {
            description,
            pattern,
        } = record
        else {
            return Ok(None);
        };
        if !changes {
            return Ok(None);
        }
        let mut update = TreeUpdateBuilder::new();
        change(&mut update);
        let tree = update
            .create_updated(&self.repo, head_tree)
            .context("build tree")?;
        self.commit(head, tree, description, pattern).map(Some)
    }

    fn commit(
        &self,
        parent: &Commit<'_>,
        tree: Oid,
        description: &str,
        pattern: &CommitPattern,
    ) -> Result<CommitInfo> {
        // Git stores whole seconds; report exactly what `history` will read back.
        let now = OffsetDateTime::now_utc();
        let now = OffsetDateTime::from_unix_timestamp(now.unix_timestamp()).unwrap_or(now);
        let message = pattern.render(description, now);
        let when = git2::Time::new(now.unix_timestamp(), 0);
        let signature = Signature::new(&self.author.name, &self.author.email, &when)
            .context("author signature")?;
        let tree = self.repo.find_tree(tree).context("read tree")?;
        let oid = self
            .repo
            .commit(
                Some(&self.refs.branch()),
                &signature,
                &signature,
                &message,
                &tree,
                &[parent],
            )
            .context("commit")?;
        Ok(CommitInfo {
            hash: oid.to_string(),
            message,
            timestamp: now,
        })
    }

    pub(crate) fn resolve(&self, input: &str, path: &RepoPath) -> Result<Resolved> {
        path_guard::resolve(&self.root, path, false).map_err(|e| match e {
            ResolveError::Refused(reason) => GitError::refused(input, reason),
            ResolveError::Io(e) => GitError::io(format!("inspect {input}"), e),
        })
    }
}

/// Whether the index may differ from the head after a successful edit: a staged edit leaves it
/// different; a recorded one (committed, or a no-op) leaves the index as it was before the edit.
fn index_differs_after(record: Record<'_>, index_was_clean: bool) -> bool {
    matches!(record, Record::Stage) || !index_was_clean
}

/// The session branch's commit. A free function so that it borrows only the repository, not the
/// whole core (whose bookkeeping fields change while the commit is in use).
fn branch_head<'r>(repo: &'r Repository, refs: &SessionRefs) -> Result<Commit<'r>> {
    repo.find_reference(&refs.branch())
        .and_then(|r| r.peel_to_commit())
        .context("read session branch")
}

pub(crate) fn commit_info(commit: &Commit<'_>) -> CommitInfo {
    let message = String::from_utf8_lossy(commit.message_bytes());
    CommitInfo {
        hash: commit.id().to_string(),
        message: message.trim_end().to_owned(),
        timestamp: OffsetDateTime::from_unix_timestamp(commit.time().seconds())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    }
}
