//! The source policy against the real binary: which repositories a caller may name.
//!
//! A server with the production defaults refuses local paths and `file://` URLs (one answer for
//! existing and missing paths, never echoing them), loopback hosts, credentials in URLs and a
//! `github_repo` that is not the repository's own. With `--allow-local-sources` (what the rest of
//! the suite runs with) Studio's data dir is still refused. Every refusal happens before any
//! connection: the ports named below have no listener, and none is needed.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use studio_testkit::ports;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::{Api, Studio};

const REFUSED: &str = "source_not_allowed";

/// Creates a sandbox on `repository` and returns the refusal's message (422, `code`).
async fn refused(api: &Api, repository: &str, code: &str) -> String {
    api.create(&json!({"repository": repository, "branch": "main"}))
        .await
        .expect_error(422, code)
}

fn production(data: &DataDir) -> ServerConfig {
    ServerConfig::new(data).without_env("STUDIO_ALLOW_LOCAL_SOURCES")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_policy_refuses_local_loopback_and_credentialed_sources() {
    let remote = Remote::new().await;
    let data = DataDir::new("source-policy-");
    let studio = Studio::start(&production(&data));
    let api = studio.api();

    // Local: an existing bare repository and a path that does not exist get the same answer.
    let existing = remote.url();
    let missing = format!("{existing}-missing");
    let mut messages = Vec::new();
    for repository in [
        existing.clone(),
        missing.clone(),
        format!("file://{existing}"),
        format!("file://{missing}"),
    ] {
        let message = refused(&api, &repository, REFUSED).await;
        assert!(!message.contains("remote"), "{repository}: {message}");
        assert!(!message.contains(&existing), "{repository}: {message}");
        messages.push(message);
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "different answers: {messages:?}");

    // Loopback, by address and by a name that resolves to it.
    let port = ports::reserved_port();
    for repository in [
        format!("http://127.0.0.1:{port}/x.git"),
        format!("http://localhost:{port}/x.git"),
        format!("https://localhost:{port}/x.git"),
    ] {
        refused(&api, &repository, REFUSED).await;
    }

    // Credentials in the user part, with or without a password; never echoed.
    for repository in [
        "https://ghp_secretToken@github.com/acme/ui.git",
        "https://user:ghp_secretToken@github.com/acme/ui.git",
    ] {
        let message = refused(&api, repository, REFUSED).await;
        assert!(!message.contains("ghp_secretToken"), "{message}");
    }

    // A github_repo other than the repository's own: refused before anything is fetched.
    let answer = api
        .create(&json!({
            "repository": "https://github.com/acme/ui.git",
            "github_repo": "victim/payroll",
        }))
        .await;
    answer.expect_error(422, "github_repo_not_allowed");

    let listed = api.get("/api/v1/sandboxes").await;
    assert_eq!(
        listed.expect(200)["sandboxes"].as_array().map(Vec::len),
        Some(0),
        "{}",
        listed.text
    );
    let (_, log) = studio.terminate();
    assert!(!log.contains("ghp_secretToken"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wildcard_pattern_still_refuses_names_that_resolve_to_loopback() {
    let data = DataDir::new("source-policy-dns-");
    let studio = Studio::start(&production(&data).env("STUDIO_ALLOW_SOURCES", "http://*:*/*"));
    let api = studio.api();
    let port = ports::reserved_port();
    for repository in [
        format!("http://localhost:{port}/x.git"),
        format!("http://127.0.0.1:{port}/x.git"),
        format!("http://[::1]:{port}/x.git"),
    ] {
        let message = refused(&api, &repository, REFUSED).await;
        assert!(message.contains("loopback"), "{repository}: {message}");
    }
    // And github.com is no longer allowed: the patterns replace the default.
    refused(&api, "https://github.com/acme/ui.git", REFUSED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_dir_is_refused_even_with_local_sources() {
    let data = DataDir::new("source-policy-data-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    // A real repository inside the data dir (where mirrors and checkouts live), one that does not
    // exist there, the data dir itself, a `..` detour and a symlink from outside into it.
    let inside = data.path().join("mirrors").join("planted.git");
    std::fs::create_dir_all(&inside).unwrap();
    studio_testkit::git::git(&inside, &["init", "--quiet", "--bare"]);
    let outside = tempfile::tempdir().unwrap();
    let link = outside.path().join("link.git");
    std::os::unix::fs::symlink(&inside, &link).unwrap();
    let name = data.path().file_name().unwrap().to_str().unwrap();
    let mut messages = Vec::new();
    for repository in [
        inside.display().to_string(),
        data.path()
            .join("mirrors/missing.git")
            .display()
            .to_string(),
        data.path().display().to_string(),
        format!("file://{}", inside.display()),
        format!("{}/../{name}/mirrors/planted.git", data.path().display()),
        link.display().to_string(),
    ] {
        let message = refused(&api, &repository, REFUSED).await;
        assert!(!message.contains("planted"), "{repository}: {message}");
        messages.push(message);
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "different answers: {messages:?}");
    // Outside the data dir, local sources pass the policy (the rest of the suite creates
    // sandboxes on local bare remotes); a missing one is then simply unreachable.
    let missing = outside.path().join("missing.git");
    refused(
        &api,
        &missing.display().to_string(),
        "repository_unreachable",
    )
    .await;
}
