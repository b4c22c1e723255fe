//! What a unit checks, as declared in its spec: readiness/liveness [`Probe`]s, [`Liveness`]
//! timing and [`Dependency`] targets. Running the checks is `probe`'s job.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::target;

/// A check that a unit (or a dependency) serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Probe {
    /// `GET url` answers with a 2xx or 3xx status. Plain `http://` only (dev servers).
    Http { url: String },
    /// A TCP connection to `addr` (`host:port`) succeeds.
    Tcp { addr: String },
    /// `GET path` over the Unix socket at `socket` answers with a 2xx or 3xx status. Sent with
    /// `Host: localhost`.
    #[serde(rename = "http_unix")]
    HttpUnix { socket: PathBuf, path: String },
}

impl Probe {
    pub fn http(url: impl Into<String>) -> Self {
        Self::Http { url: url.into() }
    }

    pub fn tcp(addr: impl Into<String>) -> Self {
        Self::Tcp { addr: addr.into() }
    }

    /// `GET path` (e.g. `/health`) over the Unix socket at `socket`.
    pub fn http_unix(socket: impl Into<PathBuf>, path: impl Into<String>) -> Self {
        Self::HttpUnix {
            socket: socket.into(),
            path: path.into(),
        }
    }

    /// Rejects a target that could never be checked (the probe is never run then).
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self {
            Self::Http { url } => target::parse_http_url(url).map(drop),
            Self::Tcp { addr } => target::validate_addr(addr),
            Self::HttpUnix { socket, path } => {
                crate::socket::validate_path(socket)?;
                target::validate_request_path(path)
            }
        }
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http { url } => write!(f, "GET {url}"),
            Self::Tcp { addr } => write!(f, "tcp {addr}"),
            Self::HttpUnix { socket, path } => write!(f, "GET unix:{}{path}", socket.display()),
        }
    }
}

/// Periodic health check of a running unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Liveness {
    pub probe: Probe,
    /// Between two checks (process-compose and Kubernetes default to 10 s).
    pub period: Duration,
    /// Consecutive failures that count as a crash (default 3).
    pub failure_threshold: u32,
}

impl Liveness {
    pub fn new(probe: Probe) -> Self {
        Self {
            probe,
            period: Duration::from_secs(10),
            failure_threshold: 3,
        }
    }
}

/// Something a unit waits for before each start and restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "target", rename_all = "lowercase")]
pub enum Dependency {
    /// A TCP connection to `host:port` succeeds.
    Tcp(String),
    /// `GET url` answers 2xx or 3xx.
    Http(String),
    /// A PostgreSQL server at `postgres://user@host:port/db` accepts a connection (like
    /// `pg_isready`: it answers the startup message with anything but "starting up").
    Postgres(String),
    /// Another unit of the same supervisor is `Running`.
    Unit(String),
}

impl Dependency {
    /// Rejects a target that could never be checked (the probe is never run then).
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self {
            Self::Tcp(addr) => target::validate_addr(addr),
            Self::Http(url) => target::parse_http_url(url).map(drop),
            Self::Postgres(url) => target::parse_postgres_url(url).map(drop),
            Self::Unit(name) if name.is_empty() => Err("a unit dependency needs a name".into()),
            Self::Unit(_) => Ok(()),
        }
    }
}

impl fmt::Display for Dependency {
    /// Never shows a password that a PostgreSQL URL may contain.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "tcp {addr}"),
            Self::Http(url) => write!(f, "http {url}"),
            Self::Postgres(url) => match target::parse_postgres_url(url) {
                Ok(pg) => write!(f, "postgres {}:{}/{}", pg.host, pg.port, pg.database),
                Err(_) => f.write_str("postgres <invalid url>"),
            },
            Self::Unit(name) => write!(f, "unit {name}"),
        }
    }
}
