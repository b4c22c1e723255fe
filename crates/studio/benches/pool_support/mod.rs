//! What `benches/pool.rs` reads around its measurements: the pool gauges on `/metrics`, a
//! renderer's processes and cgroups and their PSS, the unit cgroups left after a delete, and the
//! processes a stopped server left behind. The `npm run dev` and PM2 baselines are in
//! [`dev_app`].

pub mod dev_app;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use studio_testkit::procs::{self, Signal};
use studio_testkit::unix_listeners::renderer_pids;

use crate::support::Api;

/// The value of an unlabelled (or first labelled) sample of `name` in a Prometheus text page.
pub fn metric(page: &str, name: &str) -> Option<f64> {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let rest = line.strip_prefix(name)?;
            let rest = match rest.strip_prefix('{') {
                Some(labelled) => &labelled[labelled.find('}')? + 1..],
                None => rest,
            };
            rest.starts_with(' ')
                .then(|| rest.split_whitespace().next()?.parse().ok())?
        })
}

/// Waits (bounded by `limit`) until `studio_renderer_pool_idle` equals
/// `studio_renderer_pool_target` (and the target is not 0); returns how long that took.
pub async fn wait_pool_full(api: &Api, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < limit {
        let page = api.get("/metrics").await;
        let idle = metric(&page.text, "studio_renderer_pool_idle");
        let target = metric(&page.text, "studio_renderer_pool_target");
        match (idle, target) {
            (Some(idle), Some(target)) if target > 0.0 && idle >= target => {
                return started.elapsed();
            }
            (None, _) | (_, None) => {
                panic!(
                    "the server has --renderer-pool but /metrics lacks \
                     studio_renderer_pool_idle / studio_renderer_pool_target:\n{}",
                    page.text
                )
            }
            (Some(idle), Some(target)) => last = format!("idle {idle}, target {target}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the renderer pool was not full within {limit:?} ({last})")
}

/// The command name of a process (`node`, `bwrap`, …).
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The processes serving sandbox `socket` that listen themselves: its `node` (the jail's `bwrap`
/// parents only pass the descriptor on), or every holder when none is called `node`.
pub fn listeners(socket: &Path, server: u32) -> BTreeSet<u32> {
    let holders = renderer_pids(socket, server);
    let node: BTreeSet<u32> = holders
        .iter()
        .copied()
        .filter(|&p| comm(p) == "node")
        .collect();
    if node.is_empty() { holders } else { node }
}

/// SIGKILLs the listening process of a renderer (waiting, bounded, until one serves); returns when
/// it was killed and which PIDs.
pub async fn kill_listener(socket: &Path, server: u32) -> (Instant, BTreeSet<u32>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pids = listeners(socket, server);
        if !pids.is_empty() {
            let at = Instant::now();
            for &pid in &pids {
                procs::signal(pid, Signal::KILL);
            }
            return (at, pids);
        }
        assert!(
            Instant::now() < deadline,
            "nothing serves on {} to kill",
            socket.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (bounded) until none of `pids` is alive (zombies count as dead).
pub async fn wait_gone(pids: &BTreeSet<u32>, limit: Duration) {
    let deadline = Instant::now() + limit;
    while pids.iter().any(|&p| procs::alive(p)) {
        assert!(Instant::now() < deadline, "{pids:?} outlived SIGKILL");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// `Pss:` of `/proc/<pid>/smaps_rollup` in bytes (0 when the process is gone).
pub fn pss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// `VmRSS` of a process in bytes.
pub fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// One sandbox's renderer as found in `/proc`: the cgroups its listening processes are in, and
/// every living member of those cgroups.
#[derive(Debug, Default, Clone)]
pub struct RendererProcs {
    pub cgroups: BTreeSet<PathBuf>,
    pub pids: BTreeSet<u32>,
}

impl RendererProcs {
    /// The processes of the renderer serving on `socket`.
    pub fn of(socket: &Path, server: u32) -> Self {
        let mut found = Self::default();
        for pid in renderer_pids(socket, server) {
            found.pids.insert(pid);
            if let Some(cgroup) = procs::cgroup_of(pid) {
                // A process in the server's own cgroup would make it count the whole server.
                if procs::cgroup_of(server).as_ref() != Some(&cgroup) {
                    found.cgroups.insert(cgroup);
                }
            }
        }
        for cgroup in &found.cgroups {
            found.pids.extend(procs::cgroup_members(cgroup));
        }
        found
    }

    /// The sum of the processes' PSS.
    pub fn pss_bytes(&self) -> u64 {
        self.pids.iter().map(|&p| pss_bytes(p)).sum()
    }
}

/// The `studio-units` directories a server's unit cgroups are made in: under its cgroup v2 path,
/// and under its path in every mounted cgroup v1 hierarchy (where limits live on hybrid hosts).
pub fn unit_cgroup_dirs(server: u32) -> Vec<PathBuf> {
    let Ok(own) = std::fs::read_to_string(format!("/proc/{server}/cgroup")) else {
        return Vec::new();
    };
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    for line in mounts.lines() {
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount_point) = before.split_whitespace().nth(4) else {
            continue;
        };
        let mut after = after.split_whitespace();
        let fstype = after.next().unwrap_or_default();
        let options = after.nth(1).unwrap_or_default();
        // `N:controllers:/path` of the server in this hierarchy.
        let path = own.lines().find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let matches = match fstype {
                "cgroup2" => controllers.is_empty(),
                "cgroup" => {
                    !controllers.is_empty()
                        && controllers.split(',').all(|c| {
                            options
                                .split(',')
                                .any(|o| o == c || o == c.trim_start_matches("name="))
                        })
                }
                _ => false,
            };
            matches.then(|| path.to_owned())
        });
        if let Some(path) = path {
            let dir = Path::new(mount_point)
                .join(path.trim_start_matches('/'))
                .join("studio-units");
            if dir.is_dir() && !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    dirs
}

/// The unit cgroups in `dirs` named after one of `ids` (`<sandbox id>-renderer.<token>`), plus
/// whichever of `known` still exist.
pub fn leftover_cgroups(
    dirs: &[PathBuf],
    ids: &[String],
    known: &BTreeSet<PathBuf>,
) -> BTreeSet<PathBuf> {
    let mut left: BTreeSet<PathBuf> = known.iter().filter(|d| d.exists()).cloned().collect();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if ids.iter().any(|id| name.starts_with(&format!("{id}-"))) {
                left.insert(entry.path());
            }
        }
    }
    left
}

/// Living processes whose command line mentions `dir` or whose working directory is under it (what
/// `DataDir`'s drop would kill), this process excluded.
pub fn processes_under(dir: &Path) -> BTreeSet<u32> {
    let needle = dir.to_string_lossy().into_owned();
    procs::all_pids()
        .into_iter()
        .filter(|&pid| pid != std::process::id() && procs::alive(pid))
        .filter(|&pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            cmdline.contains(&needle) || cwd.starts_with(&needle)
        })
        .collect()
}

/// A small deterministic generator (xorshift) for the pauses between crashes.
pub struct Pauses(u64);

impl Pauses {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// A pause between `low` and `high`.
    pub fn next(&mut self, low: Duration, high: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let span = high.saturating_sub(low).as_millis() as u64;
        low + Duration::from_millis(self.0 % span.max(1))
    }
}
