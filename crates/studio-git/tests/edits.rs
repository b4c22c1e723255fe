//! Writes, deletes and their commits; the path guard against a hostile corpus.

mod support;

use std::path::Path;

use studio_core::CommitPattern;
use studio_git::GitError;
use support::{Fixture, changed_paths, commit, git, status};

/// Minute-resolution check of a rendered default message: `AI: <desc> - YYYY-MM-DD HH:MM`.
fn assert_default_message(message: &str, description: &str) {
    let prefix = format!("AI: {description} - ");
    let stamp = message
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{message:?}"));
    let digits: Vec<bool> = stamp.chars().map(|c| c.is_ascii_digit()).collect();
    assert_eq!(stamp.len(), 16, "{stamp:?}");
    assert!(
        digits[..4].iter().all(|d| *d)
            && &stamp[4..5] == "-"
            && &stamp[10..11] == " "
            && &stamp[13..14] == ":",
        "{stamp:?}"
    );
}

#[tokio::test]
async fn three_writes_make_three_commits_with_messages_files_and_author() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let checkout = session.info().checkout.clone();
    let pattern = CommitPattern::default();

    let edits = [
        (
            "src/components/Button/Button.tsx",
            "export const Button = () => <button className=\"round\" />;\n",
            "Updated border-radius",
        ),
        (
            "src/components/Badge/Badge.tsx",
            "export const Badge = () => <span />;\n",
            "Added Badge",
        ),
        (
            "src/tokens.css",
            ":root { --radius: 12px; }\n",
            "Bigger radius token",
        ),
    ];
    let mut commits = Vec::new();
    for (path, content, description) in edits {
        let commit = session
            .write_file(path, content, description, &pattern)
            .await
            .unwrap()
            .expect("a commit");
        assert_eq!(commit.hash.len(), 40);
        assert_default_message(&commit.message, description);
        assert_eq!(
            std::fs::read_to_string(checkout.join(path)).unwrap(),
            content
        );
        commits.push(commit);
    }

    // The git CLI agrees on everything.
    let log = git(
        &checkout,
        &[
            "log",
            "--format=%H|%s|%an|%ae|%cn",
            &format!("{}..HEAD", fixture.remote.tip("main")),
        ],
    );
    let lines: Vec<&str> = log.lines().rev().collect();
    assert_eq!(lines.len(), 3);
    for ((line, commit), (path, content, _)) in lines.iter().zip(&commits).zip(edits) {
        assert_eq!(
            *line,
            format!(
                "{}|{}|Studio Test|studio-test@example.com|Studio Test",
                commit.hash, commit.message
            )
        );
        assert_eq!(changed_paths(&checkout, &commit.hash), path);
        assert_eq!(
            git(&checkout, &["show", &format!("{}:{path}", commit.hash)]),
            content.trim_end()
        );
    }
    assert_eq!(
        session.history().await.unwrap(),
        commits,
        "history: oldest first, same records"
    );
    assert_eq!(
        status(&checkout),
        "",
        "index and working tree match the last commit"
    );
}

#[tokio::test]
async fn an_identical_write_creates_no_commit() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let pattern = CommitPattern::default();

    let same = session
        .write_file("README.md", "# UI\n", "no-op", &pattern)
        .await
        .unwrap();
    assert_eq!(same, None);
    commit(&session, "README.md", "# UI 2\n", "change").await;
    let again = session
        .write_file("README.md", "# UI 2\n", "again", &pattern)
        .await
        .unwrap();
    assert_eq!(again, None);
    assert_eq!(session.history().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_custom_pattern_and_delete_are_committed() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let checkout = session.info().checkout.clone();
    let pattern = CommitPattern("studio: {description}".to_owned());

    let commit = session
        .delete_file("src/components/Card/Card.tsx", "Removed Card", &pattern)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(commit.message, "studio: Removed Card");
    assert!(
        !checkout.join("src/components/Card").exists(),
        "emptied directories go too"
    );
    assert_eq!(
        git(
            &checkout,
            &["ls-tree", "-r", "--name-only", "HEAD", "src/components"]
        ),
        "src/components/Button/Button.tsx"
    );
    let missing = session
        .delete_file("src/components/Card/Card.tsx", "again", &pattern)
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "file_not_found");
    assert_eq!(status(&checkout), "");
}

#[tokio::test]
async fn only_touched_paths_are_committed_never_untracked_junk_or_generated_folders() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let checkout = session.info().checkout.clone();
    std::fs::write(checkout.join("junk.log"), "junk").unwrap();
    std::fs::create_dir_all(checkout.join(".studio")).unwrap();
    std::fs::write(checkout.join(".studio/main.tsx"), "generated").unwrap();
    std::fs::create_dir_all(checkout.join("node_modules/react")).unwrap();
    std::fs::write(checkout.join("node_modules/react/index.js"), "dep").unwrap();

    let commit = commit(&session, "src/new.ts", "export {};\n", "new").await;

    assert_eq!(changed_paths(&checkout, &commit.hash), "src/new.ts");
    assert_eq!(
        status(&checkout),
        "?? junk.log",
        ".studio/ and node_modules/ are excluded"
    );
}

#[tokio::test]
async fn uncommitted_writes_are_staged_and_swept_into_no_later_commit() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let checkout = session.info().checkout.clone();

    session
        .write_file_uncommitted("draft.md", "draft")
        .await
        .unwrap();
    session
        .delete_file_uncommitted("src/tokens.css")
        .await
        .unwrap();
    assert!(session.history().await.unwrap().is_empty());
    assert_eq!(status(&checkout), "A  draft.md\nD  src/tokens.css");

    let commit = commit(&session, "README.md", "# UI!\n", "readme").await;
    assert_eq!(changed_paths(&checkout, &commit.hash), "README.md");
    assert_eq!(
        status(&checkout),
        "A  draft.md\nD  src/tokens.css",
        "staged drafts stay staged"
    );
}

#[tokio::test]
async fn content_above_the_size_limit_is_refused_and_writes_nothing() {
    let fixture = Fixture::with_config(|config| config.max_file_bytes = 1024);
    let session = fixture.open(1).await;

    let err = session
        .write_file(
            "big.bin",
            vec![b'x'; 1025],
            "big",
            &CommitPattern::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "content_too_large");
    assert!(
        matches!(
            err,
            GitError::TooLarge {
                size: 1025,
                limit: 1024,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!session.info().checkout.join("big.bin").exists());
    commit(&session, "ok.bin", vec![b'x'; 1024], "fits").await;
}

#[tokio::test]
async fn hostile_paths_are_refused_and_write_nothing() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let checkout = session.info().checkout.clone();
    let outside = tempfile::tempdir().unwrap();
    // Symlinks planted inside the checkout (as a malicious repository or process could).
    std::os::unix::fs::symlink(outside.path(), checkout.join("escape")).unwrap();
    std::os::unix::fs::symlink("../../..", checkout.join("src/up")).unwrap();
    std::os::unix::fs::symlink("/etc", checkout.join("src/etc")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("missing"), checkout.join("dangling")).unwrap();
    let before = snapshot(&checkout, outside.path());
    let mirror_refs = git(&checkout, &["for-each-ref"]);

    let corpus: &[(&str, &str)] = &[
        ("", "path_empty"),
        (".", "path_empty"),
        ("src/..", "path_empty"),
        ("/etc/passwd", "path_absolute"),
        ("/tmp/x", "path_absolute"),
        ("..", "path_outside_repo"),
        ("../x", "path_outside_repo"),
        ("src/../../x", "path_outside_repo"),
        ("a/b/../../../x", "path_outside_repo"),
        (".git/HEAD", "path_in_git_dir"),
        ("./.git/HEAD", "path_in_git_dir"),
        (".git", "path_in_git_dir"),
        ("src/.git/config", "path_in_git_dir"),
        (".GIT/config", "path_in_git_dir"),
        ("src/a\0b.tsx", "path_nul_byte"),
        (".studio/main.tsx", "path_generated"),
        ("node_modules/react/index.js", "path_generated"),
        ("src/node_modules/x.js", "path_generated"),
        ("escape/pwned.txt", "path_symlink_escape"),
        ("src/up/pwned.txt", "path_symlink_escape"),
        ("src/etc/passwd", "path_symlink_escape"),
        ("dangling/x", "path_symlink_escape"),
        ("README.md/x", "path_parent_not_directory"),
        ("src", "path_is_directory"),
        ("src/components/", "path_is_directory"),
    ];
    for (path, code) in corpus {
        let err = session
            .write_file(path, "pwned", "attack", &CommitPattern::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), *code, "write {path:?}: {err}");
        assert!(matches!(err, GitError::PathRefused { .. }), "{err:?}");
        assert!(!err.to_string().is_empty());
        let err = session
            .delete_file(path, "attack", &CommitPattern::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), *code, "delete {path:?}: {err}");
    }

    assert_eq!(
        snapshot(&checkout, outside.path()),
        before,
        "nothing written anywhere"
    );
    assert_eq!(
        git(&checkout, &["for-each-ref"]),
        mirror_refs,
        "no commit, no ref moved"
    );
    assert!(session.history().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_symlinked_directory_inside_the_repository_is_written_at_its_real_path() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let checkout = session.info().checkout.clone();
    std::os::unix::fs::symlink("src/components", checkout.join("components")).unwrap();

    let commit = commit(&session, "components/Link.tsx", "x", "via link").await;
    assert_eq!(
        changed_paths(&checkout, &commit.hash),
        "src/components/Link.tsx"
    );
}

/// Every file under the checkout and the outside directory, with contents (symlinks: targets).
fn snapshot(checkout: &Path, outside: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read dir")
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            if kind.is_symlink() {
                out.push((
                    path.display().to_string(),
                    std::fs::read_link(&path)
                        .expect("read link")
                        .into_os_string()
                        .into_encoded_bytes(),
                ));
            } else if kind.is_dir() {
                walk(&path, out);
            } else {
                out.push((
                    path.display().to_string(),
                    std::fs::read(&path).expect("read file"),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(checkout, &mut out);
    walk(outside, &mut out);
    out
}

/// Auto-commit off: finalize commits what the session staged, once, and nothing else of the
/// working tree (an untracked file stays untracked).
#[tokio::test]
async fn staged_edits_are_committed_once_as_one_commit_and_untracked_files_stay_out() {
    let fixture = Fixture::new();
    let session = fixture.open(1).await;
    let checkout = session.info().checkout.clone();
    session
        .write_file_uncommitted("draft.md", "draft")
        .await
        .unwrap();
    session
        .delete_file_uncommitted("src/tokens.css")
        .await
        .unwrap();
    std::fs::write(checkout.join("junk.log"), "junk").unwrap();

    let pattern = CommitPattern::default();
    let commit = session
        .commit_staged("Design session", &pattern)
        .await
        .unwrap()
        .expect("the staged edits make a commit");
    assert_eq!(
        changed_paths(&checkout, &commit.hash),
        "draft.md\nsrc/tokens.css"
    );
    assert_eq!(status(&checkout), "?? junk.log");
    assert_eq!(session.history().await.unwrap(), vec![commit]);
    assert_eq!(
        session.commit_staged("again", &pattern).await.unwrap(),
        None,
        "nothing staged: no empty commit"
    );
}
