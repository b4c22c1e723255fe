//! Opening, reopening and removing sessions against real bare remotes.

mod support;

use std::time::{Duration, Instant};

use studio_core::CommitPattern;
use studio_git::GitError;
use support::{Fixture, Stream, commit, git, sandbox, status, workspace};

#[tokio::test]
async fn session_checkout_from_a_local_path_is_on_its_own_branch_at_the_base() {
    let fixture = Fixture::new();
    let (remote, ws) = (&fixture.remote, &fixture.ws);
    let id = sandbox(1);

    let session = fixture.open(1).await;

    let info = session.info();
    assert_eq!(info.branch, format!("design/studio-{}", id.hex()));
    assert_eq!(info.base_branch, "main");
    assert_eq!(info.base_commit, remote.tip("main"));
    assert_eq!(info.checkout, ws.default_checkout(&id));
    let checkout = &info.checkout;
    assert_eq!(
        git(checkout, &["symbolic-ref", "HEAD"]),
        format!("refs/heads/{}", info.branch)
    );
    assert_eq!(git(checkout, &["rev-parse", "HEAD"]), remote.tip("main"));
    assert_eq!(
        std::fs::read_to_string(checkout.join("src/components/Button/Button.tsx")).unwrap(),
        "export const Button = () => <button />;\n"
    );
    assert_eq!(status(checkout), "", "a fresh checkout is clean");
    // A linked worktree of the mirror: no copy of the history inside the checkout.
    assert!(checkout.join(".git").is_file());
    assert!(session.history().await.unwrap().is_empty());
}

#[tokio::test]
async fn session_checkout_from_a_file_url_shares_the_mirror_of_the_plain_path() {
    let fixture = Fixture::new();
    let remote = &fixture.remote;

    let by_url = fixture.open_url(&remote.file_url(), 1).await;
    let by_path = fixture.open(2).await;

    assert_eq!(by_url.info().base_commit, remote.tip("main"));
    assert_eq!(status(&by_url.info().checkout), "");
    let mirrors: Vec<_> = std::fs::read_dir(fixture.data().join("mirrors"))
        .unwrap()
        .collect();
    assert_eq!(mirrors.len(), 1, "one mirror per repository");
    assert_ne!(by_url.info().checkout, by_path.info().checkout);
}

#[tokio::test]
async fn an_explicit_base_branch_is_used_and_a_missing_one_is_a_clear_error_leaving_nothing() {
    let fixture = Fixture::new();
    let (remote, ws) = (&fixture.remote, &fixture.ws);
    Stream::default()
        .commit("release", "release work", &[("CHANGELOG.md", b"1.0\n")])
        .import(remote.path());

    let session = ws
        .open_session(&remote.path_str(), Some("release"), &sandbox(1))
        .await
        .unwrap();
    assert_eq!(session.info().base_branch, "release");
    assert_eq!(session.info().base_commit, remote.tip("release"));
    assert!(session.info().checkout.join("CHANGELOG.md").exists());

    let id = sandbox(2);
    let err = ws
        .open_session(&remote.path_str(), Some("nope"), &id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "branch_not_found");
    match &err {
        GitError::BranchNotFound { branch, available } => {
            assert_eq!(branch, "nope");
            assert_eq!(available, &["main", "release"]);
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(!ws.default_checkout(&id).exists(), "no half-made checkout");
    let mirror = support::only_mirror(fixture.data());
    assert_eq!(
        git(&mirror, &["branch", "--list", "design/*"])
            .lines()
            .count(),
        1,
        "only the first session's branch"
    );
    assert!(
        !mirror
            .join("worktrees")
            .join(format!("studio-{}", id.hex()))
            .exists()
    );
}

#[tokio::test]
async fn an_unreachable_repository_is_a_clear_error_and_creates_no_mirror() {
    let data = tempfile::tempdir().unwrap();
    let ws = workspace(data.path());
    // Outside the data dir: a source under it is refused by the source policy before it is looked at.
    let elsewhere = tempfile::tempdir().unwrap();
    let missing = elsewhere.path().join("no-such-repo.git");

    let err = ws
        .open_session(missing.to_str().unwrap(), None, &sandbox(1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "repository_unreachable", "{err}");

    let not_a_repo = tempfile::tempdir().unwrap();
    let err = ws
        .open_session(not_a_repo.path().to_str().unwrap(), None, &sandbox(2))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "repository_unreachable", "{err}");

    let refused = ws
        .open_session("https://127.0.0.1:1/acme/ui.git", None, &sandbox(3))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "repository_unreachable", "{refused}");

    let mirrors = data.path().join("mirrors");
    let leftovers = std::fs::read_dir(&mirrors).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "failed first fetches leave no mirror behind");
    assert!(!ws.default_checkout(&sandbox(1)).exists());
}

#[tokio::test]
async fn opening_the_same_sandbox_twice_is_refused_without_touching_the_first() {
    let fixture = Fixture::new();
    let first = fixture.open(1).await;

    let err = fixture
        .ws
        .open_session(&fixture.remote.path_str(), None, &sandbox(1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "session_exists");
    assert!(first.info().checkout.join("README.md").exists());
    assert_eq!(status(&first.info().checkout), "");
}

#[tokio::test]
async fn a_reopened_session_sees_its_branch_base_and_history() {
    let fixture = Fixture::new();
    let remote = &fixture.remote;
    let id = sandbox(1);
    let checkout = {
        let session = fixture.open(1).await;
        commit(&session, "a.txt", "a", "first").await;
        session.info().checkout.clone()
    };

    // A new workspace, as after a server restart.
    let ws = workspace(fixture.data());
    let session = ws
        .reopen_session(&remote.file_url(), &id, &checkout)
        .await
        .unwrap();
    assert_eq!(session.info().base_branch, "main");
    assert_eq!(session.info().base_commit, remote.tip("main"));
    let history = session.history().await.unwrap();
    assert_eq!(history.len(), 1);
    commit(&session, "b.txt", "b", "second").await;
    assert_eq!(session.history().await.unwrap().len(), 2);

    let wrong = ws
        .reopen_session(&remote.path_str(), &sandbox(9), &checkout)
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "session_not_found");
}

#[tokio::test]
async fn removing_a_session_removes_checkout_and_worktree_but_keeps_its_commits_in_the_mirror() {
    let fixture = Fixture::new();
    let ws = &fixture.ws;
    let id = sandbox(1);
    let session = fixture.open(1).await;
    session
        .write_file("x.txt", "x", "x", &CommitPattern::default())
        .await
        .unwrap();
    let checkout = session.info().checkout.clone();
    drop(session);

    ws.remove_session(&id, &checkout).await.unwrap();

    assert!(!checkout.exists());
    let mirror = support::only_mirror(fixture.data());
    assert_eq!(
        git(&mirror, &["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );
    // Nothing the session committed is lost: its branch still holds the edit.
    let branch = id.branch();
    assert_eq!(
        git(&mirror, &["show", &format!("{branch}:x.txt")]).trim(),
        "x"
    );
    assert!(
        git(&mirror, &["for-each-ref", "refs/remotes/origin"]).contains("refs/remotes/origin/main")
    );
    // Idempotent, and a stranger's directory is never deleted.
    ws.remove_session(&id, &checkout).await.unwrap();
    let stranger = tempfile::tempdir().unwrap();
    std::fs::write(stranger.path().join("keep.txt"), "mine").unwrap();
    ws.remove_session(&sandbox(7), stranger.path())
        .await
        .unwrap();
    assert!(stranger.path().join("keep.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_of_a_new_mirror_all_succeed() {
    six_sessions_at_once(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_racing_spare_claims_and_rebuilds_all_succeed() {
    six_sessions_at_once(true).await;
}

/// Six sessions of one repository start at once; with spares, one claims the prepared spare
/// while the others check out cold and background rebuilds race with them.
async fn six_sessions_at_once(spares: bool) {
    let fixture = Fixture::with_config(|config| config.spare_checkouts = spares);
    let (remote, ws) = (&fixture.remote, &fixture.ws);
    if spares {
        ws.warm_up(&remote.path_str(), None).await.expect("warm up");
    }
    let opens = (1..=6).map(|n| {
        let ws = ws.clone();
        let url = remote.path_str();
        tokio::spawn(async move { ws.open_session(&url, None, &sandbox(n)).await })
    });
    let sessions: Vec<_> = support::join_all(opens).await;
    for session in &sessions {
        assert_eq!(status(&session.info().checkout), "");
        let mine = session.info().branch.as_str();
        let commit = session
            .write_file("mine.txt", mine, "mine", &CommitPattern::default())
            .await;
        commit.expect("write").expect("a commit");
    }
    let mirror = support::only_mirror(fixture.data());
    git(&mirror, &["fsck", "--no-progress"]);
    let branches = git(&mirror, &["branch", "--list", "design/*"]);
    assert_eq!(branches.lines().count(), 6, "{branches}");
    // Every registered worktree is real: nothing for `git worktree prune` to clean up.
    assert_eq!(
        git(&mirror, &["worktree", "prune", "--dry-run", "--verbose"]),
        ""
    );
    let listed = git(&mirror, &["worktree", "list", "--porcelain"]);
    for session in &sessions {
        let checkout = std::fs::canonicalize(&session.info().checkout).expect("checkout");
        assert!(
            listed.contains(&format!("worktree {}\n", checkout.display())),
            "{listed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_spare_checkout_is_claimed_and_brought_up_to_the_new_base() {
    let fixture = Fixture::with_config(|config| config.spare_checkouts = true);
    let (remote, ws) = (&fixture.remote, &fixture.ws);
    ws.warm_up(&remote.path_str(), None).await.unwrap();
    assert!(ws.spare_ready(&remote.path_str()).await.unwrap());

    // The remote moves on after the spare was prepared: the claim must catch up.
    remote.advance(
        "main",
        "upstream change",
        &[
            ("src/tokens.css", b":root { --radius: 8px; }\n"),
            ("NEW.md", b"new\n"),
        ],
    );
    let session = fixture.open(1).await;

    let checkout = &session.info().checkout;
    assert_eq!(session.info().base_commit, remote.tip("main"));
    assert_eq!(git(checkout, &["rev-parse", "HEAD"]), remote.tip("main"));
    assert_eq!(
        git(checkout, &["symbolic-ref", "--short", "HEAD"]),
        session.info().branch
    );
    assert_eq!(
        std::fs::read_to_string(checkout.join("src/tokens.css")).unwrap(),
        ":root { --radius: 8px; }\n"
    );
    assert_eq!(status(checkout), "", "claimed checkout is clean");
    git(checkout, &["worktree", "list"]);
    let commit = commit(&session, "NEW.md", "newer\n", "edit").await;
    assert_eq!(git(checkout, &["rev-parse", "HEAD"]), commit.hash);

    // The pool refills in the background; poll with a deadline.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ws.spare_ready(&remote.path_str()).await.unwrap() {
        assert!(Instant::now() < deadline, "spare was not rebuilt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = fixture.open(2).await;
    assert_eq!(status(&second.info().checkout), "");
    ws.remove_session(&sandbox(1), checkout).await.unwrap();
    assert!(!checkout.exists());
}

/// A server killed while libgit2 held a lock leaves `<file>.lock` behind; every later commit or
/// rollback of that session would fail ("failed to lock file", "the index is locked"). Reopening
/// the session (recovery) removes the locks that are older than this process.
#[tokio::test]
async fn reopening_a_session_removes_the_locks_a_killed_server_left() {
    let fixture = Fixture::new();
    let id = sandbox(1);
    let (checkout, mirror, worktree_gitdir) = {
        let session = fixture.open(1).await;
        commit(&session, "a.txt", "a", "first").await;
        let checkout = session.info().checkout.clone();
        let gitdir = git(&checkout, &["rev-parse", "--absolute-git-dir"]);
        let common = git(&checkout, &["rev-parse", "--git-common-dir"]);
        let common = checkout.join(common.trim());
        (checkout, common, std::path::PathBuf::from(gitdir.trim()))
    };
    // What the killed server left: the branch's ref lock and the worktree's index lock, both
    // older than this process.
    let branch_lock = mirror.join(format!("refs/heads/{}.lock", id.branch()));
    let index_lock = worktree_gitdir.join("index.lock");
    let long_ago = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for lock in [&branch_lock, &index_lock] {
        std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
        let file = std::fs::File::create(lock).unwrap();
        file.set_modified(long_ago).unwrap();
    }

    let ws = workspace(fixture.data());
    let session = ws
        .reopen_session(&fixture.remote.file_url(), &id, &checkout)
        .await
        .unwrap();
    assert!(
        !branch_lock.exists() && !index_lock.exists(),
        "stale locks are gone"
    );
    commit(&session, "b.txt", "b", "second").await;
    assert_eq!(session.history().await.unwrap().len(), 2);

    // A lock taken after this process started is someone's (ours): it stays.
    let fresh = worktree_gitdir.join("HEAD.lock");
    std::fs::File::create(&fresh).unwrap();
    ws.reopen_session(&fixture.remote.file_url(), &id, &checkout)
        .await
        .unwrap();
    assert!(
        fresh.exists(),
        "a lock newer than this process is left alone"
    );
    std::fs::remove_file(fresh).unwrap();
}
