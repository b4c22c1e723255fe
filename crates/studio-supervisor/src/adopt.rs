//! Re-adoption: a new supervisor process takes over a unit that outlived the old one (see
//! [`AdoptionRecord`] for what survives and how it is verified).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cgroup::{CgroupRoot, UnitCgroup};
use crate::error::AdoptionMismatch;
use crate::log_files;
use crate::logs::{self, LogBuffer, LogStream};
use crate::process::{self, Instance, Output};
use crate::procinfo;
use crate::token::TOKEN_VAR;

/// Everything needed to find a unit instance again from another supervisor process.
/// Serializable; the store persists it whenever [`Unit::record`](crate::Unit::record) changes
/// (every start gives the unit a new PID and token).
///
/// When a supervisor dies (even by SIGKILL) its units keep running: they are in their own
/// process groups and cgroups, not tied to the supervisor's life. This record identifies an
/// instance: leader PID, its start time from `/proc` (PIDs are reused; the pair is not), the boot
/// id, a random token in the leader's environment, the cgroup and the port. A new supervisor
/// ([`Supervisor::adopt`](crate::Supervisor::adopt)) verifies all of it *before* it ever signals
/// the PID, then watches the leader through a pidfd, which works for processes that are not its
/// children, and supervises the unit as if it had started it (crash restarts, liveness, stop).
///
/// **Logs of adopted units.** With a log directory
/// ([`SupervisorConfig::log_dir`](crate::SupervisorConfig::log_dir)) the unit writes to files:
/// nothing happens to it while no supervisor is alive, and the new supervisor, after checking
/// that the unit's fds 1 and 2 are its files, replays their last
/// [`max_file_bytes`](crate::LogLimits::max_file_bytes) into its (empty) ring buffer, including
/// what was written while no supervisor was alive, then tails them (see `log_files.rs`).
///
/// Without one, the old supervisor held the read ends of the unit's stdout/stderr pipes. The new
/// one reopens the same pipes through `/proc/<leader>/fd/{1,2}` and reads on, so output written
/// after the adoption is captured as before. Output written while *no* supervisor was alive met
/// a pipe without a reader: the writer got EPIPE (Node reports an error on stdout) or SIGPIPE,
/// which may crash it; the new supervisor then restarts it like any crash. The old supervisor's
/// ring buffer is lost with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptionRecord {
    pub unit: String,
    pub pid: u32,
    pub pgid: u32,
    /// Start time of the leader in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start_time: u64,
    /// `/proc/sys/kernel/random/boot_id` when the record was made.
    pub boot_id: String,
    /// The value of `STUDIO_UNIT_TOKEN` in the leader's environment.
    pub token: String,
    pub port: Option<u16>,
    pub cgroup: Option<PathBuf>,
}

impl AdoptionRecord {
    pub(crate) fn of(unit: &str, port: Option<u16>, instance: &Instance) -> Self {
        Self {
            unit: unit.to_owned(),
            pid: instance.pid as u32,
            pgid: instance.pgid as u32,
            start_time: instance.start_time,
            boot_id: procinfo::boot_id(),
            token: instance.token.clone(),
            port,
            cgroup: instance.cgroup.as_ref().map(|c| c.dir().to_owned()),
        }
    }
}

/// Verifies the record against the live system and returns the instance to supervise.
///
/// On a mismatch nothing is signalled, except processes proven to be the unit's leftovers:
/// members of its token-named cgroup, or (without a cgroup) members of its process group that
/// carry its token. Those are killed so that a dead unit never keeps its port.
pub(crate) async fn adopt(
    unit: &str,
    record: &AdoptionRecord,
    logs: &std::sync::Arc<LogBuffer>,
    log_dir: Option<&Path>,
) -> Result<Instance, AdoptionMismatch> {
    if record.unit != unit {
        return Err(AdoptionMismatch::NameMismatch {
            recorded: record.unit.clone(),
        });
    }
    let boot_id = procinfo::boot_id();
    if !record.boot_id.is_empty() && !boot_id.is_empty() && record.boot_id != boot_id {
        return Err(AdoptionMismatch::Rebooted);
    }
    let pid = i32::try_from(record.pid).map_err(|_| AdoptionMismatch::Gone {
        killed_leftovers: 0,
    })?;
    let cgroup = record
        .cgroup
        .as_deref()
        .and_then(|dir| CgroupRoot::open_recorded(dir, &record.token));
    // Open the pidfd first: if the checks below pass, it refers to the process they checked.
    let Ok(pidfd) = process::open_pidfd(pid) else {
        return Err(gone(record, cgroup).await);
    };
    match procinfo::stat(pid) {
        Some(st) if st.start_time != record.start_time => {
            return Err(AdoptionMismatch::PidReused {
                recorded: record.start_time,
                found: st.start_time,
            });
        }
        Some(st) if st.is_alive() => {}
        _ => return Err(gone(record, cgroup).await),
    }
    if !procinfo::environ_contains(pid, TOKEN_VAR, &record.token) {
        return Err(AdoptionMismatch::TokenMismatch);
    }
    if let Some(dir) = &record.cgroup
        && !cgroup.as_ref().is_some_and(|c| c.contains(pid))
    {
        return Err(AdoptionMismatch::CgroupMismatch {
            recorded: dir.display().to_string(),
        });
    }
    tracing::info!(%unit, pid, "adopted a unit from a previous supervisor");
    let tailer = match log_dir {
        Some(dir) => log_files::adopt(dir, unit, pid, logs).await,
        None => None,
    };
    // Pipes, if a supervisor without a log directory started it (files are skipped here).
    let readers = reattach_output(pid, logs);
    Ok(Instance::adopted(
        pid,
        record.pgid as i32,
        record.start_time,
        record.token.clone(),
        cgroup,
        pidfd,
        Output { readers, tailer },
    ))
}

/// The leader is gone: kill what is provably left of the unit, then report it.
async fn gone(record: &AdoptionRecord, cgroup: Option<UnitCgroup>) -> AdoptionMismatch {
    let killed_leftovers = match cgroup {
        Some(cgroup) => {
            let count = cgroup.members().len();
            if count > 0 && !cgroup.kill_all() {
                for pid in cgroup.members() {
                    signal_if(pid, |p| cgroup.contains(p));
                }
            }
            wait_briefly(|| cgroup.is_populated()).await;
            let _ = cgroup.remove();
            count
        }
        None => {
            let pgid = record.pgid as i32;
            let ours = |p: i32| {
                procinfo::stat(p).is_some_and(|st| st.pgrp == pgid)
                    && procinfo::environ_contains(p, TOKEN_VAR, &record.token)
            };
            let leftovers: Vec<i32> = procinfo::live_group_members(pgid)
                .into_iter()
                .filter(|&p| ours(p))
                .collect();
            for &pid in &leftovers {
                signal_if(pid, ours);
            }
            leftovers.len()
        }
    };
    AdoptionMismatch::Gone { killed_leftovers }
}

/// SIGKILLs `pid` through a pidfd, only if `still_ours` holds after the pidfd pinned it.
fn signal_if(pid: i32, still_ours: impl Fn(i32) -> bool) {
    let Some(raw) = rustix::process::Pid::from_raw(pid) else {
        return;
    };
    if let Ok(fd) = rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty())
        && still_ours(pid)
    {
        let _ = rustix::process::pidfd_send_signal(&fd, rustix::process::Signal::KILL);
    }
}

async fn wait_briefly(busy: impl Fn() -> bool) {
    for _ in 0..500 {
        if !busy() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// Reopens the leader's stdout/stderr pipes through `/proc` and reads them into the buffer.
pub(crate) fn reattach_output(
    pid: i32,
    logs: &std::sync::Arc<LogBuffer>,
) -> Vec<tokio::task::JoinHandle<()>> {
    use rustix::fs::{Mode, OFlags};
    let mut readers = Vec::new();
    for (fd, stream) in [(1, LogStream::Stdout), (2, LogStream::Stderr)] {
        if !procinfo::fd_is_pipe(pid, fd) {
            continue;
        }
        let path = format!("/proc/{pid}/fd/{fd}");
        let opened = rustix::fs::open(
            path.as_str(),
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        );
        match opened
            .map_err(std::io::Error::from)
            .and_then(|fd| logs::spawn_reader(fd, stream, logs.clone()))
        {
            Ok(reader) => readers.push(reader),
            Err(e) => tracing::warn!(pid, "cannot reattach {path}: {e}; output is not captured"),
        }
    }
    readers
}
