//! Moving a working tree from one commit to another by touching only the paths that differ.
//!
//! A full checkout of a 10,000-file repository writes 10,000 files; a rollback by one step of a
//! one-file commit should write one. [`changed_paths`] asks git which paths differ (a tree-to-tree
//! diff skips every unchanged subtree by its id, so it costs what changed, not what exists) and
//! [`apply`] makes each of those paths in the working tree and the index equal to the target
//! tree. Paths staged but not committed (edits made with auto-commit off) are included, so
//! after a rollback every tracked file matches the target exactly.
//!
//! Untracked files are never touched: generated folders (`.studio/`, `node_modules/`) survive.

use std::collections::BTreeSet;
use std::path::Path;

use git2::{Index, Repository, Tree};

use crate::error::{GitContext, GitError, Result};
use crate::files::{self, Durability, Kind};
use crate::path_guard::{self, RepoPath, ResolveError};

/// Paths whose content differs between `from` and `to`, plus paths where `index` differs from
/// `from` (staged, uncommitted changes).
pub(crate) fn changed_paths(
    repo: &Repository,
    from: &Tree<'_>,
    to: &Tree<'_>,
    index: Option<&Index>,
) -> Result<BTreeSet<String>> {
    let mut paths = BTreeSet::new();
    let mut collect = |diff: git2::Diff<'_>| {
        for delta in diff.deltas() {
            for file in [delta.old_file(), delta.new_file()] {
                if let Some(p) = file.path().and_then(Path::to_str) {
                    paths.insert(p.to_owned());
                }
            }
        }
    };
    collect(
        repo.diff_tree_to_tree(Some(from), Some(to), None)
            .context("diff trees")?,
    );
    if let Some(index) = index {
        collect(
            repo.diff_tree_to_index(Some(from), Some(index), None)
                .context("diff index")?,
        );
    }
    Ok(paths)
}

/// Makes each of `paths` in the working tree at `root` (canonical) and in `index` equal to its
/// state in `target`: written if the target has it, removed otherwise. Removals run first so
/// that a file replacing a directory (or the reverse) finds its place free. Does not write the
/// index to disk; the caller does, once.
pub(crate) fn apply(
    repo: &Repository,
    root: &Path,
    index: &mut Index,
    target: &Tree<'_>,
    paths: &BTreeSet<String>,
    durability: Durability,
) -> Result<()> {
    let mut writes = Vec::new();
    for path in paths {
        let repo_path = RepoPath::parse_tracked(path).map_err(|r| GitError::refused(path, r))?;
        match target.get_path(repo_path.as_path()) {
            Ok(entry) => writes.push((repo_path, entry.id(), entry.filemode())),
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                let resolved = resolve(root, &repo_path)?;
                files::remove_file_and_empty_parents(root, &resolved.abs)
                    .map_err(|e| GitError::io(format!("remove {repo_path}"), e))?;
                // Not in the index is fine: the path may only have existed in `from`.
                let _ = index.remove_path(repo_path.as_path());
            }
            Err(e) => return Err(e).context("look up path in target tree"),
        }
    }
    for (repo_path, id, mode) in writes {
        let Some(kind) = Kind::from_mode(mode) else {
            // Submodules (gitlinks) are not materialized; leave them as git leaves them.
            continue;
        };
        let blob = repo.find_blob(id).context("read blob")?;
        let resolved = resolve(root, &repo_path)?;
        files::atomic_write(
            &resolved.parent,
            &resolved.abs,
            blob.content(),
            kind,
            durability,
        )
        .map_err(|e| GitError::io(format!("write {repo_path}"), e))?;
        let meta = std::fs::symlink_metadata(&resolved.abs)
            .map_err(|e| GitError::io(format!("stat {repo_path}"), e))?;
        index
            .add(&files::index_entry(&repo_path, id, kind, &meta))
            .context("update index")?;
    }
    Ok(())
}

fn resolve(root: &Path, path: &RepoPath) -> Result<path_guard::Resolved> {
    path_guard::resolve(root, path, true).map_err(|e| match e {
        ResolveError::Refused(reason) => GitError::refused(path.as_str(), reason),
        ResolveError::Io(e) => GitError::io(format!("inspect {path}"), e),
    })
}
