//! Making a directory appear inside a jail that is already running: mount propagation.
//!
//! A pre-started renderer (the renderer pool) is born in its jail before anyone knows which
//! checkout it will serve. Its jail binds a *drop point* (`JailSpec::drop_points`): a directory
//! of the host that Studio made a shared mount ([`prepare_drop_point`]) before the jail started.
//! `bwrap` turns every mount of the new namespace into a slave of the host's (`MS_SLAVE|MS_REC`),
//! so the jail's copy of the drop point receives every mount Studio later makes below it on the
//! host, and nothing the jail does travels back. Claiming the process is then one bind mount on
//! the host ([`drop_in`]): the checkout appears inside the jail at the path the jail expects,
//! with the directories it must not see covered by an empty read-only tmpfs in the same step.
//!
//! Mounting needs `CAP_SYS_ADMIN` in the host's mount namespace (Studio running as root, outside
//! a container that drops it); [`drop_points_supported`] says whether this process has it.

use std::io;
use std::path::Path;

use rustix::mount::{
    MountFlags, MountPropagationFlags, UnmountFlags, mount, mount_bind, mount_change,
    mount_remount, unmount,
};

use crate::JailError;

/// Whether this process can make drop points: it may mount (root, with `CAP_SYS_ADMIN`: a
/// container's root usually lacks it). Tried once, with a bind mount of a fresh temporary
/// directory onto itself, undone at once; the answer is kept for the life of the process.
pub fn drop_points_supported() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        if !rustix::process::geteuid().is_root() {
            return false;
        }
        let Ok(probe) = tempfile_dir() else {
            return false;
        };
        let mounted = mount_bind(&probe, &probe).is_ok();
        if mounted {
            let _ = unmount(&probe, UnmountFlags::DETACH);
        }
        let _ = std::fs::remove_dir(&probe);
        mounted
    })
}

/// A new empty directory below the system's temporary directory.
fn tempfile_dir() -> io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "studio-mount-probe-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

/// Makes `dir` (created if missing) a mount of its own with shared propagation, so mounts made
/// below it later reach every jail that binds it. Idempotent: a `dir` that already is such a
/// mount point (a drop point that outlived a server restart) is left as it is.
pub fn prepare_drop_point(dir: &Path) -> Result<(), JailError> {
    std::fs::create_dir_all(dir).map_err(|e| mount_error("create", dir, e))?;
    if is_mount_point(dir) {
        return Ok(());
    }
    mount_bind(dir, dir).map_err(|e| mount_error("bind", dir, e.into()))?;
    // Private first: a bind of a directory on a shared mount would otherwise join that mount's
    // peer group, and what Studio mounts here would also appear wherever the host's is.
    mount_change(dir, MountPropagationFlags::PRIVATE)
        .and_then(|()| mount_change(dir, MountPropagationFlags::SHARED))
        .map_err(|e| {
            let _ = unmount(dir, UnmountFlags::DETACH);
            mount_error("share", dir, e.into())
        })
}

/// Binds `source` at `drop_point/relative` (created if missing), then covers each of `hidden`
/// (paths relative to `source`) as `JailSpec::hidden` covers them. Every jail that
/// binds the drop point sees the result. On error nothing stays mounted.
pub fn drop_in(
    drop_point: &Path,
    relative: &Path,
    source: &Path,
    hidden: &[&Path],
) -> Result<(), JailError> {
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(mount_error(
            "place",
            relative,
            io::Error::other("not a plain relative path"),
        ));
    }
    let target = drop_point.join(relative);
    std::fs::create_dir_all(&target).map_err(|e| mount_error("create", &target, e))?;
    mount_bind(source, &target).map_err(|e| mount_error("bind", &target, e.into()))?;
    for hide in hidden {
        let covered = target.join(hide);
        if let Err(e) = cover(&covered) {
            let _ = unmount(&target, UnmountFlags::DETACH);
            return Err(mount_error("cover", &covered, e.into()));
        }
    }
    Ok(())
}

/// Covers `path`, as `JailSpec::hidden` does: a directory with an empty read-only tmpfs, a file
/// (a linked worktree's `.git` is one) with `/dev/null` bound read-only. Nothing there: nothing
/// to cover.
fn cover(path: &Path) -> rustix::io::Result<()> {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if metadata.is_dir() {
        let flags =
            MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
        return mount("tmpfs", path, "tmpfs", flags, Some(c"size=4k,mode=0555"));
    }
    mount_bind(Path::new("/dev/null"), path)?;
    let flags = MountFlags::BIND | MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NOEXEC;
    mount_remount(path, flags, c"").inspect_err(|_| {
        let _ = unmount(path, UnmountFlags::DETACH);
    })
}

/// Unmounts everything at and below `dir` (lazily: a jail still holding it keeps its view until
/// it ends) and removes the directory tree that is left, which no longer reaches anything that
/// was mounted. A `dir` that is not mounted is only removed.
pub fn remove_drop_point(dir: &Path) -> Result<(), JailError> {
    for mounted in mounts_below(dir) {
        match unmount(&mounted, UnmountFlags::DETACH) {
            Ok(()) => {}
            // Already gone with a parent's detach.
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(mount_error("unmount", &mounted, e.into())),
        }
    }
    if mounts_below(dir).is_empty() {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(mount_error("remove", dir, e)),
        }
    } else {
        Err(mount_error(
            "unmount",
            dir,
            io::Error::other("mounts remain below it"),
        ))
    }
}

/// The mount points at or below `dir` in this process's mount namespace, deepest first.
pub fn mounts_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(table) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut found: Vec<std::path::PathBuf> = table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape)
        .map(std::path::PathBuf::from)
        .filter(|point| point.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    found
}

fn is_mount_point(dir: &Path) -> bool {
    mounts_below(dir).iter().any(|p| p == dir)
}

/// `/proc/self/mountinfo` escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = bytes[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            out.push(u8::try_from(value).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mount_error(action: &'static str, path: &Path, source: io::Error) -> JailError {
    JailError::io(action, path, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/tmp/a\040b"), "/tmp/a b");
        assert_eq!(unescape(r"/plain"), "/plain");
        assert_eq!(unescape(r"/x\134y"), r"/x\y");
    }

    #[test]
    fn a_drop_in_must_stay_below_its_drop_point() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../escape", "/abs", "a/../../b"] {
            let err = drop_in(dir.path(), Path::new(bad), dir.path(), &[]).unwrap_err();
            assert!(err.to_string().contains("plain relative"), "{bad}: {err}");
        }
    }

    #[test]
    fn what_is_dropped_in_is_visible_below_the_drop_point_and_hidden_dirs_are_empty() {
        if !drop_points_supported() {
            return; // mounting needs root; the suite runs as root (tests/run.sh)
        }
        let dir = tempfile::tempdir().unwrap();
        let point = dir.path().join("point");
        let source = dir.path().join("checkout");
        std::fs::create_dir_all(source.join(".git")).unwrap();
        std::fs::write(source.join(".git/HEAD"), "secret").unwrap();
        std::fs::write(source.join("file"), "hello").unwrap();
        prepare_drop_point(&point).unwrap();
        prepare_drop_point(&point).unwrap(); // idempotent
        drop_in(
            &point,
            Path::new("a/checkout"),
            &source,
            &[Path::new(".git")],
        )
        .unwrap();
        let seen = point.join("a/checkout");
        assert_eq!(std::fs::read_to_string(seen.join("file")).unwrap(), "hello");
        assert!(!seen.join(".git/HEAD").exists(), ".git is covered");
        assert!(
            std::fs::write(seen.join(".git/x"), "").is_err(),
            "read-only"
        );
        assert_eq!(mounts_below(&point).len(), 3);
        remove_drop_point(&point).unwrap();
        assert!(mounts_below(&point).is_empty());
        assert!(!point.exists());
        assert_eq!(
            std::fs::read_to_string(source.join(".git/HEAD")).unwrap(),
            "secret",
            "the source itself is untouched"
        );
    }
}
