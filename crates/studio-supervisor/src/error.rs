//! Errors. Every variant names the unit and says why, in words an operator can act on.
//!
//! Errors are `Clone` because coalesced requests share one outcome: when 100 callers ask for a
//! restart at once, all of them receive the same result.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::status::{ExitReason, UnitState};

/// Why a supervisor operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    #[error("unit {name:?} is invalid: {reason}")]
    InvalidSpec { name: String, reason: String },

    #[error("a unit named {name:?} already exists")]
    DuplicateUnit { name: String },

    #[error("unit {name:?} was removed")]
    Removed { name: String },

    #[error("unit {name:?}: cannot spawn {program:?}: {reason}")]
    Spawn {
        name: String,
        program: String,
        reason: String,
    },

    #[error("unit {name:?}: port {port} is held by {}", holder(*pid))]
    PortBusy {
        name: String,
        port: u16,
        pid: Option<u32>,
    },

    #[error("unit {name:?}: {reason}")]
    Socket { name: String, reason: String },

    #[error("unit {name:?} cannot hand over PID {pid}: it is {state} with another or no leader")]
    NotReleasable {
        name: String,
        pid: u32,
        state: UnitState,
    },

    #[error("moving PID {pid} from unit {from:?} to {name:?} failed: {reason}")]
    Transfer {
        name: String,
        from: String,
        pid: u32,
        reason: String,
    },

    #[error("unit {name:?}: dependency {dependency} not ready after {waited:?}: {last_error}")]
    DependencyTimeout {
        name: String,
        dependency: String,
        waited: Duration,
        last_error: String,
    },

    #[error(
        "unit {name:?} failed: {crashes} crashes within {window:?}, last: {last_exit}{}",
        log_tail(last_logs)
    )]
    CrashLoop {
        name: String,
        crashes: u32,
        window: Duration,
        last_exit: ExitReason,
        last_logs: Vec<String>,
    },

    #[error("unit {name:?}: processes {survivors:?} survived SIGKILL (uninterruptible sleep?)")]
    StopFailed { name: String, survivors: Vec<u32> },

    #[error("unit {name:?}: the {interrupted} was interrupted by a {by} request")]
    Interrupted {
        name: String,
        interrupted: &'static str,
        by: &'static str,
    },

    #[error("unit {name:?}: still {state} after waiting {waited:?}")]
    WaitTimeout {
        name: String,
        state: UnitState,
        waited: Duration,
    },

    #[error("unit {name:?}: cannot adopt PID {pid}: {reason}")]
    Adoption {
        name: String,
        pid: u32,
        reason: AdoptionMismatch,
    },

    #[error(transparent)]
    Port(#[from] PortError),
}

fn holder(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("PID {pid}, which is not a process of this unit"),
        None => "a process whose PID could not be read".to_owned(),
    }
}

fn log_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("; last output:\n{}", lines.join("\n"))
    }
}

/// Why an [`AdoptionRecord`](crate::AdoptionRecord) does not match a live process. In every case
/// the supervisor sent no signal to the process now using that PID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdoptionMismatch {
    #[error("no such process (the unit is gone){}", leftovers(*killed_leftovers))]
    Gone { killed_leftovers: usize },
    #[error("the machine rebooted since the record was written")]
    Rebooted,
    #[error("the PID was reused: start time {found} differs from the recorded {recorded}")]
    PidReused { recorded: u64, found: u64 },
    #[error("the process does not carry the unit's token in its environment")]
    TokenMismatch,
    #[error("the process is not in the recorded cgroup {recorded}")]
    CgroupMismatch { recorded: String },
    #[error("the record is for unit {recorded:?}")]
    NameMismatch { recorded: String },
}

fn leftovers(count: usize) -> String {
    match count {
        0 => String::new(),
        n => format!("; killed {n} leftover processes in its cgroup"),
    }
}

/// Port registry errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    #[error(
        "no free port in {}..={} (ports in the ephemeral range {}..={} are never used)",
        range.start(), range.end(), ephemeral.start(), ephemeral.end()
    )]
    Exhausted {
        range: RangeInclusive<u16>,
        ephemeral: RangeInclusive<u16>,
    },
    #[error("port {port} is already allocated")]
    AlreadyAllocated { port: u16 },
}
