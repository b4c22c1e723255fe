//! What every actor and the manager share: the services, and the registry of actor handles.
//!
//! The registry maps ids to handles (addresses), not to state: each sandbox's state stays inside
//! its actor. A plain `RwLock` is right here because it is held only for a map lookup or insert,
//! never across an `.await`.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use studio_core::SandboxId;
use studio_forge::Forge;
use studio_git::GitWorkspace;
use studio_hub::Hub;
use studio_renderer::Renderer;
use studio_store::Store;
use studio_supervisor::Supervisor;

use crate::config::ManagerConfig;
use crate::handle::SandboxHandle;
use crate::metrics::Metrics;

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: ManagerConfig,
    pub store: Arc<dyn Store>,
    pub git: GitWorkspace,
    pub renderer: Renderer,
    pub supervisor: Supervisor,
    pub hub: Hub,
    pub forge: Forge,
    pub metrics: Metrics,
    pub registry: Registry,
    /// Signs preview links and cookies (`access`).
    pub preview_key: crate::access::PreviewKey,
    /// The `--max-sandboxes` cap; every actor holds one slot.
    pub slots: crate::slots::Slots,
    /// Whether (and how) renderers may start.
    pub isolation: crate::isolation::Isolation,
    /// Pre-started renderers (`--renderer-pool`).
    pub pool: crate::pool::Pool,
}

/// Live actors by sandbox id.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    handles: RwLock<HashMap<SandboxId, SandboxHandle>>,
}

impl Registry {
    pub fn get(&self, id: &SandboxId) -> Option<SandboxHandle> {
        self.handles
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    pub fn insert(&self, id: SandboxId, handle: SandboxHandle) {
        self.handles
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, handle);
    }

    pub fn remove(&self, id: &SandboxId) {
        self.handles
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    pub fn all(&self) -> Vec<SandboxHandle> {
        self.handles
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}
