//! What the front door (in the API crate) asks the manager: where a sandbox's renderer serves,
//! and the door's counters.
//!
//! A lookup reads the store, like every other read: the store is never older than anything a
//! client has heard, and a busy actor never delays a page's requests.

use std::path::PathBuf;

use studio_core::{SandboxId, SandboxStatus};

use crate::error::ManagerError;
use crate::manager::Manager;
use crate::metrics::PreviewMetrics;

/// Why a sandbox's preview cannot be served right now.
#[derive(Debug, thiserror::Error)]
pub enum PreviewUnavailable {
    /// No sandbox has this id.
    #[error("there is no sandbox {0}")]
    Unknown(SandboxId),
    /// The sandbox exists but no renderer of it serves.
    #[error("sandbox {id} is {status}: its preview is served only while it is running")]
    NotRunning {
        id: SandboxId,
        status: SandboxStatus,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] ManagerError),
}

impl Manager {
    /// The Unix socket the renderer of `id` serves on, if the sandbox exists and is running.
    pub async fn preview_socket(&self, id: &SandboxId) -> Result<PathBuf, PreviewUnavailable> {
        let record = self
            .shared
            .store
            .get_sandbox(id)
            .await
            .map_err(ManagerError::from)?
            .ok_or_else(|| PreviewUnavailable::Unknown(id.clone()))?;
        if record.status != SandboxStatus::Running {
            return Err(PreviewUnavailable::NotRunning {
                id: id.clone(),
                status: record.status,
            });
        }
        Ok(self.shared.config.renderer_socket(id))
    }

    /// The front door's counters (rendered with the rest at `/metrics`).
    pub fn preview_metrics(&self) -> PreviewMetrics {
        self.shared.metrics.preview()
    }
}
