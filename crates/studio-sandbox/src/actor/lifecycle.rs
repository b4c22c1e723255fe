//! How the actor records its sandbox's state and ends its life: status changes (persisted with
//! their event, then announced), the revocation of preview cookies, the renderer's runtime
//! record, and teardown.

use studio_core::SandboxStatus;

use super::Actor;
use crate::error::ManagerError;

impl Actor {
    /// Persists a status change with its event, then announces it. The actor's own view moves
    /// only once the store has it: after a failed persist the actor still holds the status the
    /// store holds, and the caller fails its request (nothing was announced).
    pub(super) async fn set_status(&mut self, status: SandboxStatus) -> Result<(), ManagerError> {
        self.announce.status(status).await?;
        self.status = status;
        Ok(())
    }

    /// Revokes every preview cookie of the sandbox (the preview epoch moves on), persisted
    /// before the transition that calls it is announced: a revocation the store did not take
    /// fails the request instead of being forgotten at the next restart.
    pub(super) async fn revoke_previews(&self) -> Result<(), ManagerError> {
        self.shared.store.bump_preview_epoch(&self.id).await?;
        Ok(())
    }

    /// Stores the restart count and the supervisor's re-adoption record. (No port: renderers
    /// serve on their Unix socket; `renderer_port` only marks sandboxes of older versions.)
    pub(super) async fn save_runtime(&self) -> Result<(), ManagerError> {
        let runtime = studio_store::RuntimeState {
            renderer_port: None,
            adoption: self.unit.adoption_record(),
            restarts: self.crash_restarts,
        };
        self.shared.store.update_runtime(&self.id, &runtime).await?;
        Ok(())
    }

    /// Stops the renderer (its socket file goes with it), removes the checkout; keeps the record
    /// and commits (the commits also stay in the repository mirror under the session branch).
    ///
    /// The processes and files go whatever the store says; a record the store did not take
    /// (the cleared runtime, the final status) fails the call, and nothing is announced then.
    pub(super) async fn teardown(
        &mut self,
        final_status: SandboxStatus,
    ) -> Result<(), ManagerError> {
        self.unit.remove().await;
        if let Err(e) = self
            .shared
            .git
            .remove_session(&self.id, &self.session.info().checkout)
            .await
        {
            // Not a persist: a checkout that stays behind is disk space, not a lie to anyone.
            tracing::warn!(sandbox = %self.id, "could not remove checkout: {e}");
        }
        super::setup::remove_sandbox_dir(&self.shared, &self.id).await;
        let runtime = studio_store::RuntimeState {
            renderer_port: None,
            adoption: None,
            restarts: self.crash_restarts,
        };
        self.shared.store.update_runtime(&self.id, &runtime).await?;
        self.set_status(final_status).await
    }
}
