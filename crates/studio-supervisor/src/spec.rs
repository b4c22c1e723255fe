//! What a unit is ([`UnitSpec`]): the command, its environment and restart policy, plus the
//! probes, dependencies and log limits declared in the leaf modules `checks` and `log_limits`.
//!
//! Every field has a default chosen for a dev server (see [`UnitSpec::default`]); a caller sets
//! the name, the program and what differs, and leaves the rest to `..Default::default()`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checks::{Dependency, Liveness, Probe};
use crate::error::SupervisorError;
use crate::limits::ResourceLimits;
use crate::log_limits::LogLimits;
use crate::socket::LISTEN_FD_VAR;
use crate::token::TOKEN_VAR;

/// One named command the supervisor runs and owns.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct UnitSpec {
    /// Unique within a supervisor. Also names the unit's cgroup.
    pub name: String,
    /// Looked up on the `PATH` given to the child (see [`UnitSpec::env`]) unless it has a `/`.
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// The child's whole environment besides `PATH`, `HOME` and `LANG` (taken from the
    /// supervisor's environment unless set here) and the unit token. Nothing else of the
    /// supervisor's environment reaches the child. Values are never logged or shown in `Debug`.
    pub env: BTreeMap<String, String>,
    /// The port the unit's server listens on. Before every start the supervisor waits (up to
    /// `port_timeout`) for it to be free, and a stop completes only once it is free.
    pub port: Option<u16>,
    /// A Unix socket the unit serves on. The supervisor binds it (replacing a stale socket file,
    /// never one someone still accepts on), hands the listener to every instance as fd 3 with
    /// `STUDIO_LISTEN_FD=3` in its environment, and keeps it open across crashes and restarts,
    /// so connections queue instead of being refused while the unit is down. When the unit is
    /// stopped, fails or is removed, the listener is closed and the file removed. Absolute, at
    /// most 107 bytes.
    pub listen_socket: Option<PathBuf>,
    /// When the unit counts as `Running`. `None`: as soon as it is spawned.
    pub readiness: Option<Probe>,
    /// How often the readiness probe is tried while starting.
    pub readiness_interval: Duration,
    /// How long a start may take to pass readiness before it counts as a crash.
    pub startup_timeout: Duration,
    /// Checked periodically while running; failing `failure_threshold` times in a row is a crash.
    pub liveness: Option<Liveness>,
    /// Bound on a single probe attempt (connect plus response).
    pub probe_timeout: Duration,
    /// Between SIGTERM to the whole unit and SIGKILL.
    pub stop_grace: Duration,
    pub restart: RestartPolicy,
    /// Conditions waited for before every start and restart (state `Waiting`).
    pub depends_on: Vec<Dependency>,
    /// How long to wait for dependencies before the unit fails.
    pub dependency_timeout: Duration,
    /// How often dependencies are checked while waiting.
    pub dependency_interval: Duration,
    /// How long to wait for `port` to be free before a start fails with the holder's PID.
    pub port_timeout: Duration,
    /// Size of the unit's log ring buffer (it survives restarts).
    pub log_limits: LogLimits,
    /// Memory, process count and CPU weight of each instance, enforced by its cgroup (see
    /// [`Supervisor::unenforced_limits`](crate::Supervisor::unenforced_limits)). Default: none.
    pub limits: ResourceLimits,
    /// The host user every instance runs as. The child joins its cgroups first (which needs the
    /// supervisor's privileges), then drops its supplementary groups, gid and uid, then execs.
    /// `None`: the supervisor's own user.
    pub run_as: Option<RunAs>,
}

/// A host uid and gid (see [`UnitSpec::run_as`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

impl Default for UnitSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            program: String::new(),
            args: Vec::new(),
            cwd: PathBuf::from("."),
            env: BTreeMap::new(),
            port: None,
            listen_socket: None,
            readiness: None,
            readiness_interval: Duration::from_millis(20),
            startup_timeout: Duration::from_secs(30),
            liveness: None,
            probe_timeout: Duration::from_secs(1),
            stop_grace: Duration::from_secs(5),
            restart: RestartPolicy::default(),
            depends_on: Vec::new(),
            dependency_timeout: Duration::from_secs(60),
            dependency_interval: Duration::from_millis(250),
            port_timeout: Duration::from_secs(5),
            log_limits: LogLimits::default(),
            limits: ResourceLimits::default(),
            run_as: None,
        }
    }
}

impl fmt::Debug for UnitSpec {
    /// Shows environment *names* only: values may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnitSpec")
            .field("name", &self.name)
            .field("program", &self.program)
            .field("args", &self.args)
            .field("cwd", &self.cwd)
            .field(
                "env",
                &self
                    .env
                    .keys()
                    .map(|k| format!("{k}=<redacted>"))
                    .collect::<Vec<_>>(),
            )
            .field("port", &self.port)
            .field("listen_socket", &self.listen_socket)
            .field("readiness", &self.readiness)
            .field("liveness", &self.liveness)
            .field("depends_on", &self.depends_on)
            .field("restart", &self.restart)
            .field("limits", &self.limits)
            .field("run_as", &self.run_as)
            .finish_non_exhaustive()
    }
}

impl UnitSpec {
    /// Rejects specs that could never work, before anything is spawned.
    pub(crate) fn validate(&self) -> Result<(), SupervisorError> {
        let invalid = |reason: String| SupervisorError::InvalidSpec {
            name: self.name.clone(),
            reason,
        };
        let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if self.name.is_empty() || self.name.len() > 100 || !self.name.chars().all(name_ok) {
            return Err(invalid(
                "the name must be 1-100 characters of A-Z, a-z, 0-9, '-', '_' or '.'".into(),
            ));
        }
        if self.program.is_empty() {
            return Err(invalid("the program is empty".into()));
        }
        if let Some(key) = self
            .env
            .keys()
            .find(|k| k.is_empty() || k.contains(['=', '\0']))
        {
            return Err(invalid(format!(
                "environment variable name {key:?} is not valid"
            )));
        }
        for reserved in [TOKEN_VAR, LISTEN_FD_VAR] {
            if self.env.contains_key(reserved) {
                return Err(invalid(format!("{reserved} is set by the supervisor")));
            }
        }
        if let Some(path) = &self.listen_socket {
            crate::socket::validate_path(path).map_err(invalid)?;
        }
        for probe in self
            .readiness
            .iter()
            .chain(self.liveness.as_ref().map(|l| &l.probe))
        {
            probe.validate().map_err(invalid)?;
        }
        for dep in &self.depends_on {
            dep.validate().map_err(invalid)?;
        }
        if self
            .liveness
            .as_ref()
            .is_some_and(|l| l.failure_threshold == 0 || l.period.is_zero())
        {
            return Err(invalid(
                "liveness needs a non-zero period and failure threshold".into(),
            ));
        }
        if self.restart.backoff_factor < 1.0 {
            return Err(invalid("the backoff factor must be at least 1".into()));
        }
        Ok(())
    }
}

/// How crashes are handled. A crash is an exit nobody asked for, a readiness timeout, or liveness
/// failing `failure_threshold` times; stops and restarts asked for by the caller are not crashes.
///
/// Crash number 1..=`max_crashes` inside `window` is followed by a restart after an exponential
/// backoff delay with jitter (`backoff_min · factorⁿ`, capped at `backoff_max`, plus up to 100 %
/// jitter); one more makes the unit `Failed`. Running for `healthy_after` forgets past crashes
/// and resets the backoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartPolicy {
    pub max_crashes: u32,
    pub window: Duration,
    pub healthy_after: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub backoff_factor: f32,
    pub jitter: bool,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            max_crashes: 3,
            window: Duration::from_secs(60),
            healthy_after: Duration::from_secs(30),
            // Small: the first restart after a crash should cost little more than a cold start.
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(10),
            backoff_factor: 2.0,
            jitter: true,
        }
    }
}

impl RestartPolicy {
    /// The first crash makes the unit `Failed`.
    pub fn never() -> Self {
        Self {
            max_crashes: 0,
            ..Self::default()
        }
    }
}
