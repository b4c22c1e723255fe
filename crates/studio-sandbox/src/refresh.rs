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

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

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
    // `localhost`: Vite's host check accepts it whatever the sandbox's preview host is.
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let exchange = async {
        let mut stream = UnixStream::connect(socket).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer.starts_with(b"HTTP/1.1 200"))
    };
    let shown = socket.display();
    match tokio::time::timeout(TIMEOUT, exchange).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => tracing::debug!(socket = %shown, "renderer did not accept the refresh"),
        Ok(Err(e)) => tracing::debug!(socket = %shown, "renderer refresh failed: {e}"),
        Err(_) => tracing::debug!(socket = %shown, "renderer refresh timed out"),
    }
}
