//! Pushing the session branch to a real bare remote, with a lease.

mod support;

use studio_git::RollbackTarget;
use support::{Fixture, Stream, commit, git, git_ok, sandbox};

#[tokio::test]
async fn push_publishes_the_branch_and_after_a_rollback_updates_it_to_the_new_state() {
    let fixture = Fixture::new();
    let remote = &fixture.remote;
    let session = fixture.open_url(&remote.file_url(), 1).await;
    let branch = session.info().branch.clone();
    let first = commit(&session, "a.txt", "a", "a").await;
    let second = commit(&session, "b.txt", "b", "b").await;

    let pushed = session.push().await.unwrap();
    assert_eq!(pushed, second.hash);
    assert_eq!(remote.tip(&branch), second.hash);
    let log = git(
        remote.path(),
        &["log", "--format=%s", &format!("main..{branch}")],
    );
    assert_eq!(
        log,
        format!("{}\n{}", second.message, first.message),
        "exactly the session's commits"
    );

    // Pushing again without changes is a no-op that still succeeds.
    assert_eq!(session.push().await.unwrap(), second.hash);

    // Roll back: the remote is now ahead; the push must move it back (a lease-checked force).
    session.rollback(RollbackTarget::Steps(1)).await.unwrap();
    assert_eq!(session.push().await.unwrap(), first.hash);
    assert_eq!(remote.tip(&branch), first.hash);

    // And forward again, plus a new commit.
    session
        .rollback(RollbackTarget::Commit(second.hash.clone()))
        .await
        .unwrap();
    let third = commit(&session, "c.txt", "c", "c").await;
    assert_eq!(session.push().await.unwrap(), third.hash);
    assert_eq!(remote.tip(&branch), third.hash);
    assert!(git_ok(
        remote.path(),
        &["cat-file", "-e", &format!("{}:c.txt", third.hash)]
    ));
}

#[tokio::test]
async fn push_refuses_to_overwrite_a_branch_someone_else_moved() {
    let fixture = Fixture::new();
    let remote = &fixture.remote;
    let session = fixture.open(1).await;
    let branch = session.info().branch.clone();
    commit(&session, "a.txt", "a", "a").await;
    session.push().await.unwrap();

    // A colleague pushes to the session branch.
    let theirs = remote.advance(&branch, "colleague's fix", &[("fix.txt", b"fix\n")]);
    session.rollback(RollbackTarget::Steps(1)).await.unwrap();

    let err = session.push().await.unwrap_err();
    assert_eq!(err.code(), "push_conflict", "{err}");
    assert!(err.to_string().contains(&theirs), "{err}");
    assert_eq!(remote.tip(&branch), theirs, "their commit survives");
}

#[tokio::test]
async fn first_push_refuses_when_the_branch_already_exists_on_the_remote() {
    let fixture = Fixture::new();
    let remote = &fixture.remote;
    let existing = format!("design/studio-{}", sandbox(1).hex());
    Stream::default()
        .commit(&existing, "unrelated", &[("x", b"x")])
        .import(remote.path());
    let session = fixture.open(1).await;
    commit(&session, "a.txt", "a", "a").await;

    let err = session.push().await.unwrap_err();
    assert_eq!(err.code(), "push_conflict", "{err}");
    assert_eq!(
        git(remote.path(), &["log", "--format=%s", &existing]),
        "unrelated"
    );
}

#[tokio::test]
async fn a_push_the_remote_cannot_apply_is_reported_as_push_rejected() {
    let fixture = Fixture::new();
    let remote = &fixture.remote;
    let session = fixture.open(1).await;
    commit(&session, "a.txt", "a", "a").await;
    // Another writer holds the remote branch's lock, so the remote refuses the update.
    let lock = remote
        .path()
        .join(format!("refs/heads/{}.lock", session.info().branch));
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "").unwrap();

    let err = session.push().await.unwrap_err();
    assert_eq!(err.code(), "push_rejected", "{err:?}");
    std::fs::remove_file(&lock).unwrap();
    assert!(!git_ok(
        remote.path(),
        &["rev-parse", "--verify", "--quiet", &session.info().branch]
    ));
    // Once the remote can take it, the same push goes through (nothing was recorded as pushed).
    session.push().await.unwrap();
}

#[tokio::test]
async fn pushing_into_a_non_bare_repository_is_reported_as_push_rejected() {
    let fixture = Fixture::new();
    let work = tempfile::tempdir().unwrap();
    git(
        work.path(),
        &["clone", "--quiet", &fixture.remote.path_str(), "clone"],
    );
    let non_bare = work.path().join("clone");
    let session = fixture.open_url(non_bare.to_str().unwrap(), 1).await;
    commit(&session, "a.txt", "a", "a").await;

    let err = session.push().await.unwrap_err();
    assert_eq!(err.code(), "push_rejected", "{err:?}");
    assert!(!git_ok(
        &non_bare,
        &["rev-parse", "--verify", "--quiet", &session.info().branch]
    ));
}
