//! What collection may take from the mirrors: the refs of sessions whose sandbox is gone, and
//! mirrors that no session uses any more. Which of them go is the caller's decision; this module
//! says what each one is (pushed or not, gone since when) and removes one safely.
//!
//! A session is *gone* when the caller says no sandbox of that id exists and it has no worktree
//! (a session being opened has one before its sandbox is recorded). When a session is first seen
//! gone, a marker `<mirror>/studio-gone/<hex>` is written: its mtime is the lower bound of how
//! long the sandbox has been deleted (the store forgets a deleted sandbox entirely), so an age
//! bound counts from at most one collection after the deletion, never from before it.
//!
//! A mirror's last use is its directory's mtime, touched at every fetch (`mirror::sync`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use git2::{BranchType, Oid, Repository};

use crate::error::{GitContext, GitError, Result};
use crate::files::TEMP_PREFIX;
use crate::lock::lock;
use crate::mirror;
use crate::state::Shared;
use crate::workspace::GitWorkspace;

/// Where gone sessions are noted, inside a mirror.
const GONE_DIR: &str = "studio-gone";
const BRANCH_PREFIX: &str = "design/studio-";

/// One mirror as collection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorUsage {
    /// Directory name under `<data>/mirrors/`.
    pub name: String,
    /// The bare mirror.
    pub path: PathBuf,
    /// Its spare checkouts (`<data>/spares/<name>`), removed with it.
    pub spares: PathBuf,
    pub last_used: SystemTime,
    /// Every session that has refs or a worktree in it.
    pub sessions: Vec<SessionUsage>,
}

impl MirrorUsage {
    /// No session has refs or a worktree in it: removing it loses no commit and no checkout.
    pub fn unused(&self) -> bool {
        self.sessions.is_empty()
    }
}

/// One session's refs in a mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUsage {
    /// The sandbox id's hex.
    pub hex: String,
    /// `Some` when its sandbox no longer exists and it has no worktree.
    pub gone: Option<GoneSession>,
}

/// A session whose sandbox was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoneSession {
    /// When it was first seen gone (see the module documentation).
    pub since: SystemTime,
    /// Every commit it made is on the remote: its branch head and every undone head are the
    /// pushed value or behind it (or it made no commit at all).
    pub pushed: bool,
}

impl GitWorkspace {
    /// The mirrors of the data directory and their sessions. `existing` holds the hexes of the
    /// sandboxes that exist; with `note`, sessions first seen gone get their marker now (a dry
    /// run passes `false` and sees them as gone since now).
    pub async fn mirror_usage(
        &self,
        existing: HashSet<String>,
        note: bool,
    ) -> Result<Vec<MirrorUsage>> {
        let inner = Arc::clone(&self.inner);
        blocking(move || usage(&inner, &existing, note)).await
    }

    /// Deletes a gone session's branch and `refs/studio/<hex>/*` from `mirror` (its commits stay
    /// in the object database until the mirror goes). Refuses a session with a worktree.
    pub async fn remove_session_refs(&self, mirror: &str, hex: &str) -> Result<()> {
        let (inner, mirror, hex) = (Arc::clone(&self.inner), mirror.to_owned(), hex.to_owned());
        blocking(move || remove_refs(&inner, &mirror, &hex)).await
    }

    /// Removes a mirror and its spares if no session uses it (checked again under its locks).
    /// Returns whether it was removed.
    pub async fn remove_mirror(&self, mirror: &str) -> Result<bool> {
        let (inner, mirror) = (Arc::clone(&self.inner), mirror.to_owned());
        blocking(move || remove_unused(&inner, &mirror)).await
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| GitError::Internal(format!("git task failed: {e}")))?
}

fn usage(shared: &Shared, existing: &HashSet<String>, note: bool) -> Result<Vec<MirrorUsage>> {
    let dir = mirror::mirrors_dir(&shared.config.data_dir);
    let listing = match std::fs::read_dir(&dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(GitError::io("list mirrors", e)),
    };
    let mut mirrors = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| GitError::io("list mirrors", e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with(&format!("{TEMP_PREFIX}gc-")) {
            // The remains of a removal that was interrupted: what is left of it goes now.
            if let Err(error) = std::fs::remove_dir_all(&path) {
                tracing::warn!(%error, path = %path.display(), "could not remove a half-removed mirror");
            }
            continue;
        }
        // Other temporaries are mirrors being created.
        if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(repo) = Repository::open_bare(&path) else {
            continue;
        };
        let last_used = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map_err(|e| GitError::io("inspect mirror", e))?;
        let mut sessions = Vec::new();
        for (hex, tips) in session_tips(&repo)? {
            let has_worktree = repo
                .path()
                .join("worktrees")
                .join(format!("studio-{hex}"))
                .exists();
            let gone = match existing.contains(&hex) || has_worktree {
                true => None,
                false => Some(GoneSession {
                    since: gone_since(repo.path(), &hex, note)?,
                    pushed: pushed(&repo, &hex, &tips),
                }),
            };
            sessions.push(SessionUsage { hex, gone });
        }
        // A worktree without refs (cannot normally happen) still keeps its mirror.
        for hex in session_worktrees(repo.path()) {
            if !sessions.iter().any(|s| s.hex == hex) {
                sessions.push(SessionUsage { hex, gone: None });
            }
        }
        mirrors.push(MirrorUsage {
            spares: shared.config.data_dir.join("spares").join(&name),
            name,
            path,
            last_used,
            sessions,
        });
    }
    mirrors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(mirrors)
}

/// Every session's tips (branch head, undo heads) by hex, from its branch and `refs/studio/<hex>/`.
fn session_tips(repo: &Repository) -> Result<BTreeMap<String, Vec<Oid>>> {
    let mut sessions: BTreeMap<String, Vec<Oid>> = BTreeMap::new();
    for reference in repo
        .references_glob("refs/studio/*")
        .context("list session refs")?
    {
        let reference = reference.context("read session ref")?;
        let Ok(name) = reference.name().map(str::to_owned) else {
            continue;
        };
        let mut parts = name.trim_start_matches("refs/studio/").splitn(2, '/');
        let (Some(hex), Some(rest)) = (parts.next(), parts.next()) else {
            continue;
        };
        let tips = sessions.entry(hex.to_owned()).or_default();
        if rest.starts_with("undo/")
            && let Some(oid) = reference.target()
        {
            tips.push(oid);
        }
    }
    for branch in repo
        .branches(Some(BranchType::Local))
        .context("list branches")?
    {
        let (branch, _) = branch.context("read branch")?;
        let Some(hex) = branch
            .name()
            .ok()
            .flatten()
            .and_then(|n| n.strip_prefix(BRANCH_PREFIX))
            .map(str::to_owned)
        else {
            continue;
        };
        let tips = sessions.entry(hex).or_default();
        if let Some(oid) = branch.get().target() {
            tips.push(oid);
        }
    }
    Ok(sessions)
}

fn session_worktrees(git_dir: &Path) -> Vec<String> {
    let Ok(listing) = std::fs::read_dir(git_dir.join("worktrees")) else {
        return Vec::new();
    };
    listing
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("studio-").map(str::to_owned)
        })
        .collect()
}

/// Whether every tip is the session's base or at or behind what was pushed.
fn pushed(repo: &Repository, hex: &str, tips: &[Oid]) -> bool {
    let at = |name: &str| {
        repo.refname_to_id(&format!("refs/studio/{hex}/{name}"))
            .ok()
    };
    let (base, pushed) = (at("base"), at("pushed"));
    tips.iter().all(|&tip| {
        Some(tip) == base
            || pushed.is_some_and(|p| p == tip || repo.graph_descendant_of(p, tip).unwrap_or(false))
    })
}

fn gone_since(git_dir: &Path, hex: &str, note: bool) -> Result<SystemTime> {
    let marker = git_dir.join(GONE_DIR).join(hex);
    if let Ok(since) = std::fs::metadata(&marker).and_then(|m| m.modified()) {
        return Ok(since);
    }
    if note {
        let dir = git_dir.join(GONE_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| GitError::io("create gone markers", e))?;
        std::fs::write(&marker, b"").map_err(|e| GitError::io("note a gone session", e))?;
        // The marker's own date, so that this scan and the next agree on it.
        return std::fs::metadata(&marker)
            .and_then(|m| m.modified())
            .map_err(|e| GitError::io("note a gone session", e));
    }
    Ok(SystemTime::now())
}

fn remove_refs(shared: &Shared, mirror_name: &str, hex: &str) -> Result<()> {
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(GitError::Internal(format!("not a session: {hex:?}")));
    }
    let state = shared.mirror_state(mirror_name);
    // Session refs are created and deleted under the fetch lock (see `state`).
    let _fetching = lock(&state.fetch);
    let path = mirror::mirrors_dir(&shared.config.data_dir).join(mirror_name);
    let repo = Repository::open_bare(&path).context("open mirror")?;
    if repo
        .path()
        .join("worktrees")
        .join(format!("studio-{hex}"))
        .exists()
    {
        return Err(GitError::Internal(format!(
            "session {hex} has a worktree; its refs stay"
        )));
    }
    if let Ok(mut branch) = repo.find_branch(&format!("{BRANCH_PREFIX}{hex}"), BranchType::Local) {
        branch.delete().context("delete session branch")?;
    }
    // What a push left: the branch is on the remote, and the next fetch tracks it again if needed.
    if let Ok(mut tracking) = repo.find_branch(
        &format!("{}/{BRANCH_PREFIX}{hex}", mirror::REMOTE),
        BranchType::Remote,
    ) {
        tracking
            .delete()
            .context("delete session tracking branch")?;
    }
    for reference in repo
        .references_glob(&format!("refs/studio/{hex}/*"))
        .context("list session refs")?
    {
        reference
            .context("read session ref")?
            .delete()
            .context("delete session ref")?;
    }
    // The marker is only a date; one left behind names refs that no longer exist.
    let marker = repo.path().join(GONE_DIR).join(hex);
    match std::fs::remove_file(&marker) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::debug!(error = %e, "could not remove {}", marker.display()),
    }
    Ok(())
}

fn remove_unused(shared: &Shared, mirror_name: &str) -> Result<bool> {
    if mirror_name.starts_with('.') || mirror_name.contains('/') {
        return Ok(false);
    }
    let state = shared.mirror_state(mirror_name);
    // Sessions open (and spares are claimed) under the fetch lock: none can start meanwhile.
    let _fetching = lock(&state.fetch);
    let mirrors = mirror::mirrors_dir(&shared.config.data_dir);
    let path = mirrors.join(mirror_name);
    {
        let Ok(repo) = Repository::open_bare(&path) else {
            return Ok(false);
        };
        if !session_tips(&repo)?.is_empty() || !session_worktrees(repo.path()).is_empty() {
            return Ok(false);
        }
    }
    {
        let mut spares = lock(&state.spares);
        if spares.building {
            return Ok(false);
        }
        // The spare goes with the mirror; the next sync starts from a clean pool.
        spares.ready = None;
        spares.purged = false;
    }
    let aside = mirrors.join(format!("{TEMP_PREFIX}gc-{mirror_name}"));
    std::fs::rename(&path, &aside).map_err(|e| GitError::io("move mirror aside", e))?;
    std::fs::remove_dir_all(&aside).map_err(|e| GitError::io("remove mirror", e))?;
    let spares = shared.config.data_dir.join("spares").join(mirror_name);
    match std::fs::remove_dir_all(&spares) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(GitError::io("remove spare checkouts", e)),
    }
    Ok(true)
}
