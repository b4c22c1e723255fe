//! Bearer-token authentication for `/api/`.
//!
//! When `STUDIO_API_TOKEN` is set, every `/api/` request must carry `Authorization: Bearer <token>`;
//! WebSocket clients (browsers cannot set headers on `new WebSocket`) may pass `?token=` instead.
//! `/healthz`, `/readyz` and `/metrics` are mounted outside this layer and stay open.
//!
//! The renderer page of a sandbox connects to that sandbox's WebSocket with a *socket token*
//! (`?token=`, see [`studio_sandbox::socket_token`]) instead: it opens that one stream and nothing
//! else, so a page viewer never holds the API token.
//!
//! The comparison is constant-time (`subtle`), so response timing reveals nothing about how much of a
//! guess was right.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
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
        let Ok(id) = id.parse::<studio_core::SandboxId>() else {
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

/// Middleware: passes the request on when no token is configured or the request presents it.
pub async fn require_token(
    State(token): State<Option<ApiToken>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(token) = token else {
        return Ok(next.run(request).await);
    };
    let presented = bearer(&request).or_else(|| query_token(&request));
    match presented {
        Some(candidate) if token.matches(&candidate) => Ok(next.run(request).await),
        Some(candidate) if token.opens_socket(&request, &candidate) => Ok(next.run(request).await),
        Some(_) => Err(unauthorized("the API token is wrong")),
        None => Err(unauthorized(
            "this server requires an API token: send `Authorization: Bearer <token>` (WebSocket: or `?token=`)",
        )),
    }
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
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb+c"), "a/b c");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("plain"), "plain");
    }
}
