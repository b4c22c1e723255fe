//! What the front door (in the API crate) asks the manager: where a sandbox's renderer serves,
//! and the door's counters.
//!
//! A lookup reads the store, like every other read: the store is never older than anything a
//! client has heard, and a busy actor never delays a page's requests. It is one small read per
//! preview request (status and preview epoch together), since every module Vite serves is one.

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
        /// Its preview epoch: access is checked before a visitor learns the status.
        epoch: u64,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] ManagerError),
}

/// Where a running sandbox's preview is served, and the preview epoch its cookies must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewTarget {
    pub socket: PathBuf,
    pub epoch: u64,
}

impl Manager {
    /// The renderer socket of `id` and its preview epoch, if the sandbox exists and is running.
    pub async fn preview_target(
        &self,
        id: &SandboxId,
    ) -> Result<PreviewTarget, PreviewUnavailable> {
        let gate = self
            .shared
            .store
            .preview_gate(id)
            .await
            .map_err(ManagerError::from)?
            .ok_or_else(|| PreviewUnavailable::Unknown(id.clone()))?;
        if gate.status != SandboxStatus::Running {
            return Err(PreviewUnavailable::NotRunning {
                id: id.clone(),
                status: gate.status,
                epoch: gate.epoch,
            });
        }
        Ok(PreviewTarget {
            socket: self.shared.config.renderer_socket(id),
            epoch: gate.epoch,
        })
    }

    /// The front door's counters (rendered with the rest at `/metrics`).
    pub fn preview_metrics(&self) -> PreviewMetrics {
        self.shared.metrics.preview()
    }
}
