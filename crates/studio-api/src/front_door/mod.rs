//! The front door: Studio's one listener serves both the API and every sandbox's preview, told
//! apart by the request's `Host` ([`host`]).
//!
//! * an API host (`localhost`, `127.0.0.1`, `[::1]`, the listen address, the public URL's host,
//!   on any port) goes on to the API router unchanged;
//! * `sb-<hex>.<preview domain>` is that sandbox's preview: after the checks below, the request
//!   is proxied to its renderer's Unix socket ([`proxy`], upgrades through [`tunnel`]);
//! * any other host, or none, gets 421 (which also defeats DNS rebinding).
//!
//! A preview request passes, in order: Studio's internal paths (`/__studio/*`: 404), the header
//! size limit (431), the sandbox lookup (unknown: 404), the one-time preview link
//! ([`crate::preview_auth::redeem`]) or the preview's access check
//! ([`crate::preview_auth::refusal`]), the sandbox's status (not running: 503), then the
//! sandbox's share of the door ([`gate`], 429). The door adds no CORS headers: each preview is an
//! origin of its own and the renderer decides. Every refusal is a short text page ([`pages`]),
//! counted by reason in `/metrics`.

mod gate;
mod host;

pub(crate) use self::host::{Destination, Hosts};
mod pages;
mod proxy;
#[cfg(test)]
mod proxy_tests;
mod tunnel;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use studio_core::SandboxId;
use studio_sandbox::{PreviewMetrics, PreviewUnavailable};

use self::gate::{Full, Gate};
use self::pages::Refusal;
use crate::preview_auth;
use crate::state::{AppState, PreviewConfig, PreviewLimits};

/// What the door needs on every request; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Door {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: AppState,
    hosts: Hosts,
    limits: PreviewLimits,
    gate: Gate,
    metrics: PreviewMetrics,
}

impl Door {
    pub(crate) fn new(state: AppState, config: &PreviewConfig) -> Self {
        let metrics = state.manager.preview_metrics();
        Self {
            inner: Arc::new(Inner {
                hosts: Hosts::new(&config.domain, &config.api_hosts),
                limits: config.limits.clone(),
                gate: Gate::new(
                    config.limits.max_requests_per_sandbox,
                    config.limits.max_websockets_per_sandbox,
                ),
                metrics,
                state,
            }),
        }
    }
}

/// The outermost middleware: sends each request to the API, a preview, or away.
pub(crate) async fn route(State(door): State<Door>, request: Request, next: Next) -> Response {
    let authority = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
    match door.inner.hosts.classify(authority.as_deref()) {
        Destination::Api => next.run(request).await,
        Destination::Preview(id) => door.preview(&id, request).await,
        Destination::Misdirected => Refusal::misdirected().answer(&door.inner.metrics),
    }
}

impl Door {
    async fn preview(&self, id: &SandboxId, request: Request) -> Response {
        let inner = &*self.inner;
        match self.admit(id, request).await {
            Ok(response) => response,
            Err(refusal) => refusal.answer(&inner.metrics),
        }
    }

    async fn admit(&self, id: &SandboxId, request: Request) -> Result<Response, Refusal> {
        let inner = &*self.inner;
        if is_internal(request.uri().path()) {
            return Err(Refusal::internal_path());
        }
        if head_bytes(&request) > inner.limits.max_header_bytes {
            return Err(Refusal::headers_too_large(inner.limits.max_header_bytes));
        }
        // One store read answers existence, status and the cookie's epoch.
        // A sandbox that is not running still has an epoch: access is checked before a visitor
        // learns its status.
        let target = match inner.state.manager.preview_target(id).await {
            Ok(target) => Ok(target),
            Err(PreviewUnavailable::NotRunning { status, epoch, .. }) => Err((status, epoch)),
            Err(PreviewUnavailable::Unknown(_)) => return Err(Refusal::unknown_sandbox(id)),
            Err(e) => {
                tracing::warn!(sandbox = %id, "preview lookup failed: {e}");
                return Err(Refusal::internal());
            }
        };
        let epoch = match &target {
            Ok(target) => target.epoch,
            Err((_, epoch)) => *epoch,
        };
        if request.uri().path() == preview_auth::REDEEM_PATH {
            return Ok(preview_auth::redeem(&inner.state, id, request).await);
        }
        if let Some(answer) = preview_auth::refusal(&inner.state, id, epoch, &request) {
            inner.metrics.refused("unauthorized");
            return Ok(answer);
        }
        let socket = target
            .map_err(|(status, _)| Refusal::not_running(id, status.as_str()))?
            .socket;
        let websocket = proxy::is_upgrade(request.headers());
        let pass = inner.gate.enter(id, websocket).map_err(|full| match full {
            Full::Requests => Refusal::too_many_requests(inner.limits.max_requests_per_sandbox),
            Full::WebSockets => {
                Refusal::too_many_websockets(inner.limits.max_websockets_per_sandbox)
            }
        })?;
        proxy::forward(request, &socket, &inner.limits, &inner.metrics, pass).await
    }
}

/// Whether `path` reaches Studio's internal endpoints of the renderer (`/__studio/…`) once the
/// renderer (or a URL parser in it) has decoded it: percent-escapes, repeated slashes, `.` and
/// `..` segments and letter case are all undone before comparing.
fn is_internal(path: &str) -> bool {
    let mut segments: Vec<String> = Vec::new();
    for raw in path.split(['/', '\\']) {
        let segment = percent_decode(raw);
        match segment.as_str() {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    segments
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("__studio"))
}

/// `%XX` escapes decoded (repeatedly, so `%255F` cannot hide an underscore either); invalid
/// escapes are kept as they are.
fn percent_decode(segment: &str) -> String {
    let mut current = segment.to_owned();
    // Bounded: each round that changes anything makes the string shorter.
    for _ in 0..segment.len() {
        let bytes = current.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if bytes[i] == b'%'
                && let (Some(hi), Some(lo)) = (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                )
            {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        let decoded = String::from_utf8_lossy(&out).into_owned();
        if decoded == current {
            break;
        }
        current = decoded;
    }
    current
}

/// The size of the request head as it arrived: target and headers.
fn head_bytes(request: &Request) -> usize {
    let target = request.uri().to_string().len();
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    target + headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_paths_are_recognised_however_they_are_spelt() {
        for path in [
            "/__studio/health",
            "/__studio",
            "/__STUDIO/refresh",
            "//__studio/refresh",
            "/%5f%5fstudio/refresh",
            "/%255F%255Fstudio/refresh",
            "/src/../__studio/refresh",
            "/./__studio/",
            "/\\__studio/refresh",
        ] {
            assert!(is_internal(path), "{path}");
        }
        for path in [
            "/",
            "/src/__studio/x",
            "/__studiox/y",
            "/@vite/client",
            "/%zz",
        ] {
            assert!(!is_internal(path), "{path}");
        }
    }
}
