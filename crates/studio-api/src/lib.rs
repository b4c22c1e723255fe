//! Studio's HTTP face: REST + WebSocket over the sandbox manager, the OpenAPI description generated
//! from the same types the handlers use, and Prometheus metrics.
//!
//! This is the only crate that imports axum. Handlers are thin: they validate input, call the
//! [`studio_sandbox::Manager`], and turn every outcome into a JSON body or an [`error::ApiError`]
//! (`{"error", "code"}` with a fitting status), including axum's own rejections. The JSON bodies
//! are `studio_wire`'s types, shared with the CLI; `docs/api.md` documents them.
//!
//! Modules depend downwards only: [`app`] → [`openapi`] → handlers (`routes`, `ws`, `logs`,
//! `access_routes`, `file_routes`, `component_routes`) →
//! [`state`], [`json`], [`error`], [`auth`]. `app` also puts `front_door` (routing by `Host`,
//! the previews' reverse proxy) in front of every route; it depends on `preview_auth` and `state`;
//! and `cors` (`--cors-origin`) around the API routes only.

mod access_routes;
pub mod app;
pub mod auth;
mod component_routes;
mod convert;
mod cors;
mod dashboard;
pub mod error;
mod file_routes;
mod front_door;
pub mod json;
mod logs;
pub mod openapi;
mod preview_auth;
mod routes;
pub mod state;
mod ws;
mod ws_limits;
mod ws_origin;

pub use app::{router, serve};
pub use auth::{ApiToken, Principal};
pub use cors::{CorsOrigin, InvalidCorsOrigin};
pub use state::{ApiConfig, AppState, PreviewConfig, PreviewLimits};
/// Default request body limit (`--max-body-bytes` / `STUDIO_MAX_BODY_BYTES`); the old name of
/// [`studio_core::defaults::MAX_BODY_BYTES`], kept for callers that still use it.
pub use studio_core::defaults::MAX_BODY_BYTES as DEFAULT_BODY_LIMIT;
pub use ws_limits::WsLimits;
