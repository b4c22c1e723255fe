//! Which processes own a TCP listening socket, read from `/proc`: a renderer must own none (it
//! serves on a Unix socket the supervisor hands it).

use std::collections::BTreeSet;

use crate::procs::{all_pids, parent_of};

/// `pid` and every live descendant of it.
pub fn process_tree(pid: u32) -> BTreeSet<u32> {
    let mut tree = BTreeSet::from([pid]);
    // Bounded: each round either adds a process or stops.
    loop {
        let before = tree.len();
        for candidate in all_pids() {
            if parent_of(candidate).is_some_and(|parent| tree.contains(&parent)) {
                tree.insert(candidate);
            }
        }
        if tree.len() == before {
            return tree;
        }
    }
}

/// Inodes of every TCP socket in state LISTEN (`0A`), v4 and v6, any address and port.
pub fn tcp_listen_inodes() -> BTreeSet<u64> {
    let mut inodes = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if let (Some(&"0A"), Some(inode)) = (fields.get(3), fields.get(9))
                && let Ok(inode) = inode.parse()
            {
                inodes.insert(inode);
            }
        }
    }
    inodes
}

/// The TCP listening sockets each of `pids` has open, as `(pid, "socket:[inode]")`.
pub fn tcp_listeners_of(pids: &BTreeSet<u32>) -> Vec<(u32, String)> {
    let targets: BTreeSet<String> = tcp_listen_inodes()
        .iter()
        .map(|inode| format!("socket:[{inode}]"))
        .collect();
    let mut found = Vec::new();
    for &pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let target = target.to_string_lossy().into_owned();
                if targets.contains(&target) {
                    found.push((pid, target));
                }
            }
        }
    }
    found
}
