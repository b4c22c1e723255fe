//! The reverse proxy: one request to a renderer's Unix socket over HTTP/1.1, bodies streamed both
//! ways frame by frame (nothing is buffered), hop-by-hop headers dropped, `X-Forwarded-*` set,
//! and upgrades (Vite's HMR WebSocket) handed to [`super::tunnel`].

use std::net::SocketAddr;
use std::path::Path;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{StatusCode, Version};
use axum::response::Response;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use studio_sandbox::PreviewMetrics;
use tokio::net::UnixStream;

use super::pages::Refusal;
use super::tunnel;
use crate::state::PreviewLimits;

/// Headers that describe one connection, not the message: never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Whether `request` asks to switch protocols (`Connection: upgrade` and an `Upgrade` header).
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE) && connection_tokens(headers).any(|t| t == "upgrade")
}

/// Sends `request` to the renderer listening on `socket`. `hold` is released when the response
/// body has been sent (or the tunnel closed).
pub(crate) async fn forward(
    mut request: Request,
    socket: &Path,
    limits: &PreviewLimits,
    metrics: &PreviewMetrics,
    hold: impl Send + Sync + 'static,
) -> Result<Response, Refusal> {
    let upgrade = is_upgrade(request.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
    let outgoing = upstream_request(request, metrics);

    let stream = UnixStream::connect(socket).await.map_err(|e| {
        tracing::debug!(socket = %socket.display(), "renderer socket: {e}");
        Refusal::unreachable()
    })?;
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .handshake::<_, Body>(TokioIo::new(stream))
        .await
        .map_err(|e| {
            tracing::debug!("renderer handshake: {e}");
            Refusal::unreachable()
        })?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!("renderer connection: {e}");
        }
    });
    let wait = if upgrade {
        limits.upgrade_timeout
    } else {
        limits.response_timeout
    };
    let mut response = match tokio::time::timeout(wait, sender.send_request(outgoing)).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            tracing::debug!("renderer request: {e}");
            return Err(Refusal::unreachable());
        }
        Err(_) => return Err(Refusal::timed_out()),
    };
    metrics.request();

    if let Some(client_upgrade) = client_upgrade
        && response.status() == StatusCode::SWITCHING_PROTOCOLS
    {
        metrics.upgrade();
        let renderer_upgrade = hyper::upgrade::on(&mut response);
        tokio::spawn(tunnel::run(
            client_upgrade,
            renderer_upgrade,
            limits.upgrade_timeout,
            limits.idle_timeout,
            metrics.clone(),
            hold,
        ));
        let (mut parts, _) = response.into_parts();
        let upgrade_to = parts.headers.get(header::UPGRADE).cloned();
        strip_hop_by_hop_keeping_upgrade(&mut parts.headers, upgrade_to);
        return Ok(Response::from_parts(parts, Body::empty()));
    }

    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let counter = metrics.clone();
    let body = body.map_frame(move |frame| {
        // The place at the gate lives as long as the body does.
        let _ = &hold;
        if let Some(data) = frame.data_ref() {
            counter.bytes_to_client(data.len() as u64);
        }
        frame
    });
    Ok(Response::from_parts(parts, Body::new(body)))
}

/// The request as the renderer gets it: origin-form target, HTTP/1.1, the client's `Host` in
/// lower case (Vite checks it against `allowedHosts`), no hop-by-hop headers but the upgrade's own, and
/// `X-Forwarded-For/Host/Proto`.
fn upstream_request(request: Request, metrics: &PreviewMetrics) -> Request {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let (mut parts, body) = request.into_parts();
    let upgrade_to = is_upgrade(&parts.headers)
        .then(|| parts.headers.get(header::UPGRADE).cloned())
        .flatten();
    strip_hop_by_hop_keeping_upgrade(&mut parts.headers, upgrade_to);
    // An HTTP/2 client (or an absolute-form target) names the host in the URI only.
    let authority = parts.uri.authority().map(|a| a.as_str().to_owned());
    if let Some(authority) = &authority
        && let Ok(value) = HeaderValue::from_str(authority)
    {
        parts.headers.insert(header::HOST, value);
    }
    // Host names are case-insensitive, Vite's `allowedHosts` check is not: the door matched the
    // host in any case, so the renderer gets it in the one case it knows.
    if let Some(lower) = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase)
        .and_then(|h| HeaderValue::from_str(&h).ok())
    {
        parts.headers.insert(header::HOST, lower);
    }
    set_forwarded(&mut parts.headers, peer);
    parts.uri = parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".parse(), |pq| pq.as_str().parse())
        .unwrap_or_default();
    parts.version = Version::HTTP_11;
    let counter = metrics.clone();
    let body = body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            counter.bytes_to_renderer(data.len() as u64);
        }
        frame
    });
    Request::from_parts(parts, Body::new(body))
}

/// Appends the peer to `X-Forwarded-For`; keeps `X-Forwarded-Host`/`-Proto` set by a proxy in
/// front (an ingress that terminated TLS), else sets them from this hop.
fn set_forwarded(headers: &mut HeaderMap, peer: Option<std::net::IpAddr>) {
    const FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
    const HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
    const PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
    if let Some(peer) = peer {
        let value = match headers.get(&FOR).and_then(|v| v.to_str().ok()) {
            Some(earlier) => format!("{earlier}, {peer}"),
            None => peer.to_string(),
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(FOR, value);
        }
    }
    if !headers.contains_key(&HOST)
        && let Some(host) = headers.get(header::HOST).cloned()
    {
        headers.insert(HOST, host);
    }
    if !headers.contains_key(&PROTO) {
        headers.insert(PROTO, HeaderValue::from_static("http"));
    }
}

/// Removes the hop-by-hop headers, including those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = connection_tokens(headers)
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    headers.remove(header::UPGRADE);
}

/// [`strip_hop_by_hop`], then for an upgrade (`upgrade_to` is the `Upgrade` value read before
/// stripping) puts back `Upgrade: <protocol>` and `Connection: upgrade`: the only hop-by-hop
/// headers an upgrade needs, on the request to the renderer and on its 101 answer alike.
fn strip_hop_by_hop_keeping_upgrade(headers: &mut HeaderMap, upgrade_to: Option<HeaderValue>) {
    strip_hop_by_hop(headers);
    if let Some(protocol) = upgrade_to {
        headers.insert(header::UPGRADE, protocol);
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// The tokens of every `Connection` header, lower case.
fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
}
