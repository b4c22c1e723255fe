//! What Prism cannot do, against a scripted server: the exact request, 422 "already exists", 503s,
//! 401, connection refused, silence. The happy path against the real peer is in github_peer.rs.

// Test helpers outside #[test] functions too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use studio_core::SecretToken;
use studio_forge::{
    Forge, ForgeError, GithubRepo, PullRequest, RetryPolicy, Step, pull_request_body,
};
use support::fake_github::{FakeGithub, github_error, pull_request_json};
use support::{TOKEN, session_commits};

const HEAD: &str = "design/studio-00000000deadbeef";

fn repo() -> GithubRepo {
    "octo-org/hello".parse().unwrap()
}

/// Retries in milliseconds, so the tests stay fast; the bounds are the same kind as in production.
fn quick_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_total_delay: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(5),
    }
}

fn forge(url: &str, attempts: u32) -> Forge {
    Forge::new(url, support::token())
        .unwrap()
        .with_retry_policy(quick_retries(attempts))
}

/// Opens the pull request most cases ask for: `HEAD` into `main`, title "T", body "b".
async fn open(forge: &Forge) -> Result<PullRequest, ForgeError> {
    forge
        .open_pull_request(&repo(), HEAD, "main", "T", "b")
        .await
}

fn created() -> (u16, Value) {
    (201, pull_request_json(7, "octo-org", "hello", HEAD, "main"))
}

fn assert_token_hidden(err: &ForgeError) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
}

#[tokio::test]
async fn sends_head_base_title_and_the_commit_list() {
    let github = FakeGithub::start(|_, _| created()).await;
    let commits = session_commits(3);
    let body = pull_request_body("Rounder buttons.\n\nFrom the design review.", &commits);

    let pr = forge(&github.url, 1)
        .open_pull_request(&repo(), HEAD, "main", "  Rounder buttons ", &body)
        .await
        .unwrap();

    assert_eq!(
        pr,
        PullRequest {
            url: "https://github.com/octo-org/hello/pull/7".into(),
            number: 7,
            existing: false
        }
    );
    let requests = github.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        request.method_and_target(),
        ("POST".to_owned(), "/repos/octo-org/hello/pulls".to_owned())
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let sent: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(
        sent,
        json!({"title": "Rounder buttons", "head": HEAD, "base": "main", "body": body})
    );
    let sent_body = sent["body"].as_str().unwrap();
    assert!(
        sent_body.starts_with("Rounder buttons.\n\nFrom the design review.\n\n"),
        "{sent_body}"
    );
    for commit in &commits {
        let line = format!(
            "- {} {}",
            &commit.hash[..7],
            commit.message.replace('<', "\\<").replace('>', "\\>")
        );
        assert!(sent_body.contains(&line), "missing {line:?} in {sent_body}");
    }
}

#[tokio::test]
async fn an_existing_pull_request_is_found_and_returned() {
    let github = FakeGithub::start(|request, _| match request.method_and_target().0.as_str() {
        "POST" => (
            422,
            github_error(
                "Validation Failed",
                json!([{"resource": "PullRequest", "code": "custom",
                        "message": format!("A pull request already exists for octo-org:{HEAD}.")}]),
            ),
        ),
        _ => (
            200,
            json!([pull_request_json(41, "octo-org", "hello", HEAD, "main")]),
        ),
    })
    .await;

    let pr = forge(&github.url, 3)
        .open_pull_request(&repo(), HEAD, "main", "Again", "body")
        .await
        .unwrap();

    assert_eq!(
        (pr.number, pr.existing, pr.url.as_str()),
        (41, true, "https://github.com/octo-org/hello/pull/41")
    );
    let requests = github.requests();
    assert_eq!(requests.len(), 2, "a 422 is not retried: {requests:?}");
    let (method, target) = requests[1].method_and_target();
    assert_eq!(method, "GET");
    let url = url::Url::parse(&format!("http://x{target}")).unwrap();
    assert_eq!(url.path(), "/repos/octo-org/hello/pulls");
    let query: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for expected in [
        ("state", "open"),
        ("head", "octo-org:design/studio-00000000deadbeef"),
        ("base", "main"),
    ] {
        assert!(
            query.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not in {query:?}"
        );
    }
}

#[tokio::test]
async fn other_validation_errors_fail_at_once_with_githubs_message() {
    let github = FakeGithub::start(|_, _| {
        (422, github_error("Validation Failed", json!([{"resource": "PullRequest", "code": "custom", "message": "No commits between main and design/studio-00000000deadbeef"}])))
    })
    .await;

    let err = open(&forge(&github.url, 4)).await.unwrap_err();

    assert_eq!(
        (err.code(), err.step(), err.github_status()),
        (
            "github_validation",
            Some(Step::CreatePullRequest),
            Some(422)
        )
    );
    assert!(err.to_string().contains("create pull request"), "{err}");
    assert!(
        err.to_string()
            .contains("No commits between main and design/studio-00000000deadbeef"),
        "{err}"
    );
    assert_eq!(github.requests().len(), 1);
}

#[tokio::test]
async fn unavailable_github_is_retried_then_succeeds() {
    let github = FakeGithub::start(|_, n| {
        if n < 2 {
            (503, json!({"message": "Service Unavailable"}))
        } else {
            created()
        }
    })
    .await;

    let pr = open(&forge(&github.url, 4)).await.unwrap();

    assert_eq!(pr.number, 7);
    assert_eq!(github.requests().len(), 3);
}

#[tokio::test]
async fn github_down_fails_cleanly_and_a_retry_after_recovery_succeeds() {
    let up = Arc::new(AtomicBool::new(false));
    let github = {
        let up = Arc::clone(&up);
        FakeGithub::start(move |_, _| {
            if up.load(Ordering::SeqCst) {
                created()
            } else {
                (502, json!({"message": "Server Error"}))
            }
        })
        .await
    };
    let forge = forge(&github.url, 3);

    let err = open(&forge).await.unwrap_err();
    match &err {
        ForgeError::Unavailable {
            step: Step::CreatePullRequest,
            attempts: 3,
            status: Some(502),
            reason,
        } => {
            assert!(reason.contains("Server Error"), "{reason}")
        }
        other => panic!("expected Unavailable after 3 attempts, got {other:?}"),
    }
    assert_eq!(err.code(), "github_unavailable");
    assert_eq!(
        err.to_string(),
        "create pull request: GitHub is unavailable after 3 attempts: 502: Server Error"
    );
    assert_eq!(github.requests().len(), 3, "attempts are bounded");

    up.store(true, Ordering::SeqCst);
    let pr = open(&forge).await.unwrap();
    assert_eq!(pr.number, 7);
}

#[tokio::test]
async fn client_errors_fail_at_once_and_never_show_the_token() {
    for (status, code, words) in [
        (401, "github_unauthorized", "check GITHUB_TOKEN"),
        (403, "github_forbidden", "403 Forbidden"),
        (404, "github_not_found", "404 Not Found"),
        (400, "github_rejected", "GitHub answered 400"),
    ] {
        // A misbehaving proxy that echoes the credentials back: they must still not show.
        let github = FakeGithub::start(move |request, _| {
            let echoed = request
                .header("authorization")
                .unwrap_or_default()
                .to_owned();
            (
                status,
                json!({"message": format!("Bad credentials ({echoed})")}),
            )
        })
        .await;

        let err = open(&forge(&github.url, 4)).await.unwrap_err();

        assert_eq!(err.code(), code, "{err}");
        assert_eq!(err.github_status(), Some(status));
        let text = err.to_string();
        assert!(
            text.starts_with("create pull request: ")
                && text.contains(words)
                && text.contains("Bad credentials (Bearer ***)"),
            "{text}"
        );
        assert_token_hidden(&err);
        assert_eq!(github.requests().len(), 1, "{status} must not be retried");
    }
}

#[tokio::test]
async fn connection_refused_is_retried_then_fails_and_works_once_github_listens() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener); // nothing listens there now: connections are refused
    let forge = forge(&format!("http://{address}"), 3);

    let err = open(&forge).await.unwrap_err();

    match &err {
        ForgeError::Unavailable {
            attempts: 3,
            status: None,
            reason,
            ..
        } => {
            assert!(
                reason.to_lowercase().contains("connection refused"),
                "{reason}"
            )
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_token_hidden(&err);

    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    let github = FakeGithub::serve(listener, Arc::new(|_, _| created()));
    assert_eq!(open(&forge).await.unwrap().number, 7);
    assert_eq!(github.requests().len(), 1);
}

#[tokio::test]
async fn a_silent_github_times_out_per_attempt() {
    // Accepts connections (the kernel's backlog does) but never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let policy = RetryPolicy {
        attempt_timeout: Duration::from_millis(300),
        ..quick_retries(2)
    };
    let forge = Forge::new(&format!("http://{}", silent.local_addr().unwrap()), None)
        .unwrap()
        .with_retry_policy(policy);

    let err = open(&forge).await.unwrap_err();

    assert_eq!(
        err.to_string(),
        "create pull request: GitHub is unavailable after 2 attempts: no answer within 0.3 s"
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_github_is_asked() {
    let github = FakeGithub::start(|_, _| created()).await;
    let forge = forge(&github.url, 1);
    for (head, base, title, problem) in [
        (HEAD, "main", "  ", "title is empty"),
        ("", "main", "T", "head branch \"\" is not a branch name"),
        (
            HEAD,
            "ma in",
            "T",
            "base branch \"ma in\" is not a branch name",
        ),
    ] {
        let err = forge
            .open_pull_request(&repo(), head, base, title, "b")
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        assert!(err.to_string().contains(problem), "{err}");
    }
    assert!(github.requests().is_empty());

    let err = Forge::new(&github.url, SecretToken::new("ghp_abc def")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid GITHUB_TOKEN: it contains spaces or non-ASCII characters"
    );
    let err = Forge::new("https://ghp_abc@api.github.com", None).unwrap_err();
    assert!(!err.to_string().contains("ghp_abc"), "{err}");
}

#[tokio::test]
async fn enterprise_api_paths_and_remotes() {
    let github = FakeGithub::start(|_, _| created()).await;
    let forge = forge(&format!("{}/api/v3/", github.url), 1);

    open(&forge).await.unwrap();
    assert_eq!(
        github.requests()[0].method_and_target().1,
        "/api/v3/repos/octo-org/hello/pulls"
    );

    let ghe = Forge::new("https://ghe.example.com/api/v3", None).unwrap();
    assert_eq!(
        ghe.repo_from_remote_url("git@ghe.example.com:team/app.git")
            .unwrap(),
        "team/app".parse().unwrap()
    );
    assert!(
        ghe.repo_from_remote_url("https://github.com/team/app")
            .is_err()
    );
    let dotcom = Forge::new(Forge::DEFAULT_API_URL, support::token()).unwrap();
    assert_eq!(dotcom.web_host(), "github.com");
    assert!(!format!("{dotcom:?}").contains(TOKEN));
}
