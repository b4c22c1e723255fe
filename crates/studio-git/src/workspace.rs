//! [`GitWorkspace`]: the facade that opens, reopens and removes sessions and warms up spares,
//! driving `checkout` and `spares` over the shared per-mirror state in `state`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Instant;

use git2::Repository;
use studio_core::SandboxId;

use crate::checkout;
use crate::config::GitConfig;
use crate::core::SessionCore;
use crate::error::{GitContext, GitError, Result};
use crate::files::Durability;
use crate::lock::lock;
use crate::mirror::{self, Base};
use crate::read::{DirEntry, FileText};
use crate::refs::SessionRefs;
use crate::session::{Session, SessionInfo};
use crate::source::RepoSource;
use crate::state::{MirrorState, Shared};

/// The git side of Studio: one bare mirror per repository, one worktree per session.
///
/// Cheap to clone (an `Arc`); all clones share mirrors, locks and spare checkouts.
#[derive(Clone)]
pub struct GitWorkspace {
    pub(crate) inner: Arc<Shared>,
}

impl fmt::Debug for GitWorkspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitWorkspace")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What `Shared::open` hands back to the async side.
struct Opened {
    session: Session,
    mirror_name: String,
    base: Base,
    spare_used: bool,
}

impl GitWorkspace {
    pub fn new(mut config: GitConfig) -> Self {
        crate::stale_locks::note_process_start();
        static LIBGIT2_OPTIONS: Once = Once::new();
        // libgit2 re-hashes every object it reads to verify it (the git CLI does not). On a
        // rollback's history walk that was the largest single cost; the objects are our own.
        LIBGIT2_OPTIONS.call_once(|| {
            git2::opts::strict_hash_verification(false);
            set_network_timeouts();
            limit_object_cache();
        });
        if config.durable {
            static GITDIR_FSYNC: Once = Once::new();
            // Process-wide in libgit2: once any workspace wants durability, every repository
            // opened afterwards gets it (a non-durable workspace never switches it off again,
            // which could silently weaken a durable one).
            GITDIR_FSYNC.call_once(enable_gitdir_fsync);
        }
        // Worktree links are absolute paths; a relative data directory (the default `./.studio`)
        // is pinned to the current directory once, here.
        if let Ok(absolute) = std::path::absolute(&config.data_dir) {
            config.data_dir = absolute;
        }
        Self {
            inner: Arc::new(Shared::new(config)),
        }
    }

    pub fn config(&self) -> &GitConfig {
        &self.inner.config
    }

    /// Where [`GitWorkspace::open_session`] puts a sandbox's checkout:
    /// `<data_dir>/sandboxes/<sandbox id>/repo`.
    pub fn default_checkout(&self, sandbox_id: &SandboxId) -> PathBuf {
        self.inner
            .config
            .data_dir
            .join("sandboxes")
            .join(sandbox_id.to_string())
            .join("repo")
    }

    /// Fetches the repository's mirror (creating it on first use), creates branch
    /// `design/studio-<hex>` at the base branch (`base_branch`, or the remote's default branch)
    /// and checks it out at [`GitWorkspace::default_checkout`].
    pub async fn open_session(
        &self,
        repository: &str,
        base_branch: Option<&str>,
        sandbox_id: &SandboxId,
    ) -> Result<Session> {
        let checkout = self.default_checkout(sandbox_id);
        self.open_session_at(repository, base_branch, sandbox_id, checkout)
            .await
    }

    /// Like [`GitWorkspace::open_session`], with the checkout at `checkout` (which must not
    /// exist, or be an empty directory). On any error nothing is left behind: no branch, no
    /// worktree, no directory.
    pub async fn open_session_at(
        &self,
        repository: &str,
        base_branch: Option<&str>,
        sandbox_id: &SandboxId,
        checkout: PathBuf,
    ) -> Result<Session> {
        let (repository, base_branch) = (repository.to_owned(), base_branch.map(str::to_owned));
        let id = sandbox_id.clone();
        let inner = Arc::clone(&self.inner);
        let started = Instant::now();
        let opened =
            blocking(move || inner.open(&repository, base_branch.as_deref(), &id, &checkout))
                .await?;
        let info = opened.session.info();
        tracing::info!(
            sandbox = %info.sandbox_id,
            repository = %info.repository,
            base = %info.base_branch,
            spare_used = opened.spare_used,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "git session opened"
        );
        self.inner
            .refill_spare(opened.mirror_name, opened.base.commit);
        Ok(opened.session)
    }

    /// Reattaches to an existing session after a restart (no fetch, no checkout).
    pub async fn reopen_session(
        &self,
        repository: &str,
        sandbox_id: &SandboxId,
        checkout: &Path,
    ) -> Result<Session> {
        let (repository, id, checkout) = (
            repository.to_owned(),
            sandbox_id.clone(),
            checkout.to_path_buf(),
        );
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.reopen(&repository, &id, &checkout)).await
    }

    /// Removes a session's checkout and its worktree metadata. Its refs (branch, base, undo,
    /// pushed) stay in the mirror, so no commit the session made is ever lost: an expired or
    /// deleted sandbox's work can still be fetched from the mirror. Idempotent. Refuses (and removes nothing) if the session's
    /// worktree is registered at a different path than `checkout`.
    pub async fn remove_session(&self, sandbox_id: &SandboxId, checkout: &Path) -> Result<()> {
        let (id, checkout) = (sandbox_id.clone(), checkout.to_path_buf());
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.remove(&id, &checkout)).await
    }

    /// Lists a directory of a session's working tree (`None`: the root), under the path guard;
    /// see `read.rs` for what is hidden and how links are treated. Needs no open [`Session`]:
    /// writes are atomic renames, so a listing or read never sees half a file.
    pub async fn list_files(&self, checkout: &Path, path: Option<&str>) -> Result<Vec<DirEntry>> {
        let (checkout, path) = (checkout.to_path_buf(), path.map(str::to_owned));
        blocking(move || crate::read::list_dir(&checkout, path.as_deref())).await
    }

    /// Reads a file of a session's working tree as UTF-8 text with its git blob id, at most
    /// `GitConfig::max_file_bytes` (the limit of a write), under the path guard.
    pub async fn read_file(&self, checkout: &Path, path: &str) -> Result<FileText> {
        let (checkout, path) = (checkout.to_path_buf(), path.to_owned());
        let limit = self.config().max_file_bytes;
        blocking(move || crate::read::read_file(&checkout, &path, limit)).await
    }

    /// Fetches the repository's mirror and, if spares are enabled, prepares a spare checkout of
    /// the base branch now, so that the next [`GitWorkspace::open_session`] of this repository
    /// is fast. Returns once the spare is ready.
    pub async fn warm_up(&self, repository: &str, base_branch: Option<&str>) -> Result<()> {
        let (repository, base_branch) = (repository.to_owned(), base_branch.map(str::to_owned));
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.warm_up(&repository, base_branch.as_deref()))
            .await
            .map_err(|e| GitError::Internal(format!("warm-up task failed: {e}")))?
    }

    /// Whether a spare checkout of `repository` is ready to be claimed.
    pub async fn spare_ready(&self, repository: &str) -> Result<bool> {
        self.inner.spare_ready(repository)
    }
}

impl Shared {
    fn open(
        &self,
        repository: &str,
        base_branch: Option<&str>,
        id: &SandboxId,
        checkout: &Path,
    ) -> Result<Opened> {
        let source = self.source(repository)?;
        let refs = SessionRefs::new(id);
        let state = self.mirror_state(&source.mirror_name);
        let (mirror, base) = {
            let _fetching = lock(&state.fetch);
            let (mirror, base) = self.sync_mirror(&state, &source, base_branch)?;
            ensure_new_session(&mirror, &refs, id, checkout)?;
            refs.create(&mirror, &base)?;
            (mirror, base)
        };
        match self.checkout(&state, &mirror, &source, &refs, &base, checkout) {
            Ok((core, spare_used)) => {
                let info = SessionInfo {
                    sandbox_id: id.clone(),
                    repository: source.display(),
                    branch: refs.branch_name().to_owned(),
                    base_branch: base.branch.clone(),
                    base_commit: base.commit.to_string(),
                    checkout: checkout.to_path_buf(),
                };
                Ok(Opened {
                    session: Session::new(info, core),
                    mirror_name: source.mirror_name,
                    base,
                    spare_used,
                })
            }
            Err(e) => {
                let _fetching = lock(&state.fetch);
                let name = refs.worktree_name();
                let _ = checkout::remove_worktree(&mirror, &state.worktrees, &name, Some(checkout));
                let _deleting = lock(&state.worktrees);
                refs.delete(&mirror);
                Err(e)
            }
        }
    }

    /// Claims a spare if one is ready (falls back to a cold checkout if that fails), and opens
    /// the session's worktree.
    fn checkout(
        &self,
        state: &MirrorState,
        mirror: &Repository,
        source: &RepoSource,
        refs: &SessionRefs,
        base: &Base,
        checkout: &Path,
    ) -> Result<(SessionCore, bool)> {
        // An empty directory (say, pre-created by the caller) is as good as none.
        let _ = std::fs::remove_dir(checkout);
        let name = refs.worktree_name();
        let mut claimed = None;
        if let Some(spare) = lock(&state.spares).take() {
            match checkout::claim_spare(mirror, &state.worktrees, &spare, &name, checkout) {
                Ok(()) => claimed = Some(spare),
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim spare checkout; checking out cold");
                    let _ = checkout::remove_worktree(mirror, &state.worktrees, &spare.name, None);
                }
            }
        }
        if claimed.is_none() {
            let head = checkout::Head::Branch(&refs.branch());
            checkout::add_worktree(mirror, &state.worktrees, &name, checkout, base.commit, head)?;
        }
        let repo = Repository::open(checkout).context("open checkout")?;
        let root =
            std::fs::canonicalize(checkout).map_err(|e| GitError::io("resolve checkout", e))?;
        let mut core = SessionCore {
            repo,
            root,
            refs: refs.clone(),
            base: base.commit,
            source: source.clone(),
            author: self.config.author.clone(),
            max_file_bytes: self.config.max_file_bytes,
            token: self.config.token.clone(),
            durability: Durability::of(self.config.durable),
            // A fresh checkout's index is exactly the base tree.
            index_may_differ: false,
            undo_tips: None,
        };
        if let Some(spare) = &claimed {
            checkout::attach_head(&core.repo, &refs.branch())?;
            if spare.at != base.commit {
                core.move_worktree(spare.at, base.commit)?;
            }
        }
        Ok((core, claimed.is_some()))
    }

    fn reopen(&self, repository: &str, id: &SandboxId, checkout: &Path) -> Result<Session> {
        let source = self.known_source(repository)?;
        let refs = SessionRefs::new(id);
        let not_found = |reason: String| GitError::SessionNotFound {
            sandbox_id: id.to_string(),
            path: checkout.to_path_buf(),
            reason,
        };
        let mirror_path = mirror::mirror_path(&self.config.data_dir, &source);
        let repo = Repository::open(checkout).map_err(|e| not_found(e.message().to_owned()))?;
        let same_mirror = std::fs::canonicalize(repo.commondir()).ok()
            == std::fs::canonicalize(&mirror_path).ok();
        if !repo.is_worktree() || !same_mirror {
            return Err(not_found(format!(
                "not a session worktree of {}",
                source.display()
            )));
        }
        // A server killed while libgit2 held one of this session's locks left it behind.
        crate::stale_locks::remove_session_locks(&repo, &refs);
        let on_branch = repo
            .head()
            .ok()
            .and_then(|h| h.name().ok().map(str::to_owned));
        if on_branch.as_deref() != Some(refs.branch().as_str()) {
            return Err(not_found(format!(
                "the checkout is not on {}",
                refs.branch_name()
            )));
        }
        let base = repo
            .refname_to_id(&refs.base())
            .map_err(|_| not_found("the session's base ref is missing".to_owned()))?;
        let base_branch = repo
            .branch_upstream_name(&refs.branch())
            .ok()
            .and_then(|b| b.as_str().ok().map(str::to_owned))
            .and_then(|b| b.strip_prefix("refs/remotes/origin/").map(str::to_owned))
            .unwrap_or_default();
        let root =
            std::fs::canonicalize(checkout).map_err(|e| GitError::io("resolve checkout", e))?;
        let info = SessionInfo {
            sandbox_id: id.clone(),
            repository: source.display(),
            branch: refs.branch_name().to_owned(),
            base_branch,
            base_commit: base.to_string(),
            checkout: checkout.to_path_buf(),
        };
        let core = SessionCore {
            repo,
            root,
            refs,
            base,
            source,
            author: self.config.author.clone(),
            max_file_bytes: self.config.max_file_bytes,
            token: self.config.token.clone(),
            durability: Durability::of(self.config.durable),
            // Unknown after a restart: the first rollback compares the index once.
            index_may_differ: true,
            undo_tips: None,
        };
        Ok(Session::new(info, core))
    }

    fn remove(&self, id: &SandboxId, checkout: &Path) -> Result<()> {
        let refs = SessionRefs::new(id);
        let Some(mirror_path) = self.find_mirror_of(&refs, checkout) else {
            return Ok(());
        };
        let mirror = Repository::open_bare(&mirror_path).context("open mirror")?;
        let name = mirror_path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let state = self.mirror_state(&name);
        // Not the fetch lock: removing a worktree touches no ref and no config of the mirror, and
        // a sandbox's teardown must not wait for another session's fetch from a slow remote.
        // The worktrees lock (taken inside) keeps it apart from worktree adds and spare purges.
        let name = refs.worktree_name();
        checkout::remove_worktree(&mirror, &state.worktrees, &name, Some(checkout))?;
        Ok(())
    }

    /// The mirror a session belongs to: from the checkout's `.git` link if it still exists,
    /// otherwise by looking for the session's worktree metadata or branch in every mirror.
    fn find_mirror_of(&self, refs: &SessionRefs, checkout: &Path) -> Option<PathBuf> {
        if let Ok(repo) = Repository::open(checkout)
            && repo.is_worktree()
        {
            return Some(repo.commondir().to_path_buf());
        }
        let entries = std::fs::read_dir(mirror::mirrors_dir(&self.config.data_dir)).ok()?;
        entries.flatten().map(|e| e.path()).find(|path| {
            path.join("worktrees").join(refs.worktree_name()).exists()
                || Repository::open_bare(path)
                    .is_ok_and(|m| m.find_reference(&refs.branch()).is_ok())
        })
    }
}

fn ensure_new_session(
    mirror: &Repository,
    refs: &SessionRefs,
    id: &SandboxId,
    checkout: &Path,
) -> Result<()> {
    let exists = |what: String| GitError::SessionExists {
        sandbox_id: id.to_string(),
        what,
    };
    if mirror.find_reference(&refs.branch()).is_ok() {
        return Err(exists(format!("branch {}", refs.branch_name())));
    }
    if checkout::admin_dir(mirror, &refs.worktree_name()).exists() {
        return Err(exists(format!("worktree {}", refs.worktree_name())));
    }
    let occupied = std::fs::read_dir(checkout).is_ok_and(|mut d| d.next().is_some());
    if occupied || checkout.is_file() {
        return Err(exists(format!("{} is not empty", checkout.display())));
    }
    Ok(())
}

/// How long libgit2 waits for a remote to accept a connection.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// How long libgit2 waits on one read or write of a remote's socket: a remote that stops sending
/// mid-fetch fails the fetch (and frees the mirror's fetch lock) after this, instead of never.
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Sets libgit2's process-wide network timeouts (without them a silent remote blocks a fetch or
/// push, and the mirror's fetch lock, forever).
#[allow(unsafe_code)] // libgit2's option setters are `unsafe` (see the SAFETY note)
fn set_network_timeouts() {
    let millis = |d: std::time::Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: libgit2 stores these in plain globals without synchronisation. They are written once,
    // under `LIBGIT2_OPTIONS`, before this workspace runs any git operation; libgit2 only reads
    // them when it opens a connection.
    let set = unsafe {
        git2::opts::set_server_connect_timeout_in_milliseconds(millis(CONNECT_TIMEOUT))
            .and_then(|()| git2::opts::set_server_timeout_in_milliseconds(millis(READ_TIMEOUT)))
    };
    if let Err(e) = set {
        tracing::warn!("could not set libgit2's network timeouts: {e}");
    }
}

/// libgit2 keeps the objects it reads in a process-wide cache of up to 256 MiB by default, which a
/// long-running server with many sessions would fill and keep. A session reads back few objects
/// (its head, the path it edits), so a small cache costs nothing measurable and bounds the memory.
const OBJECT_CACHE_BYTES: isize = 16 << 20;

#[allow(unsafe_code)]
fn limit_object_cache() {
    // SAFETY: libgit2 stores the limit in a plain global without synchronisation. It is written
    // once, under `LIBGIT2_OPTIONS`, before this workspace runs any git operation.
    if let Err(e) = unsafe { git2::opts::set_cache_max_size(OBJECT_CACHE_BYTES) } {
        tracing::warn!("could not bound libgit2's object cache: {e}");
    }
}

/// Makes libgit2 fsync every object, ref and pack it writes, and their directories
/// (`GIT_OPT_ENABLE_FSYNC_GITDIR`; git2 has no safe wrapper). A commit is then on disk, branch
/// update included, before the edit that made it is acknowledged.
///
/// libgit2 reads the setting when it writes an object, and when it opens a repository's ref
/// database: it must be set before the first repository is opened, which is why
/// [`GitWorkspace::new`] calls this.
#[allow(unsafe_code)] // a C variadic call (see the SAFETY note)
fn enable_gitdir_fsync() {
    let option = libgit2_sys::GIT_OPT_ENABLE_FSYNC_GITDIR as std::ffi::c_int;
    // libgit2 must be initialised before an option is set; this is the same idempotent init
    // git2 runs on first use.
    libgit2_sys::init();
    // SAFETY: `GIT_OPT_ENABLE_FSYNC_GITDIR` takes exactly one `int` vararg, which is what we pass
    // (a `c_int`), and libgit2 has been initialised (the line above). It stores the value in a
    // plain global without synchronisation; this runs once per process, under a `Once`, before
    // this workspace opens any repository, and libgit2 only reads it afterwards.
    let rc = unsafe { libgit2_sys::git_libgit2_opts(option, 1 as std::ffi::c_int) };
    if rc < 0 {
        tracing::warn!(rc, "could not enable libgit2's fsync of objects and refs");
    }
}

async fn blocking<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| GitError::Internal(format!("git task failed: {e}")))?
}
