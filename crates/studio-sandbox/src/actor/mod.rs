//! One actor per sandbox.
//!
//! The actor is a task that owns everything mutable about its sandbox: the git session, the
//! renderer unit, the status, the inactivity clock. Everyone else holds a [`SandboxHandle`] and sends
//! it [`Command`]s over a bounded channel, each with a oneshot for the reply. The actor handles one
//! command at a time, so two requests on one sandbox (two restarts, a write during a rollback) can
//! never interleave, and no lock guards any of this state.
//!
//! Between commands the actor watches its renderer (status changes from the supervisor) and its
//! inactivity deadline, and reacts to both: see [`Actor::run`].

mod lifecycle;
mod ops;
mod setup;

use std::sync::Arc;

use studio_core::{SandboxConfig, SandboxId, SandboxStatus};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

pub(crate) use setup::{recover, setup};

use crate::announce::Announcer;
use crate::error::ManagerError;
use crate::request::{Execute, RollbackTo};
use crate::runtime::RendererUnit;
use crate::shared::Shared;

/// How many commands may wait for one sandbox before senders wait too.
const MAILBOX: usize = 32;

pub(crate) type Reply<T> = oneshot::Sender<Result<T, ManagerError>>;

/// What a sandbox can be asked to do.
#[derive(Debug)]
pub(crate) enum Command {
    Execute(Execute, Reply<Option<String>>),
    Rollback(RollbackTo, Reply<String>),
    Finalize {
        title: String,
        description: String,
        reply: Reply<(String, u64)>,
    },
    Restart(Reply<()>),
    Stop(Reply<()>),
    Start(Reply<()>),
    Delete(Reply<()>),
    /// A WebSocket message or similar: resets the inactivity clock.
    Activity,
    /// The server is stopping cleanly: stop the renderer, keep the status so the next start
    /// brings the sandbox back on the same port.
    Shutdown(Reply<()>),
}

/// A cloneable address of a sandbox's actor.
#[derive(Debug, Clone)]
pub(crate) struct SandboxHandle {
    tx: mpsc::Sender<Command>,
}

impl SandboxHandle {
    /// Sends a command built around a fresh reply channel and waits for the answer.
    pub(crate) async fn ask<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, ManagerError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| ManagerError::actor_gone())?;
        answer.await.map_err(|_| ManagerError::actor_gone())?
    }

    /// Fire-and-forget: if the mailbox is full, the sandbox is busy, which is activity enough.
    pub(crate) fn tell(&self, command: Command) {
        let _ = self.tx.try_send(command);
    }
}

/// The state one sandbox's task owns.
pub(crate) struct Actor {
    id: SandboxId,
    shared: Arc<Shared>,
    config: SandboxConfig,
    repository: String,
    base_branch: String,
    session: studio_git::Session,
    port: u16,
    unit: RendererUnit,
    status: SandboxStatus,
    /// Crash restarts of this sandbox's renderer over its whole life (what the API shows as
    /// `restarts`; persisted, so it survives server restarts).
    crash_restarts: u32,
    /// The supervisor's restart counter of the current unit, as far as it is accounted for. That
    /// counter also counts restarts the actor asked for, and starts at 0 for every new unit (after
    /// a server restart too), so crashes are the increments the actor did not cause itself.
    unit_restarts_seen: u32,
    last_activity: Instant,
    /// Whether the `expiring` warning went out for the current idle period.
    warned: bool,
    announce: Announcer,
}

impl std::fmt::Debug for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actor")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Actor {
    /// Starts the actor's task and registers its handle; the task unregisters itself when it ends.
    pub(crate) fn spawn(self) -> SandboxHandle {
        let (tx, rx) = mpsc::channel(MAILBOX);
        let handle = SandboxHandle { tx };
        self.shared.registry.insert(self.id.clone(), handle.clone());
        tokio::spawn(self.run(rx));
        handle
    }
}
