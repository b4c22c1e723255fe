//! Studio's HTTP face: REST + WebSocket over the sandbox manager, the OpenAPI description generated
//! from the same types the handlers use, and Prometheus metrics.
//!
//! This is the only crate that imports axum. Handlers are thin: they validate input, call the
//! [`studio_sandbox::Manager`], and turn every outcome into a JSON body or an [`error::ApiError`]
//! (`{"error", "code"}` with a fitting status), including axum's own rejections.

pub mod app;
pub mod auth;
mod convert;
pub mod dto;
pub mod error;
pub mod json;
mod logs;
pub mod openapi;
mod routes;
mod ws;

pub use app::{ApiConfig, AppState, DEFAULT_BODY_LIMIT, router, serve};
pub use auth::ApiToken;
