//! Fixtures of the black-box tests and the benchmark: the real `studio` binary on port 0 with its
//! own data directory and SQLite file, a bare git "remote" made from `examples/design-system`, an
//! HTTP and a WebSocket client speaking the public API, the Prism GitHub peer, and `/proc` readers
//! that tell which process listens on a port and whether a process group is gone.
//!
//! Shared by every test binary and `benches/server.rs` (`#[path]`-included), so each binary uses a
//! different subset.
#![allow(dead_code)]
// Fixtures: a panic is how a test reports a broken environment.
#![allow(clippy::unwrap_used)]

pub mod api;
pub mod prism;
pub mod procs;
pub mod remote;
pub mod server;
pub mod ws;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use api::{Answer, Api};
pub use remote::Remote;
pub use server::{ServerConfig, Studio};
#[allow(unused_imports)]
pub use ws::WsClient;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Git-ignored scratch space shared by every test process: the npm cache lives here so that only
/// the first install of a fresh machine downloads anything.
pub fn run_dir() -> PathBuf {
    let dir = std::env::var_os("STUDIO_TEST_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("tests/.run"))
        .join("e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn shared_npm_cache() -> PathBuf {
    run_dir().join("npm-cache")
}

/// Polls `check` every 50 ms until it yields `Ok`, or panics after `limit` naming `what` and the
/// last thing `check` saw.
pub async fn eventually<T>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() > deadline => {
                panic!("timed out after {limit:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The page a renderer serves: 200 and Studio's renderer HTML.
pub async fn renderer_serves(url: &str) -> Result<(), String> {
    let answer = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = answer.status();
    let body = answer.text().await.map_err(|e| format!("GET {url}: {e}"))?;
    if status != 200 || !body.contains("<title>Studio renderer</title>") {
        return Err(format!("GET {url}: {status}\n{body}"));
    }
    Ok(())
}

/// A port that is free now and that nothing will take by accident before a test binds it later:
/// above the kernel's ephemeral range (32768–60999, where outgoing connections get their ports)
/// and above the renderer ranges the test servers use (10000–30999).
pub fn reserved_port() -> u16 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize
        ^ std::process::id() as usize;
    (0..4000)
        .map(|i| 61_000 + ((seed + i * 7) % 4000) as u16)
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .unwrap()
}

/// The port of a `http://127.0.0.1:PORT/` URL.
pub fn port_of(url: &str) -> u16 {
    url::Url::parse(url).unwrap().port().unwrap()
}
