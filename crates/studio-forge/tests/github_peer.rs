//! Against the real peer: Prism serving GitHub's own OpenAPI description with `--errors`, so each
//! request octocrab sends is validated against GitHub's schema (an invalid one is answered 422)
//! and each answer is GitHub's documented example.

// Test helpers outside #[test] functions too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

mod support;

use studio_forge::{Forge, GithubRepo, pull_request_body};
use studio_testkit::http::RawClient;
use studio_testkit::prism::PrismPeer;

const HEAD: &str = "design/studio-0123456789abcdef";
const VALIDATED: &str = "The request passed the validation rules";

fn validated_requests(peer: &PrismPeer) -> usize {
    peer.log_text().matches(VALIDATED).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_and_finds_the_pull_request_on_the_github_openapi_peer() {
    let peer = PrismPeer::start().unwrap();
    let forge = Forge::new(&peer.url(), support::token()).unwrap();
    let repo: GithubRepo = "octo-org/hello".parse().unwrap();
    let body = pull_request_body(
        "Rounder buttons, as discussed.",
        &support::session_commits(10),
    );

    let pr = forge
        .open_pull_request(&repo, HEAD, "main", "Rounder buttons", &body)
        .await
        .unwrap();

    // GitHub's documented answer, passed through unchanged.
    assert_eq!(pr.number, 1347);
    assert_eq!(pr.url, "https://github.com/octocat/Hello-World/pull/1347");
    assert!(!pr.existing);
    peer.wait_for_log(VALIDATED).unwrap();
    assert_eq!(validated_requests(&peer), 1, "{}", peer.log_text());

    // The lookup used for idempotency (list with head/base filters) is valid for GitHub too.
    let found = forge
        .find_open_pull_request(&repo, HEAD, "main")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.number, found.existing), (1347, true));
    assert_eq!(found.url, pr.url);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while validated_requests(&peer) < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(validated_requests(&peer), 2, "{}", peer.log_text());
    assert!(
        !peer.log_text().contains("VIOLATIONS"),
        "{}",
        peer.log_text()
    );
}

/// The validation above is real: the same peer refuses requests that break GitHub's schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peer_rejects_requests_that_break_githubs_schema() {
    let peer = PrismPeer::start().unwrap();
    let mut client = RawClient::connect(&peer.url()).await.unwrap();
    let path = "/repos/octo-org/hello/pulls";

    let valid = r#"{"title":"t","head":"design/studio-0123456789abcdef","base":"main","body":"b"}"#;
    let ok = client
        .request("POST", path, &[], Some(valid))
        .await
        .unwrap();
    assert_eq!(ok.status(), 201, "{ok:?}");

    for (invalid, field) in [
        (
            r#"{"title":"t","head":"design/studio-0123456789abcdef","body":"b"}"#,
            "base",
        ),
        (
            r#"{"title":"t","head":"x","base":"main","draft":"yes"}"#,
            "draft",
        ),
        (r#"{"title":7,"head":"x","base":"main"}"#, "title"),
    ] {
        let answer = client
            .request("POST", path, &[], Some(invalid))
            .await
            .unwrap();
        assert_eq!(answer.status(), 422, "{invalid} was accepted: {answer:?}");
        let violations = answer.header("sl-violations").unwrap_or_default();
        assert!(violations.contains(field), "{invalid}: {violations}");
    }

    let bad_state = client
        .request("GET", &format!("{path}?state=merged"), &[], None)
        .await
        .unwrap();
    assert_eq!(bad_state.status(), 422, "{bad_state:?}");
}
