//! `GET /api/v1/sandboxes/{id}/ws`: the live event stream of one sandbox.
//!
//! The connection is a thin pump between a socket and a hub [`Subscription`]:
//!
//! * events from the hub are written as JSON text frames; a client that cannot keep up is dropped
//!   by the hub (its queue is bounded), and a socket write that stalls is abandoned after a
//!   timeout, so one bad client never holds anything up;
//! * the server pings every [`PING_EVERY`]; a client that has not answered the previous ping by the
//!   next one is disconnected;
//! * a page's `component-state` reports go to the sandbox's actor, which keeps the latest state
//!   per component and story and announces only changes; when the connection closes the actor
//!   is told, so that states go back to `pending` once no reporting page is left;
//! * messages from the client (`component-selected`) go to the manager, which persists and
//!   relays them to every client of the sandbox, the sender included. Any message is activity.
//!   A message over 64 KiB closes the connection with 1009 "message too big"; messages are
//!   rate-limited per connection (a token bucket, see `ws_limits`: over the rate they are dropped
//!   with one `error` message `rate_limited`, and a client that keeps flooding is closed with 1008);
//!   selections are coalesced before they reach the manager (at most one per 100 ms per
//!   connection, the latest wins), so what is stored and what is relayed are the same, coalesced.
//!   A selection is stored and relayed by the sandbox's actor, the one writer of its event stream,
//!   which may be busy with an edit: the pump does not wait for it (see `selection`).

// utoipa's `params(...)` expansion qualifies `IntoParams` types with their module path.
#![allow(unused_qualifications)]

mod selection;

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use studio_hub::Subscription;
use studio_wire::{ErrorBody, EventMessage};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::json::PathParam;
use crate::state::AppState;
use crate::ws_limits::{Coalescer, MAX_CLIENT_MESSAGE, RateLimiter, Verdict, WsLimits};

/// How often the server pings each client.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// Hard cap of the WebSocket transport: a larger message drops the connection without a close
/// frame. Client messages between [`MAX_CLIENT_MESSAGE`] and this are closed with 1009.
const TRANSPORT_MAX_MESSAGE: usize = 1024 * 1024;
/// How long a refused client is given to answer the server's close frame.
const CLOSE_DRAIN: Duration = Duration::from_secs(2);
/// A socket write that takes longer than this means the client is not reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "`origin_not_allowed`: a browser page of another origin than the dashboard, the sandbox's own preview or a `--cors-origin`", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn upgrade(
    State(state): State<AppState>,
    // Studio's own path extractor: a malformed segment is a JSON error like everywhere else.
    PathParam(id): PathParam<String>,
    query: Result<Query<WsQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let ws = ws.map_err(|e| ApiError::bad_request("websocket_upgrade_required", e.body_text()))?;
    // Subscribe before upgrading, so an unknown sandbox is a plain 404 and no event published
    // between the handshake and the first read is missed.
    let subscription = state.manager.subscribe(&id, query.since).await?;
    // tungstenite's own cap is a backstop against buffering huge frames; the 64 KiB limit is
    // checked in `pump`, which closes with 1009 and a reason.
    Ok(ws
        .max_message_size(TRANSPORT_MAX_MESSAGE)
        .max_frame_size(TRANSPORT_MAX_MESSAGE)
        .on_upgrade(move |socket| pump(state, socket, subscription)))
}

/// Numbers the connections, so the actor can tell the pages that report component states apart.
static CONNECTIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

async fn pump(state: AppState, mut socket: WebSocket, mut subscription: Subscription) {
    let id = subscription.sandbox().clone();
    let connection = CONNECTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut reported = false;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut answered_last_ping = true;
    let limits = state.ws;
    let mut limiter = RateLimiter::new(&limits, tokio::time::Instant::now());
    let mut selections = Coalescer::new(&limits);
    let mut in_flight = selection::Selections::default();
    let close = loop {
        // A far deadline when nothing waits: the branch is disabled then anyway.
        let flush_at = selections
            .deadline()
            .unwrap_or_else(|| tokio::time::Instant::now() + PING_EVERY);
        tokio::select! {
            event = subscription.recv() => match event {
                Ok(event) => {
                    let frame = Message::Text(Utf8Bytes::from(event.json()));
                    if !send(&mut socket, frame).await {
                        break None;
                    }
                }
                Err(reason) => break Some(Close::Hub(reason)),
            },
            // Not while too many selections wait for the actor: the client waits instead.
            incoming = socket.recv(), if in_flight.has_room() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if text.len() > MAX_CLIENT_MESSAGE {
                        break Some(Close::TooBig);
                    }
                    let text = match limiter.check(tokio::time::Instant::now()) {
                        Verdict::Accept => text,
                        Verdict::Refuse { reply: false } => continue,
                        Verdict::Refuse { reply: true } => {
                            if !send_error(&mut socket, rate_limited(&limits)).await {
                                break None;
                            }
                            continue;
                        }
                        Verdict::Disconnect => break Some(Close::Flooding),
                    };
                    if is_selection(text.as_str()) {
                        if let Some(now) = selections.offer(tokio::time::Instant::now(), text.as_str().to_owned()) {
                            in_flight.offer(&state.manager, &id, now);
                        }
                        continue;
                    }
                    if is_kind(text.as_str(), "component-state") {
                        reported = true;
                        let outcome = state.manager.report_components(&id, connection, text.as_str()).await;
                        if let Err(e) = outcome
                            && !send_error(&mut socket, ApiError::from(e)).await
                        {
                            break None;
                        }
                        continue;
                    }
                    if !deliver(&state, &id, &mut socket, text.as_str()).await {
                        break None;
                    }
                }
                Some(Ok(Message::Binary(bytes))) if bytes.len() > MAX_CLIENT_MESSAGE => {
                    break Some(Close::TooBig);
                }
                // Binary messages mean nothing to Studio, but they count against the rate too.
                Some(Ok(Message::Binary(_))) => {
                    if limiter.check(tokio::time::Instant::now()) == Verdict::Disconnect {
                        break Some(Close::Flooding);
                    }
                }
                Some(Ok(Message::Pong(_))) => answered_last_ping = true,
                Some(Ok(Message::Ping(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
            },
            _ = tokio::time::sleep_until(flush_at), if selections.deadline().is_some() => {
                if let Some(text) = selections.flush(tokio::time::Instant::now()) {
                    in_flight.offer(&state.manager, &id, text);
                }
            }
            stored = in_flight.done(&state.manager, &id), if in_flight.busy() => {
                if let Err(e) = stored
                    && !send_error(&mut socket, ApiError::from(e)).await
                {
                    break None;
                }
            }
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
    // The selections on their way are stored, and then the one the coalescer still holds, the
    // client's latest: rather than lost. The client is gone, so a refusal has no one to be told to.
    in_flight.finish(&state.manager, &id).await;
    if reported {
        state.manager.connection_closed(&id, connection).await;
    }
    if let Some(text) = selections.take()
        && let Err(e) = state.manager.client_message(&id, &text).await
    {
        tracing::debug!(sandbox = %id, "the last selection of a closed client was not stored: {e}");
    }
    let drain = matches!(close, Some(Close::TooBig | Close::Flooding));
    let frame = match close {
        None => return,
        Some(Close::Hub(reason)) => CloseFrame {
            code: reason.close_code(),
            reason: Utf8Bytes::from_static(reason.close_text()),
        },
        Some(Close::TooBig) => CloseFrame {
            code: 1009,
            reason: Utf8Bytes::from_static("message too big"),
        },
        Some(Close::Flooding) => {
            tracing::debug!(sandbox = %id, "WebSocket client kept sending over its rate; dropping it");
            CloseFrame {
                code: 1008,
                reason: Utf8Bytes::from_static("rate limited"),
            }
        }
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
    if drain {
        // The client may still be sending: read (and drop) until its close reply, so the socket is
        // not dropped with unread data (the kernel would answer with a reset, and the client could
        // lose the close frame and the `error` before it).
        let _ = tokio::time::timeout(CLOSE_DRAIN, async {
            while let Some(Ok(message)) = socket.recv().await {
                if let Message::Close(_) = message {
                    break;
                }
            }
        })
        .await;
    }
}

/// Why the server closes a connection.
enum Close {
    /// The hub ended the subscription (sandbox gone, client too slow, server stopping).
    Hub(studio_hub::CloseReason),
    /// A client message over [`MAX_CLIENT_MESSAGE`]: 1009.
    TooBig,
    /// The client kept sending over its rate: 1008.
    Flooding,
}

/// Hands one accepted message to the manager; answers a refusal with an `error` message. False if
/// the client is gone.
async fn deliver(
    state: &AppState,
    id: &studio_core::SandboxId,
    socket: &mut WebSocket,
    text: &str,
) -> bool {
    match state.manager.client_message(id, text).await {
        Ok(()) => true,
        Err(e) => send_error(socket, ApiError::from(e)).await,
    }
}

async fn send_error(socket: &mut WebSocket, error: ApiError) -> bool {
    let reply = EventMessage::error(error.body());
    send(socket, Message::Text(Utf8Bytes::from(reply.to_json()))).await
}

fn rate_limited(limits: &WsLimits) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!(
            "too many messages: at most {} per second (bursts of {}); \
             messages over the rate are dropped, and a client that keeps sending is disconnected",
            limits.messages_per_second,
            limits.burst()
        ),
    )
}

/// Whether a message is a `component-selected` selection (coalesced before it is stored). A
/// message that is not JSON is not one; the manager answers it.
fn is_selection(text: &str) -> bool {
    is_kind(text, "component-selected")
}

/// Whether a message is JSON with this `type`.
fn is_kind(text: &str, wanted: &str) -> bool {
    #[derive(Deserialize)]
    struct Kind<'a> {
        #[serde(borrow, rename = "type")]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_str::<Kind<'_>>(text).is_ok_and(|k| k.kind.as_deref() == Some(wanted))
}

/// Sends one frame; false if the client is gone or not reading.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}
