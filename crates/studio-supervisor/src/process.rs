//! One running instance of a unit: spawning it, watching its leader, signalling and reaping it.
//!
//! Invariants this file keeps:
//! - The leader is spawned as the leader of a new process group and, when cgroups are available,
//!   inside its own cgroup *before exec*, so every descendant is contained from its first
//!   instruction.
//! - The leader is watched through a pidfd and, when it is our child, reaped only after the whole
//!   unit is gone. Until then its PID (which is also the process-group id) cannot be reused, so
//!   `killpg` can never hit a stranger's group.
//! - A process found by PID (a cgroup or group member) is signalled only through a pidfd opened
//!   *before* re-checking its membership: the pidfd pins that very process, so a PID reused in
//!   between never receives the signal.
//! - "Gone" means no live process: zombies hold no ports and do not count.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rustix::process::{Pid, PidfdFlags, Signal, WaitId, WaitIdOptions};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::cgroup::UnitCgroup;
use crate::log_files::{self, Tailer};
use crate::logs::{self, LogBuffer, LogStream};
use crate::procinfo;
use crate::socket::{LISTEN_FD, LISTEN_FD_VAR};
use crate::spec::UnitSpec;
use crate::status::ExitReason;
use crate::token::TOKEN_VAR;

/// The only variables a child inherits from the supervisor (unless the spec overrides them).
const INHERITED_VARS: [&str; 3] = ["PATH", "HOME", "LANG"];

/// How long processes get to die after SIGKILL before a stop reports them as survivors.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// One instance of a unit: a process tree rooted at `pid`.
#[derive(Debug)]
pub(crate) struct Instance {
    pub pid: i32,
    pub pgid: i32,
    pub start_time: u64,
    pub token: String,
    pub cgroup: Option<UnitCgroup>,
    pidfd: AsyncFd<OwnedFd>,
    /// Spawned by this supervisor process (else: adopted). Only children can be reaped and have
    /// an exit status we can read.
    is_child: bool,
    exit: Option<ExitReason>,
    output: Output,
}

/// What reads an instance's output into its unit's log buffer.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// One per pipe (a supervisor without a log directory).
    pub readers: Vec<JoinHandle<()>>,
    /// Of the output files (a supervisor with a log directory).
    pub tailer: Option<Tailer>,
}

/// Spawns the unit's command, with `listener` (the unit's listening socket, if it has one) as
/// fd [`LISTEN_FD`], and its output going to files in `log_dir` (see `log_files.rs`), or to pipes
/// without one. `Err` is a message for the operator (program not found, ...).
pub(crate) fn spawn(
    spec: &UnitSpec,
    token: String,
    cgroup: Option<UnitCgroup>,
    logs: &Arc<LogBuffer>,
    listener: Option<BorrowedFd<'_>>,
    log_dir: Option<&Path>,
) -> Result<Instance, String> {
    if !spec.cwd.is_dir() {
        return Err(format!(
            "working directory {} does not exist",
            spec.cwd.display()
        ));
    }
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args).current_dir(&spec.cwd).env_clear();
    for key in INHERITED_VARS {
        if let Some(value) = std::env::var_os(key) {
            cmd.env(key, value);
        }
    }
    cmd.envs(&spec.env)
        .env(TOKEN_VAR, &token)
        .stdin(Stdio::null())
        .process_group(0);
    // Opened here, before the fork: a child that drops its privileges (`run_as`) could not open
    // them itself, and keeps writing to descriptors it inherited.
    let files = match log_dir {
        Some(dir) => {
            let opened = log_files::open_for_spawn(dir, &spec.name, spec.log_limits.max_line_bytes)
                .map_err(|e| format!("cannot open its output files in {}: {e}", dir.display()))?;
            cmd.stdout(opened.stdout).stderr(opened.stderr);
            Some(opened.files)
        }
        None => {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            None
        }
    };
    if let Some(cgroup) = &cgroup {
        join_cgroup_before_exec(&mut cmd, cgroup.join_files().to_vec());
    }
    if let Some(listener) = listener {
        cmd.env(LISTEN_FD_VAR, LISTEN_FD.to_string());
        pass_listener_before_exec(&mut cmd, listener.as_raw_fd());
    }
    if let Some(run_as) = spec.run_as {
        // Registered last: pre-exec hooks run in order, and joining v1 cgroups needs our
        // privileges.
        drop_privileges_before_exec(&mut cmd, run_as);
    }
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let pid = child.id() as i32;
    // The child is not reaped until we say so, so its PID still names it here.
    let pidfd = match open_pidfd(pid) {
        Ok(fd) => fd,
        Err(e) => {
            kill_group(pid, Signal::KILL);
            let _ = child.wait();
            return Err(format!("cannot watch the spawned process (pidfd): {e}"));
        }
    };
    let mut readers = Vec::new();
    let pipes = [
        (child.stdout.take().map(OwnedFd::from), LogStream::Stdout),
        (child.stderr.take().map(OwnedFd::from), LogStream::Stderr),
    ];
    for (fd, stream) in pipes {
        if let Some(fd) = fd {
            readers.extend(logs::spawn_reader(fd, stream, logs.clone()).ok());
        }
    }
    let tailer = files.map(|files| files.start(logs));
    // Dropping a std `Child` neither kills nor reaps it: this instance owns it from here on.
    drop(child);
    Ok(Instance {
        pid,
        pgid: pid,
        start_time: procinfo::stat(pid)
            .map(|st| st.start_time)
            .unwrap_or_default(),
        token,
        cgroup,
        pidfd,
        is_child: true,
        exit: None,
        output: Output { readers, tailer },
    })
}

/// Makes the child move itself into its cgroups (v2, then the v1 limit cgroups of a hybrid
/// host) between fork and exec.
#[allow(unsafe_code)]
fn join_cgroup_before_exec(cmd: &mut Command, procs_files: Vec<std::ffi::CString>) {
    // SAFETY: the closure runs in the forked child, where only async-signal-safe operations are
    // allowed. For each path prepared before the fork it makes exactly three raw system calls
    // (open, write, close); iterating the captured vector does not allocate, and it takes no
    // locks and touches no state shared with the parent's other threads. Writing "0" to
    // `cgroup.procs` (v1 or v2) moves the writing process.
    unsafe {
        cmd.pre_exec(move || {
            use rustix::fs::{Mode, OFlags};
            for procs_file in &procs_files {
                let fd = rustix::fs::open(
                    procs_file.as_c_str(),
                    OFlags::WRONLY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                rustix::io::write(&fd, b"0")?;
            }
            Ok(())
        });
    }
}

/// Makes the child find the listening socket at fd [`LISTEN_FD`], open across exec.
#[allow(unsafe_code)]
fn pass_listener_before_exec(cmd: &mut Command, listener: RawFd) {
    // SAFETY: the closure runs in the forked child, where only async-signal-safe operations are
    // allowed: it makes one raw system call (dup2, or fcntl when the listener already is fd 3)
    // and neither allocates nor takes locks. `listener` is open in the child: fork copied the
    // parent's descriptors, and the parent keeps it open until `spawn` returns. The `OwnedFd`
    // naming fd 3 is only dup2's target and is never dropped (so never closed) here. Whatever
    // else was fd 3 in the child is replaced: every descriptor the parent opens is close-on-exec
    // (std's own exec-error pipe included, which a supervisor running tokio never gets as fd 3).
    unsafe {
        cmd.pre_exec(move || {
            use rustix::io::FdFlags;
            let source = BorrowedFd::borrow_raw(listener);
            if listener == LISTEN_FD {
                // dup2 onto itself would keep the close-on-exec flag: clear it instead.
                rustix::io::fcntl_setfd(source, FdFlags::empty())?;
            } else {
                let mut target = std::mem::ManuallyDrop::new(OwnedFd::from_raw_fd(LISTEN_FD));
                // dup2 leaves the new descriptor without close-on-exec.
                rustix::io::dup2(source, &mut target)?;
            }
            Ok(())
        });
    }
}

/// Makes the child drop its supplementary groups, then its gid, then its uid (real, effective
/// and saved, so it can never regain them) right before exec.
#[allow(unsafe_code)]
fn drop_privileges_before_exec(cmd: &mut Command, run_as: crate::spec::RunAs) {
    // SAFETY: the closure runs in the forked child, where only async-signal-safe operations are
    // allowed: it makes three raw system calls and neither allocates nor takes locks. rustix's
    // `set_thread_*` are the raw per-thread calls (not glibc's wrappers, which signal every
    // thread): the forked child has exactly one thread, so they change the whole process.
    unsafe {
        cmd.pre_exec(move || {
            use rustix::process::{Gid, Uid};
            use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
            let gid = Gid::from_raw(run_as.gid);
            let uid = Uid::from_raw(run_as.uid);
            set_thread_groups(&[])?;
            set_thread_res_gid(gid, gid, gid)?;
            set_thread_res_uid(uid, uid, uid)?;
            Ok(())
        });
    }
}

/// Opens a pidfd for `pid` and registers it with the runtime (it becomes readable on exit).
#[allow(unsafe_code)]
pub(crate) fn open_pidfd(pid: i32) -> std::io::Result<AsyncFd<OwnedFd>> {
    let fd = rustix::process::pidfd_open(as_pid(pid)?, PidfdFlags::NONBLOCK)?;
    // SAFETY: `register_with_interest` requires the descriptor to stay open and unchanged for
    // the life of the `AsyncFd`. It is an `OwnedFd` moved into the `AsyncFd`, which alone closes
    // it on drop, and nothing else can reach it to close or replace it.
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(|e| e.into_parts().1)
}

/// PIDs of real processes are positive; 0 and negative values have special meanings for
/// `kill` (our own group, every process) and must never reach it.
fn as_pid(pid: i32) -> std::io::Result<Pid> {
    Pid::from_raw(pid)
        .filter(|_| pid > 0)
        .ok_or_else(|| std::io::Error::other(format!("invalid PID {pid}")))
}

fn kill_group(pgid: i32, signal: Signal) {
    if let Ok(pgid) = as_pid(pgid) {
        let _ = rustix::process::kill_process_group(pgid, signal);
    }
}

impl Instance {
    /// An instance this process did not spawn (see `adopt.rs`).
    pub(crate) fn adopted(
        pid: i32,
        pgid: i32,
        start_time: u64,
        token: String,
        cgroup: Option<UnitCgroup>,
        pidfd: AsyncFd<OwnedFd>,
        output: Output,
    ) -> Self {
        Self {
            pid,
            pgid,
            start_time,
            token,
            cgroup,
            pidfd,
            is_child: false,
            exit: None,
            output,
        }
    }

    /// Resolves when the leader has exited (immediately if it already has).
    pub async fn leader_exit(&mut self) -> ExitReason {
        loop {
            if self.exit.is_none() {
                self.exit = self.check_leader_exit();
            }
            if let Some(reason) = &self.exit {
                return reason.clone();
            }
            self.exit = match self.pidfd.readable().await {
                // A pidfd becomes readable when its process exits; recheck (readiness may be
                // spurious) and clear it if the leader still runs.
                Ok(mut guard) => {
                    let exit = self.check_leader_exit();
                    if exit.is_none() {
                        guard.clear_ready();
                    }
                    exit
                }
                Err(_) => Some(ExitReason::Vanished),
            };
        }
    }

    /// The leader's exit reason if it has exited, without reaping it. Out of memory when the
    /// kernel's OOM killer ended any process of this instance.
    fn check_leader_exit(&self) -> Option<ExitReason> {
        let exit = self.leader_exit_status()?;
        match self.cgroup.as_ref().and_then(UnitCgroup::out_of_memory) {
            Some(limit_bytes) => Some(ExitReason::OutOfMemory { limit_bytes }),
            None => Some(exit),
        }
    }

    fn leader_exit_status(&self) -> Option<ExitReason> {
        if self.is_child {
            let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
            match rustix::process::waitid(WaitId::PidFd(self.pidfd.get_ref().as_fd()), options) {
                Ok(Some(status)) => Some(exit_reason(&status)),
                Ok(None) => None,
                Err(_) => Some(ExitReason::Vanished),
            }
        } else {
            (!self.leader_alive()).then_some(ExitReason::Vanished)
        }
    }

    fn leader_alive(&self) -> bool {
        procinfo::stat(self.pid).is_some_and(|st| st.is_alive() && st.start_time == self.start_time)
    }

    /// Whether any process of the unit is alive.
    pub fn anything_alive(&self) -> bool {
        match &self.cgroup {
            Some(cgroup) => cgroup.is_populated(),
            None => !self.live_members().is_empty(),
        }
    }

    /// Live processes of the unit: its cgroup, or (without one) its process group.
    pub fn live_members(&self) -> Vec<i32> {
        match &self.cgroup {
            Some(cgroup) => cgroup.members(),
            None => procinfo::live_group_members(self.pgid)
                .into_iter()
                .filter(|&pid| self.is_member(pid))
                .collect(),
        }
    }

    /// Re-checks that `pid` belongs to the unit. Without a cgroup, an adopted unit's group
    /// members must also carry the token: after its leader is gone, the group id could in
    /// principle be reused.
    fn is_member(&self, pid: i32) -> bool {
        match &self.cgroup {
            Some(cgroup) => cgroup.contains(pid),
            None => {
                procinfo::stat(pid).is_some_and(|st| st.pgrp == self.pgid && st.is_alive())
                    && (self.is_child || procinfo::environ_contains(pid, TOKEN_VAR, &self.token))
            }
        }
    }

    /// Sends `signal` to every process of the unit.
    pub fn signal_all(&mut self, signal: Signal) {
        // The whole group at once: atomic with respect to forks in progress. Safe while the
        // group id cannot name anyone else: our unreaped child, or a verified live leader.
        let group_signalled = self.is_child || self.leader_alive();
        if group_signalled {
            kill_group(self.pgid, signal);
        }
        // Then members outside the group (a `setsid` grandchild), each through a pidfd.
        for pid in self.live_members() {
            let in_group = procinfo::stat(pid).is_some_and(|st| st.pgrp == self.pgid);
            if group_signalled && in_group {
                continue;
            }
            let Ok(pidfd) =
                as_pid(pid).and_then(|p| Ok(rustix::process::pidfd_open(p, PidfdFlags::empty())?))
            else {
                continue; // already gone
            };
            if self.is_member(pid) {
                let _ = rustix::process::pidfd_send_signal(&pidfd, signal);
            }
        }
    }

    /// Stops the unit: SIGTERM to all of it, up to `grace` for it to exit, then SIGKILL. Returns
    /// once no process of the unit is alive, with the PIDs that survived SIGKILL if any did.
    pub async fn terminate(&mut self, grace: Duration) -> Result<(), Vec<u32>> {
        if self.anything_alive() {
            self.signal_all(Signal::TERM);
            if !self.wait_until_gone(Instant::now() + grace).await {
                if let Some(cgroup) = &self.cgroup {
                    cgroup.kill_all();
                }
                self.signal_all(Signal::KILL);
                if !self.wait_until_gone(Instant::now() + KILL_WAIT).await {
                    let survivors = self.live_members().into_iter().map(|p| p as u32).collect();
                    return Err(survivors);
                }
            }
        }
        self.release().await;
        Ok(())
    }

    /// Polls (1 ms, doubling up to 10 ms) until nothing of the unit is alive or the deadline.
    async fn wait_until_gone(&self, deadline: Instant) -> bool {
        let mut pause = Duration::from_millis(1);
        loop {
            if !self.anything_alive() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    /// After the unit is gone: reap the leader, remove the cgroup, let the log readers drain, and
    /// read the output files to their end (before the next instance opens them).
    async fn release(&mut self) {
        if self.is_child {
            // The leader is dead (a zombie), so this returns at once; retry briefly in case the
            // kernel is still tearing it down.
            for _ in 0..100 {
                let fd = self.pidfd.get_ref().as_fd();
                match rustix::process::waitid(
                    WaitId::PidFd(fd),
                    WaitIdOptions::EXITED | WaitIdOptions::NOHANG,
                ) {
                    Ok(Some(status)) => {
                        self.exit.get_or_insert_with(|| exit_reason(&status));
                        break;
                    }
                    Ok(None) => tokio::time::sleep(Duration::from_millis(1)).await,
                    Err(_) => break, // already reaped
                }
            }
            self.is_child = false;
        }
        if let Some(cgroup) = &self.cgroup {
            for attempt in 0..50 {
                match cgroup.remove() {
                    Ok(()) => break,
                    Err(e) if attempt == 49 => {
                        tracing::warn!(cgroup = %cgroup.dir().display(), "cannot remove cgroup: {e}")
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(2)).await,
                }
            }
        }
        logs::retire_readers(std::mem::take(&mut self.output.readers));
        if let Some(tailer) = self.output.tailer.take() {
            tailer.finish().await;
        }
    }

    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.exit.clone()
    }

    /// Stops reading the instance's output (it goes on writing to its files or pipes), for a
    /// transfer to another unit, which reads it from then on ([`Instance::attach_output`]).
    pub fn detach_output(&mut self) {
        let output = std::mem::take(&mut self.output);
        logs::retire_readers(output.readers);
        if let Some(tailer) = output.tailer {
            // Not awaited: the new owner's tailer replays the files' tail itself.
            tokio::spawn(tailer.finish());
        }
    }

    pub fn attach_output(&mut self, output: Output) {
        self.output = output;
    }

    /// SIGKILLs the whole instance without waiting (a transfer that nobody completes).
    pub fn kill_now(&mut self) {
        if let Some(cgroup) = &self.cgroup {
            cgroup.kill_all();
        }
        self.signal_all(Signal::KILL);
    }

    /// Moves every process of the instance into `cgroup` (which must be empty) and removes the
    /// old one: the instance is limited and stopped as a member of `cgroup` from then on.
    pub fn move_to_cgroup(&mut self, cgroup: UnitCgroup) -> std::io::Result<()> {
        if let Some(old) = self.cgroup.take() {
            if let Err(e) = old.move_members_to(&cgroup) {
                self.cgroup = Some(old);
                return Err(e);
            }
            if let Err(e) = old.remove() {
                tracing::warn!(cgroup = %old.dir().display(), "old cgroup stays after a move: {e}");
            }
        }
        self.cgroup = Some(cgroup);
        Ok(())
    }
}

fn exit_reason(status: &rustix::process::WaitIdStatus) -> ExitReason {
    match (status.exit_status(), status.terminating_signal()) {
        (Some(code), _) if status.exited() => ExitReason::Exited { code },
        (_, Some(signal)) => ExitReason::Signaled { signal },
        _ => ExitReason::Vanished,
    }
}
