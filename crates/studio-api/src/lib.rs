//! Studio's HTTP face: REST + WebSocket over the sandbox manager, the OpenAPI description generated
//! from the same types the handlers use, and Prometheus metrics.
//!
//! This is the only crate that imports axum. Handlers are thin: they validate input, call the
//! manager, and turn every outcome into a JSON body or an [`error::ApiError`].

pub mod auth;
pub mod dto;
pub mod error;
pub mod json;
