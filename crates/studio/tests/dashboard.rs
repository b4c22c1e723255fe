//! The dashboard in real Chromium: `tests/browser/dashboard.test.mjs` (Node's test runner driving
//! Debian's Chromium through playwright-core) against the real server with an API token, the
//! sample repository as the remote and the GitHub API peer (Prism serving GitHub's own API
//! description). Sign-in, a wrong token, create, restart, stop/start, live log lines, commits in
//! the timeline, rollback with the preview showing the old content, finalize (its error, then a
//! pull request opened from the dashboard), and a screenshot of two sandboxes for review under the
//! test run directory. Afterwards: the finalized session's branch is on the remote, GitHub got
//! only valid requests, and `GITHUB_TOKEN` reached neither the page nor the log.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::Value;
use studio_testkit::paths;
use studio_testkit::ports;
use studio_testkit::prism::PrismPeer;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::Studio;
use support::api::commit_hashes;
use support::node::run_node_tests;

const TOKEN: &str = "e2e-dashboard-api-token-5d0c2e";
const GITHUB_TOKEN: &str = "ghp_e2eDashboardDummy0123456789abcdefABCD";
/// What the peer answers for a pull request (GitHub's documented example).
const PR_URL: &str = "https://github.com/octocat/Hello-World/pull/1347";
/// The remote is a local bare repository, so the pull request goes to an allowed name instead.
const GITHUB_REPO: &str = "octo-org/hello";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_watches_and_drives_sandboxes_in_chromium() {
    // Prism starts (seconds) while the remote and the server do.
    let github_port = ports::reserved_port();
    let peer = tokio::task::spawn_blocking(move || PrismPeer::start_on_port(github_port));
    let remote = Remote::new().await;
    let data = DataDir::new("dashboard-");
    let studio = Studio::start(
        &ServerConfig::new(&data)
            .api_token(TOKEN)
            .env(
                "STUDIO_GITHUB_API_URL",
                format!("http://127.0.0.1:{github_port}"),
            )
            .env("GITHUB_TOKEN", GITHUB_TOKEN)
            .env("STUDIO_ALLOW_GITHUB_REPOS", GITHUB_REPO),
    );
    let peer = peer.await.unwrap().unwrap();
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
            ("STUDIO_GITHUB_REPO", GITHUB_REPO.into()),
            ("STUDIO_EXPECTED_PR_URL", PR_URL.into()),
            // Only so that the page can be checked not to show it.
            ("STUDIO_TEST_GITHUB_TOKEN", GITHUB_TOKEN.into()),
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

    // The sandbox finalized from the page: its branch is on the remote with exactly its commits.
    let list = studio.api().get("/api/v1/sandboxes").await;
    assert!(!list.text.contains(GITHUB_TOKEN), "{}", list.text);
    let sandboxes = list.expect(200)["sandboxes"].as_array().unwrap().clone();
    let finalized: Vec<&Value> = sandboxes
        .iter()
        .filter(|s| s["status"] == "finalized")
        .collect();
    assert_eq!(finalized.len(), 1, "one finalized sandbox: {sandboxes:#?}");
    let sandbox = finalized[0];
    assert_eq!(sandbox["pr_url"], PR_URL);
    let branch = sandbox["branch"].as_str().unwrap();
    let hashes = commit_hashes(sandbox);
    assert_eq!(hashes.len(), 1, "one commit: {sandbox:#}");
    assert_eq!(
        remote.branch_head(branch),
        hashes.last().cloned(),
        "{branch}"
    );
    let pushed: Vec<String> = remote
        .commits_between("main", branch)
        .into_iter()
        .map(|(hash, _)| hash)
        .collect();
    assert_eq!(pushed, hashes, "{branch} on the remote");

    // Every request to GitHub passed its schema.
    peer.wait_for_log("The request passed the validation rules")
        .unwrap();
    assert!(
        !peer.log_text().contains("VIOLATIONS"),
        "{}",
        peer.log_text()
    );
    let (_, log) = studio.terminate();
    assert!(
        !log.contains(GITHUB_TOKEN),
        "GITHUB_TOKEN in the server log:\n{log}"
    );
}
