//! Every kind of bad request the API documents gets its status and `{"error", "code"}`, and none of
//! them changes anything: afterwards the sandbox still serves, with the same commits and files.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use studio_testkit::git::git;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::api::commit_hashes;
use support::{Studio, WsClient, eventually, renderer_serves};

/// Small enough that a 100 KB file is refused, large enough for everything else.
const BODY_LIMIT: usize = 64 * 1024;
const BUTTON: &str = "src/components/Button/Button.tsx";
const UNKNOWN: &str = "sb_00000000000000aa";
const WAIT: Duration = Duration::from_secs(60);

/// One bad request and the answer it must get.
struct Case {
    method: &'static str,
    path: String,
    body: Option<String>,
    status: u16,
    code: &'static str,
}

/// What the table of cases refers to.
struct Target {
    /// `/api/v1/sandboxes/<id>`
    sandbox: String,
    repository: String,
    /// A commit of the remote that is not on the session's branch.
    foreign: String,
    /// A commit of the session.
    own: String,
}

fn c(
    method: &'static str,
    path: impl Into<String>,
    body: impl Into<Option<String>>,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        method,
        path: path.into(),
        body: body.into(),
        status,
        code,
    }
}

fn write(path: &str) -> String {
    json!({"command": "write_file", "file_path": path, "content": "pwned\n", "description": "x"})
        .to_string()
}

fn raw(body: &str) -> String {
    body.to_owned()
}

/// Every bad request, one per line: method, path, body, expected status and code (the bad paths
/// of a write, which all get 400, one line per code).
#[rustfmt::skip]
fn bad_requests(t: &Target) -> Vec<Case> {
    let create = "/api/v1/sandboxes";
    let create_with = |extra: Value| {
        let mut body = json!({"repository": t.repository});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body.to_string()
    };
    let execute = format!("{}/execute", t.sandbox);
    let rollback = format!("{}/rollback", t.sandbox);
    let finalize = format!("{}/finalize", t.sandbox);
    let huge = json!({"command": "write_file", "file_path": BUTTON, "content": "x".repeat(100_000)}).to_string();
    let unknown = format!("/api/v1/sandboxes/{UNKNOWN}");
    let mut cases = vec![
        // --- create ---
        c("POST", create, raw(r#"{"repository": "#), 400, "invalid_json"),
        c("POST", create, raw(r#"{"repository": 5}"#), 422, "invalid_request"),
        c("POST", create, raw("{}"), 422, "invalid_request"),
        c("POST", create, raw("[]"), 422, "invalid_request"),
        c("POST", create, create_with(json!({"colour": "red"})), 422, "invalid_request"),
        c("POST", create, create_with(json!({"auto_commit": "yes"})), 422, "invalid_request"),
        c("POST", create, create_with(json!({"type": "vm"})), 422, "unsupported_type"),
        c("POST", create, create_with(json!({"timeout_hours": -1})), 422, "invalid_timeout"),
        c("POST", create, create_with(json!({"branch": "a..b"})), 422, "invalid_branch"),
        c("POST", create, create_with(json!({"github_repo": "acme"})), 422, "invalid_github_repo"),
        c("POST", create, create_with(json!({"wrapper": "Theme"})), 422, "invalid_wrapper"),
        c("POST", create, create_with(json!({"branch": "no-such-branch"})), 422, "branch_not_found"),
        c("POST", create, raw(r#"{"repository": "/no/such/repository"}"#), 422, "repository_unreachable"),
        c("POST", create, raw(r#"{"repository": ""}"#), 422, "invalid_repository"),
        // --- execute: bodies ---
        c("POST", &execute, raw(r#"{"command": "write_file", "file_path": "#), 400, "invalid_json"),
        c("POST", &execute, raw(r#"{"command": "write_file", "file_path": 3, "content": "x"}"#), 422, "invalid_request"),
        c("POST", &execute, raw(r#"{"command": "write_file"}"#), 422, "invalid_request"),
        c("POST", &execute, raw(r#"{"command": "rm", "file_path": "src/a.tsx"}"#), 422, "invalid_request"),
        c("POST", &execute, raw(r#"{"command": "write_file", "file_path": "src/a.tsx", "content": "x", "mode": 7}"#), 422, "invalid_request"),
        c("POST", &execute, raw(r#"{"command": "write_file", "file_path": "src/a.tsx"}"#), 422, "missing_content"),
        c("POST", &execute, raw(r#"{"command": "delete_file", "file_path": "src/a.tsx", "content": ""}"#), 422, "unexpected_content"),
        c("POST", &execute, raw(r#"{"command": "delete_file", "file_path": "src/no/such/file.tsx"}"#), 422, "file_not_found"),
        c("POST", &execute, huge, 413, "payload_too_large"),
    ];
    // --- execute: paths that leave the repository or touch what Studio owns (400, by code) ---
    let bad_paths: [(&str, &[&str]); 8] = [
        ("path_outside_repo", &["../../etc/passwd", "src/../../outside.txt"]),
        ("path_absolute", &["/etc/passwd"]),
        ("path_in_git_dir", &[".git/config", "./.git/HEAD", ".GIT/config"]),
        ("path_generated", &["node_modules/react/index.js", ".studio/vite.config.mjs"]),
        ("path_is_directory", &["src/components"]),
        ("path_parent_not_directory", &["src/components/Button/Button.tsx/child"]),
        ("path_empty", &[""]),
        ("path_nul_byte", &["src/a\u{0}b.tsx"]),
    ];
    for (code, paths) in bad_paths {
        cases.extend(paths.iter().map(|path| c("POST", &execute, write(path), 400, code)));
    }
    cases.extend([
        // --- rollback ---
        c("POST", &rollback, json!({"commit_hash": t.foreign}).to_string(), 422, "commit_not_in_session"),
        c("POST", &rollback, raw(r#"{"commit_hash": "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"}"#), 422, "unknown_commit"),
        c("POST", &rollback, raw(r#"{"commit_hash": "not-a-hash"}"#), 422, "invalid_commit_hash"),
        c("POST", &rollback, raw(r#"{"steps": 3}"#), 422, "rollback_out_of_range"),
        c("POST", &rollback, raw(r#"{"steps": 0}"#), 422, "invalid_rollback"),
        c("POST", &rollback, raw(r#"{"steps": -1}"#), 422, "invalid_request"),
        c("POST", &rollback, raw("{}"), 422, "invalid_rollback"),
        c("POST", &rollback, json!({"steps": 1, "commit_hash": t.own}).to_string(), 422, "invalid_rollback"),
        c("POST", &rollback, raw("steps=1"), 400, "invalid_json"),
        // --- finalize ---
        c("POST", &finalize, raw(r#"{"title": ""}"#), 422, "missing_title"),
        c("POST", &finalize, raw(r#"{"description": "no title"}"#), 422, "invalid_request"),
        // A local repository names no GitHub repository, and none was given at create.
        c("POST", &finalize, raw(r#"{"title": "PR"}"#), 422, "github_repo_unknown"),
        // --- unknown sandboxes ---
        c("GET", &unknown, None, 404, "sandbox_not_found"),
        c("GET", "/api/v1/sandboxes/not-an-id", None, 404, "sandbox_not_found"),
        c("DELETE", &unknown, None, 404, "sandbox_not_found"),
        c("POST", format!("{unknown}/execute"), write("src/a.tsx"), 404, "sandbox_not_found"),
        c("POST", format!("{unknown}/rollback"), raw(r#"{"steps": 1}"#), 404, "sandbox_not_found"),
        c("POST", format!("{unknown}/finalize"), raw(r#"{"title": "t"}"#), 404, "sandbox_not_found"),
        c("POST", format!("{unknown}/restart"), None, 404, "sandbox_not_found"),
        c("POST", format!("{unknown}/stop"), None, 404, "sandbox_not_found"),
        c("POST", format!("{unknown}/start"), None, 404, "sandbox_not_found"),
        c("GET", format!("{unknown}/logs"), None, 404, "sandbox_not_found"),
        // --- routes, methods, queries ---
        c("GET", "/api/v1/nothing-here", None, 404, "route_not_found"),
        c("PUT", &t.sandbox, raw("{}"), 405, "method_not_allowed"),
        c("GET", format!("{}/logs?limit=lots", t.sandbox), None, 400, "invalid_query"),
        c("GET", format!("{}/ws", t.sandbox), None, 400, "websocket_upgrade_required"),
    ]);
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_answered_precisely_and_change_nothing() {
    let remote = Remote::new().await;
    let foreign = remote.commit_on_new_branch("someone-else");
    let data = DataDir::new("bad-input-");
    let studio = Studio::start(&ServerConfig::new(&data).env("STUDIO_MAX_BODY_BYTES", BODY_LIMIT));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let renderer_url = created["renderer_url"].as_str().unwrap().to_owned();
    let ws_url = created["websocket_url"].as_str().unwrap().to_owned();

    // A sandbox without commits has nothing to finalize.
    api.finalize(&id, "Nothing yet", "")
        .await
        .expect_error(409, "no_commits");

    // The state every bad request must leave alone.
    let mut hashes = Vec::new();
    for label in ["one", "two"] {
        let source = format!("export const Button = () => <button>{label}</button>;\n");
        hashes.push(api.commit(&id, BUTTON, &source, label).await);
    }
    let checkout = data.path().join("sandboxes").join(&id).join("repo");
    let button_before = std::fs::read_to_string(checkout.join(BUTTON)).unwrap();

    let target = Target {
        sandbox: format!("/api/v1/sandboxes/{id}"),
        repository: remote.url(),
        foreign,
        own: hashes[0].clone(),
    };
    let cases = bad_requests(&target);
    let mut failures = Vec::new();
    for case in &cases {
        let body = case
            .body
            .as_ref()
            .map(|b| ("application/json", b.clone().into_bytes()));
        let answer = api.raw(case.method, &case.path, body).await;
        if let Err(wrong) = answer.check_error(case.status, case.code) {
            let shown = case.body.as_deref().map(|b| &b[..b.len().min(120)]);
            failures.push(format!(
                "{} {} {shown:?}\n  {wrong}",
                case.method, case.path
            ));
        }
    }
    // A JSON body without its content type.
    let body = Some(("text/plain", write("src/a.tsx").into_bytes()));
    let answer = api
        .raw("POST", &format!("{}/execute", target.sandbox), body)
        .await;
    if let Err(wrong) = answer.check_error(415, "unsupported_media_type") {
        failures.push(format!("text/plain body: {wrong}"));
    }
    // A WebSocket query the server cannot read.
    let refused = WsClient::connect(&format!("{ws_url}?since=yesterday"), None)
        .await
        .err()
        .unwrap();
    if refused.status != 400 {
        failures.push(format!("?since=yesterday: {refused:?}"));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases answered wrongly:\n{}",
        failures.len(),
        cases.len() + 2,
        failures.join("\n")
    );

    // --- nothing changed ---
    let status = api.status_of(&id).await;
    assert_eq!(status["status"], "running");
    assert_eq!(commit_hashes(&status), hashes, "the commits are unchanged");
    renderer_serves(&renderer_url).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(checkout.join(BUTTON)).unwrap(),
        button_before
    );
    let dirty = git(
        &checkout,
        &["status", "--porcelain", "--untracked-files=all"],
    );
    assert_eq!(
        dirty, "",
        "the checkout has changes no request should have made"
    );
    let head = git(&checkout, &["rev-parse", "HEAD"]);
    assert_eq!(
        head.trim(),
        hashes[1],
        "the branch still points at the last commit"
    );
    assert!(!data.path().join("sandboxes").join("outside.txt").exists());
    let branch = created["branch"].as_str().unwrap();
    assert_eq!(remote.branch_head(branch), None, "nothing was pushed");

    // --- an edit the renderer cannot follow is still the user's edit: kept, and reported ---
    let mut events = WsClient::connect(&ws_url, None).await.unwrap();
    let broken = api
        .write_file(
            &id,
            "package.json",
            "{ this is not json",
            "Break the manifest",
        )
        .await;
    let hash = broken.commit_hash();
    let commit = events.next_of("commit", WAIT).await;
    assert_eq!(commit["payload"]["hash"], hash.as_str());
    let error = events.next_of("error", WAIT).await;
    let message = error["payload"]["error"].as_str().unwrap();
    assert!(
        message.contains("npm"),
        "the error says what failed: {message}"
    );
    let with_broken = [hashes[0].as_str(), hashes[1].as_str(), hash.as_str()];
    assert_eq!(commit_hashes(&api.status_of(&id).await), with_broken);
    // A Vite that is still initialising when package.json breaks exits, and its restarts fail
    // until the budget is spent (`failed`); one that is up keeps serving. Either way, undoing the
    // edit brings the renderer back, running and serving.
    let undone = api.rollback(&id, &json!({"steps": 1})).await;
    assert_eq!(undone.expect(200)["current_hash"], hashes[1].as_str());
    eventually("the renderer to serve again", WAIT, async || {
        let status = api.status_of(&id).await;
        if status["status"] != "running" {
            return Err(status.to_string());
        }
        renderer_serves(&renderer_url).await
    })
    .await;
    assert_eq!(commit_hashes(&api.status_of(&id).await), hashes);
}
