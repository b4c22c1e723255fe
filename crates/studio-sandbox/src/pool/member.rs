//! One pre-started renderer: its slot (directory, pool app, drop point) and its supervised unit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use studio_core::SandboxId;
use studio_renderer::PoolSlot;
use studio_supervisor::{Liveness, Probe, RestartPolicy, Unit, UnitSpec, UnitState};

use crate::error::{ErrorKind, ManagerError};
use crate::shared::Shared;

/// Unit names of pool members start so; the leftover sweep recognises them by it.
pub(crate) const POOL_UNIT_PREFIX: &str = "pool-";

/// An idle pre-started renderer, serving the pool app on its own socket.
#[derive(Debug)]
pub(crate) struct Member {
    pub slot: PoolSlot,
    pub unit: Unit,
    /// The unit's process (its leader) when it became idle: a claim hands over exactly it.
    pub pid: u32,
}

impl Member {
    /// Prepares a new slot and starts its renderer; returns once it serves (its throwaway Vite
    /// has run), so a member in the pool is always warm.
    pub(super) async fn start(shared: &Shared) -> Result<Self, String> {
        let name = format!("{:08x}", rand::random::<u32>());
        let slot = match shared.renderer.prepare_pool_slot(&name).await {
            Ok(slot) => slot,
            Err(e) => {
                remove_slot(studio_renderer::pool_dir(&shared.config.data_dir).join(&name)).await;
                return Err(format!("cannot prepare pool slot {name}: {e}"));
            }
        };
        let spec = unit_spec(shared, &slot);
        let unit = match shared.supervisor.add(spec).await {
            Ok(unit) => unit,
            Err(e) => {
                remove_slot(slot.dir.clone()).await;
                return Err(format!("cannot register pool unit {name}: {e}"));
            }
        };
        match unit.start().await {
            Ok(status) => match status.pid {
                Some(pid) => Ok(Self { slot, unit, pid }),
                None => {
                    let member = Self { slot, unit, pid: 0 };
                    member.discard().await;
                    Err(format!("pool unit {name} runs without a process"))
                }
            },
            Err(e) => {
                let output = unit
                    .logs(20)
                    .into_iter()
                    .map(|l| l.text)
                    .collect::<Vec<_>>()
                    .join("\n");
                let member = Self { slot, unit, pid: 0 };
                member.discard().await;
                Err(format!("pool renderer {name} did not start: {e}\n{output}"))
            }
        }
    }

    /// Whether the process that became idle still serves (an idle member may have crashed; it
    /// is never restarted, only replaced).
    pub(super) fn is_alive(&self) -> bool {
        let status = self.unit.status();
        status.state == UnitState::Running && status.pid == Some(self.pid)
    }

    /// Stops the member's processes and removes its slot.
    pub async fn discard(self) {
        if let Err(e) = self.unit.remove().await {
            tracing::warn!(unit = %self.unit.name(), "removing a pool renderer failed: {e}");
        }
        remove_slot(self.slot.dir).await;
    }
}

/// The supervisor's description of a member: the pool app's renderer on its own socket, probed
/// like a renderer, in a cgroup with a renderer's limits, never restarted (a dead member is
/// replaced by a fresh one).
fn unit_spec(shared: &Shared, slot: &PoolSlot) -> UnitSpec {
    let config = &shared.config;
    let socket = config.pool_socket(&slot.name);
    let readiness = Probe::http_unix(&socket, studio_renderer::HEALTH_PATH);
    let launch = slot.launch.clone();
    UnitSpec {
        name: format!("{POOL_UNIT_PREFIX}{}", slot.name),
        program: launch.program.to_string_lossy().into_owned(),
        args: launch.args,
        cwd: launch.cwd,
        env: launch.env,
        listen_socket: Some(socket),
        readiness: Some(readiness.clone()),
        startup_timeout: config.renderer_startup_timeout,
        liveness: Some(Liveness::new(readiness)),
        restart: RestartPolicy::never(),
        limits: crate::renderer_unit::renderer_limits(config),
        run_as: crate::renderer_unit::run_as(&launch.run_as),
        ..UnitSpec::default()
    }
}

/// Hands `member` to sandbox `id`: its checkout into the member's jail, the switch to the
/// sandbox's Vite, then the supervisor's transfer of its process to the unit `spec` (the
/// sandbox's renderer). On any error the member is discarded and the error returned.
pub(crate) async fn hand_over(
    shared: &Shared,
    id: &SandboxId,
    member: Member,
    spec: UnitSpec,
) -> Result<Unit, ManagerError> {
    let failed = |step: &str, e: String| {
        ManagerError::new(
            ErrorKind::Upstream,
            "renderer_error",
            format!("handing a pre-started renderer to the sandbox failed ({step}): {e}"),
        )
    };
    let checkout = spec.cwd.clone();
    if let Err(e) = member
        .slot
        .hand_over(id, &checkout, HAND_OVER_TIMEOUT)
        .await
    {
        member.discard().await;
        return Err(failed("switch", e.to_string()));
    }
    match shared
        .supervisor
        .transfer(&member.unit, member.pid, spec)
        .await
    {
        Ok(unit) => {
            tracing::info!(sandbox = %id, slot = %member.slot.name, pid = member.pid, "renderer claimed from the pool");
            Ok(unit)
        }
        Err(e) => {
            // The transfer killed the process if it had taken it; the unit may remain.
            member.discard().await;
            Err(failed("transfer", e.to_string()))
        }
    }
}

/// Removes a slot's directory and mounts, logging a failure (nothing else can be done about it;
/// the next server start tries again).
pub(crate) async fn remove_slot(dir: PathBuf) {
    if let Err(e) = studio_renderer::remove_pool_slot(dir.clone()).await {
        tracing::warn!(slot = %dir.display(), "could not remove a pool slot: {e}");
    }
}

/// Removes the slots claimed by sandbox `id`: called when the renderer process that came from
/// one is gone for good (stopped, removed, restarted, replaced after a crash).
pub(crate) async fn release_slots(data_dir: &Path, id: &SandboxId) {
    let wanted = id.to_string();
    for dir in studio_renderer::pool_slot_dirs(data_dir) {
        if studio_renderer::pool_slot_claimed_by(&dir).as_deref() == Some(wanted.as_str()) {
            remove_slot(dir).await;
        }
    }
}

/// [`release_slots`] of this server's data dir.
pub(crate) async fn release_slot_of(shared: &Shared, id: &SandboxId) {
    release_slots(&shared.config.data_dir, id).await;
}

/// Polls `probe` until it passes or `timeout` ends: a renderer handed over from the pool serves
/// at once, but its new Vite's watcher needs its initial scan before edits are seen.
pub(crate) async fn wait_serving(probe: &Probe, timeout: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let last = match probe.check(Duration::from_secs(2)).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("not ready after {timeout:?}: {last}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Removes the slots no sandbox claimed (at the pool's shutdown).
pub(super) async fn remove_idle_slots(shared: &Shared) {
    for dir in studio_renderer::pool_slot_dirs(&shared.config.data_dir) {
        if studio_renderer::pool_slot_claimed_by(&dir).is_none() {
            remove_slot(dir).await;
        }
    }
}

/// At start, after recovery and the leftover sweep: removes every slot but those of sandboxes
/// whose renderer (a claimed member) was re-adopted. Idle members of the previous server are
/// gone by then (swept), so their slots serve nobody.
pub(crate) async fn remove_unclaimed_slots(shared: &Shared) -> usize {
    let mut removed = 0;
    for dir in studio_renderer::pool_slot_dirs(&shared.config.data_dir) {
        let serving = studio_renderer::pool_slot_claimed_by(&dir)
            .and_then(|id| id.parse::<SandboxId>().ok())
            .is_some_and(|id| shared.registry.get(&id).is_some());
        if !serving {
            remove_slot(dir).await;
            removed += 1;
        }
    }
    removed
}

/// How long a claimed member may take to switch to its sandbox and answer.
pub(crate) const HAND_OVER_TIMEOUT: Duration = Duration::from_secs(30);
