//! The npm jail's only way out: an HTTP forward proxy on a Unix socket that reaches the registry
//! and nothing else.
//!
//! `npm ci` runs in a bubblewrap jail whose network namespace has only loopback, so it can open
//! no connection to the outside by itself. The one exception is this proxy's Unix socket,
//! bind-mounted into the jail: inside, `npm_bridge.mjs` ([`NPM_BRIDGE`]) listens on a loopback
//! TCP port, splices each connection to the socket, and points npm's `proxy`/`https-proxy`
//! settings at that port. The proxy runs in the Studio server process, outside the jail, and
//! accepts only:
//!
//! * `CONNECT host:port` (HTTPS registries) for an allowed `host:port`: a byte tunnel, TLS stays
//!   end to end between npm and the registry;
//! * absolute-form requests (`GET http://host:port/path`, plain-HTTP registries) for an allowed
//!   `host:port`: forwarded in origin form with `Connection: close`, so that a kept-alive
//!   connection can never carry a later request for another host to this one.
//!
//! Everything else gets `403 Forbidden` naming the refused host, so npm's error says why. DNS
//! resolution happens here, outside the jail (which has no resolver). When the server's own
//! environment names an upstream proxy (`HTTPS_PROXY`), CONNECT tunnels are chained through it,
//! except for hosts listed in `NO_PROXY`.
//!
//! Request headers are never logged or echoed: npm sends the registry token in `Authorization`.

use std::fmt;
use std::io;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

/// The script that runs npm inside the jail and bridges its loopback proxy port to the Unix
/// socket of a [`RegistryProxy`]: `node npm_bridge.mjs <socket> <npm-cli> [args...]`.
pub const NPM_BRIDGE: &str = include_str!("npm_bridge.mjs");

/// A request head larger than this is not npm's (its heads are well under 2 KiB).
const MAX_HEAD: usize = 16 * 1024;
/// Time for a client to send its whole request head, and for an upstream proxy to answer.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Time to reach the registry (or the upstream proxy and, through it, the registry).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// npm opens at most `maxsockets` (15 by default) connections; 64 leaves room for retries
/// while bounding what a runaway client can make the server hold.
const MAX_CONNECTIONS: usize = 64;
/// Time to deliver an error answer; a client that reads nothing must not pin a task.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Input read and discarded after an error answer (see `reply`).
const DRAIN_LIMIT: usize = 1024 * 1024;

/// A `host:port` npm may reach through the proxy: the registry's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    /// Lower-case domain name, or an IP address without brackets.
    pub host: String,
    pub port: u16,
}

impl AllowedHost {
    /// The host and port of a registry URL such as `https://registry.npmjs.org/`; the port
    /// defaults to 443 for `https` and 80 for `http`. `None` for any other scheme or no host.
    pub fn from_url(url: &str) -> Option<Self> {
        let url = url::Url::parse(url).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        let host = match url.host()? {
            url::Host::Domain(domain) => domain.to_ascii_lowercase(),
            url::Host::Ipv4(ip) => ip.to_string(),
            url::Host::Ipv6(ip) => ip.to_string(),
        };
        Some(Self {
            host,
            port: url.port_or_known_default()?,
        })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        self.port == port && self.host.eq_ignore_ascii_case(host)
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Authority(&self.host, self.port))
    }
}

/// `host:port`, with brackets around an IPv6 address.
struct Authority<'a>(&'a str, u16);

impl fmt::Display for Authority<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.contains(':') {
            write!(f, "[{}]:{}", self.0, self.1)
        } else {
            write!(f, "{}:{}", self.0, self.1)
        }
    }
}

/// The running proxy. Dropping it stops accepting, closes every open tunnel and removes the
/// socket file.
#[derive(Debug)]
pub struct RegistryProxy {
    socket: PathBuf,
    accept_loop: JoinHandle<()>,
}

impl RegistryProxy {
    /// Binds `socket` (removing a stale socket file first), makes it connectable by any uid (the
    /// jailed npm runs as another one; the directory's permissions still decide who reaches it),
    /// and spawns the accept loop on the current tokio runtime.
    ///
    /// Fails if there is no runtime, or if `socket` exists and is not a socket: a regular file
    /// there is somebody's data, not a leftover of ours.
    pub fn start(socket: &Path, allowed: Vec<AllowedHost>) -> io::Result<Self> {
        let upstream = Upstream::from_env();
        Self::start_with(
            socket,
            Config {
                allowed,
                upstream,
                limits: Limits::default(),
            },
        )
    }

    /// The path of the listening socket, to bind-mount into the jail.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn start_with(socket: &Path, config: Config) -> io::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        remove_stale_socket(socket)?;
        // Registering the listener with the reactor needs the runtime's context.
        let listener = {
            let _context = runtime.enter();
            UnixListener::bind(socket)?
        };
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o666))?;
        if config.allowed.is_empty() {
            tracing::warn!(socket = %socket.display(), "registry proxy allows no host: npm will reach nothing");
        }
        let accept_loop = runtime.spawn(accept_loop(listener, Arc::new(config)));
        Ok(Self {
            socket: socket.to_path_buf(),
            accept_loop,
        })
    }
}

impl Drop for RegistryProxy {
    fn drop(&mut self) {
        // Aborting the loop drops its JoinSet, which aborts every connection task: no tunnel
        // outlives the install it was opened for.
        self.accept_loop.abort();
        if let Err(err) = remove_stale_socket(&self.socket) {
            tracing::debug!(socket = %self.socket.display(), %err, "cannot remove registry proxy socket");
        }
    }
}

/// Removes `path` if it is a socket; nothing there is fine; anything else is an error.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

#[derive(Debug)]
struct Config {
    allowed: Vec<AllowedHost>,
    upstream: Option<Upstream>,
    limits: Limits,
}

impl Config {
    fn is_allowed(&self, host: &str, port: u16) -> bool {
        self.allowed.iter().any(|a| a.matches(host, port))
    }

    /// What the 403 says npm may reach.
    fn allowed_list(&self) -> String {
        if self.allowed.is_empty() {
            return "nothing".to_owned();
        }
        self.allowed
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Separate from the constants so that tests can shorten them.
#[derive(Debug, Clone)]
struct Limits {
    max_connections: usize,
    head_timeout: Duration,
    connect_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: MAX_CONNECTIONS,
            head_timeout: HEAD_TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
        }
    }
}

/// The operator's own HTTP proxy, through which the server must reach the outside.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Upstream {
    host: String,
    port: u16,
    /// `NO_PROXY` entries: hosts reached directly.
    no_proxy: Vec<String>,
}

impl Upstream {
    fn from_env() -> Option<Self> {
        let var = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        };
        let proxy = var(["HTTPS_PROXY", "https_proxy"])?;
        let no_proxy = var(["NO_PROXY", "no_proxy"]).unwrap_or_default();
        Self::parse(&proxy, &no_proxy)
    }

    /// `http://host:port` (or `host:port`, as curl accepts). Other schemes and credentials are
    /// not supported: they are logged and the proxy then connects directly.
    fn parse(proxy: &str, no_proxy: &str) -> Option<Self> {
        let proxy = proxy.trim();
        let with_scheme = if proxy.contains("://") {
            proxy.to_owned()
        } else {
            format!("http://{proxy}")
        };
        let Ok(url) = url::Url::parse(&with_scheme) else {
            tracing::warn!("HTTPS_PROXY is not a URL; the registry proxy connects directly");
            return None;
        };
        if url.scheme() != "http" {
            tracing::warn!(
                scheme = url.scheme(),
                "HTTPS_PROXY scheme not supported (only http://); the registry proxy connects directly"
            );
            return None;
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Not logged further: the URL holds a password.
            tracing::warn!(
                "HTTPS_PROXY with credentials is not supported; the registry proxy connects directly"
            );
            return None;
        }
        let host = match url.host()? {
            url::Host::Domain(domain) => domain.to_owned(),
            url::Host::Ipv4(ip) => ip.to_string(),
            url::Host::Ipv6(ip) => ip.to_string(),
        };
        let no_proxy = no_proxy
            .split(',')
            .map(|entry| {
                entry
                    .trim()
                    .trim_start_matches("*.")
                    .trim_start_matches('.')
            })
            .filter(|entry| !entry.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        Some(Self {
            host,
            port: url.port_or_known_default()?,
            no_proxy,
        })
    }

    /// curl's `NO_PROXY` rules, without ports or CIDR: `*`, the host itself, or a parent domain.
    fn bypassed_for(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.no_proxy.iter().any(|entry| {
            entry == "*"
                || *entry == host
                || host
                    .strip_suffix(entry.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }
}

async fn accept_loop(listener: UnixListener, config: Arc<Config>) {
    let permits = Arc::new(Semaphore::new(config.limits.max_connections));
    let refusals = Arc::new(Semaphore::new(config.limits.max_connections));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => match Arc::clone(&permits).try_acquire_owned() {
                    Ok(permit) => {
                        let config = Arc::clone(&config);
                        connections.spawn(async move {
                            serve(client, &config).await;
                            drop(permit);
                        });
                    }
                    Err(_) => refuse_busy(
                        client,
                        &refusals,
                        &mut connections,
                        config.limits.max_connections,
                    ),
                },
                Err(err) => {
                    // Typically EMFILE: retrying at once would spin; a short pause lets
                    // connections finish and free descriptors.
                    tracing::warn!(%err, "registry proxy cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(joined) = connections.join_next(), if !connections.is_empty() => {
                if let Err(err) = joined {
                    tracing::error!(%err, "registry proxy connection task failed");
                }
            }
        }
    }
}

/// Answers 503 from a task of its own, so the accept loop never waits on an excess client;
/// those tasks are bounded too (`refusals`), beyond which excess clients are just closed.
fn refuse_busy(
    mut client: UnixStream,
    refusals: &Arc<Semaphore>,
    connections: &mut JoinSet<()>,
    max_connections: usize,
) {
    tracing::warn!(
        max_connections,
        "registry proxy refused a connection: too many open"
    );
    if let Ok(permit) = Arc::clone(refusals).try_acquire_owned() {
        connections.spawn(async move {
            reply(
                &mut client,
                "503 Service Unavailable",
                "studio: too many registry connections\n",
            )
            .await;
            drop(permit);
        });
    }
}

/// One client connection: read its head, then tunnel, forward or refuse.
async fn serve(mut client: UnixStream, config: &Config) {
    let head = match read_head(&mut client, config.limits.head_timeout).await {
        Ok(Some(head)) => head,
        Ok(None) => return,
        Err(HeadError::Timeout) => {
            tracing::warn!("registry proxy: request head not received in time");
            reply(
                &mut client,
                "408 Request Timeout",
                "studio: request head timed out\n",
            )
            .await;
            return;
        }
        Err(HeadError::TooLarge | HeadError::Truncated) => {
            tracing::warn!("registry proxy: request head too large or truncated");
            reply(&mut client, "400 Bad Request", "studio: bad request\n").await;
            return;
        }
        Err(HeadError::Io(err)) => {
            tracing::debug!(%err, "registry proxy: client connection failed");
            return;
        }
    };
    let request_line = head.bytes[..head.len]
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    let Some(target) = parse_request_line(request_line) else {
        tracing::warn!("registry proxy: malformed request line");
        reply(&mut client, "400 Bad Request", "studio: bad request\n").await;
        return;
    };
    let (host, port) = match &target {
        Target::Tunnel { host, port } | Target::Forward { host, port, .. } => (host, *port),
        Target::Refused { what } => {
            tracing::warn!(request = %what, "registry proxy refused a request that is not a proxy request");
            let body = format!(
                "studio: npm may reach only the registry ({}), not {what}\n",
                config.allowed_list()
            );
            reply(&mut client, "403 Forbidden", &body).await;
            return;
        }
    };
    let authority = Authority(host, port).to_string();
    if !config.is_allowed(host, port) {
        tracing::warn!(destination = %authority, "registry proxy refused a host that is not the registry");
        let body = format!(
            "studio: npm may reach only the registry ({}), not {authority}\n",
            config.allowed_list()
        );
        reply(&mut client, "403 Forbidden", &body).await;
        return;
    }
    match target {
        Target::Tunnel { host, port } => tunnel(client, head, &host, port, config).await,
        Target::Forward {
            method,
            host,
            port,
            origin_form,
            version,
        } => {
            let forwarded = rewrite_head(
                &head.bytes[..head.len],
                &method,
                &origin_form,
                &version,
                &authority,
            );
            forward(
                client,
                forwarded,
                &head.bytes[head.len..],
                &host,
                port,
                config,
            )
            .await;
        }
        // Answered with a 403 above.
        Target::Refused { .. } => {}
    }
}

/// `CONNECT`: open the path to the registry, say 200, then copy bytes both ways.
async fn tunnel(mut client: UnixStream, head: Head, host: &str, port: u16, config: &Config) {
    let authority = Authority(host, port);
    let opened = tokio::time::timeout(
        config.limits.connect_timeout,
        open_tunnel(host, port, config),
    )
    .await
    .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")));
    let (mut server, early_answer) = match opened {
        Ok(opened) => opened,
        Err(err) => {
            tracing::warn!(destination = %authority, %err, "registry proxy cannot reach the registry");
            let body = format!("studio: cannot reach {authority}: {err}\n");
            reply(&mut client, "502 Bad Gateway", &body).await;
            return;
        }
    };
    tracing::debug!(destination = %authority, "registry proxy tunnel open");
    let result = async {
        client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await?;
        // What the upstream proxy sent after its own 200 is the registry's, and what the
        // client sent right after its CONNECT (a TLS ClientHello, typically) is for the registry.
        client.write_all(&early_answer).await?;
        server.write_all(&head.bytes[head.len..]).await?;
        tokio::io::copy_bidirectional(&mut client, &mut server).await
    }
    .await;
    match result {
        Ok((up, down)) => {
            tracing::debug!(destination = %authority, up, down, "registry proxy tunnel closed");
        }
        Err(err) => tracing::debug!(destination = %authority, %err, "registry proxy tunnel failed"),
    }
}

/// A TCP stream to `host:port`, directly or through the upstream proxy, plus any bytes the
/// upstream proxy sent past its answer.
async fn open_tunnel(host: &str, port: u16, config: &Config) -> io::Result<(TcpStream, Vec<u8>)> {
    let upstream = match &config.upstream {
        Some(upstream) if !upstream.bypassed_for(host) => upstream,
        _ => return Ok((TcpStream::connect((host, port)).await?, Vec::new())),
    };
    let mut stream = TcpStream::connect((upstream.host.as_str(), upstream.port)).await?;
    let authority = Authority(host, port);
    stream
        .write_all(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
        .await?;
    let answer = match read_head(&mut stream, config.limits.head_timeout).await {
        Ok(Some(answer)) => answer,
        Ok(None) | Err(HeadError::Truncated) => {
            return Err(io::Error::other("upstream proxy closed the connection"));
        }
        Err(HeadError::Timeout) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "upstream proxy did not answer",
            ));
        }
        Err(HeadError::TooLarge) => {
            return Err(io::Error::other("upstream proxy answer too large"));
        }
        Err(HeadError::Io(err)) => return Err(err),
    };
    // "HTTP/1.1 200 Connection established": only the status code matters.
    let status = answer.bytes[..answer.len]
        .split(|&b| b == b' ')
        .nth(1)
        .unwrap_or_default();
    if status.len() != 3 || status.first() != Some(&b'2') {
        return Err(io::Error::other(format!(
            "upstream proxy answered {}",
            String::from_utf8_lossy(status)
        )));
    }
    Ok((stream, answer.bytes[answer.len..].to_vec()))
}

/// Absolute-form plain HTTP: send the rewritten head and whatever followed it, then copy.
async fn forward(
    mut client: UnixStream,
    forwarded_head: Vec<u8>,
    body_start: &[u8],
    host: &str,
    port: u16,
    config: &Config,
) {
    let authority = Authority(host, port);
    let connected = tokio::time::timeout(
        config.limits.connect_timeout,
        TcpStream::connect((host, port)),
    )
    .await
    .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")));
    let mut server = match connected {
        Ok(server) => server,
        Err(err) => {
            tracing::warn!(destination = %authority, %err, "registry proxy cannot reach the registry");
            let body = format!("studio: cannot reach {authority}: {err}\n");
            reply(&mut client, "502 Bad Gateway", &body).await;
            return;
        }
    };
    let result = async {
        server.write_all(&forwarded_head).await?;
        server.write_all(body_start).await?;
        tokio::io::copy_bidirectional(&mut client, &mut server).await
    }
    .await;
    if let Err(err) = result {
        tracing::debug!(destination = %authority, %err, "registry proxy forward failed");
    }
}

/// The head to send to the registry: origin-form request line, the client's headers minus the
/// hop-by-hop ones meant for this proxy, and `Connection: close` (see the module doc).
fn rewrite_head(
    head: &[u8],
    method: &str,
    origin_form: &str,
    version: &str,
    authority: &str,
) -> Vec<u8> {
    const DROPPED: [&str; 4] = [
        "proxy-connection",
        "proxy-authorization",
        "connection",
        "keep-alive",
    ];
    let mut out = format!("{method} {origin_form} {version}\r\n").into_bytes();
    let mut dropping = false;
    let mut has_host = false;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        // An obsolete folded continuation line belongs to the header before it.
        if !matches!(line.first(), Some(b' ' | b'\t')) {
            let name = line
                .split(|&b| b == b':')
                .next()
                .unwrap_or_default()
                .trim_ascii();
            dropping = DROPPED
                .iter()
                .any(|dropped| name.eq_ignore_ascii_case(dropped.as_bytes()));
            has_host |= name.eq_ignore_ascii_case(b"host");
        }
        if !dropping {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    if !has_host {
        // HTTP/1.1 servers need Host; in absolute form the client may rely on the URL alone.
        out.extend_from_slice(format!("Host: {authority}\r\n").as_bytes());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out
}

/// A request (or upstream answer) head and what arrived after it in the same reads.
#[derive(Debug)]
struct Head {
    bytes: Vec<u8>,
    /// Length of the head, its final blank line included; `bytes[len..]` follows the head.
    len: usize,
}

#[derive(Debug)]
enum HeadError {
    Timeout,
    TooLarge,
    /// The peer closed in the middle of the head.
    Truncated,
    Io(io::Error),
}

/// Reads until the blank line ending an HTTP head. `Ok(None)`: the peer closed without a byte.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> Result<Option<Head>, HeadError> {
    let read = async {
        let mut bytes = Vec::with_capacity(1024);
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.map_err(HeadError::Io)?;
            if n == 0 {
                return if bytes.is_empty() {
                    Ok(None)
                } else {
                    Err(HeadError::Truncated)
                };
            }
            // Search only where the end could newly appear (it may straddle two reads).
            let from = bytes.len().saturating_sub(3);
            bytes.extend_from_slice(&chunk[..n]);
            if let Some(pos) = bytes[from..].windows(4).position(|w| w == b"\r\n\r\n") {
                let len = from + pos + 4;
                if len > MAX_HEAD {
                    return Err(HeadError::TooLarge);
                }
                return Ok(Some(Head { bytes, len }));
            }
            if bytes.len() >= MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
        }
    };
    tokio::time::timeout(limit, read)
        .await
        .unwrap_or(Err(HeadError::Timeout))
}

#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// `CONNECT host:port`.
    Tunnel { host: String, port: u16 },
    /// `METHOD http://host:port/path VERSION`.
    Forward {
        method: String,
        host: String,
        port: u16,
        origin_form: String,
        version: String,
    },
    /// Well-formed but not something this proxy does; `what` is for the 403 (no headers).
    Refused { what: String },
}

/// `None` when the line is not an HTTP/1.x request line.
fn parse_request_line(line: &[u8]) -> Option<Target> {
    let line = std::str::from_utf8(line.strip_suffix(b"\r").unwrap_or(line)).ok()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        || !matches!(version, "HTTP/1.0" | "HTTP/1.1")
        || target.is_empty()
        || !target.bytes().all(|b| b.is_ascii_graphic())
    {
        return None;
    }
    if method == "CONNECT" {
        let (host, port) = parse_authority(target, None)?;
        return Some(Target::Tunnel { host, port });
    }
    let Some((scheme, rest)) = target.split_once("://") else {
        return Some(Target::Refused {
            what: "a request that is not a proxy request".to_owned(),
        });
    };
    if !scheme.eq_ignore_ascii_case("http") {
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return None;
        }
        return Some(Target::Refused {
            what: format!("a {} request", scheme.to_ascii_lowercase()),
        });
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let (host, port) = parse_authority(authority, Some(80))?;
    let origin_form = match path.chars().next() {
        None => "/".to_owned(),
        Some('/') => path.to_owned(),
        Some('?') => format!("/{path}"),
        // A fragment never belongs in a request.
        Some(_) => return None,
    };
    Some(Target::Forward {
        method: method.to_owned(),
        host,
        port,
        origin_form,
        version: version.to_owned(),
    })
}

/// `host:port` (or `[v6]:port`), host lower-cased and IP addresses canonical, so that the
/// allow-list check cannot be dodged by spelling. `default_port` applies when no port is given.
fn parse_authority(authority: &str, default_port: Option<u16>) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let ip: std::net::Ipv6Addr = host.parse().ok()?;
        let port = if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix(':')?)
        };
        (ip.to_string(), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            // Also refuses userinfo (`user@host`), which has no place in a proxy request.
            return None;
        }
        let host = match host.parse::<std::net::Ipv4Addr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => host.to_ascii_lowercase(),
        };
        (host, port)
    };
    let port = match port {
        Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            port.parse::<u16>().ok().filter(|&p| p != 0)?
        }
        Some(_) => return None,
        None => default_port?,
    };
    Some((host, port))
}

fn reply_bytes(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends an error answer and closes our side; the client may already be gone.
async fn reply(client: &mut UnixStream, status: &str, body: &str) {
    let answer = reply_bytes(status, body);
    let sent = tokio::time::timeout(REPLY_TIMEOUT, async {
        client.write_all(&answer).await?;
        client.shutdown().await?;
        // Closing a Unix socket with unread input resets the peer, which then loses the answer
        // (the rest of an oversized head, a request sent before its 503): read to the client's
        // end first, bounded by the timeout and a byte budget.
        let mut sink = [0u8; 4096];
        let mut budget = DRAIN_LIMIT;
        while budget > 0 {
            match client.read(&mut sink).await? {
                0 => break,
                n => budget = budget.saturating_sub(n),
            }
        }
        Ok::<(), io::Error>(())
    })
    .await;
    match sent {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::debug!(%err, "registry proxy cannot send its answer"),
        Err(_) => tracing::debug!("registry proxy answer not read in time"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::net::TcpListener;
    use tokio::sync::oneshot;

    use super::*;

    /// Socket paths must stay under ~108 bytes: a short directory under /tmp.
    fn socket_dir() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("rp")
            .tempdir_in("/tmp")
            .unwrap()
    }

    fn local(port: u16) -> AllowedHost {
        AllowedHost {
            host: "127.0.0.1".to_owned(),
            port,
        }
    }

    fn config(allowed: Vec<AllowedHost>) -> Config {
        Config {
            allowed,
            upstream: None,
            limits: Limits::default(),
        }
    }

    /// Tests never read the environment's HTTPS_PROXY: they would depend on the machine.
    fn start(dir: &tempfile::TempDir, config: Config) -> RegistryProxy {
        RegistryProxy::start_with(&dir.path().join("s"), config).unwrap()
    }

    /// A TCP echo server on 127.0.0.1; the counter counts accepted connections.
    async fn echo_server() -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let (mut r, mut w) = stream.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        (port, accepted)
    }

    /// A port on which nothing listens.
    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    async fn read_answer_head(stream: &mut UnixStream) -> String {
        let head = read_head(stream, Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(head.bytes.len(), head.len, "nothing after the head yet");
        String::from_utf8(head.bytes).unwrap()
    }

    /// `read_exact` that fails the test instead of hanging it.
    async fn read_exactly(client: &mut UnixStream, buf: &mut [u8]) {
        tokio::time::timeout(Duration::from_secs(5), client.read_exact(buf))
            .await
            .unwrap()
            .unwrap();
    }

    async fn request(proxy: &RegistryProxy, bytes: &[u8]) -> String {
        let mut client = UnixStream::connect(proxy.socket()).await.unwrap();
        client.write_all(bytes).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        String::from_utf8(answer).unwrap()
    }

    #[tokio::test]
    async fn connect_tunnels_to_an_allowed_host_with_early_bytes() {
        let (port, accepted) = echo_server().await;
        let dir = socket_dir();
        let proxy = start(&dir, config(vec![local(port)]));
        let mut client = UnixStream::connect(proxy.socket()).await.unwrap();
        // The head and the first tunnel bytes in one write, as a TLS client may do.
        client
            .write_all(
                format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\nearly")
                    .as_bytes(),
            )
            .await
            .unwrap();
        let mut buf = vec![0u8; 39 + 5];
        read_exactly(&mut client, &mut buf).await;
        assert_eq!(buf, b"HTTP/1.1 200 Connection Established\r\n\r\nearly");
        client.write_all(b"later").await.unwrap();
        let mut buf = [0u8; 5];
        read_exactly(&mut client, &mut buf).await;
        assert_eq!(&buf, b"later");
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn host_matching_ignores_case() {
        let (port, _) = echo_server().await;
        let dir = socket_dir();
        let allowed = AllowedHost {
            host: "localhost".to_owned(),
            port,
        };
        let proxy = start(&dir, config(vec![allowed]));
        let mut client = UnixStream::connect(proxy.socket()).await.unwrap();
        client
            .write_all(format!("CONNECT LocalHost:{port} HTTP/1.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let head = read_answer_head(&mut client).await;
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    }

    #[tokio::test]
    async fn connect_to_a_host_not_allowed_is_refused_with_403() {
        let (port, accepted) = echo_server().await;
        let other = closed_port().await;
        let dir = socket_dir();
        let proxy = start(&dir, config(vec![local(other)]));
        let answer = request(
            &proxy,
            format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n").as_bytes(),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
        assert!(answer.contains("Content-Type: text/plain"), "{answer}");
        assert!(answer.contains("Connection: close"), "{answer}");
        assert!(
            answer.ends_with(&format!(
                "\r\n\r\nstudio: npm may reach only the registry (127.0.0.1:{other}), not 127.0.0.1:{port}\n"
            )),
            "{answer}"
        );
        // A different host on the allowed port is refused too.
        let answer = request(
            &proxy,
            format!("CONNECT localhost:{other} HTTP/1.1\r\n\r\n").as_bytes(),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            0,
            "no connection reached the echo server"
        );
    }

    #[tokio::test]
    async fn malformed_heads_get_400() {
        let (port, accepted) = echo_server().await;
        let dir = socket_dir();
        let proxy = start(&dir, config(vec![local(port)]));
        for bad in [
            "NONSENSE\r\n\r\n".to_owned(),
            "CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n".to_owned(),
            format!("CONNECT 127.0.0.1:{port} SPDY/3\r\n\r\n"),
            format!("CONNECT user@127.0.0.1:{port} HTTP/1.1\r\n\r\n"),
            format!("GET http://127.0.0.1:{port}#x HTTP/1.1\r\n\r\n"),
            "CONNECT 127.0.0.1:99999 HTTP/1.1\r\n\r\n".to_owned(),
            "CONNECT 127.0.0.1:443 HTTP/1.1\r\n".to_owned() + &"X: y\r\n".repeat(4000) + "\r\n",
        ] {
            let answer = request(&proxy, bad.as_bytes()).await;
            assert!(
                answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{bad:.60}: {answer}"
            );
        }
        // Closing in the middle of a head is malformed too.
        let mut client = UnixStream::connect(proxy.socket()).await.unwrap();
        client.write_all(b"CONNECT 127.0.0.1:1 HTT").await.unwrap();
        client.shutdown().await.unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_slow_head_gets_408() {
        let dir = socket_dir();
        let mut config = config(vec![local(443)]);
        config.limits.head_timeout = Duration::from_millis(200);
        let proxy = start(&dir, config);
        let mut client = UnixStream::connect(proxy.socket()).await.unwrap();
        client
            .write_all(b"CONNECT 127.0.0.1:443 HTTP/1.1\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), client.read_to_string(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    }

    #[tokio::test]
    async fn non_proxy_requests_are_refused_with_403() {
        let dir = socket_dir();
        let proxy = start(&dir, config(vec![local(443)]));
        let answer = request(&proxy, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
        assert!(
            answer.contains("not a request that is not a proxy request"),
            "{answer}"
        );
        let answer = request(&proxy, b"GET https://127.0.0.1:443/ HTTP/1.1\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
        assert!(answer.contains("not a https request"), "{answer}");
    }

    #[tokio::test]
    async fn an_unreachable_registry_gets_502() {
        let port = closed_port().await;
        let dir = socket_dir();
        let proxy = start(&dir, config(vec![local(port)]));
        let answer = request(
            &proxy,
            format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n").as_bytes(),
        )
        .await;
        assert!(
            answer.starts_with("HTTP/1.1 502 Bad Gateway\r\n"),
            "{answer}"
        );
        let answer = request(
            &proxy,
            format!("GET http://127.0.0.1:{port}/ HTTP/1.1\r\n\r\n").as_bytes(),
        )
        .await;
        assert!(
            answer.starts_with("HTTP/1.1 502 Bad Gateway\r\n"),
            "{answer}"
        );
    }

    #[tokio::test]
    async fn absolute_form_get_reaches_the_server_in_origin_form() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (seen_tx, seen_rx) = oneshot::channel();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let head = read_head(&mut stream, Duration::from_secs(5))
                .await
                .unwrap()
                .unwrap();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .await
                .unwrap();
            seen_tx
                .send(String::from_utf8(head.bytes).unwrap())
                .unwrap();
        });
        let dir = socket_dir();
        let proxy = start(&dir, config(vec![local(port)]));
        let answer = request(
            &proxy,
            format!(
                "GET http://127.0.0.1:{port}/x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nProxy-Connection: keep-alive\r\n\
                 Proxy-Authorization: Basic c2VjcmV0\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
        let seen = seen_rx.await.unwrap();
        assert_eq!(
            seen,
            format!(
                "GET /x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
            )
        );
    }

    #[test]
    fn rewrite_head_keeps_folded_lines_with_their_header_and_adds_host() {
        let head = b"GET http://h/ HTTP/1.1\r\nX-A: 1\r\n  more\r\nProxy-Authorization: x\r\n  secret\r\n\r\n";
        let out = rewrite_head(head, "GET", "/", "HTTP/1.1", "h:80");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET / HTTP/1.1\r\nX-A: 1\r\n  more\r\nHost: h:80\r\nConnection: close\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn a_head_end_split_across_reads_is_found() {
        let (mut reader, mut writer) = UnixStream::pair().unwrap();
        tokio::spawn(async move {
            writer
                .write_all(b"CONNECT a:1 HTTP/1.1\r\n\r")
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            writer.write_all(b"\nrest").await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
        });
        let head = read_head(&mut reader, Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(head.len, 24);
        assert_eq!(&head.bytes[head.len..], b"rest");
    }

    #[test]
    fn request_lines_parse() {
        assert_eq!(
            parse_request_line(b"CONNECT Registry.NPMjs.org:443 HTTP/1.1\r"),
            Some(Target::Tunnel {
                host: "registry.npmjs.org".to_owned(),
                port: 443
            })
        );
        assert_eq!(
            parse_request_line(b"CONNECT [0:0::1]:8443 HTTP/1.1"),
            Some(Target::Tunnel {
                host: "::1".to_owned(),
                port: 8443
            })
        );
        assert_eq!(
            parse_request_line(b"GET http://reg.example?q=1 HTTP/1.0"),
            Some(Target::Forward {
                method: "GET".to_owned(),
                host: "reg.example".to_owned(),
                port: 80,
                origin_form: "/?q=1".to_owned(),
                version: "HTTP/1.0".to_owned(),
            })
        );
        assert_eq!(parse_request_line(b"CONNECT a:443  HTTP/1.1"), None);
        assert_eq!(parse_request_line(b"CONNECT a:0 HTTP/1.1"), None);
        assert_eq!(parse_request_line(b"CONNECT a:+1 HTTP/1.1"), None);
        assert_eq!(parse_request_line(b"CONNECT [nothex]:1 HTTP/1.1"), None);
    }

    #[tokio::test]
    async fn connect_is_chained_through_the_upstream_proxy() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_port = listener.local_addr().unwrap().port();
        let (seen_tx, seen_rx) = oneshot::channel();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let head = read_head(&mut stream, Duration::from_secs(5))
                .await
                .unwrap()
                .unwrap();
            seen_tx
                .send(String::from_utf8(head.bytes[..head.len].to_vec()).unwrap())
                .unwrap();
            // Answer, then act as the registry: echo, starting with what followed the CONNECT.
            stream
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
                .unwrap();
            stream.write_all(&head.bytes[head.len..]).await.unwrap();
            let (mut r, mut w) = stream.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
        });
        let dir = socket_dir();
        // `.invalid` never resolves: only the upstream proxy can have "reached" it.
        let allowed = AllowedHost {
            host: "registry.invalid".to_owned(),
            port: 443,
        };
        let mut config = config(vec![allowed]);
        config.upstream =
            Upstream::parse(&format!("http://127.0.0.1:{upstream_port}"), "localhost");
        let proxy = start(&dir, config);
        let mut client = UnixStream::connect(proxy.socket()).await.unwrap();
        client
            .write_all(
                b"CONNECT registry.invalid:443 HTTP/1.1\r\nAuthorization: secret\r\n\r\nhello",
            )
            .await
            .unwrap();
        let mut buf = vec![0u8; 39 + 5];
        read_exactly(&mut client, &mut buf).await;
        assert_eq!(buf, b"HTTP/1.1 200 Connection Established\r\n\r\nhello");
        let seen = seen_rx.await.unwrap();
        assert_eq!(
            seen,
            "CONNECT registry.invalid:443 HTTP/1.1\r\nHost: registry.invalid:443\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn an_upstream_refusal_gets_502() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let _ = read_head(&mut stream, Duration::from_secs(5)).await;
            let _ = stream
                .write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
                )
                .await;
        });
        let dir = socket_dir();
        let mut config = config(vec![local(443)]);
        config.upstream = Upstream::parse(&format!("127.0.0.1:{upstream_port}"), "");
        let proxy = start(&dir, config);
        let answer = request(&proxy, b"CONNECT 127.0.0.1:443 HTTP/1.1\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 502 "), "{answer}");
        assert!(answer.contains("upstream proxy answered 407"), "{answer}");
    }

    #[tokio::test]
    async fn no_proxy_hosts_bypass_the_upstream_proxy() {
        let (port, accepted) = echo_server().await;
        let dir = socket_dir();
        let mut config = config(vec![local(port)]);
        // The upstream proxy does not exist: the tunnel works only if it is bypassed.
        config.upstream = Upstream::parse(
            &format!("http://127.0.0.1:{}", closed_port().await),
            "example.com, 127.0.0.1",
        );
        let proxy = start(&dir, config);
        let mut client = UnixStream::connect(proxy.socket()).await.unwrap();
        client
            .write_all(format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let head = read_answer_head(&mut client).await;
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn upstream_parsing_and_no_proxy_rules() {
        let upstream = Upstream::parse(
            "http://proxy.corp:3128/",
            " .corp.example , *.npm.example,Local ",
        )
        .unwrap();
        assert_eq!(
            (upstream.host.as_str(), upstream.port),
            ("proxy.corp", 3128)
        );
        assert!(upstream.bypassed_for("corp.example"));
        assert!(upstream.bypassed_for("Registry.Corp.Example"));
        assert!(upstream.bypassed_for("a.npm.example"));
        assert!(upstream.bypassed_for("local"));
        assert!(!upstream.bypassed_for("notcorp.example"));
        assert!(!upstream.bypassed_for("registry.npmjs.org"));
        assert!(
            Upstream::parse("http://p:1", "*")
                .unwrap()
                .bypassed_for("anything")
        );
        assert_eq!(Upstream::parse("http://p", "").map(|u| u.port), Some(80));
        assert_eq!(Upstream::parse("p:8080", "").map(|u| u.port), Some(8080));
        assert_eq!(Upstream::parse("socks5://p:1080", ""), None);
        assert_eq!(Upstream::parse("http://user:pw@p:1", ""), None);
    }

    #[tokio::test]
    async fn too_many_connections_get_503() {
        let (port, _) = echo_server().await;
        let dir = socket_dir();
        let mut config = config(vec![local(port)]);
        config.limits.max_connections = 1;
        let proxy = start(&dir, config);
        // The first connection holds the only permit while it has not sent its head.
        let mut first = UnixStream::connect(proxy.socket()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer = request(&proxy, b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
        // Once it is served, the permit is back.
        first
            .write_all(format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        assert!(
            read_answer_head(&mut first)
                .await
                .starts_with("HTTP/1.1 200 ")
        );
        drop(first);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer = request(&proxy, b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
    }

    #[tokio::test]
    async fn start_replaces_a_stale_socket_and_opens_it_to_all() {
        let dir = socket_dir();
        let path = dir.path().join("s");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let proxy = RegistryProxy::start_with(&path, config(Vec::new())).unwrap();
        assert_eq!(proxy.socket(), path);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o666);
        UnixStream::connect(&path).await.unwrap();
    }

    #[tokio::test]
    async fn start_refuses_to_remove_a_regular_file() {
        let dir = socket_dir();
        let path = dir.path().join("s");
        std::fs::write(&path, "data").unwrap();
        let err = RegistryProxy::start(&path, Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "data");
    }

    #[test]
    fn start_without_a_runtime_is_an_error() {
        let dir = socket_dir();
        assert!(RegistryProxy::start(&dir.path().join("s"), Vec::new()).is_err());
        assert!(!dir.path().join("s").exists());
    }

    #[tokio::test]
    async fn drop_closes_open_tunnels_and_removes_the_socket() {
        let (port, _) = echo_server().await;
        let dir = socket_dir();
        let proxy = start(&dir, config(vec![local(port)]));
        let path = proxy.socket().to_path_buf();
        let mut client = UnixStream::connect(&path).await.unwrap();
        client
            .write_all(format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        assert!(
            read_answer_head(&mut client)
                .await
                .starts_with("HTTP/1.1 200 ")
        );
        drop(proxy);
        let mut rest = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut rest))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 0, "the tunnel was closed");
        assert!(!path.exists());
    }

    #[test]
    fn allowed_host_from_url() {
        let host = |url| AllowedHost::from_url(url).map(|a| (a.host, a.port));
        assert_eq!(
            host("https://registry.npmjs.org/"),
            Some(("registry.npmjs.org".to_owned(), 443))
        );
        assert_eq!(
            host("http://registry.example/"),
            Some(("registry.example".to_owned(), 80))
        );
        assert_eq!(
            host("HTTPS://Npm.Corp.Example:8443/api/npm/"),
            Some(("npm.corp.example".to_owned(), 8443))
        );
        assert_eq!(
            host("http://localhost:4873"),
            Some(("localhost".to_owned(), 4873))
        );
        assert_eq!(host("http://[::1]:8080/"), Some(("::1".to_owned(), 8080)));
        assert_eq!(
            host("https://user:token@registry.example/"),
            Some(("registry.example".to_owned(), 443))
        );
        assert_eq!(host("file:///tmp/registry"), None);
        assert_eq!(host("git+ssh://github.com/x"), None);
        assert_eq!(host("registry.npmjs.org"), None);
        assert_eq!(host(""), None);
        assert_eq!(
            AllowedHost::from_url("http://[::1]:8080/")
                .map(|a| a.to_string())
                .as_deref(),
            Some("[::1]:8080")
        );
    }

    /// The client npm would be, inside the jail: reads the proxy from its environment and
    /// CONNECTs to argv[1]; exit 0 on 200 + echo, 4 on 403, 3 otherwise.
    const FAKE_NPM: &str = r#"
const net = require('node:net');
const proxy = new URL(process.env.npm_config_https_proxy);
if (process.env.npm_config_proxy !== process.env.npm_config_https_proxy) process.exit(5);
if (process.env.npm_config_noproxy !== '') process.exit(6);
if (process.env.HTTPS_PROXY !== undefined || process.env.NPM_CONFIG_HTTPS_PROXY !== undefined) process.exit(6);
const target = process.argv[1];
const socket = net.connect(Number(proxy.port), proxy.hostname);
let got = '';
socket.on('data', (d) => {
  got += d.toString('latin1');
  if (got.startsWith('HTTP/1.1 403 ')) process.exit(4);
  if (got === 'HTTP/1.1 200 Connection Established\r\n\r\nping') process.exit(0);
});
socket.on('error', () => process.exit(3));
socket.on('close', () => process.exit(3));
socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\nping`);
setTimeout(() => process.exit(3), 5000);
"#;

    async fn run_bridge(
        proxy: &RegistryProxy,
        dir: &tempfile::TempDir,
        program: &[&str],
    ) -> std::process::ExitStatus {
        let bridge = dir.path().join("bridge.mjs");
        std::fs::write(&bridge, NPM_BRIDGE).unwrap();
        let mut command = tokio::process::Command::new("node");
        command
            .arg(&bridge)
            .arg(proxy.socket())
            .args(program)
            // As the operator's environment might: the bridge must override it.
            .env("HTTPS_PROXY", "http://unreachable.invalid:3128")
            .env("NPM_CONFIG_HTTPS_PROXY", "http://unreachable.invalid:3128")
            .kill_on_drop(true);
        tokio::time::timeout(Duration::from_secs(20), command.status())
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn bridge_tunnels_npm_through_the_proxy() {
        let (port, accepted) = echo_server().await;
        let dir = socket_dir();
        let proxy = start(&dir, config(vec![local(port)]));
        let target = format!("127.0.0.1:{port}");
        let status = run_bridge(&proxy, &dir, &["node", "-e", FAKE_NPM, &target]).await;
        assert_eq!(status.code(), Some(0));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn bridge_child_sees_403_for_a_refused_target() {
        let (port, accepted) = echo_server().await;
        let dir = socket_dir();
        let proxy = start(&dir, config(vec![local(closed_port().await)]));
        let target = format!("127.0.0.1:{port}");
        let status = run_bridge(&proxy, &dir, &["node", "-e", FAKE_NPM, &target]).await;
        assert_eq!(status.code(), Some(4));
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn bridge_exits_with_npm_status() {
        let dir = socket_dir();
        let proxy = start(&dir, config(Vec::new()));
        let status = run_bridge(&proxy, &dir, &["node", "-e", "process.exit(7)"]).await;
        assert_eq!(status.code(), Some(7));
        let status = run_bridge(
            &proxy,
            &dir,
            &["node", "-e", "process.kill(process.pid, 'SIGKILL')"],
        )
        .await;
        assert_eq!(status.code(), Some(1));
        let status = run_bridge(&proxy, &dir, &["/nonexistent/npm"]).await;
        assert_eq!(status.code(), Some(1));
    }
}
