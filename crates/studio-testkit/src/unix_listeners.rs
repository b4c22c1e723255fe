//! Who serves on a Unix socket, read from `/proc`: renderers listen on `<data-dir>/run/<hex>.sock`
//! instead of a TCP port, so "which processes serve this sandbox" and "nothing serves it any
//! more" are questions about the socket's listening inode.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::procs::socket_holders;

/// `<data_dir>/run/<hex>.sock`: where the renderer of sandbox `id` (`sb_<hex>`) serves.
pub fn renderer_socket(data_dir: &Path, id: &str) -> PathBuf {
    let hex = id.strip_prefix("sb_").unwrap_or(id);
    data_dir.join("run").join(format!("{hex}.sock"))
}

/// Inodes of listening Unix sockets bound at `path` (`/proc/net/unix`, flag `__SO_ACCEPTCON`),
/// or bound anywhere with `None`.
fn listening_inodes_at(path: Option<&Path>) -> BTreeSet<u64> {
    let Ok(text) = std::fs::read_to_string("/proc/net/unix") else {
        return BTreeSet::new();
    };
    let wanted = path.map(|p| p.to_string_lossy().into_owned());
    text.lines()
        .skip(1)
        .filter_map(|line| {
            // Num RefCount Protocol Flags Type St Inode Path
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (flags, inode, bound) = (fields.get(3)?, fields.get(6)?, fields.get(7)?);
            let listening = u32::from_str_radix(flags, 16).is_ok_and(|f| f & 0x0001_0000 != 0);
            let here = wanted.as_deref().is_none_or(|w| *bound == w);
            (listening && here).then(|| inode.parse().ok())?
        })
        .collect()
}

fn listening_inodes(path: &Path) -> BTreeSet<u64> {
    listening_inodes_at(Some(path))
}

/// The renderer of a sandbox claimed from the renderer pool listens on a socket bound under the
/// pool's name and renamed to `path`, and `/proc/net/unix` keeps the name a socket was bound at.
/// It is found through its unit's cgroup instead (`…/sb_<hex>-renderer.<token>`): the members
/// that hold a listening Unix socket, while `path` exists.
fn moved_socket_owners(path: &Path) -> BTreeSet<u32> {
    let Some(hex) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".sock"))
    else {
        return BTreeSet::new();
    };
    if !path.exists() {
        return BTreeSet::new();
    }
    let unit = format!("/sb_{hex}-renderer.");
    let members: BTreeSet<u32> = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                        .is_ok_and(|c| c.contains(&unit))
                })
                .collect()
        })
        .unwrap_or_default();
    if members.is_empty() {
        return members;
    }
    socket_holders(&listening_inodes_at(None))
        .intersection(&members)
        .copied()
        .collect()
}

/// PIDs of the processes holding the listening socket bound at `path` (none once nothing serves
/// there).
pub fn socket_owners(path: &Path) -> BTreeSet<u32> {
    let owners = socket_holders(&listening_inodes(path));
    if owners.is_empty() {
        return moved_socket_owners(path);
    }
    owners
}

/// [`socket_owners`] without `server` (the process that bound the socket may keep its copy).
pub fn renderer_pids(path: &Path, server: u32) -> BTreeSet<u32> {
    let mut pids = socket_owners(path);
    pids.remove(&server);
    pids
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_of_a_listening_socket_is_found_and_gone_after_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert_eq!(socket_owners(&path), BTreeSet::from([std::process::id()]));
        assert!(renderer_pids(&path, std::process::id()).is_empty());
        drop(listener);
        assert!(socket_owners(&path).is_empty());
        assert_eq!(
            renderer_socket(Path::new("/d"), "sb_00ff"),
            PathBuf::from("/d/run/00ff.sock")
        );
    }
}
