//! Fixtures of the black-box tests and the benchmark that speak Studio's public API: the real
//! `studio` binary as a [`Studio`], an HTTP and a WebSocket client, and waiting for a renderer.
//! The server process, the sample remote, the Prism GitHub peer, ports and `/proc` readers are
//! `studio_testkit`'s.
//!
//! Shared by every test binary and `benches/server.rs` (`#[path]`-included), so each binary uses a
//! different subset.
#![allow(dead_code)]
// Fixtures: a panic is how a test reports a broken environment.
#![allow(clippy::unwrap_used)]

pub mod api;
pub mod door;
pub mod hostile;
pub mod node;
pub mod server;
pub mod ws;

use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use api::{Answer, Api};
pub use server::Studio;
#[allow(unused_imports)]
pub use ws::WsClient;

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

/// The page a renderer serves, through the front door at its preview URL (`renderer_url`): 200
/// and Studio's renderer HTML.
pub async fn renderer_serves(url: &str) -> Result<(), String> {
    let answer = door::get(url).await?;
    if answer.status != 200 || !answer.text.contains("<title>Studio renderer</title>") {
        return Err(format!("GET {url}: {}\n{}", answer.status, answer.text));
    }
    Ok(())
}

/// A copy of `studio-template/` at `into` whose `server.mjs` ends with `hook` (JavaScript that
/// runs in the renderer's Node, from `<checkout>/.studio/`). Its installed `node_modules` is left
/// out: the server installs its own store.
pub fn template_with_server_hook(into: &std::path::Path, hook: &str) {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../studio-template");
    let copied = std::process::Command::new("cp")
        .args(["-r", "--no-target-directory"])
        .arg(&source)
        .arg(into)
        .status()
        .unwrap();
    assert!(copied.success(), "cannot copy {}", source.display());
    let _ = std::fs::remove_dir_all(into.join("node_modules"));
    let server = into.join("server.mjs");
    let mut text = std::fs::read_to_string(&server).unwrap();
    text.push_str(hook);
    std::fs::write(&server, text).unwrap();
}
