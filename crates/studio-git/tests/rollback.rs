//! Rollback by steps and by hash, undone commits kept reachable, rolling forward, refusals.

mod support;

use std::path::Path;

use studio_core::{CommitInfo, CommitPattern};
use studio_git::{RollbackTarget, Session};
use support::{Fixture, commit, git, git_ok, sandbox, status, workspace};

/// A session with three commits: edit Button, add Badge, delete Card.
async fn session_with_three_commits(fixture: &Fixture) -> (Session, Vec<CommitInfo>) {
    let session = fixture.open(1).await;
    let button = "export const Button = () => <button className=\"round\" />;\n";
    let mut commits = Vec::new();
    for (path, content, description) in [
        ("src/components/Button/Button.tsx", button, "round"),
        (
            "src/components/Badge/Badge.tsx",
            "export const Badge = 1;\n",
            "badge",
        ),
    ] {
        commits.push(commit(&session, path, content, description).await);
    }
    let deleted = session
        .delete_file(
            "src/components/Card/Card.tsx",
            "no card",
            &CommitPattern::default(),
        )
        .await;
    commits.push(deleted.expect("delete").expect("a commit"));
    (session, commits)
}

/// Every tracked file of `commit` has exactly its content on disk, and nothing tracked is extra.
fn assert_tree_matches(checkout: &Path, commit: &str) {
    assert_eq!(git(checkout, &["rev-parse", "HEAD"]), commit);
    assert_eq!(
        status(checkout),
        "",
        "working tree and index equal the commit"
    );
    let files = git(checkout, &["ls-tree", "-r", "--name-only", commit]);
    for file in files.lines() {
        let want = git(checkout, &["show", &format!("{commit}:{file}")]);
        assert_eq!(
            std::fs::read_to_string(checkout.join(file))
                .expect("tracked file on disk")
                .trim_end(),
            want,
            "{file}"
        );
    }
}

#[tokio::test]
async fn rollback_by_steps_and_by_hash_restores_the_tree_exactly() {
    let fixture = Fixture::new();
    let (session, commits) = session_with_three_commits(&fixture).await;
    let checkout = session.info().checkout.clone();

    let head = session.rollback(RollbackTarget::Steps(1)).await.unwrap();
    assert_eq!(head, commits[1]);
    assert_tree_matches(&checkout, &commits[1].hash);
    assert!(
        checkout.join("src/components/Card/Card.tsx").exists(),
        "deleted file is back"
    );
    assert_eq!(session.history().await.unwrap(), commits[..2]);

    let head = session
        .rollback(RollbackTarget::Commit(commits[0].hash.clone()))
        .await
        .unwrap();
    assert_eq!(head, commits[0]);
    assert_tree_matches(&checkout, &commits[0].hash);
    assert!(
        !checkout.join("src/components/Badge").exists(),
        "added file and its directory are gone"
    );

    // All the way back to the base: the session's starting point.
    let base = session.rollback(RollbackTarget::Steps(1)).await.unwrap();
    assert_eq!(base.hash, fixture.remote.tip("main"));
    assert_tree_matches(&checkout, &base.hash);
    assert!(session.history().await.unwrap().is_empty());
}

#[tokio::test]
async fn undone_commits_stay_reachable_and_rolling_forward_works() {
    let fixture = Fixture::new();
    let (session, commits) = session_with_three_commits(&fixture).await;
    let checkout = session.info().checkout.clone();
    let hex = session.info().sandbox_id.hex().to_owned();

    session.rollback(RollbackTarget::Steps(3)).await.unwrap();
    let undo_refs = git(
        &checkout,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            &format!("refs/studio/{hex}/undo"),
        ],
    );
    assert_eq!(
        undo_refs,
        format!("refs/studio/{hex}/undo/1 {}", commits[2].hash)
    );
    for commit in &commits {
        assert!(git_ok(
            &checkout,
            &["cat-file", "-e", &format!("{}^{{commit}}", commit.hash)]
        ));
    }
    // Even after git's most aggressive garbage collection, nothing is lost.
    git(&checkout, &["gc", "--prune=now", "--quiet"]);
    for commit in &commits {
        assert!(
            git_ok(&checkout, &["cat-file", "-e", &commit.hash]),
            "{} was pruned",
            commit.hash
        );
    }

    let forward = session
        .rollback(RollbackTarget::Commit(commits[2].hash[..12].to_owned()))
        .await
        .unwrap();
    assert_eq!(forward, commits[2]);
    assert_tree_matches(&checkout, &commits[2].hash);
    assert_eq!(session.history().await.unwrap(), commits);

    // Back again, then a new edit: the abandoned line stays reachable too.
    session.rollback(RollbackTarget::Steps(2)).await.unwrap();
    let fresh = commit(&session, "NEW.md", "new\n", "new line").await;
    session
        .rollback(RollbackTarget::Commit(commits[2].hash.clone()))
        .await
        .unwrap();
    assert_tree_matches(&checkout, &commits[2].hash);
    session
        .rollback(RollbackTarget::Commit(fresh.hash.clone()))
        .await
        .unwrap();
    assert_tree_matches(&checkout, &fresh.hash);
}

#[tokio::test]
async fn foreign_commits_base_history_and_impossible_steps_are_refused() {
    let fixture = Fixture::new();
    let older = fixture.remote.tip("main");
    let newer = fixture
        .remote
        .advance("main", "upstream", &[("UP.md", b"up\n")]);
    let session = fixture.open(1).await;
    let other = fixture.open(2).await;
    let mine = commit(&session, "mine.txt", "mine", "mine").await;
    let theirs = commit(&other, "theirs.txt", "theirs", "theirs").await;
    let checkout = session.info().checkout.clone();

    let refused = [
        (
            RollbackTarget::Commit(theirs.hash.clone()),
            "commit_not_in_session",
        ),
        (
            RollbackTarget::Commit(older.clone()),
            "commit_not_in_session",
        ),
        (RollbackTarget::Commit("0".repeat(40)), "unknown_commit"),
        (
            RollbackTarget::Commit("not-a-hash".to_owned()),
            "unknown_commit",
        ),
        (RollbackTarget::Commit(String::new()), "unknown_commit"),
        (RollbackTarget::Steps(0), "rollback_out_of_range"),
        (RollbackTarget::Steps(2), "rollback_out_of_range"),
    ];
    for (target, code) in refused {
        let err = session.rollback(target.clone()).await.unwrap_err();
        assert_eq!(err.code(), code, "{target:?}: {err}");
    }
    assert_tree_matches(&checkout, &mine.hash);
    assert_eq!(
        git(&checkout, &["for-each-ref", "refs/studio/*/undo"]),
        "",
        "refusals keep no undo ref"
    );
    // The base itself is a valid target (the session's starting point).
    assert_eq!(
        session
            .rollback(RollbackTarget::Commit(newer.clone()))
            .await
            .unwrap()
            .hash,
        newer
    );
}

#[tokio::test]
async fn rollback_discards_staged_edits_but_never_touches_generated_folders() {
    let fixture = Fixture::new();
    let (session, commits) = session_with_three_commits(&fixture).await;
    let checkout = session.info().checkout.clone();
    session
        .write_file_uncommitted("src/tokens.css", "draft")
        .await
        .unwrap();
    session
        .write_file_uncommitted("draft.md", "draft")
        .await
        .unwrap();
    std::fs::create_dir_all(checkout.join("node_modules/react")).unwrap();
    std::fs::write(checkout.join("node_modules/react/index.js"), "dep").unwrap();
    std::fs::create_dir_all(checkout.join(".studio")).unwrap();
    std::fs::write(checkout.join(".studio/main.tsx"), "generated").unwrap();

    session.rollback(RollbackTarget::Steps(1)).await.unwrap();

    assert_tree_matches(&checkout, &commits[1].hash);
    assert!(!checkout.join("draft.md").exists());
    assert_eq!(
        std::fs::read_to_string(checkout.join("node_modules/react/index.js")).unwrap(),
        "dep"
    );
    assert_eq!(
        std::fs::read_to_string(checkout.join(".studio/main.tsx")).unwrap(),
        "generated"
    );
}

#[tokio::test]
async fn after_a_restart_rollback_still_discards_edits_staged_before_it() {
    let fixture = Fixture::new();
    let (session, commits) = session_with_three_commits(&fixture).await;
    let checkout = session.info().checkout.clone();
    session
        .write_file_uncommitted("README.md", "draft")
        .await
        .unwrap();
    drop(session);

    let reopened = workspace(fixture.data())
        .reopen_session(&fixture.remote.path_str(), &sandbox(1), &checkout)
        .await
        .unwrap();
    let back = reopened.rollback(RollbackTarget::Steps(1)).await.unwrap();

    assert_eq!(back, commits[1]);
    assert_tree_matches(&checkout, &commits[1].hash);
    assert_eq!(
        std::fs::read_to_string(checkout.join("README.md")).unwrap(),
        "# UI\n"
    );
}
