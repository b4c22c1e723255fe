//! Components as a design tool sees them: the pages' `component-state` reports on their way to
//! the sandbox's actor, and the component manifest (`GET /api/v1/sandboxes/{id}/components`).
//!
//! The manifest is the renderer's list (its Node side reads the component and stories files and
//! extracts props, `GET /__studio/components`, see `studio-template/manifest.mjs`) joined with the
//! states the actor keeps. The renderer is asked over its Unix socket, outside the actor, so a
//! slow analysis never holds up edits; the actor is asked only for its table of states.

use std::path::Path;
use std::time::Duration;

use studio_core::SandboxId;
use studio_core::component::parse_reports;
use studio_core::manifest::ComponentManifest;

use crate::error::{ErrorKind, ManagerError};
use crate::handle::Command;
use crate::manager::Manager;
use crate::renderer_http::exchange;

/// How long the renderer may take to list and analyse the components. The first answer parses
/// every file; later ones only the changed ones.
const MANIFEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest manifest Studio reads from a renderer.
const MAX_MANIFEST: usize = 16 * 1024 * 1024;

impl Manager {
    /// A page's `component-state` message from WebSocket connection `connection` (any number the
    /// caller keeps unique per connection, told again to [`Manager::connection_closed`]).
    pub async fn report_components(
        &self,
        id: &SandboxId,
        connection: u64,
        text: &str,
    ) -> Result<(), ManagerError> {
        let message: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            ManagerError::bad_request("invalid_message", format!("message is not JSON: {e}"))
        })?;
        let payload = message.get("payload").unwrap_or(&serde_json::Value::Null);
        let reports = parse_reports(payload)
            .map_err(|e| ManagerError::invalid("invalid_message", e.to_string()))?;
        let handle = self
            .actor(&id.to_string(), "report component states")
            .await?;
        handle.tell(Command::Activity);
        handle
            .ask(|reply| Command::ReportComponents {
                reporter: connection,
                reports,
                reply,
            })
            .await
    }

    /// WebSocket connection `connection` of sandbox `id` closed (whether it reported or not).
    pub async fn connection_closed(&self, id: &SandboxId, connection: u64) {
        if let Some(handle) = self.shared.registry.get(id) {
            handle.send(Command::ReporterGone(connection)).await;
        }
    }

    /// The sandbox's components, stories and props, each with what the open pages last said of
    /// it. Needs a running renderer.
    pub async fn components(&self, id: &str) -> Result<ComponentManifest, ManagerError> {
        let handle = self.actor(id, "list components").await?;
        let sandbox: SandboxId = id.parse().map_err(|_| ManagerError::not_found(id))?;
        let record = self
            .shared
            .store
            .get_sandbox(&sandbox)
            .await?
            .ok_or_else(|| ManagerError::not_found(id))?;
        if !record.status.has_renderer() {
            return Err(ManagerError::conflict(
                "renderer_not_running",
                format!(
                    "cannot list components: the sandbox is {}; start it first",
                    record.status
                ),
            ));
        }
        let socket = self.shared.config.renderer_socket(&sandbox);
        let mut manifest = fetch_manifest(&socket).await?;
        let states = handle.ask(Command::ComponentStates).await?;
        manifest.apply_states(&states);
        Ok(manifest)
    }
}

fn renderer_failed(message: impl std::fmt::Display) -> ManagerError {
    ManagerError::new(
        ErrorKind::Upstream,
        "renderer_failed",
        format!("the renderer could not list the components: {message}"),
    )
}

/// `GET /__studio/components` over the renderer's socket (the supervisor keeps the socket across
/// renderer restarts, so during one the request waits for the next process).
async fn fetch_manifest(socket: &Path) -> Result<ComponentManifest, ManagerError> {
    let (status, body) = exchange(
        socket,
        "GET",
        "/__studio/components",
        MANIFEST_TIMEOUT,
        MAX_MANIFEST,
    )
    .await
    .map_err(renderer_failed)?;
    if status != 200 {
        let text: String = String::from_utf8_lossy(&body).chars().take(500).collect();
        return Err(renderer_failed(format!("HTTP {status}: {text}")));
    }
    if body.len() > MAX_MANIFEST {
        return Err(renderer_failed(format!(
            "the answer is over {MAX_MANIFEST} bytes"
        )));
    }
    serde_json::from_slice(&body).map_err(|e| renderer_failed(format!("unreadable answer: {e}")))
}
