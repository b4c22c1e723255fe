//! The renderer as a supervised unit: [`RendererUnit`], the one door from the manager into
//! `studio-supervisor`, and the mapping from unit states to sandbox statuses ([`UnitPhase`]).
//!
//! What the unit is made of lives in [`spec`]; its output, as the API reads it, in [`logs`].

mod logs;
mod spec;

use std::path::PathBuf;
use std::sync::Arc;

use studio_core::{SandboxConfig, SandboxId, SandboxStatus};
use studio_renderer::LaunchSpec;
use studio_supervisor::{AdoptionRecord, ExitReason, Unit, UnitState, UnitStatus};
use tokio::sync::watch;

pub use logs::LogEntry;
pub(crate) use logs::{follow_logs, logs};
use spec::unit_spec;
pub(crate) use spec::{renderer_limits, run_as};

use crate::snapshot::RendererResources;

use crate::error::{ErrorKind, ManagerError};
use crate::shared::Shared;

/// A change of the renderer as the actor sees it.
#[derive(Debug, Clone)]
pub(crate) struct UnitPhase {
    /// The sandbox status this unit state stands for, if it stands for one by itself
    /// (stops, starts and restarts the actor asked for are announced by the actor).
    pub status: Option<SandboxStatus>,
    pub restarts: u32,
    /// Set while the unit restarts (or has failed) after an out-of-memory kill: the supervisor's
    /// description of it ("ran out of memory (limit 1 GiB)").
    pub out_of_memory: Option<String>,
}

/// The sandbox's renderer under the supervisor. `None` inside only when it could not even be
/// registered (the sandbox is then `failed` and can be started again).
#[derive(Debug)]
pub(crate) struct RendererUnit {
    unit: Option<Unit>,
    status: Option<watch::Receiver<UnitStatus>>,
    /// The data dir and sandbox whose pool slots (a claimed renderer's mount of the checkout
    /// into its jail) go once the running process is gone for good (stop, restart, remove,
    /// shutdown). A crash replacement from the pool releases the crashed one's itself.
    slots_of: Option<(PathBuf, SandboxId)>,
}

impl RendererUnit {
    pub async fn add(
        shared: &Arc<Shared>,
        id: &SandboxId,
        launch: LaunchSpec,
        config: &SandboxConfig,
    ) -> Result<Self, ManagerError> {
        // The one gate every renderer start passes (create, recovery, re-preparation).
        shared.isolation.require()?;
        let spec = unit_spec(&shared.config, id, launch, config);
        let checkout = spec.cwd.clone();
        let unit = shared
            .supervisor
            .add(spec)
            .await
            .map_err(supervisor_error)?;
        Ok(Self::wrap(unit).pooled(shared, id, checkout))
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
        let checkout = spec.cwd.clone();
        let unit = shared
            .supervisor
            .adopt(spec, record)
            .await
            .map_err(supervisor_error)?;
        Ok(Self::wrap(unit).pooled(shared, id, checkout))
    }

    /// Starts the renderer from a pre-started one of the pool: `member` switches to this
    /// sandbox's checkout (prepared: `launch` is how it would start cold) and the supervisor
    /// gives its process to the sandbox's unit. Returns once it serves the sandbox, or the error
    /// (the member is discarded then; the caller starts cold).
    pub async fn from_pool(
        shared: &Arc<Shared>,
        id: &SandboxId,
        launch: LaunchSpec,
        config: &SandboxConfig,
        member: crate::pool::Member,
    ) -> Result<Self, ManagerError> {
        shared.isolation.require()?;
        let spec = unit_spec(&shared.config, id, launch, config);
        let readiness = spec.readiness.clone();
        let startup_timeout = spec.startup_timeout;
        let checkout = spec.cwd.clone();
        let unit = crate::pool::hand_over(shared, id, member, spec).await?;
        let this = Self::wrap(unit).pooled(shared, id, checkout);
        if let Some(probe) = readiness
            && let Err(e) = crate::pool::wait_serving(&probe, startup_timeout).await
        {
            this.remove().await;
            return Err(ManagerError::new(
                ErrorKind::Upstream,
                "renderer_error",
                format!("the pre-started renderer did not serve the sandbox: {e}"),
            ));
        }
        Ok(this)
    }

    pub fn detached() -> Self {
        Self {
            unit: None,
            status: None,
            slots_of: None,
        }
    }

    fn wrap(unit: Unit) -> Self {
        let mut status = unit.watch();
        status.borrow_and_update();
        Self {
            unit: Some(unit),
            status: Some(status),
            slots_of: None,
        }
    }

    /// Ties the unit to the pool: its slots are released with its process, and with the pool on
    /// a crash restart takes a pre-started renderer (`pool::CrashRecovery`) before spawning.
    fn pooled(mut self, shared: &Arc<Shared>, id: &SandboxId, checkout: PathBuf) -> Self {
        self.slots_of = Some((shared.config.data_dir.clone(), id.clone()));
        if let Some(unit) = &self.unit
            && shared.pool.is_on()
        {
            let source = crate::pool::CrashRecovery::new(shared, id, checkout);
            unit.set_replacement(studio_supervisor::Replacement::new(source));
        }
        self
    }

    /// The process that came from a pool slot is gone: so goes the slot.
    async fn release_pool_slot(&self) {
        if let Some((data_dir, id)) = &self.slots_of {
            crate::pool::release_slots(data_dir, id).await;
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
        let restarted = self.unit()?.restart().await;
        self.release_pool_slot().await;
        restarted.map(drop).map_err(supervisor_error)
    }

    pub async fn stop(&self) -> Result<(), ManagerError> {
        let stopped = self.unit()?.stop().await;
        self.release_pool_slot().await;
        stopped.map(drop).map_err(supervisor_error)
    }

    /// Server shutdown: stop the process, keep nothing running.
    pub async fn shutdown(&self) {
        if let Some(unit) = &self.unit
            && let Err(e) = unit.stop().await
        {
            tracing::warn!(unit = %unit.name(), "stop at shutdown failed: {e}");
        }
        self.release_pool_slot().await;
    }

    /// Stops the renderer and forgets it.
    pub async fn remove(&self) {
        if let Some(unit) = &self.unit
            && let Err(e) = unit.remove().await
        {
            tracing::warn!(unit = %unit.name(), "removing renderer failed: {e}");
        }
        self.release_pool_slot().await;
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
        let out_of_memory = match (&status.state, &status.last_exit) {
            (
                UnitState::Restarting | UnitState::Failed,
                Some(exit @ ExitReason::OutOfMemory { .. }),
            ) => Some(exit.to_string()),
            _ => None,
        };
        UnitPhase {
            status: mapped,
            restarts: status.restarts,
            out_of_memory,
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

/// What a sandbox's renderer uses now, read from its cgroup files through the supervisor's unit
/// (never a request to the sandbox's actor or the unit's task); `None` without a running renderer
/// or a controller to read.
pub(crate) fn resources(shared: &Shared, id: &SandboxId) -> Option<RendererResources> {
    let used = shared.supervisor.unit(&spec::unit_name(id))?.resources()?;
    Some(RendererResources {
        memory_bytes: used.memory_bytes,
        cpu_usage_usec: used.cpu_usage_usec,
    })
}

fn supervisor_error(e: studio_supervisor::SupervisorError) -> ManagerError {
    ManagerError::new(ErrorKind::Upstream, "renderer_error", e.to_string())
}

/// Stops and forgets the renderer of a sandbox that no actor owns (a failed recovery, a delete
/// of a sandbox without an actor): the one the supervisor holds, or else the one a previous
/// server left running (`adoption`, the stored record), which is adopted only to be removed with
/// the supervisor's guarantees (its cgroup killed, nothing left). Its processes are gone when
/// this returns. Best effort, logged: the caller goes on removing the rest.
pub(crate) async fn remove_unowned(
    shared: &Shared,
    id: &SandboxId,
    adoption: Option<&serde_json::Value>,
) {
    let name = spec::unit_name(id);
    let unit = match shared.supervisor.unit(&name) {
        Some(unit) => unit,
        None => {
            let Some(record) =
                adoption.and_then(|r| serde_json::from_value::<AdoptionRecord>(r.clone()).ok())
            else {
                return;
            };
            // Never started: the spec only names the unit being taken over.
            let placeholder = studio_supervisor::UnitSpec {
                name: name.clone(),
                program: "true".to_owned(),
                cwd: "/".into(),
                ..studio_supervisor::UnitSpec::default()
            };
            match shared.supervisor.adopt(placeholder, record).await {
                Ok(unit) => unit,
                // Not a live process of ours any more: nothing to stop.
                Err(e) => {
                    tracing::info!(unit = %name, "no leftover renderer to remove: {e}");
                    return;
                }
            }
        }
    };
    if let Err(e) = unit.remove().await {
        tracing::warn!(unit = %name, "removing a renderer no actor owns failed: {e}");
    }
    crate::pool::release_slot_of(shared, id).await;
}
