//! The state every clone of a [`GitWorkspace`](crate::GitWorkspace) shares: its configuration and,
//! per mirror, the fetch and worktree locks and the spare-checkout pool.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use crate::checkout::{Spare, WorktreesLock};
use crate::config::GitConfig;
use crate::lock::lock;

/// Shared by all clones of one workspace (behind an `Arc`).
pub(crate) struct Shared {
    pub config: GitConfig,
    mirrors: Mutex<HashMap<String, Arc<MirrorState>>>,
}

/// Per-mirror coordination inside this process.
pub(crate) struct MirrorState {
    /// Held while fetching and while creating or deleting session refs, so that concurrent
    /// sessions of one repository never fetch into the same mirror at once (and never write the
    /// mirror's config, which a fetch rewrites, at the same time).
    ///
    /// This is the one lock held across network I/O, on a blocking thread, never on the async
    /// runtime. Only callers that need the mirror fresh take it: opening a session of this
    /// repository, warming it up, and a failed open cleaning up its own refs.
    /// Removing a session, reading or writing a session's files and pushing do not (a push holds
    /// only its own session's lock). libgit2's connect and read timeouts (`workspace.rs`) bound
    /// how long a silent remote keeps it.
    pub fetch: Mutex<()>,
    /// Held while worktrees are added, moved or removed (see `checkout::WorktreesLock`).
    pub worktrees: WorktreesLock,
    pub spares: Mutex<SparePool>,
    /// Signalled whenever a spare build finishes, for callers waiting on it.
    pub spare_built: Condvar,
}

/// A mirror's spare checkouts: at most one ready; `spares.rs` builds, purges and hands them out.
#[derive(Debug, Default)]
pub(crate) struct SparePool {
    pub ready: Option<Spare>,
    pub building: bool,
    pub purged: bool,
}

impl SparePool {
    pub fn take(&mut self) -> Option<Spare> {
        self.ready.take()
    }
}

impl Shared {
    pub(crate) fn new(config: GitConfig) -> Self {
        Self {
            config,
            mirrors: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn mirror_state(&self, name: &str) -> Arc<MirrorState> {
        let mut mirrors = lock(&self.mirrors);
        Arc::clone(mirrors.entry(name.to_owned()).or_insert_with(|| {
            Arc::new(MirrorState {
                fetch: Mutex::new(()),
                worktrees: Mutex::new(()),
                spares: Mutex::new(SparePool::default()),
                spare_built: Condvar::new(),
            })
        }))
    }
}
