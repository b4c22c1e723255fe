//! What the actor does between commands: activity resets the inactivity clock, the clock's
//! warning is announced, and the renderer's status changes are followed (crash restarts counted,
//! `failed` explained).

use serde_json::json;
use studio_core::{EventKind, SandboxStatus};

use super::Actor;
use crate::renderer_unit::UnitPhase;

impl Actor {
    /// Inactivity: any command or client message is activity. The clock moves on whatever the
    /// store says (the user is there); a request whose activity the store did not take fails,
    /// since the deadline after a server restart is derived from the stored time.
    pub(super) async fn touch(&mut self) -> Result<(), crate::error::ManagerError> {
        self.clock.touch();
        let now = time::OffsetDateTime::now_utc();
        self.shared.store.touch_activity(&self.id, now).await?;
        Ok(())
    }

    /// Activity without a request (a client message): a failure has no one to be told to; the
    /// next command's touch stores the activity again.
    pub(super) async fn on_activity(&mut self) {
        if let Err(e) = self.touch().await {
            tracing::warn!(sandbox = %self.id, "could not record activity: {}", e.message);
        }
    }

    /// The clock's warning: the clients hear how long is left before the sandbox expires.
    pub(super) async fn warn_expiry(&mut self, seconds_left: f64) {
        tracing::info!(sandbox = %self.id, seconds_left, "sandbox expiring");
        if let Err(e) = self
            .announce
            .event(EventKind::Expiring, json!({ "seconds_left": seconds_left }))
            .await
        {
            tracing::warn!(sandbox = %self.id, "could not announce expiry: {e}");
        }
    }

    /// The supervisor reported a change of the renderer.
    pub(super) async fn on_renderer(&mut self, phase: UnitPhase) {
        if phase.restarts > self.unit_restarts_seen {
            let crashes = phase.restarts - self.unit_restarts_seen;
            self.unit_restarts_seen = phase.restarts;
            self.crash_restarts = self.crash_restarts.saturating_add(crashes);
            self.shared.metrics.renderer_restarted(u64::from(crashes));
            // No request to fail (the supervisor reported it): the count is saved again with the
            // next change, and a crash the store missed is only a smaller count.
            if let Err(e) = self.save_runtime().await {
                tracing::error!(sandbox = %self.id, "could not record the renderer's restarts: {}", e.message);
            }
        }
        if phase.status == Some(SandboxStatus::Restarting)
            && let Some(what) = &phase.out_of_memory
            && self.oom_told != Some(phase.restarts)
        {
            // Told once per crash: the supervisor counts the restart only after the backoff.
            self.oom_told = Some(phase.restarts);
            let message = format!("the renderer {what} and was restarted");
            tracing::warn!(sandbox = %self.id, "{message}");
            self.announce.error(&message).await;
        }
        if matches!(
            phase.status,
            Some(SandboxStatus::Running | SandboxStatus::Failed)
        ) {
            // The crash is over: the next kill is news even at the same restart count.
            self.oom_told = None;
        }
        let next = match phase.status {
            // Transitions the actor itself asked for are announced where they are asked for.
            None => return,
            Some(next) => next,
        };
        if next == self.status {
            return;
        }
        if next == SandboxStatus::Running {
            // A new leader process after a crash restart: the re-adoption record changed.
            if let Err(e) = self.save_runtime().await {
                tracing::error!(sandbox = %self.id, "could not record the renderer's new process: {}", e.message);
            }
        }
        // No request to fail: the store and the clients keep the old status, and the actor too
        // (so the renderer's next change tries again), since nothing was announced.
        if let Err(e) = self.set_status(next).await {
            tracing::error!(sandbox = %self.id, status = %next, "could not record the renderer's status: {}", e.message);
            return;
        }
        if next == SandboxStatus::Failed {
            let output = self.unit.last_output(20);
            let last = match &phase.out_of_memory {
                Some(what) => format!(" (the last time it {what})"),
                None => String::new(),
            };
            let message = format!(
                "the renderer crashed more than {} times{last}; last output:\n{output}",
                self.config.max_restarts
            );
            self.announce.error(&message).await;
        }
    }
}
