//! Cross-origin access to the API for browser-based design tools (`--cors-origin`).
//!
//! Only origins the operator listed get CORS headers, and each gets its own origin echoed back,
//! never `*`. No `Access-Control-Allow-Credentials`: clients authenticate with a bearer header,
//! not cookies, so a listed origin can call the API only with a token it was given. A preflight
//! (`OPTIONS` with `Access-Control-Request-Method`) from a listed origin is answered here, before
//! the token check (browsers never send credentials on a preflight). Other origins, and requests
//! without `Origin`, pass through untouched: the browser then withholds the answer from the
//! calling page. Only API paths (`/api/`) get CORS headers: the dashboard is same-origin, and
//! the front door sends preview hosts elsewhere before this layer (each preview is an origin of
//! its own).
//!
//! Written as a small middleware rather than tower-http's `CorsLayer`, which answers every
//! `OPTIONS` request itself and sends its allow and expose headers to any origin.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How long a browser may cache a preflight's answer.
const PREFLIGHT_MAX_AGE_SECONDS: &str = "600";
const ALLOWED_METHODS: &str = "GET, POST, DELETE";
const ALLOWED_HEADERS: &str = "authorization, content-type";
/// Response headers a cross-origin page may read besides the CORS-safelisted ones: `429` answers
/// say when to try again.
const EXPOSED_HEADERS: &str = "retry-after";

/// One origin allowed to call the API from a browser: `http(s)://host[:port]`, kept as the
/// browser serialises it (lower case, the scheme's default port left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsOrigin(String);

impl CorsOrigin {
    /// Parses `scheme://host[:port]` (`http` or `https`; a host name, IPv4 or bracketed IPv6
    /// address; no path, query, user info or wildcard). One trailing `/` is tolerated.
    pub fn parse(value: &str) -> Result<Self, InvalidCorsOrigin> {
        let invalid = |why: &'static str| InvalidCorsOrigin {
            value: value.to_owned(),
            why,
        };
        let trimmed = value.trim();
        if trimmed.contains('*') {
            return Err(invalid("wildcards are not allowed; list each origin"));
        }
        let (scheme, rest) = trimmed
            .split_once("://")
            .ok_or_else(|| invalid("it has no scheme (http:// or https://)"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(invalid("the scheme must be http or https")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(invalid("an origin has no path, query or fragment"));
        }
        if authority.contains('@') {
            return Err(invalid("an origin has no user name or password"));
        }
        let (host, port) = split_port(authority)
            .ok_or_else(|| invalid("the port is not a number from 1 to 65535"))?;
        let host = host.to_ascii_lowercase();
        if !valid_host(&host) {
            return Err(invalid("the host is not a host name or IP address"));
        }
        Ok(Self(match port {
            Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
            _ => format!("{scheme}://{host}"),
        }))
    }

    /// The origin as a browser sends it in `Origin`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CorsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `--cors-origin` value that is not an origin; names the value and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCorsOrigin {
    value: String,
    why: &'static str,
}

impl fmt::Display for InvalidCorsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a CORS origin: {} (expected scheme://host[:port], e.g. https://tool.example.com or http://localhost:5173)",
            self.value, self.why
        )
    }
}

impl std::error::Error for InvalidCorsOrigin {}

/// `host[:port]` → host and port; `None` for a port that is not 1-65535.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match authority.find(']') {
        // `[v6]` or `[v6]:port`
        Some(end) if authority.starts_with('[') => {
            let (host, after) = authority.split_at(end + 1);
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':')?)),
            }
        }
        _ => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    match port {
        None => Some((host, None)),
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            let port = digits.parse::<u16>().ok().filter(|&p| p > 0)?;
            Some((host, Some(port)))
        }
        Some(_) => None,
    }
}

fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The origins allowed to call the API, for the middleware.
#[derive(Debug, Clone)]
pub(crate) struct AllowedOrigins(Arc<[CorsOrigin]>);

impl AllowedOrigins {
    pub fn new(origins: &[CorsOrigin]) -> Self {
        Self(origins.into())
    }

    /// Whether `origin` (an `Origin` header's text) is one of the list.
    pub(crate) fn contains(&self, origin: &str) -> bool {
        self.0
            .iter()
            .any(|o| o.as_str().eq_ignore_ascii_case(origin))
    }

    /// The request's `Origin`, when it is one of the list.
    fn allowed(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.contains(text).then(|| origin.clone())
    }
}

/// The middleware, for API paths (`/api/`): preflights from listed origins answered, their
/// other answers marked. Everything else passes untouched.
pub(crate) async fn handle(
    State(origins): State<AllowedOrigins>,
    request: Request,
    next: Next,
) -> Response {
    if origins.0.is_empty() || !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let allowed = origins.allowed(request.headers());
    let Some(origin) = allowed else {
        let mut response = next.run(request).await;
        // Whether CORS headers are sent depends on `Origin`: a cache must not hand this answer
        // to a listed origin.
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("origin"));
        return response;
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = match preflight {
        true => {
            let mut answer = StatusCode::NO_CONTENT.into_response();
            let headers = answer.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOWED_METHODS),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOWED_HEADERS),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(PREFLIGHT_MAX_AGE_SECONDS),
            );
            answer
        }
        false => {
            let mut answer = next.run(request).await;
            answer.headers_mut().insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
            answer
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(value: &str) -> String {
        CorsOrigin::parse(value)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string()
    }

    #[test]
    fn origins_are_kept_as_browsers_send_them() {
        assert_eq!(
            parsed("https://tool.example.com"),
            "https://tool.example.com"
        );
        assert_eq!(parsed("HTTP://LocalHost:5173/"), "http://localhost:5173");
        assert_eq!(
            parsed("https://tool.example.com:443"),
            "https://tool.example.com"
        );
        assert_eq!(parsed("http://127.0.0.1:80"), "http://127.0.0.1");
        assert_eq!(parsed("http://[::1]:3000"), "http://[::1]:3000");
        assert_eq!(parsed("http://[::1]"), "http://[::1]");
        assert_eq!(
            parsed(" https://a-b.example:8443 "),
            "https://a-b.example:8443"
        );
    }

    #[test]
    fn anything_but_an_origin_is_refused_with_its_value_named() {
        for bad in [
            "*",
            "https://*.example.com",
            "tool.example.com",
            "ftp://tool.example.com",
            "https://tool.example.com/app",
            "https://tool.example.com?x=1",
            "https://user@tool.example.com",
            "https://",
            "https://tool.example.com:0",
            "https://tool.example.com:99999",
            "https://tool.example.com:",
            "https://tool.example.com:+80",
            "https://exa mple.com",
            "http://[::1",
            "http://[not-v6]:80",
            "null",
        ] {
            let error = CorsOrigin::parse(bad).expect_err(bad).to_string();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
    }

    #[test]
    fn only_listed_origins_are_allowed() {
        let origins = AllowedOrigins::new(&[CorsOrigin::parse("http://localhost:5173").unwrap()]);
        let with = |origin: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
            headers
        };
        assert_eq!(
            origins.allowed(&with("http://localhost:5173")),
            Some(HeaderValue::from_static("http://localhost:5173"))
        );
        assert_eq!(origins.allowed(&with("http://localhost:5174")), None);
        assert_eq!(
            origins.allowed(&with("http://localhost:5173.evil.com")),
            None
        );
        assert_eq!(origins.allowed(&with("null")), None);
        assert_eq!(origins.allowed(&HeaderMap::new()), None);
    }
}
