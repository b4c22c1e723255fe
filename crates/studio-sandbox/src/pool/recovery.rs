//! Crash recovery from the pool: a sandbox renderer's replacement source.
//!
//! After a crash the supervisor counts it and applies the restart policy (backoff from the
//! second crash in the window, the crash-loop verdict) as always; then, instead of spawning, it
//! asks this source. The source releases the crashed process's slot, claims an idle member,
//! hands it the sandbox's checkout and waits until it serves the sandbox on its own socket; the
//! supervisor then takes the process over (cgroup, socket path, output files). An empty pool or a
//! failed hand-over answers `None`, and the supervisor spawns cold.

use std::path::PathBuf;
use std::sync::{Arc, Weak};

use studio_core::SandboxId;
use studio_supervisor::{Probe, ReplacementFuture, ReplacementSource};

use super::member::{HAND_OVER_TIMEOUT, Member, release_slots, wait_serving};
use crate::shared::Shared;

/// Offers a sandbox's crashed renderer a member of the pool.
pub(crate) struct CrashRecovery {
    shared: Weak<Shared>,
    id: SandboxId,
    checkout: PathBuf,
}

impl CrashRecovery {
    pub fn new(shared: &Arc<Shared>, id: &SandboxId, checkout: PathBuf) -> Self {
        Self {
            shared: Arc::downgrade(shared),
            id: id.clone(),
            checkout,
        }
    }
}

impl ReplacementSource for CrashRecovery {
    fn replacement(&self) -> ReplacementFuture {
        let (shared, id, checkout) = (self.shared.clone(), self.id.clone(), self.checkout.clone());
        Box::pin(async move {
            let shared = shared.upgrade()?;
            // The crashed process is gone: its slot (if it came from one) serves nobody.
            release_slots(&shared.config.data_dir, &id).await;
            let member = shared.pool.claim().await?;
            match switch(&shared, &id, &checkout, &member).await {
                Ok(()) => {
                    tracing::info!(sandbox = %id, slot = %member.slot.name, pid = member.pid, "crashed renderer replaced from the pool");
                    Some((member.unit, member.pid))
                }
                Err(e) => {
                    tracing::warn!(sandbox = %id, "the pool's renderer could not replace the crashed one ({e}); starting cold");
                    shared.metrics.pool().missed();
                    member.discard().await;
                    None
                }
            }
        })
    }
}

/// Hands `checkout` to `member` and waits until it serves it (on its own socket, which the
/// supervisor renames to the sandbox's once it takes the process over).
async fn switch(
    shared: &Shared,
    id: &SandboxId,
    checkout: &std::path::Path,
    member: &Member,
) -> Result<(), String> {
    member
        .slot
        .hand_over(id, checkout, HAND_OVER_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let socket = shared.config.pool_socket(&member.slot.name);
    let probe = Probe::http_unix(&socket, studio_renderer::HEALTH_PATH);
    wait_serving(&probe, shared.config.renderer_startup_timeout).await
}
