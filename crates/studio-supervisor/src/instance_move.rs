//! The steps that make a running instance another unit's, shared by the two ways that happens:
//! [`Supervisor::transfer`](crate::Supervisor::transfer) (a pre-started process given to a new
//! unit) and a crashed unit taking over a replacement (`unit/replacement.rs`). Each caller
//! handles the listening socket itself, since only it knows whether the socket takes a new path
//! or the place of the unit's own.

use std::path::Path;
use std::sync::Arc;

use crate::adopt::reattach_output;
use crate::cgroup::CgroupRoot;
use crate::log_files;
use crate::logs::LogBuffer;
use crate::process::{Instance, Output};
use crate::spec::UnitSpec;

/// Moves `instance`'s processes into a cgroup of `spec`'s unit with `spec`'s limits (the old
/// one is removed) and renames its output files from `from`'s names to `spec`'s. The error says
/// which step failed; the caller then kills the instance, which nobody else owns.
pub(crate) fn move_instance(
    cgroups: Option<&CgroupRoot>,
    log_dir: Option<&Path>,
    from: &str,
    spec: &UnitSpec,
    instance: &mut Instance,
) -> Result<(), String> {
    if let Some(root) = cgroups {
        let cgroup = root
            .create(&spec.name, &instance.token, &spec.limits)
            .map_err(|e| format!("cannot create its cgroup: {e}"))?;
        let dirs = cgroup.dirs();
        if let Err(e) = instance.move_to_cgroup(cgroup) {
            for dir in dirs {
                // Best effort: the cgroup is empty, and a leftover is swept at the next start.
                let _ = std::fs::remove_dir(dir);
            }
            return Err(format!("cannot move its processes: {e}"));
        }
    }
    if let Some(dir) = log_dir {
        log_files::rename_unit_files(dir, from, &spec.name)
            .map_err(|e| format!("cannot rename its output files: {e}"))?;
    }
    Ok(())
}

/// Follows a moved instance's output into `logs`: with output files, their tail (what it wrote
/// under the old unit included) and then every new line; with pipes, its inherited pipes.
pub(crate) async fn follow_output(
    log_dir: Option<&Path>,
    unit: &str,
    instance: &mut Instance,
    logs: &Arc<LogBuffer>,
) {
    let output = match log_dir {
        Some(dir) => Output {
            readers: Vec::new(),
            tailer: log_files::adopt(dir, unit, instance.pid, logs).await,
        },
        None => Output {
            readers: reattach_output(instance.pid, logs),
            tailer: None,
        },
    };
    instance.attach_output(output);
}
