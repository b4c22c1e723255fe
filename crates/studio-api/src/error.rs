//! The one error shape of the API: an HTTP status and `{"error": "<human message>", "code": "<machine code>"}`
//! (the body is [`ErrorBody`], defined in `studio_wire` with the other JSON shapes).
//!
//! Every failure, whatever layer it comes from (a malformed body, a missing token, a git path guard, a
//! GitHub outage), leaves the server as an [`ApiError`]. Handlers build one from the lower layers'
//! errors; extractors build one from axum's rejections (see [`crate::json`]), so no request can ever
//! receive axum's plain-text defaults.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use studio_wire::ErrorBody;

/// `Retry-After` of every 429, in seconds.
pub const RETRY_AFTER_SECONDS: &str = "30";

/// An error on its way to becoming an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request cannot be understood.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 for a sandbox id that does not exist (or could never exist).
    pub fn sandbox_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "sandbox_not_found",
            format!("no sandbox with id {id:?}"),
        )
    }

    /// 409: the sandbox's state forbids the request.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 422: well-formed but invalid.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 500: our fault. The message is logged; the client gets it too, since Studio never puts
    /// secrets into error texts (tokens live in redacting types).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.message.clone(),
            code: self.code.to_owned(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(
                status = self.status.as_u16(),
                code = self.code,
                "{}",
                self.message
            );
        } else {
            tracing::debug!(
                status = self.status.as_u16(),
                code = self.code,
                "{}",
                self.message
            );
        }
        let mut response = (self.status, Json(self.body())).into_response();
        // A 429 is a server limit (e.g. `--max-sandboxes`): slots free up as sandboxes are
        // deleted or expire, so a client should come back, not hammer.
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}
