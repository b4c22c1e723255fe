//! The streaming half of `GET /api/v1/sandboxes/{id}/logs` (`?follow=true`), and the conversion
//! of a log entry to its wire form; [`crate::routes::logs`] is the handler.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use studio_sandbox::LogEntry;
use studio_wire::{LogLineView, LogRecord};

use crate::convert::rfc3339;
use crate::error::ApiError;
use crate::state::AppState;

pub fn line_view(entry: LogEntry) -> LogLineView {
    LogLineView {
        timestamp: rfc3339(entry.timestamp),
        stream: entry.stream.to_owned(),
        line: entry.line,
    }
}

/// Newline-delimited JSON: the last `limit` lines, then every new line until the sandbox's renderer
/// goes away or the client disconnects. A follower that falls too far behind is told how many lines
/// it missed (`{"skipped": n}`) instead of slowing the renderer down.
pub async fn follow(state: &AppState, id: &str, limit: usize) -> Result<Response, ApiError> {
    let (backlog, live) = state.manager.follow_logs(id, limit).await?;
    let head = backlog
        .into_iter()
        .map(|e| Ok::<_, std::convert::Infallible>(ndjson(&LogRecord::Line(line_view(e)))));
    let tail = futures::stream::unfold(live, |mut rx| async move {
        use tokio::sync::broadcast::error::RecvError;
        let chunk = match rx.recv().await {
            Ok(entry) => ndjson(&LogRecord::Line(line_view(entry))),
            Err(RecvError::Lagged(skipped)) => ndjson(&LogRecord::Skipped { skipped }),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(chunk), rx))
    });
    let stream = futures::StreamExt::chain(futures::stream::iter(head), tail);
    Ok((
        [(CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}

fn ndjson(record: &LogRecord) -> String {
    let mut s = serde_json::to_string(record).unwrap_or_default();
    s.push('\n');
    s
}
