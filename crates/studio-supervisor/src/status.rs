//! The supervisor's vocabulary for what a unit is doing: states, statuses and exit reasons.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where a unit is in its lifecycle.
///
/// ```text
///            start                 ready
///  Stopped ────────► [Waiting] ──► Starting ──────► Running ◄──► Unhealthy
///     ▲                  ▲                            │ crash / liveness past threshold
///     │ stop             └──────── Restarting ◄───────┘
///     │                               │ more than N crashes in the window
///     └──────────── (any) ◄── stop    ▼
///                                   Failed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitState {
    /// Spawned, waiting for the readiness probe.
    Starting,
    /// Waiting for its dependencies before a start.
    Waiting,
    /// Ready (the readiness probe passed, or there is none) and not failing liveness.
    Running,
    /// Running, but the last liveness probe(s) failed (fewer than the threshold).
    Unhealthy,
    /// Crashed; the leftovers are being stopped and a restart follows after a backoff delay.
    /// Also the state during a restart asked for by the caller.
    Restarting,
    /// No process of the unit is alive (the initial state, and the state after a stop).
    Stopped,
    /// Crashed too often, or could not be started; nothing is running. `start` tries again.
    Failed,
}

impl UnitState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Waiting => "waiting",
            Self::Running => "running",
            Self::Unhealthy => "unhealthy",
            Self::Restarting => "restarting",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }

    /// A steady state is one the unit stays in without further action: what `start`, `stop` and
    /// `restart` return in.
    pub fn is_steady(self) -> bool {
        matches!(
            self,
            Self::Running | Self::Unhealthy | Self::Stopped | Self::Failed
        )
    }
}

impl fmt::Display for UnitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the last instance of a unit ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExitReason {
    /// The leader exited by itself with this code.
    Exited { code: i32 },
    /// The leader was killed by this signal.
    Signaled { signal: i32 },
    /// The liveness probe failed this many times in a row.
    LivenessFailed { failures: u32 },
    /// The readiness probe did not pass within the startup timeout.
    ReadinessTimedOut { after_ms: u64 },
    /// Stopped or restarted because the caller asked.
    Requested,
    /// An adopted leader (not our child, so its exit status is not ours to read) exited.
    Vanished,
    /// The kernel's OOM killer ended a process of the unit: it reached its memory limit
    /// ([`crate::ResourceLimits::memory_bytes`]).
    OutOfMemory { limit_bytes: u64 },
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exited { code } => write!(f, "exited with code {code}"),
            Self::Signaled { signal } => write!(f, "killed by signal {signal}"),
            Self::LivenessFailed { failures } => {
                write!(f, "liveness probe failed {failures} times in a row")
            }
            Self::ReadinessTimedOut { after_ms } => {
                write!(f, "not ready after {after_ms} ms (readiness probe)")
            }
            Self::Requested => f.write_str("stopped on request"),
            Self::Vanished => f.write_str("exited (adopted process; exit status unknown)"),
            Self::OutOfMemory { limit_bytes } => write!(
                f,
                "ran out of memory (limit {})",
                crate::limits::Bytes(*limit_bytes)
            ),
        }
    }
}

/// A snapshot of a unit, published on every state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitStatus {
    pub name: String,
    pub state: UnitState,
    /// Restarts so far: automatic ones after crashes plus those the caller asked for.
    pub restarts: u32,
    /// Crashes inside the restart policy's window (reset after a healthy period). More than
    /// `max_crashes` make the unit `Failed`.
    pub crashes: u32,
    pub last_exit: Option<ExitReason>,
    /// The leader (and process group id) of the current instance.
    pub pid: Option<u32>,
    pub port: Option<u16>,
    /// Why the unit is in this state, when that is not obvious: what it is waiting for, why it
    /// failed, how long until the next restart.
    pub message: Option<String>,
    /// When the unit entered this state.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

impl UnitStatus {
    pub(crate) fn new(name: &str, port: Option<u16>) -> Self {
        Self {
            name: name.to_owned(),
            state: UnitState::Stopped,
            restarts: 0,
            crashes: 0,
            last_exit: None,
            pid: None,
            port,
            message: None,
            since: OffsetDateTime::now_utc(),
        }
    }
}
