//! Which processes own a TCP listening socket, read from `/proc`: a renderer must own none (it
//! serves on a Unix socket the supervisor hands it).

use std::collections::BTreeSet;

use crate::procs::{all_pids, fd_targets, parent_of, socket_links, tcp_sockets};

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
    tcp_sockets()
        .into_iter()
        .filter(|s| s.listening)
        .map(|s| s.inode)
        .collect()
}

/// The TCP listening sockets each of `pids` has open, as `(pid, "socket:[inode]")`.
pub fn tcp_listeners_of(pids: &BTreeSet<u32>) -> Vec<(u32, String)> {
    let targets = &socket_links(&tcp_listen_inodes());
    pids.iter()
        .flat_map(|&pid| {
            fd_targets(pid)
                .filter(move |target| targets.contains(target))
                .map(move |target| (pid, target))
        })
        .collect()
}
