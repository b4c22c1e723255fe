//! Who may see a sandbox's preview through the front door: the preview cookie, and the one-time
//! link that sets it.
//!
//! (Stub: the front door calls these; the preview-access work fills them in.)
#![allow(dead_code)]

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use studio_core::SandboxId;

use crate::state::AppState;

/// The path, on a sandbox's preview host, of the one-time link that sets the preview cookie.
pub(crate) const REDEEM_PATH: &str = "/__preview/redeem";

/// `Ok` when `request` may reach the preview of `id`; otherwise the answer to send instead.
pub(crate) async fn authorize(
    _state: &AppState,
    _id: &SandboxId,
    _request: &Request,
) -> Result<(), Response> {
    Ok(())
}

/// Answers a request for [`REDEEM_PATH`] on the preview host of `id`.
pub(crate) async fn redeem(_state: &AppState, _id: &SandboxId, _request: Request) -> Response {
    StatusCode::NOT_FOUND.into_response()
}
