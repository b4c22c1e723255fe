//! cgroup v2 containment: one cgroup per unit instance.
//!
//! A process group is not a container: a grandchild that calls `setsid` leaves it and survives
//! `killpg`. A cgroup is inherited by every descendant and cannot be left without privileges,
//! so "the unit" is exactly "the processes in its cgroup": `cgroup.events` says whether any is
//! alive (zombies do not count), and `cgroup.kill` SIGKILLs them all atomically.
//!
//! The child joins its cgroup between `fork` and `exec` (see `process.rs`), so nothing it starts
//! can ever run outside. Unit cgroups live under `<supervisor's own cgroup>/studio-units/` unless
//! configured otherwise; each is named after the unit and its token and removed after the stop.
//! Resource limits, and the v1 cgroups that carry them on hybrid hosts, are in `limits.rs`.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::limits::{self, LimitHierarchies, ResourceLimits};
use crate::procinfo;
use crate::usage::UsageMeter;

/// The directory unit cgroups are created in.
#[derive(Debug, Clone)]
pub(crate) struct CgroupRoot {
    mount: PathBuf,
    dir: PathBuf,
    limits: LimitHierarchies,
}

impl CgroupRoot {
    /// Finds the cgroup v2 mount and prepares `dir` (default: `studio-units` under our own
    /// cgroup). `Err` explains why cgroups cannot be used here.
    pub fn prepare(dir: Option<&Path>) -> Result<Self, String> {
        let mount = cgroup2_mount().ok_or("no cgroup2 file system is mounted")?;
        let dir = match dir {
            Some(dir) => dir.to_owned(),
            None => {
                let own = procinfo::cgroup_path(std::process::id() as i32)
                    .ok_or("this process has no cgroup v2 path")?;
                mount.join(own.trim_start_matches('/')).join("studio-units")
            }
        };
        if !dir.starts_with(&mount) {
            return Err(format!(
                "{} is not inside the cgroup2 mount {}",
                dir.display(),
                mount.display()
            ));
        }
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if !dir.join("cgroup.procs").exists() {
            return Err(format!("{} is not a cgroup v2 directory", dir.display()));
        }
        let limits = LimitHierarchies::prepare(&dir);
        Ok(Self { mount, dir, limits })
    }

    /// The directory unit cgroups are created in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where resource limits are enforced (see [`LimitHierarchies::describe`]).
    pub fn limits(&self) -> &LimitHierarchies {
        &self.limits
    }

    /// Creates the cgroup of one unit instance, with `limits` applied (in v1 cgroups of the same
    /// name where v2 lacks a controller). Nothing is left behind on error.
    pub fn create(
        &self,
        unit: &str,
        token: &str,
        limits: &ResourceLimits,
    ) -> io::Result<UnitCgroup> {
        let name = format!("{unit}.{token}");
        let dir = self.dir.join(&name);
        fs::create_dir(&dir)?;
        let v1 = match self.limits.apply(&name, &dir, limits) {
            Ok(v1) => v1,
            Err(e) => {
                let _ = fs::remove_dir(&dir);
                return Err(e);
            }
        };
        let mut cgroup = UnitCgroup::at(&self.mount, dir)?;
        cgroup
            .join_files
            .extend(v1.iter().filter_map(|d| procs_file(d).ok()));
        cgroup.v1 = v1;
        cgroup.memory_limit = limits.memory_bytes;
        Ok(cgroup)
    }

    /// Opens an existing unit cgroup named in an adoption record, if it is one of ours: inside a
    /// cgroup2 mount and named after the unit's token.
    pub fn open_recorded(dir: &Path, token: &str) -> Option<UnitCgroup> {
        let mount = cgroup2_mount()?;
        let name_matches = dir.file_name()?.to_str()?.ends_with(&format!(".{token}"));
        let mut cgroup =
            (name_matches && dir.starts_with(&mount) && dir.join("cgroup.procs").exists())
                .then(|| UnitCgroup::at(&mount, dir.to_owned()).ok())
                .flatten()?;
        // Its v1 limit cgroups, if it has any, go when it is removed.
        cgroup.v1 = limits::existing_v1(dir.file_name()?.to_str()?);
        cgroup.memory_limit = limits::memory_limit_of(dir, &cgroup.v1);
        Some(cgroup)
    }
}

/// The mount point of the cgroup v2 hierarchy (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on
/// hybrid systems), from `/proc/self/mountinfo`.
fn cgroup2_mount() -> Option<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        // "<id> <parent> <dev> <root> <mount point> <options> ... - <fstype> <source> <options>"
        let (mount_fields, fs_fields) = line.split_once(" - ")?;
        let fstype = fs_fields.split_whitespace().next()?;
        let mount_point = mount_fields.split_whitespace().nth(4)?;
        (fstype == "cgroup2").then(|| PathBuf::from(mount_point))
    })
}

/// One unit instance's cgroup.
#[derive(Debug)]
pub(crate) struct UnitCgroup {
    dir: PathBuf,
    /// The path as `/proc/<pid>/cgroup` shows it (relative to the mount).
    relative: String,
    /// `<dir>/cgroup.procs` and the v1 cgroups' `cgroup.procs`, prepared for the child to open
    /// between fork and exec, where it must not allocate.
    join_files: Vec<CString>,
    /// The v1 cgroups that carry limits v2 cannot (hybrid hosts); same name, removed with it.
    v1: Vec<PathBuf>,
    /// The memory limit, to tell an out-of-memory kill from other deaths.
    memory_limit: Option<u64>,
}

impl UnitCgroup {
    fn at(mount: &Path, dir: PathBuf) -> io::Result<Self> {
        let relative = dir
            .strip_prefix(mount)
            .map(|rel| format!("/{}", rel.display()))
            .map_err(|_| io::Error::other("cgroup outside its mount"))?;
        let join_files = vec![procs_file(&dir)?];
        Ok(Self {
            dir,
            relative,
            join_files,
            v1: Vec::new(),
            memory_limit: None,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The v2 directory, then the v1 limit cgroups: what a failed spawn removes.
    pub fn dirs(&self) -> Vec<PathBuf> {
        std::iter::once(self.dir.clone())
            .chain(self.v1.iter().cloned())
            .collect()
    }

    /// The `cgroup.procs` files the child writes `0` to before exec: v2 first, then v1.
    pub fn join_files(&self) -> &[CString] {
        &self.join_files
    }

    /// Where this instance's memory and CPU use are read (v2, then its v1 cgroups).
    pub fn meter(&self) -> UsageMeter {
        UsageMeter::new(self.dir.clone(), self.v1.clone())
    }

    /// The memory limit, when the kernel's OOM killer has ended a process of this instance.
    pub fn out_of_memory(&self) -> Option<u64> {
        let limit = self.memory_limit?;
        (limits::oom_kills(&self.dir, &self.v1) > 0).then_some(limit)
    }

    /// Whether any live process is in the cgroup or below it.
    pub fn is_populated(&self) -> bool {
        match fs::read_to_string(self.dir.join("cgroup.events")) {
            Ok(events) => events.lines().any(|l| l == "populated 1"),
            // A removed cgroup holds nothing.
            Err(_) => false,
        }
    }

    /// Live processes in the cgroup and its descendants (`cgroup.procs` omits zombies).
    pub fn members(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        collect_members(&self.dir, &mut pids);
        pids
    }

    /// Whether `pid` is (still) inside this cgroup.
    pub fn contains(&self, pid: i32) -> bool {
        procinfo::cgroup_path(pid).is_some_and(|path| {
            path == self.relative
                || path
                    .strip_prefix(&self.relative)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// SIGKILLs every process in the cgroup at once (`cgroup.kill`, Linux 5.14+). `false` when the
    /// kernel lacks `cgroup.kill` and the caller must signal members one by one.
    pub fn kill_all(&self) -> bool {
        fs::write(self.dir.join("cgroup.kill"), "1").is_ok()
    }

    /// Moves every process of this cgroup (and of its v1 limit cgroups) into `to`'s, repeating
    /// until none is left: a process that forks while the others move leaves its child behind,
    /// and the next round takes it. Bounded; fails if members remain.
    ///
    /// On cgroup v2 a process's memory charges move with it only for pages it touches from then
    /// on; what it allocated before stays charged to the old cgroup until freed (the kernel does
    /// not migrate charges), so `to`'s limit applies to the process's growth after the move.
    pub fn move_members_to(&self, to: &UnitCgroup) -> io::Result<()> {
        let pairs = std::iter::once((self.dir.as_path(), to.dir.as_path())).chain(
            self.v1
                .iter()
                .map(PathBuf::as_path)
                .zip(to.v1.iter().map(PathBuf::as_path)),
        );
        for (from, into) in pairs {
            let procs = into.join("cgroup.procs");
            for _round in 0..100 {
                let mut members = Vec::new();
                collect_members(from, &mut members);
                if members.is_empty() {
                    break;
                }
                for pid in members {
                    match fs::write(&procs, pid.to_string()) {
                        Ok(()) => {}
                        // Exited meanwhile.
                        Err(e) if e.raw_os_error() == Some(libc_esrch()) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            let mut left = Vec::new();
            collect_members(from, &mut left);
            if !left.is_empty() {
                return Err(io::Error::other(format!(
                    "processes {left:?} stayed in {}",
                    from.display()
                )));
            }
        }
        Ok(())
    }

    /// Removes the (empty) cgroup and any sub-cgroups the unit created, then its v1 cgroups.
    pub fn remove(&self) -> io::Result<()> {
        remove_tree(&self.dir)?;
        limits::remove_v1(&self.v1)
    }
}

/// `ESRCH`: the process named no longer exists.
fn libc_esrch() -> i32 {
    rustix::io::Errno::SRCH.raw_os_error()
}

fn procs_file(dir: &Path) -> io::Result<CString> {
    CString::new(dir.join("cgroup.procs").as_os_str().as_bytes())
        .map_err(|_| io::Error::other("cgroup path contains a NUL byte"))
}

fn collect_members(dir: &Path, pids: &mut Vec<i32>) {
    if let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) {
        pids.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    for sub in subdirectories(dir) {
        collect_members(&sub, pids);
    }
}

fn remove_tree(dir: &Path) -> io::Result<()> {
    for sub in subdirectories(dir) {
        remove_tree(&sub)?;
    }
    match fs::remove_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}
