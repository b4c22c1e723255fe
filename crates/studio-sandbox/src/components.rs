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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::error::{ErrorKind, ManagerError};
use crate::handle::Command;
use crate::manager::Manager;

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
        let handle = self.actor_of(id, "report component states").await?;
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
        let sandbox: SandboxId = id.parse().map_err(|_| ManagerError::not_found(id))?;
        let handle = self.actor_of(&sandbox, "list components").await?;
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

    async fn actor_of(
        &self,
        id: &SandboxId,
        action: &str,
    ) -> Result<crate::handle::SandboxHandle, ManagerError> {
        if let Some(handle) = self.shared.registry.get(id) {
            return Ok(handle);
        }
        match self.shared.store.get_sandbox(id).await? {
            None => Err(ManagerError::not_found(id)),
            Some(record) => Err(ManagerError::wrong_status(action, record.status)),
        }
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
    // `localhost`: Vite's host check accepts it whatever the sandbox's preview host is.
    let request = "GET /__studio/components HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\nConnection: close\r\n\r\n";
    let exchange = async {
        let mut stream = UnixStream::connect(socket).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        (&mut stream)
            .take(MAX_MANIFEST as u64 + 64 * 1024)
            .read_to_end(&mut answer)
            .await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = match tokio::time::timeout(MANIFEST_TIMEOUT, exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => return Err(renderer_failed(e)),
        Err(_) => {
            return Err(renderer_failed(format!(
                "no answer within {} s",
                MANIFEST_TIMEOUT.as_secs()
            )));
        }
    };
    let (status, body) = split_response(&answer).map_err(renderer_failed)?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body);
        let text: String = text.chars().take(500).collect();
        return Err(renderer_failed(format!("HTTP {status}: {text}")));
    }
    if body.len() > MAX_MANIFEST {
        return Err(renderer_failed(format!(
            "the answer is over {MAX_MANIFEST} bytes"
        )));
    }
    serde_json::from_slice(&body).map_err(|e| renderer_failed(format!("unreadable answer: {e}")))
}

/// The status code and body of an HTTP/1.1 answer read to its end (`Connection: close`), with a
/// chunked body decoded.
fn split_response(answer: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer has no end of headers")?;
    let head = String::from_utf8_lossy(&answer[..end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or("the answer has no status line")?;
    let chunked = head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    let body = &answer[end + 4..];
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut decoded = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk has no size line")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok((status, decoded));
        }
        if rest.len() < size + 2 {
            return Err("the answer ends inside a chunk".into());
        }
        decoded.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::split_response;

    #[test]
    fn plain_and_chunked_answers() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(split_response(plain).unwrap(), (200, b"{}".to_vec()));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(
            split_response(chunked).unwrap(),
            (200, b"{\"a\":1}".to_vec())
        );
        assert_eq!(
            split_response(b"HTTP/1.1 500 Oops\r\n\r\nno").unwrap().0,
            500
        );
        assert!(split_response(b"HTTP/1.1 200 OK\r\n").is_err());
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nab";
        assert!(split_response(cut).is_err());
    }
}
