//! How the actor records its sandbox's state and ends its life: status changes (persisted, then
//! announced), the revocation of preview cookies, the renderer's runtime record, and teardown.

use studio_core::SandboxStatus;

use super::Actor;

impl Actor {
    /// Persists, then announces, a status change.
    pub(super) async fn set_status(&mut self, status: SandboxStatus) {
        self.status = status;
        if let Err(e) = self.announce.status(status).await {
            tracing::error!(sandbox = %self.id, %status, "could not record status: {e}");
        }
    }

    /// Revokes every preview cookie of the sandbox (the preview epoch moves on), persisted
    /// before the transition that calls it is announced: a revocation the store did not take
    /// fails the request instead of being forgotten at the next restart.
    pub(super) async fn revoke_previews(&self) -> Result<(), crate::error::ManagerError> {
        self.shared.store.bump_preview_epoch(&self.id).await?;
        Ok(())
    }

    /// Stores the restart count and the supervisor's re-adoption record. (No port: renderers
    /// serve on their Unix socket; `renderer_port` only marks sandboxes of older versions.)
    pub(super) async fn save_runtime(&self) {
        let runtime = studio_store::RuntimeState {
            renderer_port: None,
            adoption: self.unit.adoption_record(),
            restarts: self.crash_restarts,
        };
        if let Err(e) = self.shared.store.update_runtime(&self.id, &runtime).await {
            tracing::warn!(sandbox = %self.id, "could not record renderer state: {e}");
        }
    }

    /// Stops the renderer (its socket file goes with it), removes the checkout; keeps the record
    /// and commits (the commits also stay in the repository mirror under the session branch).
    pub(super) async fn teardown(&mut self, final_status: SandboxStatus) {
        self.unit.remove().await;
        let runtime = studio_store::RuntimeState {
            renderer_port: None,
            adoption: None,
            restarts: self.crash_restarts,
        };
        if let Err(e) = self.shared.store.update_runtime(&self.id, &runtime).await {
            tracing::warn!(sandbox = %self.id, "could not clear renderer state: {e}");
        }
        if let Err(e) = self
            .shared
            .git
            .remove_session(&self.id, &self.session.info().checkout)
            .await
        {
            tracing::warn!(sandbox = %self.id, "could not remove checkout: {e}");
        }
        super::setup::remove_sandbox_dir(&self.shared, &self.id).await;
        self.set_status(final_status).await;
    }
}
