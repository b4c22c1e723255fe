//! The answers the front door gives itself instead of a renderer's: short plain-text pages (not
//! the API's JSON errors: a person sees them in a browser tab or an iframe), each with the reason
//! it is counted under in `/metrics`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use studio_sandbox::PreviewMetrics;

/// A refusal: status, metrics reason, text.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    reason: &'static str,
    text: String,
}

impl Refusal {
    fn new(status: StatusCode, reason: &'static str, text: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            text: text.into(),
        }
    }

    /// A host that is neither the API's nor a preview's (or no `Host` at all).
    pub(crate) fn misdirected() -> Self {
        Self::new(
            StatusCode::MISDIRECTED_REQUEST,
            "misdirected",
            "421 Misdirected Request: this Studio server does not serve that host name. \
             Open the API on its own address and a preview at the renderer_url the API gives.",
        )
    }

    pub(crate) fn unknown_sandbox(id: &impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_sandbox",
            format!("404 Not Found: there is no sandbox {id} on this server."),
        )
    }

    pub(crate) fn not_running(id: &impl std::fmt::Display, status: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_running",
            format!(
                "503 Service Unavailable: sandbox {id} is {status}; its preview is served while \
                 it is running."
            ),
        )
    }

    pub(crate) fn internal_path() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "internal_path",
            "404 Not Found: /__studio/ paths are Studio's own and not served here.",
        )
    }

    pub(crate) fn headers_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("431 Request Header Fields Too Large: at most {limit} bytes of headers."),
        )
    }

    pub(crate) fn too_many_requests(limit: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!(
                "429 Too Many Requests: this preview already has {limit} requests in flight; \
                 try again when some have finished."
            ),
        )
    }

    pub(crate) fn too_many_websockets(limit: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_websockets",
            format!(
                "429 Too Many Requests: this preview already has {limit} open WebSockets; \
                 close a tab of it and reload."
            ),
        )
    }

    pub(crate) fn unreachable() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "renderer_unreachable",
            "502 Bad Gateway: the sandbox's renderer is not answering; it may be restarting. \
             Reload in a moment.",
        )
    }

    pub(crate) fn timed_out() -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "renderer_timeout",
            "504 Gateway Timeout: the sandbox's renderer did not answer in time.",
        )
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "500 Internal Server Error: Studio could not look the sandbox up; see its log.",
        )
    }

    /// Counts the refusal and turns it into the answer.
    pub(crate) fn answer(self, metrics: &PreviewMetrics) -> Response {
        metrics.refused(self.reason);
        let mut response = (self.status, format!("{}\n", self.text)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
