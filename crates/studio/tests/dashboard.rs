//! The dashboard in real Chromium: `tests/browser/dashboard.test.mjs` (Node's test runner driving
//! Debian's Chromium through playwright-core) against the real server with an API token and the
//! sample repository as the remote. Sign-in, a wrong token, create, restart, stop/start, live log
//! lines, commits in the timeline, rollback with the preview showing the old content, and a
//! screenshot of two sandboxes for review under the test run directory.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use studio_testkit::paths;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::Studio;
use support::node::run_node_tests;

const TOKEN: &str = "e2e-dashboard-api-token-5d0c2e";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_watches_and_drives_sandboxes_in_chromium() {
    let remote = Remote::new().await;
    let data = DataDir::new("dashboard-");
    let studio = Studio::start(&ServerConfig::new(&data).api_token(TOKEN));
    let out = paths::run_dir("dashboard");
    // A screenshot of an earlier run must not pass for this one's.
    let _ = std::fs::remove_file(out.join("dashboard.png"));
    run_node_tests(
        &["--experimental-websocket"],
        &["tests/browser/dashboard.test.mjs"],
        &[
            ("STUDIO_URL", studio.base.clone()),
            ("STUDIO_API_TOKEN", TOKEN.into()),
            ("STUDIO_SAMPLE_REPO", remote.url()),
            ("STUDIO_TEST_OUT", out.display().to_string()),
        ],
        Duration::from_secs(280),
    )
    .await
    .assert_passed();
    assert!(
        out.join("dashboard.png").is_file(),
        "the screenshot is in {}",
        out.display()
    );
}
