//! What runs on this machine, read from `/proc`: which process listens on a port, its process
//! group and cgroup, and whether any of them is still alive.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rustix::process::{Pid, Signal};

/// PIDs of the processes holding a LISTEN socket on `port` (127.0.0.1 or any address, v4 or v6).
pub fn listening_pids(port: u16) -> BTreeSet<u32> {
    let inodes = listen_inodes(port);
    if inodes.is_empty() {
        return BTreeSet::new();
    }
    let targets: BTreeSet<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    all_pids()
        .into_iter()
        .filter(|pid| {
            let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                return false;
            };
            fds.flatten().any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| targets.contains(&*target.to_string_lossy()))
            })
        })
        .collect()
}

/// Inodes of LISTEN sockets (state `0A`) on `port` in `/proc/net/tcp` and `/proc/net/tcp6`.
fn listen_inodes(port: u16) -> BTreeSet<u64> {
    let mut inodes = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port)
                && *state == "0A"
                && let Ok(inode) = inode.parse()
            {
                inodes.insert(inode);
            }
        }
    }
    inodes
}

/// Whether a connection to `127.0.0.1:port` is refused (nothing listens).
pub fn connection_refused(port: u16) -> bool {
    matches!(
        std::net::TcpStream::connect(("127.0.0.1", port)),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `(state, pgrp)` from `/proc/<pid>/stat` (the fields after the parenthesised command name).
fn state_and_pgrp(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

pub fn pgid_of(pid: u32) -> Option<u32> {
    state_and_pgrp(pid).map(|(_, pgrp)| pgrp)
}

/// Living (not zombie) members of a process group.
pub fn group_members(pgid: u32) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&pid| matches!(state_and_pgrp(pid), Some((state, pgrp)) if pgrp == pgid && state != 'Z'))
        .collect()
}

/// The cgroup v2 directory of a process (the cgroup2 mount point joined with `/proc/<pid>/cgroup`'s
/// `0::` line).
pub fn cgroup_of(pid: u32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let relative = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mount = cgroup2_mount()?;
    Some(mount.join(relative.trim_start_matches('/')))
}

fn cgroup2_mount() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        let mount_point = before.split_whitespace().nth(4)?;
        (after.split_whitespace().next()? == "cgroup2").then(|| PathBuf::from(mount_point))
    })
}

/// Living processes of a cgroup (none when the cgroup is gone).
pub fn cgroup_members(cgroup: &Path) -> Vec<u32> {
    std::fs::read_to_string(cgroup.join("cgroup.procs"))
        .map(|t| {
            t.lines()
                .filter_map(|l| l.trim().parse().ok())
                .filter(|&pid| state_and_pgrp(pid).is_some_and(|(s, _)| s != 'Z'))
                .collect()
        })
        .unwrap_or_default()
}

/// Kills (SIGKILL, by process group) every process whose command line or working directory lies
/// under `dir`: the renderers a test's servers left behind, whatever happened to the test.
pub fn kill_processes_under(dir: &Path) {
    let needle = dir.to_string_lossy().into_owned();
    for pid in all_pids() {
        if pid == std::process::id() {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !(cmdline.contains(&needle) || cwd.starts_with(&needle)) {
            continue;
        }
        let Some(target) = Pid::from_raw(pid as i32) else {
            continue;
        };
        match pgid_of(pid).and_then(|g| Pid::from_raw(g as i32)) {
            Some(group) if group == target => {
                let _ = rustix::process::kill_process_group(group, Signal::KILL);
            }
            _ => {
                let _ = rustix::process::kill_process(target, Signal::KILL);
            }
        }
    }
}

/// Every path under `dir` (relative), for failure messages.
pub fn dir_listing(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(
                path.strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            );
            if entry.file_type().is_ok_and(|t| t.is_dir()) && out.len() < 200 {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}
