//! Collection: keeps the data dir under its bounds by removing what no existing sandbox needs.
//!
//! What may go: renderer store entries, Vite dependency seeds, the Vite caches of checkouts no
//! sandbox owns, npm's cache (`studio_renderer::collect`), mirrors no session uses, and the refs
//! of deleted sandboxes' sessions (`studio_git`). The decision is `plan`'s; this module gathers
//! the facts, asks, removes and reports. It runs at server start and every hour
//! (`background`), and from `studio gc` ([`Collector`]), which may run beside a server.
//!
//! Nothing an existing sandbox needs goes: the store says which sandboxes exist, every checkout
//! on disk names the entries it uses, and the scan and the removals happen with preparations
//! paused (in every process on the data dir), so no preparation is half-way between looking an
//! entry up and naming it. Mirrors are removed by `studio_git`, which checks again, under its
//! locks, that no session has refs or a worktree in them. The store does not keep deleted
//! sandboxes: how long ago one was deleted is dated by `studio_git` from when collection first
//! saw its session gone.

pub(crate) mod background;
mod offline;
mod plan;
mod scan;
mod usage;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use studio_git::{GitWorkspace, MirrorUsage};
use studio_renderer::Renderer;
use studio_store::{SandboxFilter, Store};

use crate::config::ManagerConfig;
use crate::error::ManagerError;
use crate::shared::Shared;

pub use offline::Collector;
pub use plan::Bounds;

/// What one collection is asked to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectOptions {
    pub bounds: Bounds,
    /// Decide and report, remove nothing.
    pub dry_run: bool,
    /// Deleted sandboxes' unpushed commits go too (once deleted for the age bound).
    pub include_unpushed: bool,
}

impl CollectOptions {
    /// The server's bounds from its configuration.
    pub fn from_config(config: &ManagerConfig) -> Self {
        Self {
            bounds: Bounds {
                max_bytes: config.store_max_bytes,
                max_age: config.store_max_age,
            },
            dry_run: false,
            include_unpushed: false,
        }
    }
}

/// One thing removed (or, in a dry run, that would be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    /// `template-store`, `deps-store`, `vite-seed`, `vite-cache`, `npm-cache`, `mirror` or
    /// `session-refs`.
    pub kind: &'static str,
    pub path: PathBuf,
    /// Disk it took (0 for session refs: their commits go with the mirror).
    pub bytes: u64,
    /// Its last use; for session refs, when their sandbox was first seen deleted.
    pub last_used: SystemTime,
}

/// What a collection did.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectReport {
    pub dry_run: bool,
    /// In the order of removal (least recently used first; session refs before mirrors).
    pub removed: Vec<Collected>,
    pub freed_bytes: u64,
    /// The data dir's size before, and after (estimated in a dry run).
    pub data_dir_bytes_before: u64,
    pub data_dir_bytes: u64,
    pub max_bytes: u64,
    /// What could not be removed, and why (the rest went on).
    pub failures: Vec<String>,
    pub duration: Duration,
}

/// The services a collection uses: the manager's, or those `studio gc` opens for itself.
pub(crate) struct Parts<'a> {
    pub data_dir: &'a Path,
    /// npm's cache, when it is the data dir's own (see `CacheScan::npm_cache`).
    pub npm_cache: Option<PathBuf>,
    pub store: &'a dyn Store,
    pub git: &'a GitWorkspace,
    pub renderer: &'a Renderer,
}

impl<'a> Parts<'a> {
    /// A running server's services.
    pub(crate) fn of(shared: &'a Shared) -> Self {
        Self {
            data_dir: &shared.config.data_dir,
            npm_cache: own_npm_cache(&shared.config),
            store: shared.store.as_ref(),
            git: &shared.git,
            renderer: &shared.renderer,
        }
    }
}

/// The data dir's own npm cache, or none when the operator named a cache of their own (it may be
/// shared with other servers, whose installs this one cannot see).
pub(crate) fn own_npm_cache(config: &ManagerConfig) -> Option<PathBuf> {
    config
        .npm_cache
        .is_none()
        .then(|| config.data_dir.join("npm-cache"))
}

/// Removes what the bounds say should go and nothing an existing sandbox needs.
pub(crate) async fn collect(
    parts: &Parts<'_>,
    options: CollectOptions,
) -> Result<CollectReport, ManagerError> {
    let started = Instant::now();
    let now = SystemTime::now();
    let records = parts
        .store
        .list_sandboxes(&SandboxFilter::default())
        .await?;
    let existing: HashSet<String> = records.iter().map(|r| r.id.hex().to_owned()).collect();
    let mut report = CollectReport {
        dry_run: options.dry_run,
        removed: Vec::new(),
        freed_bytes: 0,
        data_dir_bytes_before: 0,
        data_dir_bytes: 0,
        max_bytes: options.bounds.max_bytes,
        failures: Vec::new(),
        duration: Duration::ZERO,
    };

    let mirrors = parts
        .git
        .mirror_usage(existing.clone(), !options.dry_run)
        .await
        .map_err(crate::git_error)?;
    let unused_mirrors = collect_session_refs(parts, &mirrors, options, now, &mut report).await;

    // Measured before the pause: a walk of the whole data dir would hold creates up for long.
    let data_dir = parts.data_dir.to_owned();
    let before = blocking(move || Ok(usage::disk_usage(&data_dir))).await?;
    report.data_dir_bytes_before = before;

    let paused = parts.renderer.pause_preparations().await?;
    // Read again under the pause: a sandbox created since the first read may have prepared its
    // checkout (a create records its sandbox before preparing), and must not look orphaned.
    let records = parts
        .store
        .list_sandboxes(&SandboxFilter::default())
        .await?;
    let names: HashSet<String> = records.iter().map(|r| r.id.to_string()).collect();
    let work_dirs: Vec<PathBuf> = records.iter().map(|r| r.work_dir.clone()).collect();
    let scan = scan::ScanInput {
        data_dir: parts.data_dir.to_owned(),
        npm_cache: parts.npm_cache.clone(),
        template_dir: parts.renderer.template_dir().to_owned(),
        names,
        work_dirs,
        mirrors: unused_mirrors,
    };
    let targets = blocking(move || scan.run()).await?;
    let candidates: Vec<plan::Candidate> = targets.iter().map(|t| t.candidate).collect();
    for i in plan::choose(&candidates, before, options.bounds, now) {
        let target = &targets[i];
        if !options.dry_run {
            match scan::remove(parts, target).await {
                Ok(true) => {}
                // A session began using the mirror since the scan: it stays, freeing nothing.
                Ok(false) => continue,
                Err(failure) => {
                    report.failures.push(failure);
                    continue;
                }
            }
        }
        report.freed_bytes += target.candidate.bytes;
        report.removed.push(target.collected());
    }
    drop(paused);

    report.data_dir_bytes = if options.dry_run {
        before.saturating_sub(report.freed_bytes)
    } else {
        let data_dir = parts.data_dir.to_owned();
        blocking(move || Ok(usage::disk_usage(&data_dir))).await?
    };
    report.duration = started.elapsed();
    Ok(report)
}

/// Removes the refs the rule lets go; returns the mirrors left with no session (candidates).
async fn collect_session_refs(
    parts: &Parts<'_>,
    mirrors: &[MirrorUsage],
    options: CollectOptions,
    now: SystemTime,
    report: &mut CollectReport,
) -> Vec<MirrorUsage> {
    let mut unused = Vec::new();
    for mirror in mirrors {
        let mut kept = 0;
        for session in &mirror.sessions {
            let Some(gone) = session.gone.filter(|&gone| {
                plan::session_refs_go(gone, options.bounds.max_age, options.include_unpushed, now)
            }) else {
                kept += 1;
                continue;
            };
            if !options.dry_run
                && let Err(e) = parts
                    .git
                    .remove_session_refs(&mirror.name, &session.hex)
                    .await
            {
                report.failures.push(format!(
                    "session refs of {} in {}: {e}",
                    session.hex,
                    mirror.path.display()
                ));
                kept += 1;
                continue;
            }
            report.removed.push(Collected {
                kind: "session-refs",
                path: mirror.path.join("refs/studio").join(&session.hex),
                bytes: 0,
                last_used: gone.since,
            });
        }
        if kept == 0 {
            unused.push(mirror.clone());
        }
    }
    unused
}
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ManagerError> + Send + 'static,
) -> Result<T, ManagerError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ManagerError::internal(format!("the collection task failed: {e}")))?
}
