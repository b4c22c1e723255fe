//! The store's record of a session's commits, rebuilt from the branch when they differ.
//!
//! A commit is made in git first and recorded in the store after: a crash (or a store that
//! refuses the write) in between leaves a commit the store does not know. The branch and its
//! undo refs are the truth; at recovery the store is brought in line with them, and an edit that
//! is retried after such a failure finds the commit that already carries it.

use std::collections::HashMap;

use serde_json::json;
use studio_core::{CommitInfo, EventKind, SandboxId};

use crate::announce::Announcer;
use crate::error::ManagerError;
use crate::shared::Shared;

/// Records the session's commits the store lacks (announcing those still on the branch) and
/// corrects which are rolled back. Returns how many commits were added.
pub(crate) async fn reconcile_commits(
    shared: &Shared,
    announce: &Announcer,
    id: &SandboxId,
    session: &studio_git::Session,
) -> Result<usize, ManagerError> {
    let log = session.commit_log().await.map_err(crate::git_error)?;
    let stored: HashMap<String, bool> = shared
        .store
        .commits(id)
        .await?
        .into_iter()
        .map(|c| (c.commit.hash, c.rolled_back))
        .collect();
    let (mut added, mut undone, mut restored) = (0, Vec::new(), Vec::new());
    // Oldest first: the missing ones are the newest, so appending keeps the store's order.
    for logged in &log {
        let hash = &logged.commit.hash;
        match stored.get(hash) {
            None => {
                added += 1;
                if logged.rolled_back {
                    shared.store.record_commit(id, &logged.commit).await?;
                    undone.push(hash.clone());
                } else {
                    record(shared, announce, id, &logged.commit).await?;
                }
            }
            Some(&was_rolled_back) if was_rolled_back != logged.rolled_back => {
                match logged.rolled_back {
                    true => undone.push(hash.clone()),
                    false => restored.push(hash.clone()),
                }
            }
            Some(_) => {}
        }
    }
    if !undone.is_empty() {
        shared.store.mark_rolled_back(id, &undone).await?;
    }
    if !restored.is_empty() {
        shared.store.mark_restored(id, &restored).await?;
    }
    if added + undone.len() + restored.len() > 0 {
        tracing::info!(
            sandbox = %id,
            added,
            rolled_back = undone.len(),
            restored = restored.len(),
            "the store's commits were rebuilt from the branch"
        );
    }
    Ok(added)
}

/// Records `commit` and announces it, unless the store already has it (a retried edit whose
/// commit was recorded before, or by reconciliation).
pub(crate) async fn record_once(
    shared: &Shared,
    announce: &Announcer,
    id: &SandboxId,
    commit: &CommitInfo,
) -> Result<(), ManagerError> {
    let known = shared
        .store
        .commits(id)
        .await?
        .iter()
        .any(|c| c.commit.hash == commit.hash);
    match known {
        true => Ok(()),
        false => record(shared, announce, id, commit).await,
    }
}

/// Records a commit the store cannot know yet (just made) and announces it.
pub(crate) async fn record(
    shared: &Shared,
    announce: &Announcer,
    id: &SandboxId,
    commit: &CommitInfo,
) -> Result<(), ManagerError> {
    shared.store.record_commit(id, commit).await?;
    announce_commit(announce, commit).await
}

async fn announce_commit(announce: &Announcer, commit: &CommitInfo) -> Result<(), ManagerError> {
    announce
        .event(
            EventKind::Commit,
            json!({ "hash": commit.hash, "message": commit.message }),
        )
        .await
}
