//! What a running unit instance uses now (memory, CPU time), read from its cgroups.
//!
//! Reading is a few small file reads, no process walk: the kernel keeps the totals of the whole
//! tree in the cgroup. cgroup v2 files are preferred; on hybrid hosts the v2 cgroup has no memory
//! controller, so memory comes from the instance's v1 memory cgroup (which exists when the unit
//! has a memory limit, see `limits.rs`). CPU time is in every v2 cgroup's `cpu.stat` whether or
//! not the cpu controller is enabled there; a v1 `cpuacct` cgroup is the fallback.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What one running instance of a unit (its whole process tree) uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// Memory charged to the instance's cgroup, page cache included (v2 `memory.current`, v1
    /// `memory.usage_in_bytes`). After a [transfer](crate::Supervisor::transfer), pages the
    /// processes allocated before it stay charged to their old cgroup: the kernel does not move
    /// charges.
    pub memory_bytes: u64,
    /// CPU time used by the instance's processes since its cgroup was created, in microseconds
    /// (v2 `cpu.stat` `usage_usec`, v1 `cpuacct.usage` / 1000).
    pub cpu_usage_usec: u64,
}

/// Where one instance's use is read: its v2 cgroup and its v1 cgroups (hybrid hosts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageMeter {
    v2: PathBuf,
    v1: Vec<PathBuf>,
}

impl UsageMeter {
    pub fn new(v2: PathBuf, v1: Vec<PathBuf>) -> Self {
        Self { v2, v1 }
    }

    /// The instance's use now; `None` when memory or CPU time cannot be read (no controller for
    /// it here, or the cgroup is already gone).
    pub fn read(&self) -> Option<Resources> {
        let memory_bytes = read_number(&self.v2.join("memory.current")).or_else(|| {
            self.v1
                .iter()
                .find_map(|dir| read_number(&dir.join("memory.usage_in_bytes")))
        })?;
        let cpu_usage_usec = cpu_stat_usage(&self.v2.join("cpu.stat")).or_else(|| {
            self.v1
                .iter()
                .find_map(|dir| read_number(&dir.join("cpuacct.usage")))
                .map(|nanoseconds| nanoseconds / 1000)
        })?;
        Some(Resources {
            memory_bytes,
            cpu_usage_usec,
        })
    }
}

fn read_number(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// `usage_usec` of a v2 `cpu.stat`.
fn cpu_stat_usage(path: &Path) -> Option<u64> {
    parse_cpu_stat(&fs::read_to_string(path).ok()?)
}

fn parse_cpu_stat(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("usage_usec "))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_stat_gives_its_usage_line() {
        let text = "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n";
        assert_eq!(parse_cpu_stat(text), Some(1_234_567));
        assert_eq!(parse_cpu_stat("user_usec 5\n"), None);
    }

    #[test]
    fn v2_files_win_and_v1_fills_in() {
        let v2 = tempfile::tempdir().unwrap();
        let v1_memory = tempfile::tempdir().unwrap();
        let v1_cpuacct = tempfile::tempdir().unwrap();
        fs::write(v1_memory.path().join("memory.usage_in_bytes"), "5000\n").unwrap();
        fs::write(v1_cpuacct.path().join("cpuacct.usage"), "7000000\n").unwrap();
        let meter = UsageMeter::new(
            v2.path().to_owned(),
            vec![v1_memory.path().to_owned(), v1_cpuacct.path().to_owned()],
        );
        assert_eq!(
            meter.read(),
            Some(Resources {
                memory_bytes: 5000,
                cpu_usage_usec: 7000
            })
        );
        fs::write(v2.path().join("memory.current"), "9000\n").unwrap();
        fs::write(v2.path().join("cpu.stat"), "usage_usec 42\nuser_usec 40\n").unwrap();
        assert_eq!(
            meter.read(),
            Some(Resources {
                memory_bytes: 9000,
                cpu_usage_usec: 42
            })
        );
    }

    #[test]
    fn nothing_to_read_is_none() {
        let v2 = tempfile::tempdir().unwrap();
        fs::write(v2.path().join("cpu.stat"), "usage_usec 42\n").unwrap();
        let meter = UsageMeter::new(v2.path().to_owned(), Vec::new());
        assert_eq!(meter.read(), None);
        let gone = UsageMeter::new(v2.path().join("removed"), Vec::new());
        assert_eq!(gone.read(), None);
    }
}
