//! The few facts the supervisor reads from `/proc`, parsed by hand.
//!
//! These readers run in hot loops (a stop polls "is anything of the unit still alive?" every few
//! milliseconds), so they read one small file each and allocate little. Every reader treats a
//! vanished process as "not there" rather than as an error: processes exit between any two reads.

use std::fs;
use std::io;
use std::path::Path;

/// The fields of `/proc/<pid>/stat` the supervisor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// `R`, `S`, `D`, `Z` (zombie), `X` (dead), ...
    pub state: char,
    pub ppid: i32,
    /// Process group.
    pub pgrp: i32,
    /// Start time in clock ticks since boot: with the PID, it identifies a process across PID reuse.
    pub start_time: u64,
    /// User plus system CPU time in clock ticks.
    pub cpu_ticks: u64,
}

impl ProcStat {
    /// A zombie has exited and holds no resources but its PID; a dead (`X`) task is being removed.
    /// Neither counts as "alive" for the purpose of a stop.
    pub fn is_alive(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Reads `/proc/<pid>/stat`; `None` when the process does not exist (any more).
pub(crate) fn stat(pid: i32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses a stat line. The command name (field 2) is in parentheses and may itself contain spaces
/// and parentheses, so fields are counted from the *last* `)`.
fn parse_stat(text: &str) -> Option<ProcStat> {
    let after_comm = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Field n of proc(5) (1-based) is at index n - 3 here.
    let field = |n: usize| fields.get(n - 3).copied();
    Some(ProcStat {
        state: field(3)?.chars().next()?,
        ppid: field(4)?.parse().ok()?,
        pgrp: field(5)?.parse().ok()?,
        cpu_ticks: field(14)?.parse::<u64>().ok()? + field(15)?.parse::<u64>().ok()?,
        start_time: field(22)?.parse().ok()?,
    })
}

/// Every PID currently in `/proc`.
pub(crate) fn pids() -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Live (non-zombie) processes whose process group is `pgid`.
pub(crate) fn live_group_members(pgid: i32) -> Vec<i32> {
    pids()
        .into_iter()
        .filter(|&pid| stat(pid).is_some_and(|st| st.pgrp == pgid && st.is_alive()))
        .collect()
}

/// Whether `/proc/<pid>/environ` contains exactly `key=value`.
pub(crate) fn environ_contains(pid: i32, key: &str, value: &str) -> bool {
    let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let wanted = format!("{key}={value}");
    environ
        .split(|&b| b == 0)
        .any(|var| var == wanted.as_bytes())
}

/// The cgroup v2 path of a process (the `0::/path` line of `/proc/<pid>/cgroup`).
pub(crate) fn cgroup_path(pid: i32) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(str::to_owned)
}

/// Resident set size of a process in bytes (the `VmRSS` line of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    kib_field(&text, "VmRSS:")
}

/// Proportional set size of a process in bytes (the `Pss:` line of `/proc/<pid>/smaps_rollup`):
/// its private pages plus its share of pages mapped by several processes. Unlike RSS, the PSS of
/// many renderers adds up to the memory they really take (Node's and Vite's code pages, shared by
/// every renderer, are counted once in total, not once per renderer). Sum it over a unit's
/// processes for the unit's share. `None` if the process is gone or the kernel lacks
/// `smaps_rollup` (before 4.14), or for another user's process without the right to read it.
pub fn pss_bytes(pid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    parse_pss(&text)
}

fn parse_pss(text: &str) -> Option<u64> {
    kib_field(text, "Pss:")
}

/// The first `<name> <n> kB` line of a `/proc` file, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let kib: u64 = text
        .lines()
        .find_map(|line| line.strip_prefix(name))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// User plus system CPU time of a process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    stat(i32::try_from(pid).ok()?).map(|st| st.cpu_ticks)
}

/// The kernel's boot id: distinguishes "same PID and start time" across reboots.
pub(crate) fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Inodes of the sockets listening on `port` (TCP over IPv4 and IPv6) in this network namespace.
pub(crate) fn listening_socket_inodes(port: u16) -> io::Result<Vec<u64>> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        match fs::read_to_string(table) {
            Ok(text) => inodes.extend(parse_listeners(&text, port)),
            // A kernel without IPv6 has no tcp6 table; that is not an error.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(inodes)
}

/// Lines look like `0: 0100007F:1435 00000000:0000 0A ... inode ...`; `0A` is LISTEN.
fn parse_listeners(table: &str, port: u16) -> impl Iterator<Item = u64> + '_ {
    const LISTEN: &str = "0A";
    table.lines().skip(1).filter_map(move |line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local_port = fields.get(1)?.rsplit(':').next()?;
        let state = *fields.get(3)?;
        let inode = fields.get(9)?.parse().ok()?;
        (u16::from_str_radix(local_port, 16).ok()? == port && state == LISTEN).then_some(inode)
    })
}

/// The first process found holding a socket with one of these inodes open (scans `/proc/*/fd`).
pub(crate) fn socket_holder(inodes: &[u64]) -> Option<u32> {
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    pids().into_iter().find_map(|pid| {
        let fds = fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
        let holds = fds.filter_map(Result::ok).any(|fd| {
            fs::read_link(fd.path())
                .ok()
                .and_then(|target| target.to_str().map(|t| wanted.iter().any(|w| w == t)))
                .unwrap_or(false)
        });
        holds.then(|| u32::try_from(pid).ok()).flatten()
    })
}

/// Whether `/proc/<pid>/fd/<fd>` is a pipe (its link target reads `pipe:[inode]`).
pub(crate) fn fd_is_pipe(pid: i32, fd: i32) -> bool {
    let link = Path::new("/proc")
        .join(pid.to_string())
        .join("fd")
        .join(fd.to_string());
    fs::read_link(link)
        .map(|target| target.to_string_lossy().starts_with("pipe:"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_is_parsed_even_with_parentheses_in_the_command_name() {
        let line = "4242 (weird) (name)) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 123456 1000 100";
        let st = parse_stat(line).unwrap();
        assert_eq!(
            st,
            ProcStat {
                state: 'S',
                ppid: 1,
                pgrp: 4242,
                start_time: 123456,
                cpu_ticks: 10
            }
        );
    }

    #[test]
    fn own_stat_is_readable_and_alive() {
        let me = std::process::id() as i32;
        let st = stat(me).unwrap();
        assert!(st.is_alive());
        assert!(st.start_time > 0);
        assert!(rss_bytes(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn pss_is_read_from_smaps_rollup() {
        // `Pss_Anon:` and friends follow `Pss:`; only the total counts.
        let rollup = "55d0c000-7ffd1000 ---p 00000000 00:00 0  [rollup]\n\
                      Rss:               12000 kB\n\
                      Pss:                7001 kB\n\
                      Pss_Anon:           5000 kB\n";
        assert_eq!(parse_pss(rollup), Some(7001 * 1024));
        assert_eq!(parse_pss("Rss: 1 kB\n"), None);
        assert!(pss_bytes(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn only_listening_entries_on_the_port_count() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1435 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0\n\
           1: 0100007F:1435 0100007F:9C40 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0\n\
           2: 0100007F:1436 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0\n";
        assert_eq!(
            parse_listeners(table, 0x1435).collect::<Vec<_>>(),
            vec![111]
        );
        assert_eq!(
            parse_listeners(table, 0x1436).collect::<Vec<_>>(),
            vec![222]
        );
        assert!(parse_listeners(table, 80).next().is_none());
    }
}
