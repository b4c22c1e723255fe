//! Lock files a killed server left behind.
//!
//! libgit2 takes a lock by creating `<file>.lock` and renames it over `<file>` when done. A server
//! killed in between (SIGKILL, a crash, the machine going down) leaves the `.lock`, and every
//! later write of that ref or index fails ("failed to lock file … for writing", "the index is
//! locked"): the sandbox could never commit again. One server owns a data dir, so a lock older
//! than this process is nobody's: when a session is reopened (at recovery, before anything else
//! touches it), its locks that predate this process are removed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use git2::Repository;

use crate::refs::SessionRefs;

/// When this process started using git (the first call); every lock older than that is stale.
fn process_start() -> SystemTime {
    static START: OnceLock<SystemTime> = OnceLock::new();
    *START.get_or_init(SystemTime::now)
}

/// Records the process start now: call once when the workspace is created, before any git work.
pub(crate) fn note_process_start() {
    process_start();
}

/// Removes the stale lock files of a session: its worktree's index and HEAD, its branch and its
/// `refs/studio/<hex>/` refs, and the mirror's `packed-refs`. Returns the paths removed.
pub(crate) fn remove_session_locks(worktree: &Repository, refs: &SessionRefs) -> Vec<PathBuf> {
    let gitdir = worktree.path();
    let common = worktree.commondir();
    let mut candidates = vec![
        gitdir.join("index.lock"),
        gitdir.join("HEAD.lock"),
        common.join(format!("{}.lock", refs.branch())),
        common.join("packed-refs.lock"),
    ];
    collect_locks(
        &common.join(refs.all_glob().trim_end_matches("/*")),
        &mut candidates,
    );
    candidates
        .into_iter()
        .filter(|path| is_stale(path) && std::fs::remove_file(path).is_ok())
        .inspect(|path| tracing::warn!(lock = %path.display(), "removed a lock file a killed server left"))
        .collect()
}

fn collect_locks(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_locks(&path, out);
        } else if path.extension().is_some_and(|e| e == "lock") {
            out.push(path);
        }
    }
}

/// A regular file last modified before this process started.
fn is_stale(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| {
            if !m.is_file() {
                return Ok(false);
            }
            Ok(m.modified()? < process_start())
        })
        .unwrap_or(false)
}
