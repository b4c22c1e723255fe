//! What may be removed, measured: the renderer's cache entries and the mirrors left unused, each
//! with its size and last use; and removing one.

use std::collections::HashSet;
use std::path::PathBuf;

use studio_git::MirrorUsage;
use studio_renderer::collect::{CacheEntry, CacheScan};

use super::{Collected, Parts, blocking, plan, usage};
use crate::error::ManagerError;

/// A removable thing with its size and last use.
#[derive(Debug)]
pub(super) struct Target {
    what: TargetKind,
    pub(super) candidate: plan::Candidate,
}

#[derive(Debug)]
enum TargetKind {
    Cache(CacheEntry),
    Mirror { name: String, path: PathBuf },
}

impl Target {
    pub(super) fn collected(&self) -> Collected {
        let (kind, path) = match &self.what {
            TargetKind::Cache(entry) => (entry.kind.as_str(), entry.path.clone()),
            TargetKind::Mirror { path, .. } => ("mirror", path.clone()),
        };
        Collected {
            kind,
            path,
            bytes: self.candidate.bytes,
            last_used: self.candidate.last_used,
        }
    }
}

/// What the scan needs, owned (it runs on the blocking pool).
pub(super) struct ScanInput {
    pub(super) data_dir: PathBuf,
    pub(super) npm_cache: Option<PathBuf>,
    pub(super) template_dir: PathBuf,
    /// The existing sandboxes' ids, as their checkout directories are named.
    pub(super) names: HashSet<String>,
    pub(super) work_dirs: Vec<PathBuf>,
    pub(super) mirrors: Vec<MirrorUsage>,
}

impl ScanInput {
    pub(super) fn run(self) -> Result<Vec<Target>, ManagerError> {
        // Every checkout on disk keeps what it names, whether or not its sandbox exists (a
        // create records its sandbox only after checking out); those of no sandbox lose their
        // Vite cache. A create prepares only once recorded, so it has none to lose.
        let (mut checkouts, mut orphans) = (self.work_dirs, Vec::new());
        if let Ok(listing) = std::fs::read_dir(self.data_dir.join("sandboxes")) {
            for entry in listing.flatten() {
                let checkout = entry.path().join("repo");
                let name = entry.file_name().to_string_lossy().into_owned();
                if !self.names.contains(&name) && checkout.is_dir() {
                    orphans.push(checkout.clone());
                }
                checkouts.push(checkout);
            }
        }
        // Pre-started renderers (`<data>/pool/<slot>/app`) are prepared checkouts too.
        if let Ok(listing) = std::fs::read_dir(self.data_dir.join("pool")) {
            checkouts.extend(listing.flatten().map(|slot| slot.path().join("app")));
        }
        let entries = studio_renderer::collect::scan_caches(&CacheScan {
            data_dir: &self.data_dir,
            npm_cache: self.npm_cache.as_deref(),
            checkouts: &checkouts,
            orphans: &orphans,
            template_dir: Some(&self.template_dir),
        })?;
        let mut targets: Vec<Target> = entries
            .into_iter()
            .map(|entry| {
                // Only what may go is measured: the walks are the scan's cost.
                let bytes = match entry.referenced {
                    true => 0,
                    false => usage::disk_usage(&entry.path),
                };
                let candidate = plan::Candidate {
                    bytes,
                    last_used: entry.last_used,
                    referenced: entry.referenced,
                };
                Target {
                    what: TargetKind::Cache(entry),
                    candidate,
                }
            })
            .collect();
        targets.extend(self.mirrors.into_iter().map(|mirror| Target {
            candidate: plan::Candidate {
                bytes: usage::disk_usage(&mirror.path) + usage::disk_usage(&mirror.spares),
                last_used: mirror.last_used,
                referenced: false,
            },
            what: TargetKind::Mirror {
                name: mirror.name,
                path: mirror.path,
            },
        }));
        Ok(targets)
    }
}

/// Removes one target; whether it went (a mirror in use again stays), or what failed and why.
pub(super) async fn remove(parts: &Parts<'_>, target: &Target) -> Result<bool, String> {
    match &target.what {
        TargetKind::Cache(entry) => {
            let entry = entry.clone();
            let shown = format!("{} {}", entry.kind.as_str(), entry.path.display());
            blocking(move || Ok(studio_renderer::collect::remove_cache_entry(&entry)?))
                .await
                .map(|()| true)
                .map_err(|e| format!("{shown}: {e}"))
        }
        TargetKind::Mirror { name, path } => parts
            .git
            .remove_mirror(name)
            .await
            .map_err(|e| format!("mirror {}: {e}", path.display())),
    }
}
