//! Resource limits of a unit (memory, process count, CPU weight) and the cgroup controllers that
//! enforce them.
//!
//! Where the unit cgroups' cgroup v2 parent has the `memory`, `pids` and `cpu` controllers (pure
//! v2 hosts), the limits are written into the unit's own v2 cgroup (`memory.max`, `pids.max`,
//! `cpu.weight`). On hybrid hosts, where the controllers are attached to v1 hierarchies, each unit
//! instance also gets a cgroup of the same name in every v1 hierarchy that has a missing
//! controller, under `<hierarchy>/<this process's path there>/studio-units/`, and the child joins
//! those between fork and exec, like its v2 cgroup. A controller found nowhere is reported once
//! at start: its limit is then not enforced.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What one instance of a unit (its whole process tree) may use. `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceLimits {
    /// Memory (and, where the kernel accounts it, swap) in bytes; over it the kernel's OOM
    /// killer ends a process of the unit, and the exit reason says so.
    pub memory_bytes: Option<u64>,
    /// Processes and threads at once; a fork past it fails with `EAGAIN`.
    pub pids: Option<u64>,
    /// Relative CPU share, 1-10000 as in cgroup v2's `cpu.weight` (100 is the kernel default);
    /// on v1 written as `cpu.shares` = weight · 1024 / 100.
    pub cpu_weight: Option<u64>,
}

impl ResourceLimits {
    fn sets(&self, controller: Controller) -> bool {
        match controller {
            Controller::Memory => self.memory_bytes.is_some(),
            Controller::Pids => self.pids.is_some(),
            Controller::Cpu => self.cpu_weight.is_some(),
        }
    }
}

/// A cgroup controller Studio uses for limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controller {
    Memory,
    Pids,
    Cpu,
}

const CONTROLLERS: [Controller; 3] = [Controller::Memory, Controller::Pids, Controller::Cpu];

impl Controller {
    fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Pids => "pids",
            Self::Cpu => "cpu",
        }
    }
}

/// Where each controller is available to unit cgroups.
#[derive(Debug, Clone, Default)]
pub(crate) struct LimitHierarchies {
    /// Controllers enabled for the children of the v2 units directory.
    v2: Vec<Controller>,
    /// The `studio-units` directory in the v1 hierarchy of each other available controller.
    v1: Vec<(Controller, PathBuf)>,
}

impl LimitHierarchies {
    /// Finds (and where needed enables or creates) the controllers for unit cgroups created in
    /// the v2 directory `units_dir`.
    pub fn prepare(units_dir: &Path) -> Self {
        let v2 = enable_v2(units_dir);
        let v1 = v1_units_dirs()
            .into_iter()
            .filter(|(c, _)| !v2.contains(c))
            .filter(|(_, dir)| fs::create_dir_all(dir).is_ok())
            .collect();
        Self { v2, v1 }
    }

    /// A line for the operator: which limits are enforced where, and which are not.
    pub fn describe(&self) -> Result<String, String> {
        let missing = self.missing();
        let found: Vec<String> = CONTROLLERS
            .iter()
            .filter(|c| !missing.contains(&c.name()))
            .map(|c| match self.v2.contains(c) {
                true => format!("{} (cgroup v2)", c.name()),
                false => format!("{} (cgroup v1)", c.name()),
            })
            .collect();
        match missing.is_empty() {
            true => Ok(format!(
                "unit resource limits enforced: {}",
                found.join(", ")
            )),
            false => Err(format!(
                "unit resource limits NOT enforced for: {} (no such cgroup controller available); \
                 enforced: {}",
                missing.join(", "),
                if found.is_empty() {
                    "none".to_owned()
                } else {
                    found.join(", ")
                }
            )),
        }
    }

    /// Controllers available neither on v2 nor on v1.
    pub fn missing(&self) -> Vec<&'static str> {
        CONTROLLERS
            .iter()
            .filter(|c| !self.v2.contains(c) && !self.v1.iter().any(|(v, _)| v == *c))
            .map(|c| c.name())
            .collect()
    }

    /// Writes `limits` into the new v2 cgroup `v2_dir` where v2 has the controller, and creates
    /// the v1 cgroups named `name` for the others. Returns the v1 cgroups created (the child
    /// must join them); on error, nothing created here is left behind.
    pub fn apply(
        &self,
        name: &str,
        v2_dir: &Path,
        limits: &ResourceLimits,
    ) -> io::Result<Vec<PathBuf>> {
        for &controller in &self.v2 {
            write_limit(v2_dir, controller, limits, Version::V2)?;
        }
        let mut created = Vec::new();
        for (controller, units_dir) in &self.v1 {
            if !limits.sets(*controller) {
                continue;
            }
            let dir = units_dir.join(name);
            let result = fs::create_dir(&dir)
                .and_then(|()| write_limit(&dir, *controller, limits, Version::V1));
            if let Err(e) = result {
                let _ = fs::remove_dir(&dir);
                let _ = remove_v1(&created);
                return Err(e);
            }
            created.push(dir);
        }
        Ok(created)
    }
}

#[derive(Clone, Copy)]
enum Version {
    V1,
    V2,
}

fn write_limit(
    dir: &Path,
    controller: Controller,
    limits: &ResourceLimits,
    version: Version,
) -> io::Result<()> {
    let write = |file: &str, value: String| {
        fs::write(dir.join(file), value)
            .map_err(|e| io::Error::new(e.kind(), format!("{}/{file}: {e}", dir.display())))
    };
    match (controller, version) {
        (Controller::Memory, Version::V2) => {
            if let Some(bytes) = limits.memory_bytes {
                write("memory.max", bytes.to_string())?;
                // Swap would let the unit exceed its limit; absent without swap accounting.
                if dir.join("memory.swap.max").exists() {
                    write("memory.swap.max", "0".into())?;
                }
            }
        }
        (Controller::Memory, Version::V1) => {
            if let Some(bytes) = limits.memory_bytes {
                write("memory.limit_in_bytes", bytes.to_string())?;
                // memory+swap must be set after memory (it may not be below it); absent when the
                // kernel does not account swap.
                if dir.join("memory.memsw.limit_in_bytes").exists() {
                    write("memory.memsw.limit_in_bytes", bytes.to_string())?;
                }
            }
        }
        (Controller::Pids, _) => {
            if let Some(pids) = limits.pids {
                write("pids.max", pids.to_string())?;
            }
        }
        (Controller::Cpu, Version::V2) => {
            if let Some(weight) = limits.cpu_weight {
                write("cpu.weight", weight.clamp(1, 10_000).to_string())?;
            }
        }
        (Controller::Cpu, Version::V1) => {
            if let Some(weight) = limits.cpu_weight {
                write(
                    "cpu.shares",
                    (weight.clamp(1, 10_000) * 1024 / 100).max(2).to_string(),
                )?;
            }
        }
    }
    Ok(())
}

/// Removes v1 unit cgroups (empty by now: their processes are gone).
pub(crate) fn remove_v1(dirs: &[PathBuf]) -> io::Result<()> {
    let mut result = Ok(());
    for dir in dirs {
        match fs::remove_dir(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => result = Err(e),
            _ => {}
        }
    }
    result
}

/// The v1 unit cgroups named `name` that exist (for a re-adopted unit).
pub(crate) fn existing_v1(name: &str) -> Vec<PathBuf> {
    v1_units_dirs()
        .into_iter()
        .map(|(_, dir)| dir.join(name))
        .filter(|dir| dir.join("tasks").exists())
        .collect()
}

/// The memory limit written into a unit's cgroups (for a re-adopted unit): v2 `memory.max`
/// unless `max`, else v1 `memory.limit_in_bytes` (a v1 memory cgroup exists only with a limit).
pub(crate) fn memory_limit_of(v2_dir: &Path, v1_dirs: &[PathBuf]) -> Option<u64> {
    let read = |path: PathBuf| fs::read_to_string(path).ok()?.trim().parse::<u64>().ok();
    read(v2_dir.join("memory.max")).or_else(|| {
        v1_dirs
            .iter()
            .find_map(|dir| read(dir.join("memory.limit_in_bytes")))
    })
}

/// How many processes the kernel's OOM killer ended in the unit's cgroups: the v2 cgroup's
/// `memory.events` and the v1 memory cgroup's `memory.oom_control` (`oom_kill` lines).
pub(crate) fn oom_kills(v2_dir: &Path, v1_dirs: &[PathBuf]) -> u64 {
    let count = |path: PathBuf| {
        fs::read_to_string(path).ok().and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("oom_kill "))
                .and_then(|n| n.trim().parse::<u64>().ok())
        })
    };
    let v1 = v1_dirs
        .iter()
        .filter_map(|dir| count(dir.join("memory.oom_control")))
        .sum::<u64>();
    count(v2_dir.join("memory.events")).unwrap_or(0) + v1
}

/// Enables the controllers for the children of `units_dir` (and in its parent, for it), as far
/// as the kernel allows (a parent with processes of its own cannot delegate them); returns the
/// ones now enabled.
fn enable_v2(units_dir: &Path) -> Vec<Controller> {
    let listed = |path: PathBuf| fs::read_to_string(path).unwrap_or_default();
    if let Some(parent) = units_dir.parent() {
        let available = listed(parent.join("cgroup.controllers"));
        for c in CONTROLLERS {
            if available.split_whitespace().any(|n| n == c.name()) {
                let _ = fs::write(
                    parent.join("cgroup.subtree_control"),
                    format!("+{}", c.name()),
                );
            }
        }
    }
    let available = listed(units_dir.join("cgroup.controllers"));
    for c in CONTROLLERS {
        if available.split_whitespace().any(|n| n == c.name()) {
            let _ = fs::write(
                units_dir.join("cgroup.subtree_control"),
                format!("+{}", c.name()),
            );
        }
    }
    let enabled = listed(units_dir.join("cgroup.subtree_control"));
    CONTROLLERS
        .into_iter()
        .filter(|c| enabled.split_whitespace().any(|n| n == c.name()))
        .collect()
}

/// For each controller mounted as a v1 hierarchy: `<mount>/<this process's path>/studio-units`.
fn v1_units_dirs() -> Vec<(Controller, PathBuf)> {
    let (Ok(mounts), Ok(own)) = (
        fs::read_to_string("/proc/self/mountinfo"),
        fs::read_to_string("/proc/self/cgroup"),
    ) else {
        return Vec::new();
    };
    CONTROLLERS
        .into_iter()
        .filter_map(|c| {
            let mount = v1_mount(&mounts, c.name())?;
            // "<id>:<controller,...>:<path>"
            let path = own.lines().find_map(|line| {
                let mut fields = line.splitn(3, ':');
                let (_, names, path) = (fields.next()?, fields.next()?, fields.next()?);
                names.split(',').any(|n| n == c.name()).then_some(path)
            })?;
            Some((
                c,
                mount
                    .join(path.trim_start_matches('/'))
                    .join("studio-units"),
            ))
        })
        .collect()
}

/// The mount point of the v1 hierarchy that has `controller`, from `/proc/self/mountinfo`.
fn v1_mount(mountinfo: &str, controller: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (mount_fields, fs_fields) = line.split_once(" - ")?;
        let mut fs_fields = fs_fields.split_whitespace();
        let (fstype, _source, options) = (fs_fields.next()?, fs_fields.next()?, fs_fields.next()?);
        let mount_point = mount_fields.split_whitespace().nth(4)?;
        (fstype == "cgroup" && options.split(',').any(|o| o == controller))
            .then(|| PathBuf::from(mount_point))
    })
}

/// Bytes as an operator reads them: `1 GiB`, `512 MiB`, or plain bytes.
pub(crate) struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        for (size, unit) in UNITS {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{} {unit}", self.0 / size);
            }
        }
        match self.0 >= 1 << 20 {
            true => write!(f, "{:.1} MiB", self.0 as f64 / (1u64 << 20) as f64),
            false => write!(f, "{} bytes", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_shown_in_binary_units() {
        assert_eq!(Bytes(1 << 30).to_string(), "1 GiB");
        assert_eq!(Bytes(64 << 20).to_string(), "64 MiB");
        assert_eq!(Bytes(1000).to_string(), "1000 bytes");
    }

    #[test]
    fn v1_mounts_are_found_by_controller() {
        let info = "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
                    31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(
            v1_mount(info, "cpu"),
            Some("/sys/fs/cgroup/cpu,cpuacct".into())
        );
        assert_eq!(
            v1_mount(info, "memory"),
            Some("/sys/fs/cgroup/memory".into())
        );
        assert_eq!(v1_mount(info, "pids"), None);
    }
}
