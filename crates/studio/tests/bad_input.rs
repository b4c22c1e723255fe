//! Every kind of bad request the API documents gets its status and `{"error", "code"}`, and none of
//! them changes anything: afterwards the sandbox still serves, with the same commits and files.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::api::commit_hashes;
use support::remote::git;
use support::server::DataDir;
use support::{Remote, ServerConfig, Studio, WsClient, renderer_serves};

/// Small enough that a 100 KB file is refused, large enough for everything else.
const BODY_LIMIT: usize = 64 * 1024;
const BUTTON: &str = "src/components/Button/Button.tsx";
const UNKNOWN: &str = "sb_00000000000000aa";
const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

struct Case {
    method: &'static str,
    path: String,
    body: Option<String>,
    status: u16,
    code: &'static str,
}

fn case(
    method: &'static str,
    path: impl Into<String>,
    body: Option<&str>,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        method,
        path: path.into(),
        body: body.map(str::to_owned),
        status,
        code,
    }
}

fn write(path: &str) -> String {
    json!({"command": "write_file", "file_path": path, "content": "pwned\n", "description": "x"})
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_answered_precisely_and_change_nothing() {
    let remote = Remote::new().await;
    let foreign = remote.commit_on_new_branch("someone-else");
    let data = DataDir::new("bad-input-");
    let studio = Studio::start(&ServerConfig::new(&data).env("STUDIO_MAX_BODY_BYTES", BODY_LIMIT));
    let api = studio.api();
    let created = api
        .create(&json!({"repository": remote.url(), "branch": "main"}))
        .await
        .expect(201)
        .clone();
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let renderer_url = created["renderer_url"].as_str().unwrap().to_owned();
    let sandbox = format!("/api/v1/sandboxes/{id}");

    // A sandbox without commits has nothing to finalize.
    let answer = api.finalize(&id, "Nothing yet", "").await;
    answer.expect_error(409, "no_commits");

    // The state every bad request must leave alone.
    let mut hashes = Vec::new();
    for label in ["one", "two"] {
        let source = format!("export const Button = () => <button>{label}</button>;\n");
        let answer = api.write_file(&id, BUTTON, &source, label).await;
        hashes.push(
            answer.expect(200)["commit_hash"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let checkout = data.path().join("sandboxes").join(&id).join("repo");
    let button_before = std::fs::read_to_string(checkout.join(BUTTON)).unwrap();
    let repository = remote.url();
    let create_with = |extra: Value| {
        let mut body = json!({"repository": repository});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body.to_string()
    };
    let huge =
        json!({"command": "write_file", "file_path": BUTTON, "content": "x".repeat(100_000)})
            .to_string();
    let execute = format!("{sandbox}/execute");
    let rollback = format!("{sandbox}/rollback");
    let finalize = format!("{sandbox}/finalize");

    let cases = vec![
        // --- create ---
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(r#"{"repository": "#),
            400,
            "invalid_json",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(r#"{"repository": 5}"#),
            422,
            "invalid_request",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some("{}"),
            422,
            "invalid_request",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some("[]"),
            422,
            "invalid_request",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(&create_with(json!({"colour": "red"}))),
            422,
            "invalid_request",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(&create_with(json!({"auto_commit": "yes"}))),
            422,
            "invalid_request",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(&create_with(json!({"type": "vm"}))),
            422,
            "unsupported_type",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(&create_with(json!({"timeout_hours": -1}))),
            422,
            "invalid_timeout",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(&create_with(json!({"branch": "a..b"}))),
            422,
            "invalid_branch",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(&create_with(json!({"github_repo": "acme"}))),
            422,
            "invalid_github_repo",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(&create_with(json!({"wrapper": "Theme"}))),
            422,
            "invalid_wrapper",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(&create_with(json!({"branch": "no-such-branch"}))),
            422,
            "branch_not_found",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(r#"{"repository": "/no/such/repository"}"#),
            422,
            "repository_unreachable",
        ),
        case(
            "POST",
            "/api/v1/sandboxes",
            Some(r#"{"repository": ""}"#),
            422,
            "invalid_repository",
        ),
        // --- execute: bodies ---
        case(
            "POST",
            &execute,
            Some(r#"{"command": "write_file", "file_path": "#),
            400,
            "invalid_json",
        ),
        case(
            "POST",
            &execute,
            Some(r#"{"command": "write_file", "file_path": 3, "content": "x"}"#),
            422,
            "invalid_request",
        ),
        case(
            "POST",
            &execute,
            Some(r#"{"command": "write_file"}"#),
            422,
            "invalid_request",
        ),
        case(
            "POST",
            &execute,
            Some(r#"{"command": "rm", "file_path": "src/a.tsx"}"#),
            422,
            "invalid_request",
        ),
        case(
            "POST",
            &execute,
            Some(
                r#"{"command": "write_file", "file_path": "src/a.tsx", "content": "x", "mode": 7}"#,
            ),
            422,
            "invalid_request",
        ),
        case(
            "POST",
            &execute,
            Some(r#"{"command": "write_file", "file_path": "src/a.tsx"}"#),
            422,
            "missing_content",
        ),
        case(
            "POST",
            &execute,
            Some(r#"{"command": "delete_file", "file_path": "src/a.tsx", "content": ""}"#),
            422,
            "unexpected_content",
        ),
        case(
            "POST",
            &execute,
            Some(r#"{"command": "delete_file", "file_path": "src/no/such/file.tsx"}"#),
            422,
            "file_not_found",
        ),
        case("POST", &execute, Some(&huge), 413, "payload_too_large"),
        // --- execute: paths that leave the repository or touch what Studio owns ---
        case(
            "POST",
            &execute,
            Some(&write("../../etc/passwd")),
            400,
            "path_outside_repo",
        ),
        case(
            "POST",
            &execute,
            Some(&write("src/../../outside.txt")),
            400,
            "path_outside_repo",
        ),
        case(
            "POST",
            &execute,
            Some(&write("/etc/passwd")),
            400,
            "path_absolute",
        ),
        case(
            "POST",
            &execute,
            Some(&write(".git/config")),
            400,
            "path_in_git_dir",
        ),
        case(
            "POST",
            &execute,
            Some(&write("./.git/HEAD")),
            400,
            "path_in_git_dir",
        ),
        case(
            "POST",
            &execute,
            Some(&write(".GIT/config")),
            400,
            "path_in_git_dir",
        ),
        case(
            "POST",
            &execute,
            Some(&write("node_modules/react/index.js")),
            400,
            "path_generated",
        ),
        case(
            "POST",
            &execute,
            Some(&write(".studio/vite.config.mjs")),
            400,
            "path_generated",
        ),
        case(
            "POST",
            &execute,
            Some(&write("src/components")),
            400,
            "path_is_directory",
        ),
        case("POST", &execute, Some(&write("")), 400, "path_empty"),
        case(
            "POST",
            &execute,
            Some(&write("src/a\u{0}b.tsx")),
            400,
            "path_nul_byte",
        ),
        // --- rollback ---
        case(
            "POST",
            &rollback,
            Some(&json!({"commit_hash": foreign}).to_string()),
            422,
            "commit_not_in_session",
        ),
        case(
            "POST",
            &rollback,
            Some(r#"{"commit_hash": "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"}"#),
            422,
            "unknown_commit",
        ),
        case(
            "POST",
            &rollback,
            Some(r#"{"commit_hash": "not-a-hash"}"#),
            422,
            "invalid_commit_hash",
        ),
        case(
            "POST",
            &rollback,
            Some(r#"{"steps": 3}"#),
            422,
            "rollback_out_of_range",
        ),
        case(
            "POST",
            &rollback,
            Some(r#"{"steps": 0}"#),
            422,
            "invalid_rollback",
        ),
        case(
            "POST",
            &rollback,
            Some(r#"{"steps": -1}"#),
            422,
            "invalid_request",
        ),
        case("POST", &rollback, Some(r#"{}"#), 422, "invalid_rollback"),
        case(
            "POST",
            &rollback,
            Some(&json!({"steps": 1, "commit_hash": hashes[0]}).to_string()),
            422,
            "invalid_rollback",
        ),
        case("POST", &rollback, Some("steps=1"), 400, "invalid_json"),
        // --- finalize ---
        case(
            "POST",
            &finalize,
            Some(r#"{"title": ""}"#),
            422,
            "missing_title",
        ),
        case(
            "POST",
            &finalize,
            Some(r#"{"description": "no title"}"#),
            422,
            "invalid_request",
        ),
        // A local repository names no GitHub repository, and none was given at create.
        case(
            "POST",
            &finalize,
            Some(r#"{"title": "PR"}"#),
            422,
            "github_repo_unknown",
        ),
        // --- unknown sandboxes ---
        case(
            "GET",
            format!("/api/v1/sandboxes/{UNKNOWN}"),
            None,
            404,
            "sandbox_not_found",
        ),
        case(
            "GET",
            "/api/v1/sandboxes/not-an-id",
            None,
            404,
            "sandbox_not_found",
        ),
        case(
            "DELETE",
            format!("/api/v1/sandboxes/{UNKNOWN}"),
            None,
            404,
            "sandbox_not_found",
        ),
        case(
            "POST",
            format!("/api/v1/sandboxes/{UNKNOWN}/execute"),
            Some(&write("src/a.tsx")),
            404,
            "sandbox_not_found",
        ),
        case(
            "POST",
            format!("/api/v1/sandboxes/{UNKNOWN}/rollback"),
            Some(r#"{"steps": 1}"#),
            404,
            "sandbox_not_found",
        ),
        case(
            "POST",
            format!("/api/v1/sandboxes/{UNKNOWN}/finalize"),
            Some(r#"{"title": "t"}"#),
            404,
            "sandbox_not_found",
        ),
        case(
            "POST",
            format!("/api/v1/sandboxes/{UNKNOWN}/restart"),
            None,
            404,
            "sandbox_not_found",
        ),
        case(
            "POST",
            format!("/api/v1/sandboxes/{UNKNOWN}/stop"),
            None,
            404,
            "sandbox_not_found",
        ),
        case(
            "POST",
            format!("/api/v1/sandboxes/{UNKNOWN}/start"),
            None,
            404,
            "sandbox_not_found",
        ),
        case(
            "GET",
            format!("/api/v1/sandboxes/{UNKNOWN}/logs"),
            None,
            404,
            "sandbox_not_found",
        ),
        // --- routes, methods, queries ---
        case("GET", "/api/v1/nothing-here", None, 404, "route_not_found"),
        case("PUT", &sandbox, Some("{}"), 405, "method_not_allowed"),
        case(
            "GET",
            format!("{sandbox}/logs?limit=lots"),
            None,
            400,
            "invalid_query",
        ),
        case(
            "GET",
            format!("{sandbox}/ws"),
            None,
            400,
            "websocket_upgrade_required",
        ),
    ];

    let mut failures = Vec::new();
    for case in &cases {
        let body = case
            .body
            .as_ref()
            .map(|b| ("application/json", b.clone().into_bytes()));
        let answer = api.raw(case.method, &case.path, body).await;
        if let Err(wrong) = answer.check_error(case.status, case.code) {
            failures.push(format!(
                "{} {} {:?}\n  {wrong}",
                case.method,
                case.path,
                case.body.as_deref().map(|b| &b[..b.len().min(120)]),
            ));
        }
    }
    // A JSON body without its content type.
    let answer = api
        .raw(
            "POST",
            &execute,
            Some(("text/plain", write("src/a.tsx").into_bytes())),
        )
        .await;
    answer.expect_error(415, "unsupported_media_type");
    // A WebSocket query the server cannot read.
    let refused = WsClient::connect(
        &format!(
            "{}?since=yesterday",
            created["websocket_url"].as_str().unwrap()
        ),
        None,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(
        failures.is_empty(),
        "{} of {} cases answered wrongly:\n{}",
        failures.len(),
        cases.len(),
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
    assert_eq!(
        git(&checkout, &["rev-parse", "HEAD"]).trim(),
        hashes[1],
        "the branch still points at the last commit"
    );
    assert!(!data.path().join("sandboxes").join("outside.txt").exists());
    assert_eq!(
        remote.branch_head(&format!("design/studio-{}", &id[3..])),
        None,
        "nothing was pushed"
    );

    // --- an edit the renderer cannot follow is still the user's edit: kept, and reported ---
    let mut events = WsClient::connect(created["websocket_url"].as_str().unwrap(), None)
        .await
        .unwrap();
    let broken = api
        .write_file(
            &id,
            "package.json",
            "{ this is not json",
            "Break the manifest",
        )
        .await;
    let hash = broken.expect(200)["commit_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let commit = events.next_of("commit", WAIT).await;
    assert_eq!(commit["payload"]["hash"], hash.as_str());
    let error = events.next_of("error", WAIT).await;
    let message = error["payload"]["error"].as_str().unwrap();
    assert!(
        message.contains("npm"),
        "the error says what failed: {message}"
    );
    let status = api.status_of(&id).await;
    assert_eq!(
        commit_hashes(&status),
        [hashes[0].as_str(), hashes[1].as_str(), hash.as_str()]
    );
    // A Vite that is still initialising when package.json breaks exits, and its restarts fail
    // until the budget is spent (`failed`); one that is up keeps serving. Either way:
    // undoing the edit brings the renderer back, running and serving.
    let undone = api.rollback(&id, &json!({"steps": 1})).await;
    assert_eq!(undone.expect(200)["current_hash"], hashes[1].as_str());
    support::eventually("the renderer to serve again", WAIT, async || {
        let status = api.status_of(&id).await;
        if status["status"] != "running" {
            return Err(status.to_string());
        }
        renderer_serves(&renderer_url).await
    })
    .await;
    assert_eq!(commit_hashes(&api.status_of(&id).await), hashes);
}
