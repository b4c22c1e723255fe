//! A sandbox's whole life through the REST API of the real server: create (201 only once the
//! renderer serves, at its front-door URL), status (with the renderer's memory and CPU time),
//! three edits, rollback back and forth, restart, stop/start, delete.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use studio_testkit::paths;
use studio_testkit::procs;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners::{renderer_pids, renderer_socket};
use support::api::commit_hashes;
use support::{Studio, door, eventually, renderer_serves};

const BUTTON: &str = "src/components/Button/Button.tsx";

fn button_source(label: &str) -> String {
    format!(
        "export function Button() {{\n  return <button style={{{{ borderRadius: 8 }}}}>{label}</button>;\n}}\n"
    )
}

/// Vite serves the module compiled from the checkout's current file.
async fn renderer_module_contains(renderer_url: &str, needle: &str) -> Result<(), String> {
    let answer = door::get(&format!("{renderer_url}{BUTTON}")).await?;
    if answer.status == 200 && answer.text.contains(needle) {
        return Ok(());
    }
    Err(format!("{}: {}", answer.status, answer.text))
}

/// A running renderer (Node and Vite, having served a page) holds megabytes and has used CPU.
fn assert_uses_resources(status: &serde_json::Value) {
    let resources = &status["resources"];
    let memory = resources["memory_bytes"].as_u64();
    assert!(
        memory.is_some_and(|bytes| bytes > 1 << 20),
        "memory_bytes of a running renderer: {resources}"
    );
    let cpu = resources["cpu_usage_usec"].as_u64();
    assert!(
        cpu.is_some_and(|usec| usec > 0),
        "cpu_usage_usec of a running renderer: {resources}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_lives_from_create_to_delete_through_rest() {
    let remote = Remote::new().await;
    let data = DataDir::new("lifecycle-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();

    // --- create: 201 only once the renderer serves the page ---
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let renderer_url = created["renderer_url"].as_str().unwrap().to_owned();
    renderer_serves(&renderer_url).await.unwrap();
    let hex = id.strip_prefix("sb_").unwrap();
    assert!(
        hex.len() >= 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(created["status"], "running");
    assert_eq!(created["branch"], format!("design/studio-{hex}"));
    assert_eq!(
        created["websocket_url"],
        format!("{}/api/v1/sandboxes/{id}/ws", studio.ws_base())
    );
    assert_eq!(
        renderer_url,
        format!("http://sb-{hex}.localhost:{}/", studio.port),
        "the preview is served by the front door, on the sandbox's own host"
    );
    let socket = renderer_socket(&studio.config.data_dir.canonicalize().unwrap(), &id);
    let server = studio.pid();
    let checkout = PathBuf::from(&studio.config.data_dir)
        .join("sandboxes")
        .join(&id);
    assert!(checkout.exists(), "no checkout at {}", checkout.display());

    // --- status and list ---
    let status = api.status_of(&id).await;
    assert_eq!(status["id"], id.as_str());
    assert_eq!(status["status"], "running");
    assert_eq!(status["renderer_url"], renderer_url.as_str());
    assert_eq!(status["websocket_url"], created["websocket_url"]);
    assert_eq!(status["repository"], remote.url());
    assert_eq!(status["branch"], created["branch"]);
    assert_eq!(status["base_branch"], "main");
    assert_eq!(status["git_commits"], json!([]));
    assert_eq!(status["restarts"], 0);
    for field in ["created_at", "last_activity"] {
        let value = status[field].as_str().unwrap();
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{field} {value:?} is not RFC 3339: {e}"));
    }
    assert_uses_resources(&status);
    let list = api.get("/api/v1/sandboxes").await;
    let listed = list.expect(200)["sandboxes"].as_array().unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id.as_str()]);
    assert_uses_resources(&listed[0]);

    // --- three edits, three commits with the right messages ---
    let mut hashes = Vec::new();
    for (n, description) in ["Rounder corners", "Bigger label", "Primary colour"]
        .iter()
        .enumerate()
    {
        let answer = api
            .write_file(
                &id,
                BUTTON,
                &button_source(&format!("version-{n}")),
                description,
            )
            .await;
        let body = answer.expect(200);
        assert_eq!(body["output"], "File written successfully");
        let hash = body["commit_hash"].as_str().unwrap().to_owned();
        assert!(
            hash.len() == 40 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{hash}"
        );
        hashes.push(hash);
    }
    let status = api.status_of(&id).await;
    assert_eq!(commit_hashes(&status), hashes);
    let commits = status["git_commits"].as_array().unwrap();
    for (commit, description) in
        commits
            .iter()
            .zip(["Rounder corners", "Bigger label", "Primary colour"])
    {
        let message = commit["message"].as_str().unwrap();
        let prefix = format!("AI: {description} - ");
        let stamp = message
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{message:?} does not follow the default pattern"));
        // `{timestamp}` is "YYYY-MM-DD HH:MM".
        let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
        assert!(stamp.len() == 16 && digits.len() == 12, "{message:?}");
    }
    let on_disk = checkout.join("repo").join(BUTTON);
    assert_eq!(
        std::fs::read_to_string(&on_disk).unwrap(),
        button_source("version-2")
    );
    // (What the renderer serves after edits and rollbacks is the next test's subject.)

    // --- rollback by steps: the list shrinks, the file is the one of the target ---
    let rolled = api.rollback(&id, &json!({"steps": 1})).await;
    let body = rolled.expect(200);
    assert_eq!(body["success"], true);
    assert_eq!(body["current_hash"], hashes[1].as_str());
    assert_eq!(commit_hashes(&api.status_of(&id).await), hashes[..2]);
    assert_eq!(
        std::fs::read_to_string(&on_disk).unwrap(),
        button_source("version-1")
    );
    // By hash, two steps back at once; then forward again: rolled-back commits are not lost.
    let rolled = api.rollback(&id, &json!({"commit_hash": hashes[0]})).await;
    assert_eq!(rolled.expect(200)["current_hash"], hashes[0].as_str());
    assert_eq!(commit_hashes(&api.status_of(&id).await), hashes[..1]);
    assert_eq!(
        std::fs::read_to_string(&on_disk).unwrap(),
        button_source("version-0")
    );
    let forward = api.rollback(&id, &json!({"commit_hash": hashes[2]})).await;
    assert_eq!(forward.expect(200)["current_hash"], hashes[2].as_str());
    assert_eq!(commit_hashes(&api.status_of(&id).await), hashes);
    assert_eq!(
        std::fs::read_to_string(&on_disk).unwrap(),
        button_source("version-2")
    );

    // --- restart: a new renderer process on the same socket, the same URL ---
    let before = renderer_pids(&socket, server);
    assert!(
        !before.is_empty(),
        "nothing serves on the renderer socket {}",
        socket.display()
    );
    let restarted = api.control(&id, "restart").await;
    assert_eq!(restarted.expect(200)["status"], "running");
    renderer_serves(&renderer_url).await.unwrap();
    let after = renderer_pids(&socket, server);
    assert!(
        !after.is_empty() && after.is_disjoint(&before),
        "{before:?} -> {after:?}"
    );
    assert_eq!(
        api.status_of(&id).await["restarts"],
        0,
        "a restart asked for is not a crash"
    );

    // --- stop / start ---
    let stopped = api.control(&id, "stop").await;
    let body = stopped.expect(200);
    assert_eq!(body["status"], "stopped");
    assert_eq!(
        body.get("resources"),
        None,
        "a stopped sandbox has no renderer to measure"
    );
    assert_eq!(api.status_of(&id).await.get("resources"), None);
    assert!(
        renderer_pids(&socket, server).is_empty(),
        "the renderer still serves after stop"
    );
    let (host, port) = door::host_and_port(&renderer_url);
    let stopped = door::request_with_host(port, &host, "GET", "/")
        .await
        .unwrap();
    assert_eq!(stopped.status, 503, "{}", stopped.text);
    assert!(stopped.text.contains("stopped"), "{}", stopped.text);
    let started = api.control(&id, "start").await;
    let body = started.expect(200);
    assert_eq!(body["status"], "running");
    assert_eq!(body["renderer_url"], renderer_url.as_str());
    renderer_serves(&renderer_url).await.unwrap();
    assert_eq!(commit_hashes(body), hashes, "stop/start keeps the session");

    // --- delete: 204, then 404; processes, socket and checkout gone ---
    let leader = *renderer_pids(&socket, server).iter().next().unwrap();
    let group = procs::pgid_of(leader).unwrap();
    api.delete(&format!("/api/v1/sandboxes/{id}"))
        .await
        .expect(204);
    api.sandbox(&id)
        .await
        .expect_error(404, "sandbox_not_found");
    api.delete(&format!("/api/v1/sandboxes/{id}"))
        .await
        .expect_error(404, "sandbox_not_found");
    assert!(!socket.exists(), "{} survived the delete", socket.display());
    assert!(renderer_pids(&socket, server).is_empty());
    let gone = door::request_with_host(port, &host, "GET", "/")
        .await
        .unwrap();
    assert_eq!(
        gone.status, 404,
        "the door still serves a deleted sandbox: {}",
        gone.text
    );
    assert_eq!(
        procs::group_members(group),
        Vec::<u32>::new(),
        "renderer processes survived"
    );
    assert!(
        !checkout.exists(),
        "{} survived the delete: {:?}",
        checkout.display(),
        paths::dir_listing(&checkout)
    );
    let list = api.get("/api/v1/sandboxes").await;
    assert_eq!(list.expect(200)["sandboxes"], json!([]));
}

/// A design tool writes as soon as create answers, often several times in a row, and rolls back.
/// Studio answers 201 once the renderer is up, so from then on the page must follow every change:
/// Vite must serve the checkout's current file, never a version it transformed earlier (for
/// instance while warming up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_renderer_serves_every_edit_and_rollback_made_right_after_create() {
    let remote = Remote::new().await;
    let data = DataDir::new("first-edit-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap();
    let renderer_url = created["renderer_url"].as_str().unwrap();
    for n in 0..3 {
        let source = button_source(&format!("version-{n}"));
        api.write_file(id, BUTTON, &source, &format!("Edit {n}"))
            .await
            .expect(200);
    }
    eventually(
        "Vite to serve the last of three quick edits",
        Duration::from_secs(30),
        async || renderer_module_contains(renderer_url, "version-2").await,
    )
    .await;
    api.rollback(id, &json!({"steps": 1})).await.expect(200);
    eventually(
        "Vite to serve the rolled-back file",
        Duration::from_secs(30),
        async || renderer_module_contains(renderer_url, "version-1").await,
    )
    .await;
}
