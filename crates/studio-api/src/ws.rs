//! `GET /api/v1/sandboxes/{id}/ws`: the live event stream of one sandbox.
//!
//! The connection is a thin pump between a socket and a hub [`Subscription`]:
//!
//! * events from the hub are written as JSON text frames; a client that cannot keep up is dropped
//!   by the hub (its queue is bounded), and a socket write that stalls is abandoned after a
//!   timeout, so one bad client never holds anything up;
//! * the server pings every [`PING_EVERY`]; a client that has not answered the previous ping by the
//!   next one is disconnected;
//! * messages from the client (`component-selected`) go to the manager, which persists and
//!   relays them to every client of the sandbox, the sender included. Any message is activity.

// utoipa's `params(...)` expansion qualifies `IntoParams` types with their module path.
#![allow(unused_qualifications)]

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use studio_hub::Subscription;
use studio_wire::{ErrorBody, EventMessage};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::state::AppState;

/// How often the server pings each client.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// A socket write that takes longer than this means the client is not reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize, IntoParams)]
pub struct WsQuery {
    /// Replay every event with a larger sequence number first.
    since: Option<u64>,
    /// The API token, for clients that cannot set headers; or the sandbox's socket token, which
    /// Studio gives the renderer page (it opens this one stream only).
    #[allow(dead_code)]
    token: Option<String>,
}

/// Subscribe to a sandbox's events (WebSocket upgrade).
#[utoipa::path(get, path = "/api/v1/sandboxes/{id}/ws", tag = "events",
    params(("id" = String, Path, description = "sb_<hex>"), WsQuery),
    responses((status = 101, description = "switching to the WebSocket protocol"),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn upgrade(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<WsQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let ws = ws.map_err(|e| ApiError::bad_request("websocket_upgrade_required", e.body_text()))?;
    // Subscribe before upgrading, so an unknown sandbox is a plain 404 and no event published
    // between the handshake and the first read is missed.
    let subscription = state.manager.subscribe(&id, query.since).await?;
    Ok(ws.on_upgrade(move |socket| pump(state, socket, subscription)))
}

async fn pump(state: AppState, mut socket: WebSocket, mut subscription: Subscription) {
    let id = subscription.sandbox().clone();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut answered_last_ping = true;
    let close = loop {
        tokio::select! {
            event = subscription.recv() => match event {
                Ok(event) => {
                    let frame = Message::Text(Utf8Bytes::from(event.json()));
                    if !send(&mut socket, frame).await {
                        break None;
                    }
                }
                Err(reason) => break Some(reason),
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Err(e) = state.manager.client_message(&id, text.as_str()).await {
                        let reply = EventMessage::error(ApiError::from(e).body());
                        if !send(&mut socket, Message::Text(Utf8Bytes::from(reply.to_json()))).await {
                            break None;
                        }
                    }
                }
                Some(Ok(Message::Pong(_))) => answered_last_ping = true,
                Some(Ok(Message::Ping(_) | Message::Binary(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
            },
            _ = ping.tick() => {
                if !answered_last_ping {
                    tracing::debug!(sandbox = %id, "WebSocket client did not answer the last ping; dropping it");
                    break None;
                }
                answered_last_ping = false;
                if !send(&mut socket, Message::Ping(Default::default())).await {
                    break None;
                }
            }
        }
    };
    if let Some(reason) = close {
        let frame = CloseFrame {
            code: reason.close_code(),
            reason: Utf8Bytes::from_static(reason.close_text()),
        };
        let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
    }
}

/// Sends one frame; false if the client is gone or not reading.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}
