//! Unit cgroups that no registered unit owns: what a supervisor that was killed, and whose units
//! were never re-adopted, left in the cgroup root (live processes or an empty cgroup).
//!
//! The supervisor only lists them: whether one belongs to this program (another supervisor may
//! share the root, as parallel test servers do) is the caller's decision, made from the unit's
//! name and its members. Removing one kills every member at once (`cgroup.kill`), waits until
//! none is alive, then removes the cgroup and its v1 limit cgroups.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use crate::cgroup::CgroupRoot;
use crate::supervisor::Supervisor;

/// How long a leftover's processes get to die after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// One unit cgroup in the supervisor's root that no registered unit owns.
#[derive(Debug)]
pub struct LeftoverCgroup {
    unit: String,
    cgroup: crate::cgroup::UnitCgroup,
}

impl LeftoverCgroup {
    /// The unit's name (the cgroup is `<unit>.<token>`).
    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// Its v2 directory.
    pub fn dir(&self) -> &Path {
        self.cgroup.dir()
    }

    /// Live processes in it.
    pub fn members(&self) -> Vec<i32> {
        self.cgroup.members()
    }

    /// SIGKILLs every process in it and removes it (and its v1 limit cgroups). `Err` names the
    /// processes that survived, or why the directory could not be removed.
    pub async fn remove(self) -> Result<(), String> {
        if self.cgroup.is_populated() && !self.cgroup.kill_all() {
            return Err(format!(
                "{}: this kernel has no cgroup.kill; its processes {:?} were left alone",
                self.cgroup.dir().display(),
                self.members()
            ));
        }
        let deadline = Instant::now() + KILL_WAIT;
        while self.cgroup.is_populated() {
            if Instant::now() >= deadline {
                return Err(format!(
                    "{}: processes {:?} survived SIGKILL",
                    self.cgroup.dir().display(),
                    self.members()
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.cgroup
            .remove()
            .map_err(|e| format!("{}: {e}", self.cgroup.dir().display()))
    }
}

impl Supervisor {
    /// Unit cgroups in this supervisor's cgroup root whose unit is not registered here. Empty
    /// without cgroups.
    pub fn leftover_cgroups(&self) -> Vec<LeftoverCgroup> {
        let Some(root) = self.cgroup_root() else {
            return Vec::new();
        };
        unit_dirs(root)
            .into_iter()
            .filter_map(|(unit, dir)| {
                if self.unit(&unit).is_some() {
                    return None;
                }
                let token = dir.file_name()?.to_str()?.rsplit_once('.')?.1.to_owned();
                let cgroup = CgroupRoot::open_recorded(&dir, &token)?;
                Some(LeftoverCgroup { unit, cgroup })
            })
            .collect()
    }
}

/// `(<unit>, <dir>)` for every `<unit>.<token>` directory in the root.
fn unit_dirs(root: &CgroupRoot) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(root.dir()) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let (unit, token) = name.rsplit_once('.')?;
            (!unit.is_empty() && !token.is_empty()).then(|| (unit.to_owned(), e.path()))
        })
        .collect()
}
