//! Whether this machine's limits let it hold `--max-sandboxes` renderers, checked once at start.
//!
//! Three limits stop a machine long before memory does, each failing quietly:
//!
//! * **inotify instances** (`fs.inotify.max_user_instances`, often 128): every renderer's Vite
//!   watcher takes [`INSTANCES_PER_RENDERER`]. The limit is *per user*, and every renderer runs as
//!   the one jail user (`studio-sandbox`), so all renderers share it. Out of instances, a new Vite
//!   starts without watching and serves stale files.
//! * **inotify watches** (`fs.inotify.max_user_watches`): one per file and directory Vite's watcher
//!   (chokidar) follows, also per user; a renderer of the sample repository takes fewer than
//!   [`WATCHES_PER_RENDERER`], a larger repository one per file and directory outside the trees the
//!   template leaves out (`node_modules`, `.git`, `dist`, `coverage`, caches: `vite.config.mjs`).
//!   Out of watches, new files are not seen.
//! * **open files** (`RLIMIT_NOFILE` of the server, which renderers inherit): per sandbox the
//!   server holds its listening socket, log files, proxied connections and WebSocket clients
//!   ([`SERVER_FILES_PER_SANDBOX`]). The binary raises the soft limit to the hard one first.
//!
//! Renderers share what can be shared (Node's and Vite's code pages, the template's installed
//! files, the dependency stores, Vite's pre-bundle seed), but an inotify instance belongs to one
//! process. What is checked is what the figures measured on one renderer add up to
//! (`studio-renderer`'s `density` test fails if a renderer takes more than these), and a warning
//! names the sysctl and the value to set.

use std::fs;

/// Inotify instances one renderer holds (Node's `fs.watch` shares one per process).
pub const INSTANCES_PER_RENDERER: u64 = 1;
/// Inotify watches a renderer of the sample repository holds at most (about 50: one per file and
/// directory of the checkout the watcher follows, `.studio/` included).
pub const WATCHES_PER_RENDERER: u64 = 64;
/// Files the server holds open per live sandbox, with a browser attached (socket, two log files
/// and their tails, the preview's HTTP and HMR connections, a few API WebSocket clients).
pub const SERVER_FILES_PER_SANDBOX: u64 = 24;
/// What the server holds open whatever the number of sandboxes (database, listeners, runtime).
const SERVER_FILES_BASE: u64 = 256;
/// Room for other processes of the jail user (installs) and for repositories larger than the
/// sample: inotify watches are wanted with this factor.
const WATCH_HEADROOM: u64 = 8;

/// The machine's limits beside what `max_sandboxes` renderers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DensityCheck {
    pub max_sandboxes: u64,
    /// `fs.inotify.max_user_instances`, if readable.
    pub inotify_instances: Option<u64>,
    pub inotify_instances_needed: u64,
    /// `fs.inotify.max_user_watches`, if readable.
    pub inotify_watches: Option<u64>,
    pub inotify_watches_needed: u64,
    /// This process's soft `RLIMIT_NOFILE` (`None`: unlimited or unreadable).
    pub open_files: Option<u64>,
    pub open_files_needed: u64,
}

impl DensityCheck {
    /// Reads the limits from `/proc` for `max_sandboxes` renderers.
    pub fn read(max_sandboxes: usize) -> Self {
        let sysctl = |name: &str| {
            fs::read_to_string(format!("/proc/sys/fs/inotify/{name}"))
                .ok()
                .and_then(|text| text.trim().parse().ok())
        };
        let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
        Self::compute(
            max_sandboxes,
            sysctl("max_user_instances"),
            sysctl("max_user_watches"),
            soft_open_files(&limits),
        )
    }

    fn compute(
        max_sandboxes: usize,
        inotify_instances: Option<u64>,
        inotify_watches: Option<u64>,
        open_files: Option<u64>,
    ) -> Self {
        let n = max_sandboxes as u64;
        Self {
            max_sandboxes: n,
            inotify_instances,
            // One more than the renderers: an install or a restart overlaps with its predecessor.
            inotify_instances_needed: n * INSTANCES_PER_RENDERER + INSTANCES_PER_RENDERER.max(8),
            inotify_watches,
            inotify_watches_needed: n * WATCHES_PER_RENDERER * WATCH_HEADROOM,
            open_files,
            open_files_needed: SERVER_FILES_BASE + n * SERVER_FILES_PER_SANDBOX,
        }
    }

    /// One sentence per limit that is too low: what to raise and to what.
    pub fn shortfalls(&self) -> Vec<String> {
        let n = self.max_sandboxes;
        let mut out = Vec::new();
        if let Some(limit) = self.inotify_instances
            && limit < self.inotify_instances_needed
        {
            out.push(format!(
                "fs.inotify.max_user_instances is {limit}, and {n} renderers (one jail user) need \
                 {}: a renderer without one serves stale files; raise it with \
                 `sysctl -w fs.inotify.max_user_instances={}`",
                self.inotify_instances_needed,
                self.inotify_instances_needed.next_power_of_two()
            ));
        }
        if let Some(limit) = self.inotify_watches
            && limit < self.inotify_watches_needed
        {
            out.push(format!(
                "fs.inotify.max_user_watches is {limit}, and {n} renderers (one jail user) may need \
                 {} (one per file and directory of each checkout): raise it with \
                 `sysctl -w fs.inotify.max_user_watches={}`",
                self.inotify_watches_needed,
                self.inotify_watches_needed.next_power_of_two()
            ));
        }
        if let Some(limit) = self.open_files
            && limit < self.open_files_needed
        {
            out.push(format!(
                "the open files limit (RLIMIT_NOFILE) is {limit} even after raising the soft limit \
                 to the hard one, and {n} sandboxes need about {}: raise the hard limit (`ulimit -Hn`, \
                 systemd `LimitNOFILE=`, docker `--ulimit nofile=`) to {}",
                self.open_files_needed,
                self.open_files_needed.next_power_of_two()
            ));
        }
        out
    }

    /// Logs the limits, and a warning for each that is too low.
    pub fn log(&self) {
        tracing::info!(
            max_sandboxes = self.max_sandboxes,
            inotify_instances = ?self.inotify_instances,
            inotify_instances_needed = self.inotify_instances_needed,
            inotify_watches = ?self.inotify_watches,
            inotify_watches_needed = self.inotify_watches_needed,
            open_files = ?self.open_files,
            open_files_needed = self.open_files_needed,
            "limits for the sandboxes this server may hold"
        );
        for shortfall in self.shortfalls() {
            tracing::warn!("{shortfall}");
        }
    }
}

/// The soft limit of the `Max open files` line of `/proc/<pid>/limits` (`None` if unlimited).
fn soft_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_machine_is_told_what_to_raise_for_a_hundred_renderers() {
        // Linux's usual defaults: 128 instances, a RAM-scaled watch limit, 1024 open files.
        let check = DensityCheck::compute(100, Some(128), Some(8192), Some(1024));
        let shortfalls = check.shortfalls();
        assert_eq!(shortfalls.len(), 2, "{shortfalls:?}");
        assert!(
            shortfalls[0].contains("sysctl -w fs.inotify.max_user_watches=65536"),
            "{shortfalls:?}"
        );
        assert!(shortfalls[1].contains("RLIMIT_NOFILE"), "{shortfalls:?}");

        // 128 instances hold 100 renderers but not 200.
        let check = DensityCheck::compute(200, Some(128), Some(1 << 20), Some(1 << 20));
        let shortfalls = check.shortfalls();
        assert_eq!(shortfalls.len(), 1, "{shortfalls:?}");
        assert!(
            shortfalls[0].contains("sysctl -w fs.inotify.max_user_instances=256"),
            "{shortfalls:?}"
        );

        // Unreadable limits are not reported as too low.
        assert!(
            DensityCheck::compute(100, None, None, None)
                .shortfalls()
                .is_empty()
        );
    }

    #[test]
    fn the_soft_open_files_limit_is_read_from_proc_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(soft_open_files(limits), Some(1024));
        assert_eq!(
            soft_open_files("Max open files  unlimited  unlimited  files\n"),
            None
        );
        assert!(DensityCheck::read(1).open_files.is_some());
    }
}
