//! Readiness, liveness and dependency checks over real sockets.
//!
//! The HTTP and PostgreSQL checks speak just enough of each protocol to get an answer: a
//! `GET` and its status line, a PostgreSQL startup message and the first reply. That keeps the
//! supervisor free of HTTP-client and database dependencies, and each check is one connection.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use crate::checks::{Dependency, Probe};
use crate::target::{parse_http_url, parse_postgres_url};

impl Probe {
    /// Runs the probe once, giving up after `timeout`: `Err` says what failed.
    pub async fn check(&self, timeout: Duration) -> Result<(), String> {
        check(self, timeout).await
    }
}

/// Runs a probe once; `Err` says why it did not pass.
pub(crate) async fn check(probe: &Probe, timeout: Duration) -> Result<(), String> {
    match probe {
        Probe::Http { url } => http_ok(url, timeout).await,
        Probe::Tcp { addr } => tcp_connects(addr, timeout).await,
        Probe::HttpUnix { socket, path } => {
            let shown = format!("GET unix:{}{path}", socket.display());
            let exchange = async {
                let stream = UnixStream::connect(socket)
                    .await
                    .map_err(|e| format!("{shown}: {e}"))?;
                // `localhost`: a server that checks Host (Vite's allowedHosts) accepts it always.
                get_status(stream, path, "localhost", &shown).await
            };
            let status = tokio::time::timeout(timeout, exchange)
                .await
                .map_err(|_| format!("{shown}: timed out after {timeout:?}"))??;
            status_ok(status, &shown)
        }
    }
}

/// Checks a dependency other than another unit (those are checked against the registry).
pub(crate) async fn check_dependency(dep: &Dependency, timeout: Duration) -> Result<(), String> {
    match dep {
        Dependency::Tcp(addr) => tcp_connects(addr, timeout).await,
        Dependency::Http(url) => http_ok(url, timeout).await,
        Dependency::Postgres(url) => postgres_accepts(url, timeout).await,
        Dependency::Unit(name) => Err(format!("unit {name} is checked by the supervisor")),
    }
}

async fn tcp_connects(addr: &str, timeout: Duration) -> Result<(), String> {
    connect(addr, timeout).await.map(drop)
}

async fn connect(addr: &str, timeout: Duration) -> Result<TcpStream, String> {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(format!("connect to {addr}: {e}")),
        Err(_) => Err(format!("connect to {addr}: timed out after {timeout:?}")),
    }
}

/// `GET url` answered with 2xx or 3xx.
async fn http_ok(url: &str, timeout: Duration) -> Result<(), String> {
    let target = parse_http_url(url)?;
    let shown = format!("GET {url}");
    let exchange = async {
        let stream = connect(&target.addr, timeout).await?;
        get_status(stream, &target.path, &target.host, &shown).await
    };
    let status = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("{shown}: timed out after {timeout:?}"))??;
    status_ok(status, &shown)
}

fn status_ok(status: u16, shown: &str) -> Result<(), String> {
    if (200..400).contains(&status) {
        Ok(())
    } else {
        Err(format!("{shown}: status {status}"))
    }
}

/// Sends `GET path` on an open connection and reads the status of the answer.
async fn get_status(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    path: &str,
    host: &str,
    shown: &str,
) -> Result<u16, String> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: studio-supervisor\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("{shown}: {e}"))?;
    // The status line is all we need: "HTTP/1.1 200 OK".
    let mut head = [0u8; 64];
    let mut len = 0;
    while len < 12 {
        match stream.read(&mut head[len..]).await {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) => return Err(format!("{shown}: {e}")),
        }
    }
    parse_status(&head[..len]).ok_or_else(|| format!("{shown}: no HTTP status line"))
}

fn parse_status(head: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(head.get(..12)?).ok()?;
    let rest = text.strip_prefix("HTTP/1.")?;
    rest.get(2..5)?.parse().ok()
}

/// Sends a protocol-3.0 startup message and reads the first reply, like `pg_isready`: an
/// authentication request or any error except "the database system is starting up"
/// (SQLSTATE 57P03) means the server accepts connections.
async fn postgres_accepts(url: &str, timeout: Duration) -> Result<(), String> {
    let target = parse_postgres_url(url)?;
    let addr = format!("{}:{}", target.host, target.port);
    let exchange = async {
        let mut stream = connect(&addr, timeout).await?;
        stream
            .write_all(&startup_message(&target.user, &target.database))
            .await
            .map_err(|e| format!("postgres {addr}: {e}"))?;
        let mut reply = vec![0u8; 1024];
        let n = stream
            .read(&mut reply)
            .await
            .map_err(|e| format!("postgres {addr}: {e}"))?;
        let verdict =
            interpret_startup_reply(&reply[..n]).map_err(|e| format!("postgres {addr}: {e}"));
        // Terminate ('X') politely so the server does not log an unexpected EOF.
        let _ = stream.write_all(&[b'X', 0, 0, 0, 4]).await;
        verdict
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("postgres {addr}: timed out after {timeout:?}"))?
}

fn startup_message(user: &str, database: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608u32.to_be_bytes()); // protocol 3.0
    for (key, value) in [("user", user), ("database", database)] {
        body.extend_from_slice(key.as_bytes());
        body.push(0);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut message = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    message.extend_from_slice(&body);
    message
}

fn interpret_startup_reply(reply: &[u8]) -> Result<(), String> {
    match reply.first() {
        Some(b'R') => Ok(()), // an authentication request (or AuthenticationOk)
        Some(b'E') => {
            // ErrorResponse: fields of (type byte, C string); 'C' is the SQLSTATE.
            let fields = reply.get(5..).unwrap_or_default();
            let code = fields
                .split(|&b| b == 0)
                .find_map(|field| field.strip_prefix(b"C"))
                .map(|c| String::from_utf8_lossy(c).into_owned());
            match code.as_deref() {
                Some("57P03") => Err("the database system is starting up".into()),
                _ => Ok(()), // e.g. bad password or unknown database: the server does accept
            }
        }
        Some(other) => Err(format!(
            "unexpected reply {:?}: not a PostgreSQL server",
            *other as char
        )),
        None => Err("the connection closed without a reply".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_parsed() {
        assert_eq!(parse_status(b"HTTP/1.1 302 Found\r\n"), Some(302));
        assert_eq!(parse_status(b"HTTP/1.0 200 OK"), Some(200));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH"), None);
    }

    #[test]
    fn startup_replies_are_interpreted_like_pg_isready() {
        assert!(interpret_startup_reply(b"R\0\0\0\x08\0\0\0\0").is_ok());
        let starting = b"E\0\0\0\x20SFATAL\0C57P03\0Mstarting up\0\0";
        assert!(interpret_startup_reply(starting).is_err());
        let bad_password = b"E\0\0\0\x20SFATAL\0C28P01\0Mpassword\0\0";
        assert!(interpret_startup_reply(bad_password).is_ok());
        assert!(interpret_startup_reply(b"HTTP/1.1 400").is_err());
        assert!(interpret_startup_reply(b"").is_err());
    }
}
