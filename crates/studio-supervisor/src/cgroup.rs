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

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::procinfo;

/// The directory unit cgroups are created in.
#[derive(Debug, Clone)]
pub(crate) struct CgroupRoot {
    mount: PathBuf,
    dir: PathBuf,
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
        Ok(Self { mount, dir })
    }

    /// Creates the cgroup of one unit instance.
    pub fn create(&self, unit: &str, token: &str) -> io::Result<UnitCgroup> {
        let dir = self.dir.join(format!("{unit}.{token}"));
        fs::create_dir(&dir)?;
        UnitCgroup::at(&self.mount, dir)
    }

    /// Opens an existing unit cgroup named in an adoption record, if it is one of ours: inside a
    /// cgroup2 mount and named after the unit's token.
    pub fn open_recorded(dir: &Path, token: &str) -> Option<UnitCgroup> {
        let mount = cgroup2_mount()?;
        let name_matches = dir.file_name()?.to_str()?.ends_with(&format!(".{token}"));
        (name_matches && dir.starts_with(&mount) && dir.join("cgroup.procs").exists())
            .then(|| UnitCgroup::at(&mount, dir.to_owned()).ok())
            .flatten()
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
    /// `<dir>/cgroup.procs`, prepared for the child to open between fork and exec, where it must
    /// not allocate.
    procs_file: CString,
}

impl UnitCgroup {
    fn at(mount: &Path, dir: PathBuf) -> io::Result<Self> {
        let relative = dir
            .strip_prefix(mount)
            .map(|rel| format!("/{}", rel.display()))
            .map_err(|_| io::Error::other("cgroup outside its mount"))?;
        let procs_file = CString::new(dir.join("cgroup.procs").as_os_str().as_bytes())
            .map_err(|_| io::Error::other("cgroup path contains a NUL byte"))?;
        Ok(Self {
            dir,
            relative,
            procs_file,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn procs_file(&self) -> &CString {
        &self.procs_file
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

    /// Removes the (empty) cgroup and any sub-cgroups the unit created.
    pub fn remove(&self) -> io::Result<()> {
        remove_tree(&self.dir)
    }
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
