//! The actor's loop: commands, renderer status, inactivity; and teardown.

use std::time::Duration;

use serde_json::json;
use studio_core::{EventKind, SandboxStatus};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::{Actor, Command};
use crate::error::ManagerError;
use crate::runtime::UnitPhase;

/// How long before expiry the `expiring` warning goes out (or half the timeout when shorter).
const WARNING_LEAD: Duration = Duration::from_secs(60);

/// Why the loop ended.
enum Exit {
    /// Torn down (expired, finalized, deleted): the handle is gone for good.
    TornDown,
    /// Server shutdown: the record stays as it is for the next start.
    Shutdown,
}

impl Actor {
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let exit = loop {
            let (warn_at, expire_at) = self.deadlines();
            tokio::select! {
                command = rx.recv() => match command {
                    Some(command) => if let Some(exit) = self.handle(command).await { break exit },
                    // Every handle dropped: the manager itself is gone.
                    None => break Exit::Shutdown,
                },
                phase = self.unit.changed() => self.on_renderer(phase).await,
                () = sleep_until(warn_at), if !self.warned => self.warn_expiry().await,
                () = sleep_until(expire_at) => {
                    tracing::info!(sandbox = %self.id, "inactivity timeout");
                    self.teardown(SandboxStatus::Expired).await;
                    break Exit::TornDown;
                }
            }
        };
        if let Exit::TornDown = exit {
            self.shared.hub.close_topic(&self.id);
        }
        self.shared.registry.remove(&self.id);
        // Anything still queued gets an answer rather than a dropped channel.
        rx.close();
        while let Some(command) = rx.recv().await {
            command.reject(ManagerError::wrong_status("do that", self.status));
        }
    }

    /// Runs one command; `Some` ends the loop.
    async fn handle(&mut self, command: Command) -> Option<Exit> {
        match command {
            Command::Execute(req, reply) => {
                self.touch().await;
                let _ = reply.send(self.execute(req).await);
            }
            Command::Rollback(target, reply) => {
                self.touch().await;
                let _ = reply.send(self.rollback(target).await);
            }
            Command::Finalize {
                title,
                description,
                reply,
            } => {
                self.touch().await;
                match self.finalize(&title, &description).await {
                    Ok(pr) => {
                        let _ = reply.send(Ok(pr));
                        return Some(Exit::TornDown);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Restart(reply) => {
                self.touch().await;
                let _ = reply.send(self.restart().await);
            }
            Command::Stop(reply) => {
                self.touch().await;
                let _ = reply.send(self.stop().await);
            }
            Command::Start(reply) => {
                self.touch().await;
                let _ = reply.send(self.start().await);
            }
            Command::Delete(reply) => {
                self.teardown(SandboxStatus::Stopped).await;
                let result = self
                    .shared
                    .store
                    .delete_sandbox(&self.id)
                    .await
                    .map(|_| ())
                    .map_err(ManagerError::from);
                let _ = reply.send(result);
                return Some(Exit::TornDown);
            }
            Command::Activity => self.touch().await,
            Command::Shutdown(reply) => {
                self.unit.shutdown().await;
                let _ = reply.send(Ok(()));
                return Some(Exit::Shutdown);
            }
        }
        None
    }

    /// Inactivity: any command or client message is activity.
    pub(super) async fn touch(&mut self) {
        self.last_activity = Instant::now();
        self.warned = false;
        let now = time::OffsetDateTime::now_utc();
        if let Err(e) = self.shared.store.touch_activity(&self.id, now).await {
            tracing::warn!(sandbox = %self.id, "could not record activity: {e}");
        }
    }

    fn deadlines(&self) -> (Instant, Instant) {
        let timeout = self.config.timeout;
        let lead = WARNING_LEAD.min(timeout / 2);
        let expire_at = self.last_activity + timeout;
        (expire_at - lead, expire_at)
    }

    async fn warn_expiry(&mut self) {
        self.warned = true;
        let (_, expire_at) = self.deadlines();
        let seconds_left = expire_at
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
            .round();
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
    async fn on_renderer(&mut self, phase: UnitPhase) {
        if phase.restarts > self.unit_restarts_seen {
            let crashes = phase.restarts - self.unit_restarts_seen;
            self.unit_restarts_seen = phase.restarts;
            self.crash_restarts = self.crash_restarts.saturating_add(crashes);
            self.shared.metrics.renderer_restarted(u64::from(crashes));
            self.save_runtime().await;
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
            self.save_runtime().await;
        }
        self.set_status(next).await;
        if next == SandboxStatus::Failed {
            let output = self.unit.last_output(20);
            let message = format!(
                "the renderer crashed more than {} times; last output:\n{output}",
                self.config.max_restarts
            );
            self.announce.error(&message).await;
        }
    }

    /// Persists, then announces, a status change.
    pub(super) async fn set_status(&mut self, status: SandboxStatus) {
        self.status = status;
        if let Err(e) = self.announce.status(status).await {
            tracing::error!(sandbox = %self.id, %status, "could not record status: {e}");
        }
    }

    /// Stores the port, restart count and the supervisor's re-adoption record.
    pub(super) async fn save_runtime(&self) {
        let runtime = studio_store::RuntimeState {
            renderer_port: Some(self.port),
            adoption: self.unit.adoption_record(),
            restarts: self.crash_restarts,
        };
        if let Err(e) = self.shared.store.update_runtime(&self.id, &runtime).await {
            tracing::warn!(sandbox = %self.id, "could not record renderer state: {e}");
        }
    }

    /// Stops the renderer, releases the port, removes the checkout; keeps the record and commits
    /// (the commits also stay in the repository mirror under the session branch).
    pub(super) async fn teardown(&mut self, final_status: SandboxStatus) {
        self.unit.remove().await;
        if let Err(e) = self.shared.store.release_ports(&self.id).await {
            tracing::warn!(sandbox = %self.id, "could not release port lease: {e}");
        }
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
        crate::actor::setup::remove_sandbox_dir(&self.shared, &self.id).await;
        self.set_status(final_status).await;
    }
}

impl Command {
    fn reject(self, error: ManagerError) {
        match self {
            Command::Execute(_, r) => drop(r.send(Err(error))),
            Command::Rollback(_, r) => drop(r.send(Err(error))),
            Command::Finalize { reply, .. } => drop(reply.send(Err(error))),
            Command::Restart(r)
            | Command::Stop(r)
            | Command::Start(r)
            | Command::Delete(r)
            | Command::Shutdown(r) => drop(r.send(Err(error))),
            Command::Activity => {}
        }
    }
}
