//! Studio's git layer: every design session works on its own branch, and every edit is a commit.
//!
//! This is the only crate that imports `git2`. Everything it does runs on tokio's blocking pool;
//! the async API never blocks the runtime.
//!
//! # Layout on disk
//!
//! ```text
//! <data_dir>/mirrors/<slug>-<hash>.git     one bare mirror per repository source
//! <data_dir>/sandboxes/<sb_id>/repo        a session checkout (linked worktree of the mirror)
//! <data_dir>/spares/<mirror>/<n>           a prepared checkout waiting for the next session
//! ```
//!
//! # How a session works
//!
//! - [`GitWorkspace::open_session`] fetches the mirror (fetches of one mirror are serialized),
//!   creates `design/studio-<hex>` at the base branch, and checks it out as a linked worktree,
//!   so the checkout costs one commit's files, never the history. If a spare checkout is ready
//!   it is claimed by renaming instead (see `checkout.rs`). Failures leave nothing behind.
//! - [`Session::write_file`] and [`Session::delete_file`] pass the path guard (`path_guard.rs`),
//!   write atomically (temp file + rename), and commit exactly the touched path with the message
//!   pattern. Identical content makes no commit.
//! - [`Session::rollback`] moves the branch back (or forward) to a commit of the session,
//!   updating only the paths that differ, after keeping the old head under
//!   `refs/studio/<hex>/undo/<n>`: no commit is ever lost.
//! - [`Session::push`] publishes the branch, forcing only over a value we pushed; idempotent
//!   across crashes (see `push.rs`).
//! - [`Session::commit_log`] and [`Session::commit_carrying`] read what the branch says happened,
//!   for a caller whose own record may be behind after a crash (see `reconcile.rs`).
//! - [`GitWorkspace::remove_session`] removes the checkout and its worktree metadata; the
//!   session's refs stay in the mirror, so its commits outlive the sandbox.
//!
//! - [`GitWorkspace::list_files`] and [`GitWorkspace::read_file`] read a checkout's working tree
//!   under the path guard (links followed only where they stay inside; see `read.rs`), and
//!   [`Session::current_blob`] gives a file's git blob id for an edit's stale check.
//! - [`GitWorkspace::warm_up`] fetches a repository and prepares its spare ahead of time;
//!   [`seed_repository`] turns a plain folder into a repository (for `studio demo`).
//!
//! # Where to look
//!
//! | module | what |
//! | --- | --- |
//! | `workspace` / `session` | the async API; everything below runs on the blocking pool |
//! | `source`, `policy`, `mirror`, `auth` | repository sources and which are allowed, bare mirrors and fetching, credentials |
//! | `checkout`, `spares`, `state` | linked worktrees, the spare-checkout pool, per-mirror locks |
//! | `path_guard`, `files` | which paths may be touched; atomic writes and index entries |
//! | `read` | listing and reading the working tree (the guard, links followed only inside), blob ids |
//! | `core`, `rollback`, `sync`, `push` | edits and commits, rollback, path-by-path tree updates, push |
//! | `reconcile` | the session's commits and the commit that carries a path's content, read back from git |
//! | `refs` | every name a session uses in the mirror |
//!
//! # Invariants
//!
//! - Paths written or deleted are inside the working tree, never in `.git`, `.studio/` or
//!   `node_modules/`, never through a symlink that leaves the tree.
//! - A commit contains exactly the paths its request touched.
//! - Files are written byte for byte as git stores them: no end-of-line or other filters, in
//!   checkouts, edits and rollbacks alike, so what an agent writes is what gets committed.
//! - Every commit a session ever made stays reachable from a ref, also after the session is
//!   removed (its branch and undo refs stay in the mirror).
//! - Operations of one session are serialized; sessions share nothing mutable but the mirror's
//!   object database and refs (distinct ref names per session; libgit2 locks each ref).
//! - Tokens never appear in URLs on disk, in logs or in errors.
//! - Every source a caller names passes the [`SourcePolicy`] before a local path is looked at or a
//!   host is contacted; the token is offered only over https to the policy's GitHub host.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), studio_git::GitError> {
//! use studio_core::{CommitPattern, SandboxId};
//! use studio_git::{GitConfig, GitWorkspace, RollbackTarget};
//!
//! let workspace = GitWorkspace::new(GitConfig::new("/var/lib/studio"));
//! let id = SandboxId::from_random([7; 8]);
//! let session = workspace.open_session("https://github.com/acme/ui.git", None, &id).await?;
//! let pattern = CommitPattern::default();
//! session.write_file("src/Button.tsx", "export {}", "Round corners", &pattern).await?;
//! session.rollback(RollbackTarget::Steps(1)).await?;
//! session.push().await?;
//! workspace.remove_session(&id, &session.info().checkout).await?;
//! # Ok(()) }
//! ```

mod admit;
mod auth;
mod checkout;
mod collect;
mod config;
mod core;
mod error;
mod files;
mod lock;
mod mirror;
mod path_guard;
mod policy;
mod push;
mod read;
mod reconcile;
mod refs;
mod rollback;
mod seed;
mod session;
mod source;
mod spares;
mod stale_locks;
mod state;
mod sync;
mod workspace;

pub use collect::{GoneSession, MirrorUsage, SessionUsage};
pub use config::{Author, DEFAULT_MAX_FILE_BYTES, GitConfig};
pub use error::{GitError, Result};
pub use path_guard::{PathRefusal, RepoPath};
pub use policy::{PatternError, SourcePattern, SourcePolicy};
pub use read::{DirEntry, EntryKind, FileText, blob_id};
pub use reconcile::LoggedCommit;
pub use rollback::RollbackTarget;
pub use seed::seed_repository;
pub use session::{Session, SessionInfo};
pub use studio_core::SecretToken;
pub use workspace::GitWorkspace;
