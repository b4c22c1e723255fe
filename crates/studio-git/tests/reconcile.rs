//! Reading back what the branch says happened, as a restarted server does when its own record of
//! the session's commits (the store's) may be behind git: `commit_log` and `commit_carrying`.

mod support;

use studio_core::{CommitInfo, CommitPattern};
use studio_git::{LoggedCommit, RollbackTarget, Session};
use support::{Fixture, changed_paths, commit, sandbox, workspace};

const BUTTON: &str = "src/components/Button/Button.tsx";
const CARD: &str = "src/components/Card/Card.tsx";

/// The session as a restarted server reopens it: a new workspace, the same checkout.
async fn reopen(fixture: &Fixture, session: Session) -> Session {
    let checkout = session.info().checkout.clone();
    drop(session);
    workspace(fixture.data())
        .reopen_session(&fixture.remote.path_str(), &sandbox(1), &checkout)
        .await
        .expect("reopen session")
}

fn logged(commit: &CommitInfo, paths: &[&str], rolled_back: bool) -> LoggedCommit {
    LoggedCommit {
        commit: commit.clone(),
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        rolled_back,
    }
}

#[tokio::test]
async fn the_log_of_a_new_session_is_empty() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    assert_eq!(session.commit_log().await.unwrap(), vec![]);
}

#[tokio::test]
async fn the_log_lists_every_commit_as_the_edit_reported_it_with_its_paths_and_rollbacks() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let first = commit(&session, BUTTON, "export const Button = 1;\n", "one").await;
    let second = commit(&session, "src/new/Thing.tsx", "export {};\n", "two").await;
    let third = session
        .delete_file(CARD, "three", &CommitPattern::default())
        .await
        .unwrap()
        .unwrap();
    let fourth = commit(&session, "README.md", "# Changed\n", "four").await;
    session.rollback(RollbackTarget::Steps(2)).await.unwrap();
    let session = reopen(&fixture, session).await;

    let log = session.commit_log().await.unwrap();

    assert_eq!(
        log,
        vec![
            logged(&first, &[BUTTON], false),
            logged(&second, &["src/new/Thing.tsx"], false),
            logged(&third, &[CARD], true),
            logged(&fourth, &["README.md"], true),
        ]
    );
    // The git CLI agrees on the paths.
    let checkout = &session.info().checkout;
    for entry in &log {
        assert_eq!(
            changed_paths(checkout, &entry.commit.hash),
            entry.paths.join("\n")
        );
    }
    // Rolled forward again, nothing is rolled back; a new commit after a rollback is on the
    // branch while what it replaced is not.
    session
        .rollback(RollbackTarget::Commit(fourth.hash.clone()))
        .await
        .unwrap();
    assert!(
        session
            .commit_log()
            .await
            .unwrap()
            .iter()
            .all(|c| !c.rolled_back)
    );
    session.rollback(RollbackTarget::Steps(3)).await.unwrap();
    let fifth = commit(&session, "b.txt", "b", "five").await;
    let log = session.commit_log().await.unwrap();
    let flags: Vec<(&str, bool)> = log
        .iter()
        .map(|c| (c.commit.hash.as_str(), c.rolled_back))
        .collect();
    assert_eq!(flags.len(), 5, "{flags:?}");
    assert_eq!(flags[0], (first.hash.as_str(), false));
    assert!(flags.contains(&(fifth.hash.as_str(), false)), "{flags:?}");
    for undone in [&second, &third, &fourth] {
        assert!(flags.contains(&(undone.hash.as_str(), true)), "{flags:?}");
    }
}

#[tokio::test]
async fn a_retried_write_finds_the_commit_that_carries_its_content() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let v1 = "export const Button = 1;\n";
    let written = commit(&session, BUTTON, v1, "round corners").await;
    let later = commit(&session, "src/tokens.css", ":root {}\n", "tokens").await;
    // The server dies before anyone records `written`; the client retries after the restart.
    let session = reopen(&fixture, session).await;
    let retried = session
        .write_file(BUTTON, v1, "round corners", &CommitPattern::default())
        .await
        .unwrap();
    assert_eq!(retried, None, "unchanged: no second commit");

    let carrying = session.commit_carrying(BUTTON, Some(v1.into())).await;
    assert_eq!(carrying.unwrap(), Some(written.clone()));
    assert_eq!(session.head().await.unwrap(), later, "head unchanged");
    // Only for exactly what the head holds.
    let other = session
        .commit_carrying(BUTTON, Some(b"else".to_vec()))
        .await;
    assert_eq!(other.unwrap(), None);
    // Content that no session commit made (the base has it) is carried by none.
    let base = session
        .commit_carrying("README.md", Some(b"# UI\n".to_vec()))
        .await;
    assert_eq!(base.unwrap(), None);
    let absent = session.commit_carrying("nowhere.txt", None).await;
    assert_eq!(
        absent.unwrap(),
        None,
        "never existed: the base already lacked it"
    );
}

#[tokio::test]
async fn the_carrying_commit_is_the_latest_that_made_the_content_not_the_first() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    commit(&session, BUTTON, "v1", "one").await;
    commit(&session, BUTTON, "v2", "two").await;
    let again = commit(&session, BUTTON, "v1", "three").await;
    commit(&session, "src/tokens.css", "t", "four").await;

    let carrying = session.commit_carrying(BUTTON, Some(b"v1".to_vec())).await;
    assert_eq!(carrying.unwrap(), Some(again));
}

#[tokio::test]
async fn a_retried_delete_finds_the_commit_that_deleted_the_file() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let pattern = CommitPattern::default();
    let deleted = session
        .delete_file(CARD, "drop card", &pattern)
        .await
        .unwrap()
        .unwrap();
    commit(&session, "b.txt", "b", "later").await;
    let session = reopen(&fixture, session).await;

    let err = session.delete_file(CARD, "drop card", &pattern).await;
    assert_eq!(err.unwrap_err().code(), "file_not_found");
    let carrying = session.commit_carrying(CARD, None).await;
    assert_eq!(carrying.unwrap(), Some(deleted));
    // The file is gone, so no commit carries any content of it.
    let content = session.commit_carrying(CARD, Some(b"x".to_vec())).await;
    assert_eq!(content.unwrap(), None);
}

#[tokio::test]
async fn carrying_refuses_paths_the_guard_refuses() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let err = session
        .commit_carrying("../outside", Some(b"x".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "path_outside_repo", "{err}");
}
