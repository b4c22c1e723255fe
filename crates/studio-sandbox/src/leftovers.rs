//! At start, after recovery: renderer cgroups (and their processes) of sandboxes that no longer
//! exist, or that no actor owns, are removed.
//!
//! A server that was killed mid-delete, or killed and never started again while a sandbox was
//! deleted some other way, leaves a renderer running (or an empty cgroup) that nothing will ever
//! stop. The supervisor's cgroup root may be shared with other Studio servers (parallel test
//! servers are), so a leftover is removed only when it is provably this server's: its sandbox is
//! in this store, or one of its processes works inside this data dir. An empty cgroup of an
//! unknown sandbox is left alone (it could be another server's).

use std::path::Path;

use studio_core::SandboxId;

use crate::shared::Shared;

/// The renderer unit's name ends so (see `renderer_unit::spec::unit_name`).
const RENDERER_SUFFIX: &str = "-renderer";

/// Removes this server's leftover renderer cgroups; returns how many.
pub(crate) async fn remove_leftover_renderers(shared: &Shared) -> usize {
    let data_dir = shared
        .config
        .data_dir
        .canonicalize()
        .unwrap_or_else(|_| shared.config.data_dir.clone());
    let mut removed = 0;
    for leftover in shared.supervisor.leftover_cgroups() {
        // An idle pre-started renderer of a previous server of this data dir: never re-adopted
        // (a fresh one is as good), so it goes.
        if leftover.unit().starts_with(crate::pool::POOL_UNIT_PREFIX) {
            let works_here = leftover
                .members()
                .into_iter()
                .any(|pid| works_inside(pid, &data_dir));
            if works_here {
                let (dir, unit) = (leftover.dir().to_owned(), leftover.unit().to_owned());
                match leftover.remove().await {
                    Ok(()) => {
                        removed += 1;
                        tracing::info!(unit, cgroup = %dir.display(), "removed a leftover pre-started renderer");
                    }
                    Err(e) => tracing::warn!(
                        unit,
                        "could not remove a leftover pre-started renderer: {e}"
                    ),
                }
            }
            continue;
        }
        let Some(id) = leftover
            .unit()
            .strip_suffix(RENDERER_SUFFIX)
            .and_then(|id| id.parse::<SandboxId>().ok())
        else {
            continue;
        };
        if shared.registry.get(&id).is_some() {
            continue;
        }
        let known = matches!(shared.store.get_sandbox(&id).await, Ok(Some(_)));
        let works_here = leftover
            .members()
            .into_iter()
            .any(|pid| works_inside(pid, &data_dir));
        if !known && !works_here {
            continue;
        }
        let (dir, members) = (leftover.dir().to_owned(), leftover.members());
        match leftover.remove().await {
            Ok(()) => {
                removed += 1;
                tracing::info!(
                    sandbox = %id,
                    cgroup = %dir.display(),
                    processes = ?members,
                    "removed the leftover renderer of a sandbox no actor owns"
                );
            }
            Err(e) => tracing::warn!(sandbox = %id, "could not remove a leftover renderer: {e}"),
        }
    }
    removed
}

/// Whether `pid`'s working directory is inside `data_dir` (a renderer works in its checkout).
fn works_inside(pid: i32, data_dir: &Path) -> bool {
    std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(data_dir))
}
