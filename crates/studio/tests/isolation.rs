//! A host that cannot jail renderers does not run them: the API stays up, `/readyz` answers 503
//! with the reason, and every create is refused with it before anything is recorded (issue 13,
//! item 1). The jail itself, seen from inside a renderer, is `tests/jail.rs`.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::Studio;

async fn assert_refuses_renderers(studio: &Studio, remote: &Remote, reason: &str) {
    let api = studio.api();
    api.get("/healthz").await.expect(200);
    let ready = api.get("/readyz").await;
    let message = ready.expect_error(503, "jail_unavailable");
    assert!(message.contains(reason), "/readyz: {message}");
    assert!(
        message.contains("--insecure-no-jail"),
        "it says how to run anyway: {message}"
    );

    let created = api
        .create(&json!({"repository": remote.url(), "branch": "main"}))
        .await;
    let message = created.expect_error(503, "jail_unavailable");
    assert!(message.contains(reason), "create: {message}");
    let list = api.get("/api/v1/sandboxes").await;
    assert_eq!(
        list.expect(200)["sandboxes"],
        json!([]),
        "a refused create leaves no sandbox"
    );
    assert!(
        studio.log().contains("renderers cannot start"),
        "the server log says so at start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_sandbox_user_refuses_renderers_and_readyz_says_why() {
    let remote = Remote::new().await;
    let data = DataDir::new("no-user-");
    let studio =
        Studio::start(&ServerConfig::new(&data).env("STUDIO_SANDBOX_USER", "studio-no-such-user"));
    assert_refuses_renderers(&studio, &remote, "\"studio-no-such-user\" does not exist").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_the_jail_user_cannot_reach_refuses_renderers_and_names_it() {
    use std::os::unix::fs::PermissionsExt;
    let remote = Remote::new().await;
    let outer = DataDir::new("private-parent-");
    // A data dir below a directory only root may enter: bubblewrap, running as the sandbox
    // user, could not bind anything from it.
    std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut config = ServerConfig::new(&outer);
    config.data_dir = outer.path().join("data");
    let studio = Studio::start(&config);
    assert_refuses_renderers(&studio, &remote, "cannot reach").await;
    std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}
