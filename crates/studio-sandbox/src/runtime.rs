//! The renderer as a supervised unit, and the settings handed to the lower crates.
//!
//! Every call into `studio-supervisor` from the manager goes through [`RendererUnit`], so the
//! mapping between unit states and sandbox statuses lives in one place.

use std::sync::Arc;
use std::time::Duration;

use studio_core::{SandboxConfig, SandboxId, SandboxStatus};
use studio_renderer::LaunchSpec;
use studio_supervisor::{
    AdoptionRecord, Liveness, LogLine, LogStream, Probe, RestartPolicy, Unit, UnitSpec, UnitState,
    UnitStatus,
};
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};

use crate::config::ManagerConfig;
use crate::error::{ErrorKind, ManagerError};
use crate::shared::Shared;

/// One line of renderer output, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub timestamp: OffsetDateTime,
    /// `stdout` or `stderr`.
    pub stream: &'static str,
    pub line: String,
}

impl From<LogLine> for LogEntry {
    fn from(l: LogLine) -> Self {
        let stream = match l.stream {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        };
        Self {
            timestamp: l.at,
            stream,
            line: l.text,
        }
    }
}

/// A change of the renderer as the actor sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnitPhase {
    /// The sandbox status this unit state stands for, if it stands for one by itself
    /// (stops, starts and restarts the actor asked for are announced by the actor).
    pub status: Option<SandboxStatus>,
    pub restarts: u32,
}

/// The sandbox's renderer under the supervisor. `None` inside only when it could not even be
/// registered (the sandbox is then `failed` and can be started again).
#[derive(Debug)]
pub(crate) struct RendererUnit {
    unit: Option<Unit>,
    status: Option<watch::Receiver<UnitStatus>>,
}

impl RendererUnit {
    pub async fn add(
        shared: &Arc<Shared>,
        id: &SandboxId,
        launch: LaunchSpec,
        config: &SandboxConfig,
    ) -> Result<Self, ManagerError> {
        let spec = unit_spec(&shared.config, id, launch, config);
        let unit = shared
            .supervisor
            .add(spec)
            .await
            .map_err(supervisor_error)?;
        Ok(Self::wrap(unit))
    }

    /// Re-adopts a renderer that outlived a crash of the previous server process.
    pub async fn adopt(
        shared: &Arc<Shared>,
        id: &SandboxId,
        launch: LaunchSpec,
        config: &SandboxConfig,
        record: &serde_json::Value,
    ) -> Result<Self, ManagerError> {
        let record: AdoptionRecord = serde_json::from_value(record.clone()).map_err(|e| {
            ManagerError::internal(format!("stored adoption record is unreadable: {e}"))
        })?;
        let spec = unit_spec(&shared.config, id, launch, config);
        let unit = shared
            .supervisor
            .adopt(spec, record)
            .await
            .map_err(supervisor_error)?;
        Ok(Self::wrap(unit))
    }

    pub fn detached() -> Self {
        Self {
            unit: None,
            status: None,
        }
    }

    fn wrap(unit: Unit) -> Self {
        let mut status = unit.watch();
        status.borrow_and_update();
        Self {
            unit: Some(unit),
            status: Some(status),
        }
    }

    fn unit(&self) -> Result<&Unit, ManagerError> {
        self.unit.as_ref().ok_or_else(|| {
            ManagerError::new(
                ErrorKind::Conflict,
                "no_renderer",
                "the renderer could not be set up; recreate the sandbox",
            )
        })
    }

    pub async fn start(&self) -> Result<(), ManagerError> {
        self.unit()?
            .start()
            .await
            .map(drop)
            .map_err(supervisor_error)
    }

    pub async fn restart(&self) -> Result<(), ManagerError> {
        self.unit()?
            .restart()
            .await
            .map(drop)
            .map_err(supervisor_error)
    }

    pub async fn stop(&self) -> Result<(), ManagerError> {
        self.unit()?
            .stop()
            .await
            .map(drop)
            .map_err(supervisor_error)
    }

    /// Server shutdown: stop the process, keep nothing running.
    pub async fn shutdown(&self) {
        if let Some(unit) = &self.unit
            && let Err(e) = unit.stop().await
        {
            tracing::warn!(unit = %unit.name(), "stop at shutdown failed: {e}");
        }
    }

    /// Stops the renderer and forgets it.
    pub async fn remove(&self) {
        if let Some(unit) = &self.unit
            && let Err(e) = unit.remove().await
        {
            tracing::warn!(unit = %unit.name(), "removing renderer failed: {e}");
        }
    }

    /// Waits for the next change of the unit's status (forever if there is no unit).
    pub async fn changed(&mut self) -> UnitPhase {
        let Some(rx) = self.status.as_mut() else {
            return std::future::pending().await;
        };
        if rx.changed().await.is_err() {
            // The unit's task ended (removed); nothing more will change.
            self.status = None;
            return std::future::pending().await;
        }
        let status = rx.borrow_and_update().clone();
        let mapped = match status.state {
            UnitState::Running => Some(SandboxStatus::Running),
            UnitState::Restarting => Some(SandboxStatus::Restarting),
            UnitState::Failed => Some(SandboxStatus::Failed),
            UnitState::Starting
            | UnitState::Waiting
            | UnitState::Unhealthy
            | UnitState::Stopped => None,
        };
        UnitPhase {
            status: mapped,
            restarts: status.restarts,
        }
    }

    /// The supervisor's restart counter of this unit (crash restarts plus requested ones).
    pub fn restart_count(&self) -> u32 {
        self.status.as_ref().map_or(0, |s| s.borrow().restarts)
    }

    /// The last `n` lines of output, joined, for error messages.
    pub fn last_output(&self, n: usize) -> String {
        self.unit
            .as_ref()
            .map(|u| {
                u.logs(n)
                    .into_iter()
                    .map(|l| l.text)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// The supervisor's re-adoption record, as opaque JSON for the store.
    pub fn adoption_record(&self) -> Option<serde_json::Value> {
        let record = self.unit.as_ref()?.record()?;
        serde_json::to_value(record).ok()
    }
}

/// The supervisor's name for a sandbox's renderer: the one place it is spelled out, so the spec
/// and the log lookups can never disagree.
fn unit_name(id: &SandboxId) -> String {
    format!("{id}-renderer")
}

/// The supervisor's description of a renderer.
fn unit_spec(
    config: &ManagerConfig,
    id: &SandboxId,
    launch: LaunchSpec,
    sandbox: &SandboxConfig,
) -> UnitSpec {
    let readiness = Probe::http(launch.readiness_url.as_str());
    let mut liveness = Liveness::new(readiness.clone());
    liveness.period = Duration::from_secs(5);
    liveness.failure_threshold = 3;
    UnitSpec {
        name: unit_name(id),
        program: launch.program.to_string_lossy().into_owned(),
        args: launch.args,
        cwd: launch.cwd,
        env: launch.env,
        port: Some(launch.port),
        readiness: Some(readiness),
        startup_timeout: config.renderer_startup_timeout,
        liveness: Some(liveness),
        restart: RestartPolicy {
            max_crashes: sandbox.max_restarts,
            ..RestartPolicy::default()
        },
        ..UnitSpec::default()
    }
}

fn supervisor_error(e: studio_supervisor::SupervisorError) -> ManagerError {
    ManagerError::new(ErrorKind::Upstream, "renderer_error", e.to_string())
}

/// Logs of a sandbox's renderer, if it has one registered.
pub(crate) fn logs(shared: &Shared, id: &SandboxId, limit: usize) -> Vec<LogEntry> {
    match shared.supervisor.unit(&unit_name(id)) {
        Some(unit) => unit.logs(limit).into_iter().map(LogEntry::from).collect(),
        None => Vec::new(),
    }
}

pub(crate) fn follow_logs(
    shared: &Shared,
    id: &SandboxId,
    limit: usize,
) -> Option<(Vec<LogEntry>, broadcast::Receiver<LogEntry>)> {
    let unit = shared.supervisor.unit(&unit_name(id))?;
    // Subscribe before reading the backlog so no line falls between the two.
    let mut live = unit.subscribe_logs();
    let backlog: Vec<LogEntry> = unit.logs(limit).into_iter().map(LogEntry::from).collect();
    let (tx, rx) = broadcast::channel(1024);
    let last_seen = backlog.last().map(|l| l.timestamp);
    tokio::spawn(async move {
        loop {
            match live.recv().await {
                Ok(line) => {
                    if last_seen.is_some_and(|t| line.at <= t) {
                        continue;
                    }
                    if tx.send(LogEntry::from(line)).is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    Some((backlog, rx))
}

pub(crate) fn git_config(config: &ManagerConfig) -> studio_git::GitConfig {
    let mut git = studio_git::GitConfig::new(&config.data_dir);
    git.token = config.github_token.clone();
    git
}

pub(crate) fn renderer_config(config: &ManagerConfig) -> studio_renderer::RendererConfig {
    let mut renderer = studio_renderer::RendererConfig::new(&config.data_dir, &config.template_dir);
    renderer.npm_cache = config.npm_cache.clone();
    renderer
}

pub(crate) fn supervisor_config(config: &ManagerConfig) -> studio_supervisor::SupervisorConfig {
    studio_supervisor::SupervisorConfig {
        port_range: config.port_range.clone(),
        ..studio_supervisor::SupervisorConfig::default()
    }
}
