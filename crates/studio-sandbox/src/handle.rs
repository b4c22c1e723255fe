//! What callers hold to reach a sandbox's actor: the [`SandboxHandle`], the [`Command`]s it
//! sends, and the [`Reply`] channel each command carries.
//!
//! This module owns the actor's address and message vocabulary only, not the actor: the manager
//! and the registry in [`crate::shared`] import it without importing the actor, and the actor
//! imports it to read its mailbox. It imports nothing that imports it back.

use tokio::sync::{mpsc, oneshot};

use crate::error::ManagerError;
use crate::request::{Execute, RollbackTo};

/// How many commands may wait for one sandbox before senders wait too.
const MAILBOX: usize = 32;

/// Where the actor sends the outcome of one command.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, ManagerError>>;

/// The receiving end of a sandbox's commands, read by its actor only.
pub(crate) type Mailbox = mpsc::Receiver<Command>;

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
    /// A client selected a component (`component-selected` over the WebSocket): the actor
    /// appends and publishes it, so it takes its place in the one ordered stream of the sandbox.
    SelectComponent {
        component: String,
        reply: Reply<()>,
    },
    /// A page's `component-state` batch from WebSocket connection `reporter`: the actor keeps
    /// each page's latest state per component and story and announces the tiles that changed.
    ReportComponents {
        reporter: u64,
        reports: Vec<studio_core::component::ComponentReport>,
        reply: Reply<()>,
    },
    /// WebSocket connection `reporter` closed: its reports go with it (the tiles are what the
    /// other pages say, or `pending`).
    ReporterGone(u64),
    /// The states the pages reported, for the component manifest.
    ComponentStates(Reply<studio_core::component::ComponentStates>),
    /// A WebSocket message or similar: resets the inactivity clock.
    Activity,
    /// The server is stopping cleanly: stop the renderer, keep the status so the next start
    /// brings the sandbox back on the same socket.
    Shutdown(Reply<()>),
}

impl Command {
    /// Answers the command with `error` instead of running it (its actor is ending).
    pub(crate) fn reject(self, error: ManagerError) {
        match self {
            Command::Execute(_, r) => drop(r.send(Err(error))),
            Command::Rollback(_, r) => drop(r.send(Err(error))),
            Command::Finalize { reply, .. } => drop(reply.send(Err(error))),
            Command::SelectComponent { reply, .. } | Command::ReportComponents { reply, .. } => {
                drop(reply.send(Err(error)))
            }
            Command::ComponentStates(r) => drop(r.send(Err(error))),
            Command::Restart(r)
            | Command::Stop(r)
            | Command::Start(r)
            | Command::Delete(r)
            | Command::Shutdown(r) => drop(r.send(Err(error))),
            Command::Activity | Command::ReporterGone(_) => {}
        }
    }
}

/// A new sandbox address and the mailbox behind it.
pub(crate) fn mailbox() -> (SandboxHandle, Mailbox) {
    let (tx, rx) = mpsc::channel(MAILBOX);
    (SandboxHandle { tx }, rx)
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

    /// Sends a command that has no reply and must not be dropped (waits for room in the
    /// mailbox); false if the actor is gone.
    pub(crate) async fn send(&self, command: Command) -> bool {
        self.tx.send(command).await.is_ok()
    }

    /// Fire-and-forget: if the mailbox is full, the sandbox is busy, which is activity enough.
    pub(crate) fn tell(&self, command: Command) {
        let _ = self.tx.try_send(command);
    }
}
