//! Who may see a sandbox's preview through the front door: the preview cookie, and the one-time
//! link that sets it.
//!
//! Without `STUDIO_API_TOKEN` previews are open, like the API. With it, a preview host answers
//! only requests that carry that sandbox's preview cookie (HTTP and the HMR WebSocket alike);
//! everything else gets a small 401 page that says how to get a link. The link
//! (`POST /api/v1/sandboxes/{id}/preview-link`, see `access_routes`) points at [`REDEEM_PATH`]
//! on the sandbox's own preview host and works once: it answers `303` with the cookie and
//! `Location: /`. The cookie is host-only, `HttpOnly`, and `SameSite=None; Secure;
//! Partitioned`, so it works top-level and inside a cross-site iframe (Chromium treats
//! `http://*.localhost` as a secure context); it lasts [`COOKIE_LIFETIME`] unless the sandbox
//! stops, is deleted, finalized or expires first (the manager's preview epoch). Signing, nonces
//! and revocation are `studio_sandbox`'s (`access`); this module speaks HTTP.

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use studio_core::SandboxId;
use studio_sandbox::{COOKIE_LIFETIME, PreviewRefusal};

use crate::state::AppState;

/// The path, on a sandbox's preview host, of the one-time link that sets the preview cookie.
pub(crate) const REDEEM_PATH: &str = "/__preview/redeem";
/// The query parameter of [`REDEEM_PATH`] that carries the signed link.
pub(crate) const LINK_PARAM: &str = "t";
/// Name of the preview cookie (host-only: each preview host has its own).
pub(crate) const COOKIE_NAME: &str = "studio_preview";

/// The answer to send instead when `request` may not reach the preview of `id`, whose current
/// preview epoch is `epoch` (read by the door with the sandbox's status, so checking a cookie
/// costs no store read); `None` when it may.
pub(crate) fn refusal(
    state: &AppState,
    id: &SandboxId,
    epoch: u64,
    request: &Request,
) -> Option<Response> {
    if !state.manager.preview_access_required() {
        return None;
    }
    let valid = cookie_values(request.headers(), COOKIE_NAME)
        .any(|value| state.manager.preview_cookie_matches(id, value, epoch));
    (!valid).then(|| {
        locked(
            id,
            "This browser has no valid preview cookie for this sandbox (none yet, expired, or \
             revoked when the sandbox stopped).",
        )
    })
}

/// Answers a request for [`REDEEM_PATH`] on the preview host of `id`.
pub(crate) async fn redeem(state: &AppState, id: &SandboxId, request: Request) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(CONTENT_TYPE, "text/plain; charset=utf-8")],
            "a preview link is opened with GET\n",
        )
            .into_response();
    }
    if !state.manager.preview_access_required() {
        // Open previews need no cookie: the link just opens the preview.
        return see_other(None);
    }
    let Some(token) = query_param(request.uri().query().unwrap_or_default(), LINK_PARAM) else {
        return locked(id, "This address is not a preview link.");
    };
    match state.manager.redeem_preview_link(id, token).await {
        Ok(cookie) => {
            let header = format!(
                "{COOKIE_NAME}={}; Max-Age={}; Path=/; HttpOnly; Secure; SameSite=None; Partitioned",
                cookie.value,
                cookie.max_age.as_secs()
            );
            see_other(Some(header))
        }
        Err(PreviewRefusal::Unavailable(e)) => unavailable(&e.message),
        Err(refusal) => {
            tracing::debug!(sandbox = %id, "preview link refused: {refusal}");
            let reason = match refusal {
                PreviewRefusal::Used => "This preview link was used already: each link works once.",
                PreviewRefusal::Expired => "This preview link has expired.",
                PreviewRefusal::NoSandbox => "This sandbox does not exist (any more).",
                PreviewRefusal::Invalid | PreviewRefusal::Unavailable(_) => {
                    "This preview link is not valid for this sandbox."
                }
            };
            locked(id, reason)
        }
    }
}

/// `303` to the preview's root, with the cookie when there is one. Never cached, and the link
/// (a bearer of access until used) is not sent on as a referrer.
fn see_other(cookie: Option<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static("/"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(SET_COOKIE, cookie);
    }
    response
}

/// The 401 page: what happened and how to get in.
fn locked(id: &SandboxId, reason: &str) -> Response {
    let minutes = studio_sandbox::LINK_LIFETIME.as_secs() / 60;
    let hours = COOKIE_LIFETIME.as_secs() / 3600;
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Preview locked</title></head>\n<body style=\"font-family: sans-serif; max-width: 40em; margin: 3em auto\">\n\
         <h1>This preview needs a link</h1>\n<p>{reason}</p>\n\
         <p>Previews of this Studio server open through a one-time link from its API. Ask for one \
         with the API token or this sandbox's scoped token:</p>\n\
         <pre>POST /api/v1/sandboxes/{id}/preview-link</pre>\n\
         <p>or run <code>studio preview {id}</code>, then open the <code>url</code> it gives \
         within {minutes} minutes. The link lets this browser in for {hours} hours, until the \
         sandbox stops.</p>\n</body></html>\n"
    );
    (
        StatusCode::UNAUTHORIZED,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

/// The store failed: not the visitor's fault, and nothing of the cause is shown.
fn unavailable(cause: &str) -> Response {
    tracing::error!("preview access check failed: {cause}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Studio cannot check preview access right now; try again in a moment.\n",
    )
        .into_response()
}

/// Every value of the cookie `name` in the request's `Cookie` headers.
fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then(|| value.trim_matches('"'))
        })
}

/// The first value of `name` in a query string (link tokens need no percent-decoding: they are
/// `[0-9a-f.]` only, and anything else fails their check).
fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; studio_preview=abc.1; b=2"),
        );
        headers.append(COOKIE, HeaderValue::from_static("studio_preview=\"def\""));
        headers.append(COOKIE, HeaderValue::from_static("studio_preview_x=nope"));
        let found: Vec<&str> = cookie_values(&headers, COOKIE_NAME).collect();
        assert_eq!(found, ["abc.1", "def"]);
        assert_eq!(cookie_values(&HeaderMap::new(), COOKIE_NAME).count(), 0);
    }

    #[test]
    fn the_link_parameter_is_read_from_the_query() {
        assert_eq!(query_param("t=ab.12&x=1", "t"), Some("ab.12"));
        assert_eq!(query_param("x=1&t=", "t"), Some(""));
        assert_eq!(query_param("tt=1", "t"), None);
        assert_eq!(query_param("", "t"), None);
    }

    #[test]
    fn the_redirect_sets_a_partitioned_cross_site_cookie() {
        let response = see_other(Some(format!(
            "{COOKIE_NAME}=v; Max-Age=1; Path=/; HttpOnly; Secure; SameSite=None; Partitioned"
        )));
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/");
        let cookie = response.headers()[SET_COOKIE].to_str().expect("ASCII");
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=None",
            "Partitioned",
            "Path=/",
        ] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(!cookie.contains("Domain"), "host-only: {cookie}");
    }

    #[tokio::test]
    async fn the_locked_page_says_how_to_get_a_link() {
        let id = SandboxId::from_random([0xab; 8]);
        let response = locked(&id, "No cookie.");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("a small page");
        let page = String::from_utf8(body.to_vec()).expect("UTF-8");
        assert!(page.contains("No cookie."), "{page}");
        assert!(
            page.contains("POST /api/v1/sandboxes/sb_abababababababab/preview-link"),
            "{page}"
        );
        assert!(
            page.contains("studio preview sb_abababababababab"),
            "{page}"
        );
        assert!(page.len() < 2048, "small: {} bytes", page.len());
    }
}
