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

// ---- crashes in the middle of a push (finalize is retried after a restart) -----------------

/// `refs/studio/<hex>/<name>` of session `sandbox(1)`, as the mirror holds it (if it does).
fn session_ref(mirror: &std::path::Path, name: &str) -> Option<String> {
    let name = format!("refs/studio/{}/{name}", sandbox(1).hex());
    git_ok(mirror, &["rev-parse", "--verify", "--quiet", &name])
        .then(|| git(mirror, &["rev-parse", &name]))
}

#[tokio::test]
async fn push_succeeds_when_the_remote_already_has_our_head_but_the_lease_was_not_recorded() {
    // The crash: the push reached the remote, the server died before recording it.
    let fixture = Fixture::new();
    let remote = &fixture.remote;
    let session = fixture.open(1).await;
    let branch = session.info().branch.clone();
    commit(&session, "a.txt", "a", "a").await;
    session.push().await.unwrap();
    let second = commit(&session, "b.txt", "b", "b").await;
    // Our head reaches the remote behind the lease's back.
    let mirror = support::only_mirror(fixture.data());
    git(
        &mirror,
        &[
            "push",
            "--quiet",
            &remote.path_str(),
            &format!("refs/heads/{branch}:refs/heads/{branch}"),
        ],
    );

    assert_eq!(session.push().await.unwrap(), second.hash);
    assert_eq!(remote.tip(&branch), second.hash);
    assert_eq!(
        session_ref(&mirror, "pushed").as_deref(),
        Some(second.hash.as_str()),
        "the lease catches up"
    );
}

#[tokio::test]
async fn a_push_that_landed_unconfirmed_is_ours_even_after_more_commits() {
    let fixture = Fixture::new();
    let remote = &fixture.remote;
    let session = fixture.open(1).await;
    let branch = session.info().branch.clone();
    commit(&session, "a.txt", "a", "a").await;
    session.push().await.unwrap();
    let second = commit(&session, "b.txt", "b", "b").await;
    // The push goes through but recording the lease fails (as a crash right after the push).
    let mirror = support::only_mirror(fixture.data());
    let lock = mirror.join(format!("refs/studio/{}/pushed.lock", sandbox(1).hex()));
    std::fs::write(&lock, "").unwrap();
    let _ = session.push().await;
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(remote.tip(&branch), second.hash, "the push itself landed");

    // After the restart the session goes on, then finalizes.
    let third = commit(&session, "c.txt", "c", "c").await;
    assert_eq!(session.push().await.unwrap(), third.hash);
    assert_eq!(remote.tip(&branch), third.hash);
    assert_eq!(
        session_ref(&mirror, "pushed").as_deref(),
        Some(third.hash.as_str())
    );
}

#[tokio::test]
async fn a_push_recorded_but_never_sent_is_sent_by_the_next_push() {
    // The crash: what we were about to push is recorded, the remote never got it.
    let fixture = Fixture::new();
    let remote = &fixture.remote;
    let session = fixture.open(1).await;
    let branch = session.info().branch.clone();
    let first = commit(&session, "a.txt", "a", "a").await;
    session.push().await.unwrap();
    let second = commit(&session, "b.txt", "b", "b").await;
    // The remote cannot take the update: the attempt ends after recording, before sending.
    let remote_lock = remote.path().join(format!("refs/heads/{branch}.lock"));
    std::fs::write(&remote_lock, "").unwrap();
    let err = session.push().await.unwrap_err();
    assert_eq!(err.code(), "push_rejected", "{err}");
    std::fs::remove_file(&remote_lock).unwrap();
    assert_eq!(remote.tip(&branch), first.hash, "nothing was sent");
    let mirror = support::only_mirror(fixture.data());
    assert_eq!(
        session_ref(&mirror, "pushing").as_deref(),
        Some(second.hash.as_str()),
        "recorded before sending"
    );

    assert_eq!(session.push().await.unwrap(), second.hash);
    assert_eq!(remote.tip(&branch), second.hash);
    assert_eq!(session_ref(&mirror, "pushing"), None, "confirmed");

    // Also when the head moved on before the retry.
    let third = commit(&session, "c.txt", "c", "c").await;
    std::fs::write(&remote_lock, "").unwrap();
    session.push().await.unwrap_err();
    std::fs::remove_file(&remote_lock).unwrap();
    let fourth = commit(&session, "d.txt", "d", "d").await;
    assert_eq!(session.push().await.unwrap(), fourth.hash);
    assert_eq!(remote.tip(&branch), fourth.hash);
    assert!(git_ok(
        remote.path(),
        &["merge-base", "--is-ancestor", &third.hash, &fourth.hash]
    ));
}

#[tokio::test]
async fn an_unsent_push_never_licenses_overwriting_someone_elses_commit() {
    let fixture = Fixture::new();
    let remote = &fixture.remote;
    let session = fixture.open(1).await;
    let branch = session.info().branch.clone();
    commit(&session, "a.txt", "a", "a").await;
    session.push().await.unwrap();
    commit(&session, "b.txt", "b", "b").await;
    // A push recorded but not sent, as after a crash...
    let remote_lock = remote.path().join(format!("refs/heads/{branch}.lock"));
    std::fs::write(&remote_lock, "").unwrap();
    session.push().await.unwrap_err();
    std::fs::remove_file(&remote_lock).unwrap();
    // ...and meanwhile a colleague pushes to the branch.
    let theirs = remote.advance(&branch, "colleague's fix", &[("fix.txt", b"fix\n")]);

    let err = session.push().await.unwrap_err();
    assert_eq!(err.code(), "push_conflict", "{err}");
    assert_eq!(remote.tip(&branch), theirs, "their commit survives");
}
