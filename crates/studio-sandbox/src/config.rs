//! Server-wide settings of the manager (from `studio serve`'s flags and environment), starting
//! from [`studio_core::defaults`], and where renderer sockets live.

use std::path::PathBuf;
use std::time::Duration;

use studio_core::{SandboxConfig, SandboxId, SecretToken, defaults};

/// Everything the manager needs to know about its environment.
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// Repository caches, sandbox work dirs, dependency stores.
    pub data_dir: PathBuf,
    /// The `studio-template/` the renderer app is generated from.
    pub template_dir: PathBuf,
    /// Default inactivity timeout (`COMPONENT_STUDIO_TIMEOUT_HOURS`).
    pub default_timeout: Duration,
    /// Default crash budget (`COMPONENT_STUDIO_MAX_RESTARTS`).
    pub default_max_restarts: u32,
    /// GitHub REST base URL (`STUDIO_GITHUB_API_URL`).
    pub github_api_url: String,
    /// `GITHUB_TOKEN`, for pushing over HTTPS and opening pull requests.
    pub github_token: Option<SecretToken>,
    /// How Studio's own API is reached, for the URLs handed out to clients.
    pub urls: PublicUrls,
    /// How long a renderer may take from start to serving its page.
    pub renderer_startup_timeout: Duration,
    /// Events older than this are pruned.
    pub event_retention: Duration,
    /// npm's download cache for renderer installs (`STUDIO_NPM_CACHE`); `None`: `<data_dir>/npm-cache`.
    pub npm_cache: Option<PathBuf>,
    /// Live sandboxes at once (`--max-sandboxes`); the next create is refused with 429.
    pub max_sandboxes: usize,
    /// npm installs at once (`--max-installs`).
    pub max_installs: usize,
    /// Largest inactivity timeout a create may ask for (`--max-timeout-hours`).
    pub max_timeout: Duration,
    /// Repository sources callers may use (`--allow-source`); `None`: `https://github.com/*` and
    /// the GitHub Enterprise host of `github_api_url`.
    pub allow_sources: Option<Vec<studio_git::SourcePattern>>,
    /// Local paths and `file://` URLs (`--allow-local-sources`); the data dir never.
    pub allow_local_sources: bool,
    /// `github_repo` values allowed besides the session repository's own (`--allow-github-repo`,
    /// `owner/*` or `owner/name`).
    pub allow_github_repos: Vec<String>,
    /// Memory of each renderer's process tree, in bytes (`--sandbox-memory`); enforced by its
    /// cgroup, an out-of-memory kill is an `error` event and a crash restart.
    pub sandbox_memory: u64,
    /// Processes and threads of each renderer's tree at once (`--sandbox-pids`).
    pub sandbox_pids: u64,
    /// CPU weight of each renderer (cgroup v2 `cpu.weight` scale, 1-10000).
    pub sandbox_cpu_weight: u64,
    /// Renderers and installs in a jail (`--sandbox-user`), or not (`--insecure-no-jail`).
    pub jail: crate::isolation::JailMode,
    /// The data dir's size past which collection removes unreferenced caches
    /// (`--store-max-bytes`), and how long one may go unused (`--store-max-age-days`).
    pub store_max_bytes: u64,
    pub store_max_age: Duration,
    /// How often a running server collects (and once at start).
    pub collect_every: Duration,
    /// Pre-started renderers kept waiting for creates (`--renderer-pool`); 0: none.
    pub renderer_pool: usize,
}

/// Builds the URLs clients are given.
#[derive(Debug, Clone)]
pub struct PublicUrls {
    /// `http://127.0.0.1:7700`, no trailing slash: `--public-url`, or the address Studio listens
    /// on (with the port actually bound).
    pub api_base: String,
    /// `STUDIO_API_TOKEN`, if the API requires one: the renderer page then gets a socket token
    /// for its own sandbox (see [`crate::socket_token`]), never this.
    pub api_token: Option<SecretToken>,
    /// Previews are served at `<label>.<preview_domain>` (`--preview-domain`, default
    /// `localhost`: browsers resolve every `*.localhost` name to loopback).
    pub preview_domain: String,
    /// Scheme of the preview URLs handed out (`http` or `https`), from the public URL.
    pub preview_scheme: String,
    /// Port of the preview URLs handed out; `None` for the scheme's default port.
    pub preview_port: Option<u16>,
}

impl PublicUrls {
    /// URLs for a server reached at `api_base` (e.g. `http://127.0.0.1:7700`): previews on the
    /// same scheme and port, under the default preview domain.
    pub fn new(api_base: impl Into<String>) -> Self {
        let api_base = api_base.into().trim_end_matches('/').to_owned();
        let parsed = url::Url::parse(&api_base).ok();
        Self {
            preview_scheme: parsed
                .as_ref()
                .map_or_else(|| "http".to_owned(), |u| u.scheme().to_owned()),
            preview_port: parsed.as_ref().and_then(url::Url::port),
            api_base,
            api_token: None,
            preview_domain: defaults::PREVIEW_DOMAIN.to_owned(),
        }
    }

    /// The host a sandbox's preview is served on: `sb-<hex>.<preview domain>`, no port.
    pub fn preview_host(&self, id: &SandboxId) -> String {
        format!("{}.{}", id.preview_label(), self.preview_domain)
    }

    /// The front-door URL of a sandbox's preview (`renderer_url` in the API), with a trailing
    /// slash: `http://sb-<hex>.localhost:7700/`.
    pub fn preview(&self, id: &SandboxId) -> String {
        let port = self
            .preview_port
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        format!("{}://{}{port}/", self.preview_scheme, self.preview_host(id))
    }

    /// The host of [`PublicUrls::api_base`] (`127.0.0.1`, `studio.example.com`, `[::1]`), lower
    /// case, without the port: the front door answers the API on it.
    pub fn api_host(&self) -> Option<String> {
        let parsed = url::Url::parse(&self.api_base).ok()?;
        Some(parsed.host()?.to_string().to_ascii_lowercase())
    }

    pub fn websocket(&self, id: &SandboxId) -> String {
        let ws_base = if let Some(rest) = self.api_base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = self.api_base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            self.api_base.clone()
        };
        format!("{ws_base}/api/v1/sandboxes/{id}/ws")
    }

    /// The WebSocket URL the renderer page connects to: [`PublicUrls::websocket`], plus the
    /// sandbox's socket token when the API requires a token.
    pub fn renderer_socket(&self, id: &SandboxId) -> String {
        let url = self.websocket(id);
        match &self.api_token {
            Some(token) => format!("{url}?token={}", crate::socket_token(token.expose(), id)),
            None => url,
        }
    }
}

/// Longest path a Unix socket can be bound at (`sun_path` is 108 bytes with its NUL).
pub const MAX_SOCKET_PATH: usize = 107;

impl ManagerConfig {
    /// The defaults of [`studio_core::defaults`] for a server whose API is at `api_base`, keeping
    /// its data in `data_dir`.
    pub fn new(
        data_dir: impl Into<PathBuf>,
        template_dir: impl Into<PathBuf>,
        api_base: &str,
    ) -> Self {
        Self {
            data_dir: data_dir.into(),
            template_dir: template_dir.into(),
            default_timeout: defaults::TIMEOUT,
            default_max_restarts: defaults::MAX_RESTARTS,
            github_api_url: defaults::GITHUB_API_URL.into(),
            github_token: None,
            urls: PublicUrls::new(api_base),
            renderer_startup_timeout: defaults::RENDERER_STARTUP_TIMEOUT,
            event_retention: defaults::EVENT_RETENTION,
            npm_cache: None,
            max_sandboxes: defaults::MAX_SANDBOXES,
            max_installs: defaults::MAX_INSTALLS,
            max_timeout: Duration::from_secs_f64(defaults::MAX_TIMEOUT_HOURS * 3600.0),
            allow_sources: None,
            allow_local_sources: false,
            allow_github_repos: Vec::new(),
            sandbox_memory: defaults::SANDBOX_MEMORY_BYTES,
            sandbox_pids: defaults::SANDBOX_PIDS,
            sandbox_cpu_weight: defaults::SANDBOX_CPU_WEIGHT,
            jail: crate::isolation::JailMode::default(),
            store_max_bytes: defaults::STORE_MAX_BYTES,
            store_max_age: Duration::from_secs_f64(defaults::STORE_MAX_AGE_DAYS * 86_400.0),
            collect_every: defaults::COLLECT_EVERY,
            renderer_pool: defaults::RENDERER_POOL,
        }
    }

    /// The Unix socket a sandbox's renderer serves on: `<data-dir>/run/<hex>.sock`. Short on
    /// purpose: a socket path has at most `MAX_SOCKET_PATH` (107) bytes.
    pub fn renderer_socket(&self, id: &SandboxId) -> PathBuf {
        self.data_dir.join("run").join(format!("{}.sock", id.hex()))
    }

    /// The Unix socket a pre-started renderer of the pool serves on until a sandbox claims it
    /// (its path then becomes [`ManagerConfig::renderer_socket`]): `<data-dir>/run/pool-<name>.sock`.
    pub fn pool_socket(&self, slot: &str) -> PathBuf {
        self.data_dir.join("run").join(format!("pool-{slot}.sock"))
    }

    /// Refuses a data directory whose renderer socket paths would not fit a `sockaddr_un`.
    pub fn check_socket_paths(&self) -> Result<(), String> {
        let longest = self.renderer_socket(&SandboxId::from_random([0; 8]));
        let len = longest.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(format!(
                "the data directory {} is too deep for renderer sockets: {} is {len} bytes, \
                 a Unix socket path may have at most {MAX_SOCKET_PATH}; choose a shorter --data-dir",
                self.data_dir.display(),
                longest.display()
            ));
        }
        Ok(())
    }

    /// What a create request gets for every field it leaves out: this server's timeout and crash
    /// budget, and [`SandboxConfig::default`] for the rest.
    pub(crate) fn sandbox_defaults(&self) -> SandboxConfig {
        SandboxConfig {
            timeout: self.default_timeout,
            max_restarts: self.default_max_restarts,
            ..SandboxConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls_follow_the_api_scheme() {
        let id = SandboxId::from_random([0xab; 8]);
        assert_eq!(
            PublicUrls::new("http://127.0.0.1:7700/").websocket(&id),
            "ws://127.0.0.1:7700/api/v1/sandboxes/sb_abababababababab/ws"
        );
        assert_eq!(
            PublicUrls::new("https://studio.example").websocket(&id),
            "wss://studio.example/api/v1/sandboxes/sb_abababababababab/ws"
        );
        assert_eq!(
            PublicUrls::new("http://127.0.0.1:7700")
                .api_host()
                .as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            PublicUrls::new("https://Studio.Example.com")
                .api_host()
                .as_deref(),
            Some("studio.example.com")
        );
        assert_eq!(
            PublicUrls::new("http://[::1]:7700").api_host().as_deref(),
            Some("[::1]")
        );
    }

    #[test]
    fn previews_are_served_on_their_own_host_of_the_public_scheme_and_port() {
        let id = SandboxId::from_random([0xab; 8]);
        let urls = PublicUrls::new("http://127.0.0.1:7700");
        assert_eq!(urls.preview_host(&id), "sb-abababababababab.localhost");
        assert_eq!(
            urls.preview(&id),
            "http://sb-abababababababab.localhost:7700/"
        );
        let mut behind_ingress = PublicUrls::new("https://studio.example.com");
        behind_ingress.preview_domain = "preview.example.com".into();
        assert_eq!(
            behind_ingress.preview(&id),
            "https://sb-abababababababab.preview.example.com/"
        );
    }

    #[test]
    fn renderer_sockets_live_under_the_data_dir_and_must_fit_a_socket_address() {
        let id = SandboxId::from_random([0xab; 8]);
        let config = ManagerConfig::new("/data", "/template", "http://127.0.0.1:7700");
        assert_eq!(
            config.renderer_socket(&id),
            PathBuf::from("/data/run/abababababababab.sock")
        );
        assert!(config.check_socket_paths().is_ok());
        let deep = ManagerConfig::new(format!("/{}", "d".repeat(90)), "/t", "http://x");
        let err = deep.check_socket_paths().unwrap_err();
        assert!(err.contains("at most 107"), "{err}");
    }
}
