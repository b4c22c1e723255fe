//! The TypeScript client (`clients/typescript`) against the real server: its Node test files drive
//! a sandbox through the client's whole API (create, edit, watch with a forced reconnection, logs,
//! preview links, scoped tokens, errors, delete) and check that the committed generated types and
//! the committed `dist/` are what the served OpenAPI document and the sources make today.
//!
//! Needs `npm ci` in clients/typescript first (tests/setup/npm-typescript-client.sh, which
//! tests/run.sh runs) and Node 20.19+ (`--experimental-websocket` gives Node 20 the global
//! WebSocket the client uses, as browsers have it).

mod support;

use std::time::Duration;

use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::Studio;

const TOKEN: &str = "e2e-typescript-client-token-5d27c1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_client_drives_a_real_server() {
    let remote = Remote::new().await;
    let data = DataDir::new("ts-client-");
    let studio = Studio::start(&ServerConfig::new(&data).api_token(TOKEN));
    let run = support::node::run_node_tests(
        &["--experimental-websocket"],
        &[
            "clients/typescript/test/drift.test.mjs",
            "clients/typescript/test/client.test.mjs",
        ],
        &[
            ("STUDIO_URL", studio.base.clone()),
            ("STUDIO_API_TOKEN", TOKEN.into()),
            ("STUDIO_SAMPLE_REPO", remote.url()),
        ],
        Duration::from_secs(240),
    )
    .await;
    // The server's log too: a failing client call is often explained there.
    assert!(
        run.success,
        "node --test failed:\n{}\n--- server log ---\n{}",
        run.output,
        studio.log()
    );
}
