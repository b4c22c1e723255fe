//! What runs on this machine, read from `/proc`: a process's state, parent, group and session;
//! who listens on a port; the members of a process group or cgroup; processes found by an
//! environment variable or a directory; their memory. And the signals tests send them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rustix::process::Pid;
pub use rustix::process::Signal;

/// Every PID in `/proc`.
pub fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("/proc is readable")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// `/proc/<pid>/stat` fields: `(state, ppid, pgrp, session)`.
pub fn proc_stat(pid: u32) -> Option<(char, u32, u32, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the parenthesised command name (which may itself hold spaces and ')').
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let mut num = || fields.next()?.parse().ok();
    Some((state, num()?, num()?, num()?))
}

/// Alive means: exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|(state, ..)| state != 'Z' && state != 'X')
}

/// The parent of a process.
pub fn parent_of(pid: u32) -> Option<u32> {
    proc_stat(pid).map(|(_, ppid, _, _)| ppid)
}

/// The process group of a process.
pub fn pgid_of(pid: u32) -> Option<u32> {
    proc_stat(pid).map(|(_, _, pgrp, _)| pgrp)
}

/// Living (not zombie) members of process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&pid| proc_stat(pid).is_some_and(|(s, _, pg, _)| pg == pgid && s != 'Z'))
        .collect()
}

/// Live processes whose environment contains `KEY=value`.
pub fn processes_with_env(key: &str, value: &str) -> Vec<u32> {
    let wanted = format!("{key}={value}");
    all_pids()
        .into_iter()
        .filter(|&pid| alive(pid))
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == wanted.as_bytes()))
        })
        .collect()
}

/// Sends `signal` to one process (nothing happens for PID 0 or a process that is gone).
pub fn signal(pid: u32, signal: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Sends `signal` to every process of process group `pgid`.
pub fn signal_group(pgid: u32, signal: Signal) {
    if let Some(pgid) = i32::try_from(pgid).ok().and_then(Pid::from_raw) {
        let _ = rustix::process::kill_process_group(pgid, signal);
    }
}

/// PIDs of the processes holding a LISTEN socket on `port` (127.0.0.1 or any address, v4 or v6).
pub fn listening_pids(port: u16) -> BTreeSet<u32> {
    let inodes: BTreeSet<u64> = tcp_sockets()
        .into_iter()
        .filter(|s| s.listening && s.local_port == Some(port))
        .map(|s| s.inode)
        .collect();
    socket_holders(&inodes)
}

/// One socket row of `/proc/net/tcp` or `/proc/net/tcp6`.
pub(crate) struct TcpSocket {
    /// The local port, when the `local_address` field parses.
    pub(crate) local_port: Option<u16>,
    /// State `0A`: LISTEN.
    pub(crate) listening: bool,
    pub(crate) inode: u64,
}

/// Every TCP socket, v4 and v6, read from `/proc/net/tcp{,6}`: shared by the port lookups here and
/// [`crate::listeners`] so the table format is parsed in one place. A table that cannot be read,
/// and a row without a numeric inode, contribute nothing.
pub(crate) fn tcp_sockets() -> Vec<TcpSocket> {
    let mut sockets = Vec::new();
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
            let Ok(inode) = inode.parse() else {
                continue;
            };
            let local_port = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            sockets.push(TcpSocket {
                local_port,
                listening: *state == "0A",
                inode,
            });
        }
    }
    sockets
}

/// `socket:[<inode>]` for each of `inodes`: how a `/proc/<pid>/fd/*` link names a socket.
pub(crate) fn socket_links(inodes: &BTreeSet<u64>) -> BTreeSet<String> {
    inodes.iter().map(|i| format!("socket:[{i}]")).collect()
}

/// Where each open descriptor of `pid` points (the `/proc/<pid>/fd/*` link targets, such as
/// `socket:[123]`); nothing when the process is gone or its descriptors are unreadable.
pub(crate) fn fd_targets(pid: u32) -> impl Iterator<Item = String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
}

/// PIDs of every process holding one of the sockets `inodes` open: the one scan of `/proc/*/fd`
/// that TCP ports ([`listening_pids`]) and Unix sockets ([`crate::unix_listeners`]) share.
pub(crate) fn socket_holders(inodes: &BTreeSet<u64>) -> BTreeSet<u32> {
    if inodes.is_empty() {
        return BTreeSet::new();
    }
    let targets = socket_links(inodes);
    all_pids()
        .into_iter()
        .filter(|&pid| fd_targets(pid).any(|target| targets.contains(&target)))
        .collect()
}

/// Whether a connection to `127.0.0.1:port` is refused (nothing listens).
pub fn connection_refused(port: u16) -> bool {
    matches!(
        std::net::TcpStream::connect(("127.0.0.1", port)),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
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
                .filter(|&pid| proc_stat(pid).is_some_and(|(s, ..)| s != 'Z'))
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
        match pgid_of(pid) {
            Some(group) if group == pid => signal_group(group, Signal::KILL),
            _ => signal(pid, Signal::KILL),
        }
    }
}

/// Resident memory (KiB) of every process in process group `pgid`: a renderer's whole footprint.
pub fn group_rss_kib(pgid: u32) -> u64 {
    all_pids()
        .into_iter()
        .filter(|&pid| pgid_of(pid) == Some(pgid))
        .map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

/// The inotify instances a process holds (`anon_inode:inotify` descriptors) and the watches on
/// them (`inotify wd:` lines of their `fdinfo`): what counts against the per-user
/// `fs.inotify.max_user_instances` and `max_user_watches`.
pub fn inotify_usage(pid: u32) -> (u64, u64) {
    let instances = inotify_instances(pid);
    let watches = instances.iter().map(|watched| watched.len() as u64).sum();
    (instances.len() as u64, watches)
}

/// The inodes each inotify instance of a process watches (the `ino:` of its `inotify wd:` lines).
pub fn inotify_instances(pid: u32) -> Vec<Vec<u64>> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.filter_map(Result::ok)
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| target.as_os_str() == "anon_inode:inotify")
        })
        .map(|fd| {
            let info = std::fs::read_to_string(format!(
                "/proc/{pid}/fdinfo/{}",
                fd.file_name().to_string_lossy()
            ))
            .unwrap_or_default();
            info.lines()
                .filter_map(|line| line.strip_prefix("inotify wd:"))
                .filter_map(|watch| {
                    watch
                        .split_whitespace()
                        .find_map(|f| f.strip_prefix("ino:"))
                })
                .filter_map(|ino| u64::from_str_radix(ino, 16).ok())
                .collect()
        })
        .collect()
}

/// Inotify instances and watches of every process in process group `pgid` (see
/// [`inotify_usage`]): what one renderer takes of the per-user limits.
pub fn group_inotify_usage(pgid: u32) -> (u64, u64) {
    group_members(pgid)
        .into_iter()
        .map(inotify_usage)
        .fold((0, 0), |(i, w), (pi, pw)| (i + pi, w + pw))
}

/// Every inode the processes of group `pgid` watch with inotify.
pub fn group_inotify_inodes(pgid: u32) -> BTreeSet<u64> {
    group_members(pgid)
        .into_iter()
        .flat_map(inotify_instances)
        .flatten()
        .collect()
}

/// Proportional set size (KiB) of every process in process group `pgid`: the `Pss:` line of
/// `/proc/<pid>/smaps_rollup`, each process's private pages plus its share of pages it maps
/// with others. Unlike RSS, the PSS of many renderers adds up to the memory they take together
/// (Node's code, mapped by every renderer, is counted once in all).
pub fn group_pss_kib(pgid: u32) -> u64 {
    group_members(pgid).into_iter().map(pss_kib).sum()
}

/// `Pss:` of `/proc/<pid>/smaps_rollup` in KiB (0 when the process is gone or unreadable).
pub fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
