//! Telling the renderer what Studio just changed.
//!
//! Vite learns about file changes from its watcher, which can miss a write (before its initial scan
//! completes, or when inotify events coalesce under load) and then serves the old module for good.
//! Studio always knows exactly what it wrote, so after every edit and rollback it tells the
//! renderer directly (`POST /__studio/refresh` over the renderer's Unix socket, see
//! `studio-template/vite.config.mjs`). The watcher still works as before; this only makes the
//! result independent of its timing. The front door never forwards `/__studio/*`: only Studio
//! itself reaches this endpoint.

use std::path::Path;
use std::time::Duration;

use crate::renderer_http::exchange;

/// A refresh that takes longer than this is abandoned: the renderer is stopped or busy restarting.
const TIMEOUT: Duration = Duration::from_secs(2);

/// `paths` empty: every module may be stale (after a rollback).
pub(crate) async fn refresh(socket: &Path, paths: &[&str]) {
    let query: String = paths
        .iter()
        .map(|p| {
            format!(
                "path={}",
                url::form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    let target = if query.is_empty() {
        "/__studio/refresh".to_owned()
    } else {
        format!("/__studio/refresh?{query}")
    };
    let shown = socket.display();
    match exchange(socket, "POST", &target, TIMEOUT, 4096).await {
        Ok((200, _)) => {}
        Ok((status, _)) => {
            tracing::debug!(socket = %shown, status, "renderer did not accept the refresh")
        }
        Err(e) => tracing::debug!(socket = %shown, "renderer refresh failed: {e}"),
    }
}
