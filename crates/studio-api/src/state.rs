//! What every handler can reach ([`AppState`]) and the HTTP-level settings ([`ApiConfig`]).
//!
//! A leaf: it imports no handler module, so handlers depend on it and [`crate::app`] builds the
//! router from both without an import circle.

use studio_core::defaults::MAX_BODY_BYTES;
use studio_sandbox::Manager;

use crate::auth::ApiToken;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub manager: Manager,
}

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub token: Option<ApiToken>,
    pub body_limit: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            token: None,
            body_limit: MAX_BODY_BYTES,
        }
    }
}
