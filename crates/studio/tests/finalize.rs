//! Finalize against the GitHub peer (Prism serving GitHub's own API description, validating every
//! request): the branch lands on the remote with exactly the session's commits, the pull request
//! is opened, the sandbox is torn down. With GitHub down, finalize fails naming the step, the
//! sandbox keeps running, and a retry once GitHub is back succeeds. `GITHUB_TOKEN` never leaks.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use studio_testkit::ports;
use studio_testkit::prism::PrismPeer;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners::{renderer_pids, renderer_socket};
use support::api::commit_hashes;
use support::{Api, Studio, door, renderer_serves};

const GITHUB_TOKEN: &str = "ghp_e2eDummyToken0123456789abcdefABCDEF";
const PR_URL: &str = "https://github.com/octocat/Hello-World/pull/1347";

async fn create(api: &Api, remote: &Remote, bodies: &mut Vec<String>) -> Value {
    let answer = api
        .create(
            &json!({"repository": remote.url(), "branch": "main", "github_repo": "octo-org/hello"}),
        )
        .await;
    bodies.push(answer.text.clone());
    answer.expect(201).clone()
}

async fn edits(api: &Api, id: &str, n: usize, bodies: &mut Vec<String>) -> Vec<String> {
    let mut hashes = Vec::new();
    for i in 0..n {
        let answer = api
            .write_file(
                id,
                "src/components/Button/Button.tsx",
                &format!("export const Button = () => <button>{id} {i}</button>;\n"),
                &format!("Edit {i}"),
            )
            .await;
        bodies.push(answer.text.clone());
        hashes.push(answer.commit_hash());
    }
    hashes
}

/// The session branch on the remote holds exactly `status`'s commits, with their messages.
fn assert_pushed(remote: &Remote, status: &Value) {
    let branch = status["branch"].as_str().unwrap();
    let pushed = remote.commits_between("main", branch);
    let expected: Vec<(String, String)> = status["git_commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["hash"].as_str().unwrap().to_owned(),
                c["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(pushed, expected, "{branch} on the remote");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalize_pushes_opens_the_pull_request_and_survives_github_being_down() {
    let remote = Remote::new().await;
    let data = DataDir::new("finalize-");
    // GitHub is down at first: nothing listens on its port yet.
    let github_port = ports::reserved_port();
    let studio = Studio::start(
        &ServerConfig::new(&data)
            .env(
                "STUDIO_GITHUB_API_URL",
                format!("http://127.0.0.1:{github_port}"),
            )
            .env("GITHUB_TOKEN", GITHUB_TOKEN)
            // The remote is a local bare repository, so `github_repo` cannot be its own name.
            .env("STUDIO_ALLOW_GITHUB_REPOS", "octo-org/hello"),
    );
    let api = studio.api();
    let mut bodies = Vec::new();

    // --- nothing to finalize yet: 409 ---
    let early = create(&api, &remote, &mut bodies).await;
    let early_id = early["sandbox_id"].as_str().unwrap().to_owned();
    let answer = api.finalize(&early_id, "Empty", "").await;
    answer.expect_error(409, "no_commits");
    bodies.push(answer.text);

    // --- GitHub down: a clear error naming the step; the sandbox keeps running, untouched ---
    let early_hashes = edits(&api, &early_id, 2, &mut bodies).await;
    let early_renderer = early["renderer_url"].as_str().unwrap().to_owned();
    let data_dir = data.path().canonicalize().unwrap();
    let early_pids = renderer_pids(&renderer_socket(&data_dir, &early_id), studio.pid());
    assert!(!early_pids.is_empty(), "no renderer serves {early_id}");
    for pid in early_pids {
        let environ =
            String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/environ")).unwrap())
                .into_owned();
        assert!(
            !environ.contains(GITHUB_TOKEN),
            "GITHUB_TOKEN reached the renderer (PID {pid})"
        );
    }
    let answer = api
        .finalize(&early_id, "Rounder buttons", "While GitHub is down")
        .await;
    let message = answer.expect_error(502, "github_unavailable");
    assert!(
        message.contains("create pull request"),
        "the error names the step: {message}"
    );
    bodies.push(answer.text);
    let status = api.status_of(&early_id).await;
    assert_eq!(status["status"], "running");
    assert_eq!(commit_hashes(&status), early_hashes);
    renderer_serves(&early_renderer).await.unwrap();

    // --- GitHub is up: a session of three edits is finalized in one go ---
    let peer = PrismPeer::start_on_port(github_port).unwrap();
    let sandbox = create(&api, &remote, &mut bodies).await;
    let id = sandbox["sandbox_id"].as_str().unwrap().to_owned();
    let renderer = sandbox["renderer_url"].as_str().unwrap().to_owned();
    let hashes = edits(&api, &id, 3, &mut bodies).await;
    let before = api.status_of(&id).await;
    let answer = api
        .finalize(&id, "Rounder buttons", "As discussed with design.")
        .await;
    bodies.push(answer.text.clone());
    assert_eq!(
        answer.expect(200),
        &json!({"pr_url": PR_URL, "pr_number": 1347})
    );
    assert_pushed(&remote, &before);
    assert_eq!(
        remote
            .branch_head(before["branch"].as_str().unwrap())
            .unwrap(),
        hashes[2]
    );
    let after = api.status_of(&id).await;
    bodies.push(after.to_string());
    assert_eq!(after["status"], "finalized");
    assert_eq!(after["pr_url"], PR_URL);
    assert_eq!(after["pr_number"], 1347);
    assert_eq!(
        commit_hashes(&after),
        hashes,
        "the record keeps the session's commits"
    );
    let socket = renderer_socket(&data_dir, &id);
    assert!(
        renderer_pids(&socket, studio.pid()).is_empty() && !socket.exists(),
        "the renderer outlived finalize"
    );
    let (host, port) = door::host_and_port(&renderer);
    let preview = door::request_with_host(port, &host, "GET", "/")
        .await
        .unwrap();
    assert_eq!(
        preview.status, 503,
        "finalized, not served: {}",
        preview.text
    );
    assert!(
        !data.path().join("sandboxes").join(&id).exists(),
        "the checkout outlived finalize"
    );
    let again = api.finalize(&id, "Twice", "").await;
    again.expect_error(409, "sandbox_not_active");

    // --- the retry of the sandbox that failed while GitHub was down ---
    let answer = api.finalize(&early_id, "Rounder buttons", "Retry").await;
    bodies.push(answer.text.clone());
    assert_eq!(answer.expect(200)["pr_number"], 1347);
    let early_after = api.status_of(&early_id).await;
    assert_eq!(early_after["status"], "finalized");
    assert_pushed(&remote, &early_after);

    // Every request passed GitHub's schema.
    peer.wait_for_log("The request passed the validation rules")
        .unwrap();
    assert!(
        !peer.log_text().contains("VIOLATIONS"),
        "{}",
        peer.log_text()
    );

    // --- the token went to GitHub only: not into any answer, not into the log ---
    for body in &bodies {
        assert!(
            !body.contains(GITHUB_TOKEN),
            "GITHUB_TOKEN in a response: {body}"
        );
    }
    let (_, log) = studio.terminate();
    assert!(
        !log.contains(GITHUB_TOKEN),
        "GITHUB_TOKEN in the server log:\n{log}"
    );
    assert!(
        log.contains("finalize failed"),
        "the failed attempt is logged:\n{log}"
    );
}
