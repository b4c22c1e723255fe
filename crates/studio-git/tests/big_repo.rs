//! A repository with 10,000 files and 5,000 commits: checkout, one-file commit, rollback.

mod support;

use studio_git::RollbackTarget;
use support::{
    COMMITS, FILES, big_file_path, big_remote, changed_paths, commit, git, sandbox, status,
    workspace,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10000_file_5000_commit_repository_checks_out_and_commits_one_file() {
    let remote = big_remote();
    let data = tempfile::tempdir().unwrap();
    let ws = workspace(data.path());

    let session = ws
        .open_session(remote.to_str().unwrap(), None, &sandbox(1))
        .await
        .unwrap();
    let checkout = session.info().checkout.clone();
    assert_eq!(git(&checkout, &["ls-files"]).lines().count(), FILES);
    assert_eq!(
        git(&checkout, &["rev-list", "--count", "HEAD"]),
        COMMITS.to_string()
    );
    assert_eq!(status(&checkout), "");

    let path = big_file_path(4242);
    let before = std::fs::read_to_string(checkout.join(&path)).unwrap();
    let commit = commit(&session, &path, "export const Changed = 1;\n", "one file").await;
    assert_eq!(changed_paths(&checkout, &commit.hash), path);
    assert_eq!(session.history().await.unwrap(), vec![commit]);
    assert_eq!(status(&checkout), "");

    session.rollback(RollbackTarget::Steps(1)).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(checkout.join(&path)).unwrap(),
        before
    );
    assert_eq!(status(&checkout), "");
}
