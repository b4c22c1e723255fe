//! Which web pages may open a sandbox's WebSocket: a check of the upgrade's `Origin`.
//!
//! Browsers let any page open a WebSocket to any address, sending the page's origin, and CORS does
//! not apply. Without this check a page on another site, or the preview of another sandbox (whose
//! repository code is untrusted), could subscribe to a sandbox's events and send it messages as
//! soon as it learnt its id. So a browser's upgrade is taken only from:
//!
//! * the API's own hosts (the dashboard), whatever the port;
//! * that sandbox's own preview (`sb-<hex>.<preview domain>`: its renderer page), not another's;
//! * an origin listed with `--cors-origin` (a design tool's web app).
//!
//! A client that sends no `Origin` (the CLI, the TypeScript client in Node, any server) is not a
//! browser page and is let through; the token check, when a token is set, applies to everyone.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::ORIGIN;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use studio_core::SandboxId;

use crate::cors::AllowedOrigins;
use crate::error::ApiError;
use crate::front_door::{Destination, Hosts};

/// What [`check`] allows.
#[derive(Debug, Clone)]
pub(crate) struct SocketOrigins {
    hosts: Hosts,
    listed: AllowedOrigins,
}

impl SocketOrigins {
    pub(crate) fn new(hosts: Hosts, listed: AllowedOrigins) -> Self {
        Self { hosts, listed }
    }

    /// Whether a page of `origin` may open `sandbox`'s socket (the sandbox as the path names it;
    /// with none, no preview may: the handler answers 404 anyway).
    fn allows(&self, origin: &str, sandbox: Option<&SandboxId>) -> bool {
        if self.listed.contains(origin) {
            return true;
        }
        let Some(authority) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            return false; // `null` (a sandboxed frame, a file), or another scheme
        };
        match self.hosts.classify(Some(authority)) {
            Destination::Api => true,
            Destination::Preview(own) => sandbox.is_some_and(|wanted| *wanted == own),
            Destination::Misdirected => false,
        }
    }
}

/// The sandbox id of `…/sandboxes/{id}/ws` (the router this runs in may have stripped the
/// `/api/v1` prefix), if it is one.
fn sandbox_of(path: &str) -> Option<SandboxId> {
    let rest = path.strip_suffix("/ws")?;
    let (before, id) = rest.rsplit_once('/')?;
    if !before.ends_with("/sandboxes") {
        return None;
    }
    id.parse().ok()
}

/// The middleware on the WebSocket route: a refused origin gets `403` `origin_not_allowed`.
pub(crate) async fn check(
    State(origins): State<SocketOrigins>,
    request: Request,
    next: Next,
) -> Response {
    let Some(origin) = request.headers().get(ORIGIN) else {
        return next.run(request).await;
    };
    let sandbox = sandbox_of(request.uri().path());
    let allowed = origin
        .to_str()
        .is_ok_and(|origin| origins.allows(origin, sandbox.as_ref()));
    if allowed {
        return next.run(request).await;
    }
    let shown: String = String::from_utf8_lossy(origin.as_bytes())
        .chars()
        .take(200)
        .collect();
    tracing::info!(origin = %shown, "refused a WebSocket from a page of another origin");
    ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        format!(
            "a page of {shown:?} may not open this sandbox's WebSocket: only the dashboard, the \
             sandbox's own preview and origins listed with --cors-origin may"
        ),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::CorsOrigin;

    fn origins() -> SocketOrigins {
        SocketOrigins::new(
            Hosts::new("localhost", &["studio.example.com".to_owned()]),
            AllowedOrigins::new(&[CorsOrigin::parse("https://tool.example").unwrap()]),
        )
    }

    #[test]
    fn the_dashboard_the_own_preview_and_listed_origins_only() {
        let own: SandboxId = "sb_00000000000000aa".parse().unwrap();
        let o = origins();
        for allowed in [
            "http://localhost:7700",
            "http://127.0.0.1:41234",
            "https://studio.example.com",
            "http://sb-00000000000000aa.localhost:7700",
            "https://tool.example",
        ] {
            assert!(o.allows(allowed, Some(&own)), "{allowed}");
        }
        for refused in [
            "http://sb-00000000000000bb.localhost:7700",
            "https://evil.example",
            "http://localhost.evil.example",
            "https://tool.example:8443",
            "null",
            "file://",
            "",
        ] {
            assert!(!o.allows(refused, Some(&own)), "{refused}");
        }
    }

    #[test]
    fn the_path_names_the_sandbox() {
        assert_eq!(
            sandbox_of("/api/v1/sandboxes/sb_00000000000000aa/ws"),
            Some("sb_00000000000000aa".parse().unwrap())
        );
        assert_eq!(
            sandbox_of("/sandboxes/sb_00000000000000aa/ws"),
            Some("sb_00000000000000aa".parse().unwrap())
        );
        assert_eq!(sandbox_of("/api/v1/sandboxes/nope/ws"), None);
        assert_eq!(sandbox_of("/api/v1/other/sb_00000000000000aa/ws"), None);
        assert_eq!(sandbox_of("/api/v1/sandboxes/sb_00000000000000aa"), None);
    }
}
