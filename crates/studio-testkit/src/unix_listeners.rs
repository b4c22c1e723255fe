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

/// Inodes of listening Unix sockets bound at `path` (`/proc/net/unix`, flag `__SO_ACCEPTCON`).
fn listening_inodes(path: &Path) -> BTreeSet<u64> {
    let Ok(text) = std::fs::read_to_string("/proc/net/unix") else {
        return BTreeSet::new();
    };
    let wanted = path.to_string_lossy();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            // Num RefCount Protocol Flags Type St Inode Path
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (flags, inode, bound) = (fields.get(3)?, fields.get(6)?, fields.get(7)?);
            let listening = u32::from_str_radix(flags, 16).is_ok_and(|f| f & 0x0001_0000 != 0);
            (listening && *bound == wanted).then(|| inode.parse().ok())?
        })
        .collect()
}

/// PIDs of the processes holding the listening socket bound at `path` (none once nothing serves
/// there).
pub fn socket_owners(path: &Path) -> BTreeSet<u32> {
    socket_holders(&listening_inodes(path))
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
