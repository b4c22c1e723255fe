//! `studio serve`, `studio migrate`, `studio demo`: the server side of the binary.
//!
//! Flags and environment follow API.md. Everything here is start-up and shutdown plumbing; the
//! product lives in `studio-sandbox` (the manager) and `studio-api` (HTTP).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use studio_core::{SecretToken, defaults};
use studio_sandbox::{Manager, ManagerConfig};
use tokio::net::TcpListener;

/// `studio serve` (and `studio demo`): where and how the server runs.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address of the REST + WebSocket API and of every preview (port 0 picks a free port).
    #[arg(long, env = "STUDIO_LISTEN", default_value = defaults::LISTEN)]
    pub listen: SocketAddr,
    /// Domain of the preview hosts: a sandbox's preview is served at `sb-<hex>.<domain>`
    /// (`localhost` works in browsers without any DNS; behind an ingress, a wildcard domain).
    #[arg(long, env = "STUDIO_PREVIEW_DOMAIN", default_value = defaults::PREVIEW_DOMAIN, value_parser = parse_preview_domain)]
    pub preview_domain: String,
    /// Scheme, host and port clients reach Studio at (e.g. `https://studio.example.com` behind an
    /// ingress); the URLs handed out use it. Default: the listen address.
    #[arg(long, env = "STUDIO_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<url::Url>,
    /// Requests of one preview in flight at once through the front door (WebSockets included).
    #[arg(long, env = "STUDIO_PREVIEW_MAX_REQUESTS", default_value_t = studio_api::PreviewLimits::default().max_requests_per_sandbox)]
    pub preview_max_requests: usize,
    /// Open WebSockets (Vite's HMR, one per open tab) of one preview.
    #[arg(long, env = "STUDIO_PREVIEW_MAX_WEBSOCKETS", default_value_t = studio_api::PreviewLimits::default().max_websockets_per_sandbox)]
    pub preview_max_websockets: usize,
    /// Database, repository caches, sandbox work dirs, dependency caches.
    #[arg(long, env = "STUDIO_DATA_DIR", default_value = defaults::DATA_DIR)]
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default `sqlite://<data-dir>/studio.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Template the renderer app is generated from; default: the repository's `studio-template/`.
    #[arg(long, env = "COMPONENT_STUDIO_TEMPLATE_DIR")]
    pub template_dir: Option<PathBuf>,
    /// Deprecated, ignored: renderers serve on Unix sockets under `<data-dir>/run/`, not on TCP
    /// ports. Still accepted so that existing scripts keep starting; a warning is logged.
    #[arg(long, env = "COMPONENT_STUDIO_VITE_PORT")]
    pub vite_port: Option<u16>,
    /// Inactivity timeout in hours (decimal, e.g. 0.002).
    #[arg(long, env = "COMPONENT_STUDIO_TIMEOUT_HOURS", default_value_t = defaults::TIMEOUT_HOURS)]
    pub timeout_hours: f64,
    /// Largest `timeout_hours` a create may ask for; `--timeout-hours` may not exceed it.
    #[arg(long, env = "STUDIO_MAX_TIMEOUT_HOURS", default_value_t = defaults::MAX_TIMEOUT_HOURS)]
    pub max_timeout_hours: f64,
    /// Live sandboxes at once (stopped ones count: they keep their checkout); the next create gets
    /// 429 with `Retry-After`.
    #[arg(long, env = "STUDIO_MAX_SANDBOXES", default_value_t = defaults::MAX_SANDBOXES)]
    pub max_sandboxes: usize,
    /// Pre-started renderers (Node and Vite loaded, a throwaway dev server run once) kept waiting
    /// for creates; a create claims one instead of starting a renderer cold. 0 turns the pool off.
    /// In a jail it needs Studio to run as root (a claim mounts the checkout into the renderer's
    /// jail); otherwise it is off with a warning.
    #[arg(long, env = "STUDIO_RENDERER_POOL", default_value_t = defaults::RENDERER_POOL)]
    pub renderer_pool: usize,
    /// Events (the WebSocket replay log) older than this many hours are deleted (checked at least
    /// twice per period, at most hourly).
    #[arg(long, env = "STUDIO_EVENT_RETENTION_HOURS", default_value_t = studio_core::defaults::EVENT_RETENTION.as_secs_f64() / 3600.0, value_parser = parse_positive_hours)]
    pub event_retention_hours: f64,
    /// npm installs running at once (a new repository's dependencies); more wait for a slot.
    #[arg(long, env = "STUDIO_MAX_INSTALLS", default_value_t = defaults::MAX_INSTALLS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_installs: usize,
    /// Messages per second one WebSocket client may send on average (bursts of twice as many);
    /// over it messages are dropped with a `rate_limited` error, and a flooding client is closed.
    #[arg(long, env = "STUDIO_WS_MESSAGES_PER_SECOND", default_value_t = studio_api::WsLimits::default().messages_per_second)]
    pub ws_messages_per_second: f64,
    /// At most one `component-selected` per WebSocket connection is stored per this many
    /// milliseconds (the latest wins); 0 stores every one.
    #[arg(long, env = "STUDIO_WS_SELECTION_INTERVAL_MS", default_value_t = 100)]
    pub ws_selection_interval_ms: u64,
    /// Memory of each sandbox's renderer (its whole process tree): bytes or `512MiB`, `1GiB`.
    /// Over it the kernel kills the renderer: an `error` event, then a crash restart.
    #[arg(long, env = "STUDIO_SANDBOX_MEMORY", default_value = "1GiB", value_parser = parse_sandbox_memory)]
    pub sandbox_memory: u64,
    /// Processes and threads each sandbox's renderer may run at once.
    #[arg(long, env = "STUDIO_SANDBOX_PIDS", default_value_t = defaults::SANDBOX_PIDS, value_parser = clap::value_parser!(u64).range(1..))]
    pub sandbox_pids: u64,
    /// The host user renderers and npm run as, in their jail, when Studio runs as root (a
    /// system user of its own: `useradd --system --no-create-home studio-sandbox`).
    #[arg(long, env = "STUDIO_SANDBOX_USER", default_value = studio_sandbox::DEFAULT_SANDBOX_USER)]
    pub sandbox_user: String,
    /// Run renderers and installs without a jail, as Studio's own user with its view of the
    /// host: a repository's code can then read Studio's data and secrets. Development only.
    #[arg(long, env = "STUDIO_INSECURE_NO_JAIL", value_parser = clap::builder::FalseyValueParser::new())]
    pub insecure_no_jail: bool,
    /// Crashes tolerated before a sandbox is `failed`.
    #[arg(long, env = "COMPONENT_STUDIO_MAX_RESTARTS", default_value_t = defaults::MAX_RESTARTS)]
    pub max_restarts: u32,
    /// GitHub REST base URL (GitHub Enterprise, or a test peer).
    #[arg(long, env = "STUDIO_GITHUB_API_URL", default_value = defaults::GITHUB_API_URL)]
    pub github_api_url: String,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "STUDIO_MAX_BODY_BYTES", default_value_t = defaults::MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// npm's download cache for renderer installs; default `<data-dir>/npm-cache`. Several servers
    /// (or test runs) with their own data directories can share one, so only the first install of a
    /// dependency set downloads anything.
    #[arg(long, env = "STUDIO_NPM_CACHE")]
    pub npm_cache: Option<PathBuf>,
    /// Repository URLs callers may use, `scheme://host[:port][/path-glob]` (`*` matches any run of
    /// characters; host `*.domain` or `*`). Repeatable; the variable is comma-separated. Default:
    /// `https://github.com/*` and the GitHub Enterprise host of `--github-api-url`.
    #[arg(long = "allow-source", env = "STUDIO_ALLOW_SOURCES", value_delimiter = ',', value_parser = parse_source_pattern)]
    pub allow_sources: Vec<studio_git::SourcePattern>,
    /// Origins whose pages may call the API from a browser (a design tool served elsewhere),
    /// `http(s)://host[:port]`; each gets its own origin echoed back, never `*`, and no
    /// credentials header. Repeatable; the variable is comma-separated. Default: none.
    #[arg(long = "cors-origin", env = "STUDIO_CORS_ORIGINS", value_delimiter = ',', value_parser = parse_cors_origin)]
    pub cors_origins: Vec<studio_api::CorsOrigin>,
    /// Accept local paths and `file://` URLs (development, tests, `studio demo`); Studio's data
    /// dir is refused even then.
    #[arg(long, env = "STUDIO_ALLOW_LOCAL_SOURCES", value_parser = clap::builder::FalseyValueParser::new())]
    pub allow_local_sources: bool,
    /// `github_repo` values allowed besides the session repository's own GitHub name
    /// (`owner/*`, `owner/name`). Repeatable; the variable is comma-separated.
    #[arg(
        long = "allow-github-repo",
        env = "STUDIO_ALLOW_GITHUB_REPOS",
        value_delimiter = ','
    )]
    pub allow_github_repos: Vec<String>,
    /// When caches are collected (at start, hourly, and by `studio gc`).
    #[command(flatten)]
    pub store_bounds: crate::store_bounds::StoreBounds,
}

/// `studio migrate`
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    #[arg(long, env = "STUDIO_DATA_DIR", default_value = defaults::DATA_DIR)]
    pub data_dir: PathBuf,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// Sets up logging: `STUDIO_LOG` (or `RUST_LOG`) filters, default `info`.
pub fn init_tracing() {
    let filter = std::env::var("STUDIO_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in files or a log collector.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub(crate) fn database_url(data_dir: &Path, explicit: Option<&str>) -> String {
    match explicit {
        Some(url) if !url.trim().is_empty() => url.to_owned(),
        _ => studio_store::default_sqlite_url(data_dir),
    }
}

/// `studio migrate`: applies pending migrations and says which.
pub async fn migrate(args: MigrateArgs) -> Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let url = database_url(&args.data_dir, args.database_url.as_deref());
    let report = studio_store::migrate(&url).await?;
    if report.applied.is_empty() {
        println!(
            "{}: schema up to date (version {:?})",
            studio_store::redact_url(&url),
            report.schema_version
        );
    } else {
        for m in &report.applied {
            println!("applied {} {}", m.version, m.description);
        }
    }
    Ok(())
}

/// A started server: its address and the handles needed to stop it.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub manager: Manager,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// Opens the store, recovers sandboxes, binds the listener and starts serving.
pub async fn start(
    args: &ServeArgs,
    api_token: Option<SecretToken>,
    github_token: Option<SecretToken>,
) -> Result<Running> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let data_dir = std::fs::canonicalize(&args.data_dir)
        .with_context(|| format!("cannot resolve data directory {}", args.data_dir.display()))?;
    if !(args.timeout_hours.is_finite() && args.timeout_hours > 0.0) {
        bail!(
            "COMPONENT_STUDIO_TIMEOUT_HOURS must be a number above 0, got {}",
            args.timeout_hours
        );
    }
    if !(args.max_timeout_hours.is_finite() && args.max_timeout_hours > 0.0) {
        bail!(
            "STUDIO_MAX_TIMEOUT_HOURS must be a number above 0, got {}",
            args.max_timeout_hours
        );
    }
    if args.timeout_hours > args.max_timeout_hours {
        bail!(
            "COMPONENT_STUDIO_TIMEOUT_HOURS ({}) is above STUDIO_MAX_TIMEOUT_HOURS ({}); \
             lower the default or raise the limit",
            args.timeout_hours,
            args.max_timeout_hours
        );
    }
    require_token_off_loopback(args.listen, api_token.is_some())?;
    if !(args.ws_messages_per_second.is_finite() && args.ws_messages_per_second > 0.0) {
        bail!(
            "STUDIO_WS_MESSAGES_PER_SECOND must be a number above 0, got {}",
            args.ws_messages_per_second
        );
    }
    if let Some(port) = args.vite_port {
        warn_vite_port_deprecated(port);
    }
    raise_open_file_limit();
    let template_dir = template_dir(args.template_dir.as_deref())?;
    let url = database_url(&data_dir, args.database_url.as_deref());
    // The store's error names the URL (password redacted) and the reason.
    let store = studio_store::connect(&url).await?;
    // After raising the open files limit: what is left too low is the operator's to raise.
    studio_sandbox::DensityCheck::read(args.max_sandboxes).log();

    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    // After binding: with port 0 the URLs handed out must carry the port actually bound.
    let api_base = match &args.public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => format!("http://{addr}"),
    };
    let mut config = ManagerConfig::new(&data_dir, template_dir, &api_base);
    config.urls.preview_domain = args.preview_domain.clone();
    config.default_timeout = Duration::from_secs_f64(args.timeout_hours * 3600.0);
    config.default_max_restarts = args.max_restarts;
    config.max_timeout = Duration::from_secs_f64(args.max_timeout_hours * 3600.0);
    config.max_sandboxes = args.max_sandboxes;
    config.renderer_pool = args.renderer_pool;
    config.event_retention = Duration::from_secs_f64(args.event_retention_hours * 3600.0);
    config.max_installs = args.max_installs;
    config.sandbox_memory = args.sandbox_memory;
    config.sandbox_pids = args.sandbox_pids;
    config.jail = if args.insecure_no_jail {
        studio_sandbox::JailMode::Insecure
    } else {
        studio_sandbox::JailMode::Required(studio_sandbox::JailSettings {
            user: args.sandbox_user.clone(),
            ..studio_sandbox::JailSettings::default()
        })
    };
    config.github_api_url = args.github_api_url.clone();
    config.github_token = github_token;
    config.npm_cache = args.npm_cache.clone();
    if !args.allow_sources.is_empty() {
        config.allow_sources = Some(args.allow_sources.clone());
    }
    config.allow_local_sources = args.allow_local_sources;
    config.allow_github_repos = args.allow_github_repos.clone();
    let bounds = args.store_bounds.bounds();
    (config.store_max_bytes, config.store_max_age) = (bounds.max_bytes, bounds.max_age);
    config.urls.api_token = api_token.clone();
    let public_host = config.urls.api_host();
    // Renderer sockets live at <data-dir>/run/<hex>.sock: refuse a data dir too deep for them.
    config.check_socket_paths().map_err(anyhow::Error::msg)?;
    let manager = Manager::open(config, store).await?;

    let api = studio_api::ApiConfig {
        token: api_token.map(|t| studio_api::ApiToken::new(t.expose())),
        body_limit: args.max_body_bytes,
        preview: preview_config(args, addr, public_host),
        ws: studio_api::WsLimits {
            messages_per_second: args.ws_messages_per_second,
            selection_interval: Duration::from_millis(args.ws_selection_interval_ms),
        },
        cors_origins: args.cors_origins.clone(),
    };
    if !api.cors_origins.is_empty() {
        let origins: Vec<&str> = api.cors_origins.iter().map(|o| o.as_str()).collect();
        tracing::info!(
            ?origins,
            "the API answers cross-origin requests from these origins"
        );
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server_manager = manager.clone();
    let server = tokio::spawn(async move {
        studio_api::serve(listener, server_manager, &api, async move {
            let _ = stopped.await;
        })
        .await
    });
    tracing::info!(%addr, data_dir = %data_dir.display(), database = %studio_store::redact_url(&url), "Studio is listening");
    Ok(Running {
        addr,
        manager,
        server,
        stop,
    })
}

impl Running {
    /// Stops accepting requests, lets those in flight finish, then stops every renderer.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        let served = self.server.await;
        self.manager.shutdown().await;
        served
            .context("server task failed")?
            .context("server failed")?;
        Ok(())
    }
}

/// `--sandbox-memory`: a size (see [`studio_core::bytes::parse_bytes`]), at least 1 MiB.
fn parse_sandbox_memory(value: &str) -> Result<u64, String> {
    let bytes = studio_core::bytes::parse_bytes(value)?;
    match bytes >= 1 << 20 {
        true => Ok(bytes),
        false => Err(format!(
            "{value:?} is below the smallest memory limit, 1MiB"
        )),
    }
}

/// `--event-retention-hours`: a finite number of hours above zero (`0.1` is six minutes).
fn parse_positive_hours(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(hours) if hours.is_finite() && hours > 0.0 && hours <= 24.0 * 366.0 => Ok(hours),
        _ => Err(format!(
            "{value:?} is not a number of hours above 0 and at most a year (8784)"
        )),
    }
}

/// `--allow-source`: a pattern error names the pattern and the expected syntax.
fn parse_source_pattern(pattern: &str) -> Result<studio_git::SourcePattern, String> {
    studio_git::SourcePattern::parse(pattern).map_err(|e| e.to_string())
}

/// `--cors-origin`: the error names the value and the expected form.
fn parse_cors_origin(value: &str) -> Result<studio_api::CorsOrigin, String> {
    studio_api::CorsOrigin::parse(value).map_err(|e| e.to_string())
}

/// `--vite-port` / `COMPONENT_STUDIO_VITE_PORT` do nothing since renderers left TCP; said once.
fn warn_vite_port_deprecated(port: u16) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            port,
            "--vite-port / COMPONENT_STUDIO_VITE_PORT is deprecated and ignored: renderers serve \
             on Unix sockets under <data-dir>/run/ and are reached through Studio's own port"
        );
    });
}

/// The front door's settings: the preview domain, the hosts the API answers on (the listen
/// address and the public URL's host, besides the loopback names), and the limits.
fn preview_config(
    args: &ServeArgs,
    addr: SocketAddr,
    public_host: Option<String>,
) -> studio_api::PreviewConfig {
    let listen_host = match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let limits = studio_api::PreviewLimits {
        max_requests_per_sandbox: args.preview_max_requests.max(1),
        max_websockets_per_sandbox: args.preview_max_websockets,
        ..Default::default()
    };
    studio_api::PreviewConfig {
        domain: args.preview_domain.clone(),
        api_hosts: std::iter::once(listen_host).chain(public_host).collect(),
        limits,
    }
}

/// `--preview-domain`: a DNS name (letters, digits, `-`, dots between labels), stored lower case.
fn parse_preview_domain(value: &str) -> Result<String, String> {
    let domain = value.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if domain.is_empty() || domain.len() > 200 || !domain.split('.').all(valid_label) {
        return Err(format!(
            "{value:?} is not a domain name (e.g. localhost or preview.example.com; no scheme or port)"
        ));
    }
    Ok(domain)
}

/// `--public-url`: `http` or `https`, a host, an optional port, no path, query or user info.
fn parse_public_url(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value.trim()).map_err(|e| format!("{value:?} is not a URL: {e}"))?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !plain {
        return Err(format!(
            "{value:?} must be http(s)://host[:port] with nothing after it (e.g. https://studio.example.com)"
        ));
    }
    Ok(url)
}

/// Resolves when SIGTERM or SIGINT arrives.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the server can only be killed; wait forever.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}

/// `studio serve`
pub async fn serve(
    args: ServeArgs,
    api_token: Option<SecretToken>,
    github_token: Option<SecretToken>,
) -> Result<()> {
    let running = start(&args, api_token, github_token).await?;
    // One machine-readable line on stdout, for scripts and tests that start on port 0.
    println!("listening on http://{}", running.addr);
    shutdown_signal().await;
    running.stop().await
}

/// Refuses to serve beyond this machine without an API token: anyone who reaches the port could
/// create sandboxes (clone, install, run code) and read every preview. Checked before binding.
fn require_token_off_loopback(listen: SocketAddr, has_token: bool) -> Result<()> {
    // 127.0.0.0/8 and ::1 (an IPv4-mapped loopback such as ::ffff:127.0.0.1 counts too).
    let loopback = match listen.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    };
    if !loopback && !has_token {
        bail!(
            "refusing to listen on {listen} without an API token: anyone who reaches this address              could create sandboxes and run code. Set STUDIO_API_TOKEN (or --api-token), or              listen on a loopback address such as 127.0.0.1"
        );
    }
    Ok(())
}

/// Raises the soft limit of open files to the hard limit.
///
/// Every WebSocket client is a file descriptor, and so is every renderer's pipe: a server meant for
/// a thousand clients cannot live with the common default soft limit of 1,024. The hard limit is
/// the administrator's word and stays; the soft one is only a default.
fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    /// Linux's default `fs.nr_open`: the most a process may ask for when the hard limit is unlimited.
    const NR_OPEN: u64 = 1 << 20;
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    let target = maximum.unwrap_or(NR_OPEN);
    if current.is_some_and(|soft| soft < target) {
        let raised = Rlimit {
            current: Some(target),
            maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => tracing::debug!(from = current, to = target, "raised the open files limit"),
            Err(e) => tracing::warn!("could not raise the open files limit above {current:?}: {e}"),
        }
    }
}

/// The template next to the binary's sources (a checkout), or `./studio-template`.
pub(crate) fn template_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return std::fs::canonicalize(dir)
            .with_context(|| format!("template directory {} does not exist", dir.display()));
    }
    let candidates = [
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../studio-template"
        )),
        PathBuf::from("studio-template"),
    ];
    candidates
        .iter()
        .find_map(|c| std::fs::canonicalize(c).ok())
        .context("cannot find studio-template/: set COMPONENT_STUDIO_TEMPLATE_DIR")
}

/// The sample repository shipped with Studio, for `studio demo`.
pub fn example_repository() -> Result<PathBuf> {
    let candidates = [
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/design-system"
        )),
        PathBuf::from("examples/design-system"),
    ];
    candidates
        .iter()
        .find_map(|c| std::fs::canonicalize(c).ok())
        .context("cannot find examples/design-system")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_listens_without_a_token() {
        for loopback in [
            "127.0.0.1:7700",
            "127.8.9.10:0",
            "[::1]:0",
            "[::ffff:127.0.0.1]:0",
        ] {
            let addr: SocketAddr = loopback.parse().unwrap();
            assert!(require_token_off_loopback(addr, false).is_ok(), "{addr}");
        }
        for open in [
            "0.0.0.0:7700",
            "[::]:0",
            "10.0.0.5:80",
            "[::ffff:10.0.0.5]:0",
        ] {
            let addr: SocketAddr = open.parse().unwrap();
            let refused = require_token_off_loopback(addr, false).unwrap_err();
            assert!(
                refused.to_string().contains("STUDIO_API_TOKEN"),
                "{refused}"
            );
            assert!(require_token_off_loopback(addr, true).is_ok(), "{addr}");
        }
    }
}
