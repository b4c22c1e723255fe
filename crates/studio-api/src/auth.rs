//! Who is calling `/api/`, and whether they may call this route.
//!
//! When `STUDIO_API_TOKEN` is set, every `/api/` request must carry a token as
//! `Authorization: Bearer <token>`; WebSocket clients (browsers cannot set headers on
//! `new WebSocket`) may pass `?token=` instead. `/healthz`, `/readyz` and `/metrics` are mounted
//! outside this layer and stay open. The token names a [`Principal`]:
//!
//! * the API token: [`Principal::Admin`], every route;
//! * a scoped token (`stk_…`, made by `POST /api/v1/sandboxes/{id}/tokens`, looked up by its
//!   SHA-256 in the store): [`Principal::Scoped`], that sandbox's routes (`/sandboxes/{id}` and
//!   below: status, edits, its WebSocket, `preview-link`) except its `tokens` routes. Another
//!   sandbox's id answers 404 as if it did not exist, so ids cannot be probed; any other route 403.
//!
//! The renderer page of a sandbox connects to that sandbox's WebSocket with a *socket token*
//! (`?token=`, see [`studio_sandbox::socket_token`]) instead: it opens that one stream and nothing
//! else, so a page viewer never holds the API token.
//!
//! The API token is compared in constant time (`subtle`), so response timing reveals nothing
//! about how much of a guess was right. No token ever reaches a log line or an error body.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use studio_core::SandboxId;
use studio_sandbox::{Manager, ManagerError};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The API token. Debug never prints it.
#[derive(Clone)]
pub struct ApiToken(Arc<str>);

impl ApiToken {
    pub fn new(token: impl Into<Arc<str>>) -> Self {
        Self(token.into())
    }

    /// Constant-time for equal-length inputs; a length mismatch is answered at once (the length of
    /// the token is not the secret).
    fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }

    /// Whether `candidate` is the socket token of the sandbox whose WebSocket `request` upgrades to
    /// (`…/sandboxes/{id}/ws`). Only `?token=` of an upgrade gets here (see [`query_token`]).
    fn opens_socket(&self, request: &Request, candidate: &str) -> bool {
        let mut segments = request.uri().path().rsplit('/');
        let (Some("ws"), Some(id), Some("sandboxes")) =
            (segments.next(), segments.next(), segments.next())
        else {
            return false;
        };
        let Ok(id) = id.parse::<SandboxId>() else {
            return false;
        };
        let expected = studio_sandbox::socket_token(&self.0, &id);
        expected.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

/// Who a request speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The API token (or no token configured): every route.
    Admin,
    /// A scoped token of this sandbox: its routes only.
    Scoped(SandboxId),
}

impl Principal {
    /// Whether this principal may call the `/api/` route at `path` (with or without the `/api/v1`
    /// prefix: nested routers see it stripped).
    fn may_call(&self, path: &str) -> Result<(), ApiError> {
        let Self::Scoped(own) = self else {
            return Ok(());
        };
        let mut segments = path.split('/').skip_while(|s| *s != "sandboxes").skip(1);
        let (Some(id), next) = (segments.next(), segments.next()) else {
            return Err(forbidden(own));
        };
        if id != own.to_string() {
            // As if it did not exist: a scoped token cannot tell taken ids from free ones.
            return Err(ManagerError::not_found(id).into());
        }
        if next == Some("tokens") {
            return Err(forbidden(own));
        }
        Ok(())
    }
}

fn forbidden(own: &SandboxId) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "this token is scoped to sandbox {own}: it may call /api/v1/sandboxes/{own} and \
             below (not its tokens), nothing else"
        ),
    )
}

/// What the auth layer needs: the API token, and the manager that knows the scoped tokens.
#[derive(Debug, Clone)]
pub struct Guard {
    token: Option<ApiToken>,
    manager: Manager,
}

impl Guard {
    pub fn new(token: Option<ApiToken>, manager: Manager) -> Self {
        Self { token, manager }
    }
}

/// Middleware: passes the request on when no token is configured, or when the token it presents
/// names a principal that may call the route (the principal goes into the request's
/// extensions).
pub async fn require_token(
    State(guard): State<Guard>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(token) = &guard.token else {
        return Ok(next.run(request).await);
    };
    let presented = bearer(&request).or_else(|| query_token(&request));
    let principal = match presented {
        Some(candidate) if token.matches(&candidate) => Principal::Admin,
        Some(candidate) if token.opens_socket(&request, &candidate) => {
            return Ok(next.run(request).await);
        }
        Some(candidate) => match guard.manager.token_scope(&candidate).await? {
            Some(sandbox) => Principal::Scoped(sandbox),
            None => return Err(unauthorized("the API token is wrong")),
        },
        None => {
            return Err(unauthorized(
                "this server requires an API token: send `Authorization: Bearer <token>` (WebSocket: or `?token=`)",
            ));
        }
    };
    principal.may_call(request.uri().path())?;
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

fn bearer(request: &Request) -> Option<String> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// `?token=` is honoured only for WebSocket upgrades, so that tokens do not end up in the access
/// logs of ordinary REST calls by accident.
fn query_token(request: &Request) -> Option<String> {
    let is_upgrade = request
        .headers()
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_upgrade {
        return None;
    }
    request.uri().query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "token").then(|| percent_decode(value))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        let t = ApiToken::new("s3cret");
        assert!(t.matches("s3cret"));
        assert!(!t.matches("s3cre"));
        assert!(!t.matches("s3cret "));
        assert!(!t.matches(""));
        assert_eq!(format!("{t:?}"), "ApiToken(***)");
    }

    #[test]
    fn a_scoped_token_calls_its_own_sandbox_only() {
        let own = SandboxId::from_random([0xab; 8]);
        let scoped = Principal::Scoped(own.clone());
        for prefix in ["", "/api/v1"] {
            for rest in ["", "/execute", "/ws", "/preview-link", "/logs", "/stop"] {
                let path = format!("{prefix}/sandboxes/{own}{rest}");
                assert_eq!(scoped.may_call(&path), Ok(()), "{path}");
                assert_eq!(Principal::Admin.may_call(&path), Ok(()), "{path}");
            }
            let other = format!("{prefix}/sandboxes/sb_00000000000000ff/execute");
            let refused = scoped.may_call(&other).expect_err("another sandbox");
            assert_eq!(
                (refused.status, refused.code),
                (StatusCode::NOT_FOUND, "sandbox_not_found")
            );
            for path in [
                format!("{prefix}/sandboxes"),
                format!("{prefix}/openapi.json"),
                format!("{prefix}/sandboxes/{own}/tokens"),
                format!("{prefix}/sandboxes/{own}/tokens/tok_0011223344556677"),
            ] {
                let refused = scoped.may_call(&path).expect_err("not its route");
                assert_eq!(
                    (refused.status, refused.code),
                    (StatusCode::FORBIDDEN, "forbidden"),
                    "{path}"
                );
                assert_eq!(Principal::Admin.may_call(&path), Ok(()));
            }
        }
        // Another sandbox's tokens: 404 like the rest of that sandbox.
        let refused = scoped
            .may_call("/sandboxes/sb_00000000000000ff/tokens")
            .expect_err("another sandbox's tokens");
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb+c"), "a/b c");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("plain"), "plain");
    }
}
