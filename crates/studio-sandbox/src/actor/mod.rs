//! One actor per sandbox: the [`Actor`] state struct and how its task is started.
//!
//! The actor is a task that owns everything mutable about its sandbox: the git session, the
//! renderer unit, the status, the inactivity clock. Everyone else holds a
//! [`SandboxHandle`](crate::handle::SandboxHandle) and sends it commands over a bounded channel,
//! each with a oneshot for the reply. The actor handles one command at a time, so two requests on
//! one sandbox (a write during a rollback) never interleave: the second runs after the first has
//! finished, and no lock guards any of this state. Restart requests that queue up while a restart
//! runs join it instead of restarting again (see `run`). The actor is also the only writer of its
//! sandbox's event stream (see [`crate::announce`]).
//!
//! Where the rest lives: the mailbox loop in `run`, the reactions between commands (activity,
//! inactivity alarms, renderer changes) in `monitor`, status records and teardown in
//! `lifecycle`, the commands' work in `ops`, the pages' component states in `components`, bringing a sandbox up in `setup`.

mod components;
mod lifecycle;
mod monitor;
mod ops;
mod reconcile;
mod run;
mod setup;

use std::sync::Arc;

use studio_core::{SandboxConfig, SandboxId, SandboxStatus};

pub(crate) use setup::{recover, setup};

use crate::announce::Announcer;
use crate::error::ManagerError;
use crate::handle::{self, Command, SandboxHandle};
use crate::policy::InactivityClock;
use crate::renderer_unit::RendererUnit;
use crate::shared::Shared;

/// The state one sandbox's task owns.
pub(crate) struct Actor {
    id: SandboxId,
    shared: Arc<Shared>,
    config: SandboxConfig,
    repository: String,
    base_branch: String,
    session: studio_git::Session,
    unit: RendererUnit,
    status: SandboxStatus,
    /// Crash restarts of this sandbox's renderer over its whole life (what the API shows as
    /// `restarts`; persisted, so it survives server restarts).
    crash_restarts: u32,
    /// The supervisor's restart counter of the current unit, as far as it is accounted for. That
    /// counter also counts restarts the actor asked for, and starts at 0 for every new unit (after
    /// a server restart too), so crashes are the increments the actor did not cause itself.
    unit_restarts_seen: u32,
    /// The unit's restart count when its last out-of-memory kill was announced, so that one kill
    /// (reported by the supervisor in more than one status) is one `error` event.
    oom_told: Option<u32>,
    /// When the sandbox is warned about, and torn down for, inactivity.
    clock: InactivityClock,
    announce: Announcer,
    /// What each open page reports about each component (`component-state`).
    pages: studio_core::component::ComponentStates,
    /// This sandbox's place under `--max-sandboxes`, released when the actor ends.
    _slot: crate::slots::Slot,
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
        let (handle, mailbox) = handle::mailbox();
        self.shared.registry.insert(self.id.clone(), handle.clone());
        tokio::spawn(self.run(mailbox));
        handle
    }
}

/// A client's `component-selected`, appended and published by the sandbox's actor (the one
/// writer of its event stream), so its `seq` order on the wire is the store's. A sandbox without
/// an actor (finished, or its setup failed) takes no selections.
pub(crate) async fn select_component(
    shared: &Shared,
    id: &SandboxId,
    component: &str,
) -> Result<(), ManagerError> {
    let action = "select a component";
    let Some(handle) = shared.registry.get(id) else {
        return match shared.store.get_sandbox(id).await? {
            None => Err(ManagerError::not_found(id)),
            Some(record) => Err(ManagerError::wrong_status(action, record.status)),
        };
    };
    handle
        .ask(|reply| Command::SelectComponent {
            component: component.to_owned(),
            reply,
        })
        .await
}
