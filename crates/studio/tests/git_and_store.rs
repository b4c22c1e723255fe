//! Git and the store never drift (issue 14, items 3 and 4): a commit git made but the store never
//! recorded (the server died in between, or the store refused the write) is recorded again, at
//! the next start or when the edit is retried, and a retried edit answers the commit that carries
//! it; a session with auto-commit off is committed once at finalize, so it can be finalized.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use studio_testkit::ports;
use studio_testkit::prism::PrismPeer;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::api::commit_hashes;
use support::{Studio, WsClient};

const BUTTON: &str = "src/components/Button/Button.tsx";

/// Forgets a commit in the store behind the server's back: what a crash between the git commit
/// and its record, or a store that refused the record, leaves.
fn forget_commit(data: &DataDir, hash: &str) {
    let done = std::process::Command::new("sqlite3")
        .arg(data.path().join("studio.db"))
        .arg(format!("DELETE FROM commits WHERE hash = '{hash}'"))
        .status()
        .expect("sqlite3 (tests/setup/system.sh installs it)");
    assert!(done.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_the_store_lost_comes_back_on_retry_and_at_the_next_start() {
    let remote = Remote::new().await;
    let data = DataDir::new("drift-");
    let config = ServerConfig::new(&data);
    let first = Studio::start(&config);
    let api = first.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();

    // --- a retried edit answers its commit, and the store learns it ---
    let content = "export const Button = () => <button>retried</button>;\n";
    let hash = api
        .write_file(&id, BUTTON, content, "Retried edit")
        .await
        .commit_hash();
    forget_commit(&data, &hash);
    assert_eq!(
        commit_hashes(&api.status_of(&id).await),
        Vec::<String>::new()
    );
    let retried = api.write_file(&id, BUTTON, content, "Retried edit").await;
    assert_eq!(
        retried.commit_hash(),
        hash,
        "the retry answers the commit that carries it"
    );
    assert_eq!(commit_hashes(&api.status_of(&id).await), vec![hash.clone()]);
    // A retried delete, likewise.
    let deleted = api
        .execute(&id, &json!({"command": "delete_file", "file_path": BUTTON, "description": "Drop the button"}))
        .await
        .commit_hash();
    forget_commit(&data, &deleted);
    let again = api
        .execute(&id, &json!({"command": "delete_file", "file_path": BUTTON, "description": "Drop the button"}))
        .await;
    assert_eq!(again.commit_hash(), deleted);
    assert_eq!(
        commit_hashes(&api.status_of(&id).await),
        vec![hash.clone(), deleted.clone()]
    );

    // --- the server dies between a commit and its record: the next start rebuilds it ---
    let lost = api
        .write_file(
            &id,
            "src/components/Alert.tsx",
            "export const Alert = () => null;\n",
            "Lost",
        )
        .await
        .commit_hash();
    first.kill();
    forget_commit(&data, &lost);
    let second = Studio::start(&config);
    let api = second.api();
    let status = api.status_of(&id).await;
    assert_eq!(status["status"], "running", "{status}");
    assert_eq!(commit_hashes(&status), vec![hash, deleted, lost.clone()]);
    // ... and announced: a client replaying the stream sees it.
    let mut events = WsClient::connect(
        &format!("{}?since=0", status["websocket_url"].as_str().unwrap()),
        None,
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    while let Ok(event) = events.next(std::time::Duration::from_secs(2)).await {
        if event["type"] == "commit" {
            seen.push(event["payload"]["hash"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        seen.last(),
        Some(&lost),
        "the rebuilt commit is announced: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_without_auto_commit_is_committed_once_at_finalize() {
    let remote = Remote::new().await;
    let data = DataDir::new("no-autocommit-");
    let github_port = ports::reserved_port();
    let _peer = PrismPeer::start_on_port(github_port).unwrap();
    let studio = Studio::start(
        &ServerConfig::new(&data)
            .env(
                "STUDIO_GITHUB_API_URL",
                format!("http://127.0.0.1:{github_port}"),
            )
            .env("GITHUB_TOKEN", "ghp_e2eDummyToken0123456789abcdefABCDEF")
            .env("STUDIO_ALLOW_GITHUB_REPOS", "octo-org/hello"),
    );
    let api = studio.api();
    let created = api
        .create(&json!({
            "repository": remote.url(), "branch": "main",
            "github_repo": "octo-org/hello", "auto_commit": false,
        }))
        .await
        .expect(201)
        .clone();
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    for (path, text) in [
        (
            BUTTON,
            "export const Button = () => <button>draft</button>;\n",
        ),
        (
            "src/components/Alert.tsx",
            "export const Alert = () => null;\n",
        ),
    ] {
        let answer = api.write_file(&id, path, text, "draft").await;
        assert_eq!(
            answer.expect(200)["commit_hash"],
            json!(null),
            "{}",
            answer.text
        );
    }
    let branch = created["branch"].as_str().unwrap().to_owned();
    let finalized = api.finalize(&id, "Drafted buttons", "Two drafts").await;
    finalized.expect(200);
    let pushed = remote.commits_between("main", &branch);
    assert_eq!(pushed.len(), 1, "one commit of the drafts: {pushed:?}");
    assert!(pushed[0].1.contains("Drafted buttons"), "{pushed:?}");
}
