//! What every handler can reach ([`AppState`]) and the HTTP-level settings ([`ApiConfig`],
//! including the front door's [`PreviewConfig`] and [`PreviewLimits`]).
//!
//! A leaf: it imports no handler module, so handlers depend on it and [`crate::app`] builds the
//! router from both without an import circle.

use std::time::Duration;

use studio_core::defaults::{MAX_BODY_BYTES, PREVIEW_DOMAIN};
use studio_sandbox::Manager;

use crate::auth::ApiToken;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub manager: Manager,
    /// Limits on what WebSocket clients send.
    pub ws: crate::WsLimits,
}

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub token: Option<ApiToken>,
    pub body_limit: usize,
    /// The front door: which hosts are the API's, which are previews, and the proxy's limits.
    pub preview: PreviewConfig,
    /// Per-connection limits on WebSocket clients' messages.
    pub ws: crate::WsLimits,
    /// Origins whose pages may call the API from a browser (`--cors-origin`); none by default.
    pub cors_origins: Vec<crate::CorsOrigin>,
}

/// How the front door tells the API from the previews (see the `front_door` module).
#[derive(Debug, Clone)]
pub struct PreviewConfig {
    /// `sb-<hex>.<domain>` is a sandbox's preview (`--preview-domain`).
    pub domain: String,
    /// Hosts the API and dashboard answer on besides `localhost`, `127.0.0.1` and `[::1]`: the
    /// listen address and the host of `--public-url` (no port; any port matches).
    pub api_hosts: Vec<String>,
    pub limits: PreviewLimits,
}

impl Default for PreviewConfig {
    fn default() -> Self {
        Self {
            domain: PREVIEW_DOMAIN.to_owned(),
            api_hosts: Vec::new(),
            limits: PreviewLimits::default(),
        }
    }
}

/// What one preview may take of the front door. A page load of a large component library is a
/// few hundred module requests over the browser's six connections per host, and each open tab
/// holds one HMR WebSocket: the defaults leave room for many tabs and tools, and stop one
/// runaway client from starving the other sandboxes.
#[derive(Debug, Clone)]
pub struct PreviewLimits {
    /// Largest request head (request line and headers) the door forwards, in bytes (431 above).
    pub max_header_bytes: usize,
    /// Requests of one sandbox in flight at once, WebSocket tunnels included (429 above).
    pub max_requests_per_sandbox: usize,
    /// Open WebSocket tunnels of one sandbox (429 above).
    pub max_websockets_per_sandbox: usize,
    /// How long the renderer may take to start answering a request (504 after).
    pub response_timeout: Duration,
    /// How long the renderer may take to accept a WebSocket upgrade (504 after).
    pub upgrade_timeout: Duration,
    /// A WebSocket tunnel with no byte either way for this long is closed. Vite's client pings
    /// its HMR socket every 30 s (a hidden tab's timers may run only once a minute), and reloads
    /// the page when the socket drops: the limit is far above both.
    pub idle_timeout: Duration,
}

impl Default for PreviewLimits {
    fn default() -> Self {
        Self {
            max_header_bytes: 16 * 1024,
            max_requests_per_sandbox: 256,
            max_websockets_per_sandbox: 32,
            response_timeout: Duration::from_secs(60),
            upgrade_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(600),
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            token: None,
            body_limit: MAX_BODY_BYTES,
            preview: PreviewConfig::default(),
            ws: crate::WsLimits::default(),
            cors_origins: Vec::new(),
        }
    }
}
