//! A bare git repository standing in for a team's remote: `examples/design-system` seeded as one
//! commit on `main`, cloned bare. Sandboxes fetch from it and finalize pushes to it.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Remote {
    dir: tempfile::TempDir,
}

impl Remote {
    pub async fn new() -> Self {
        let parent = super::run_dir().join("scratch");
        std::fs::create_dir_all(&parent).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("remote-")
            .tempdir_in(parent)
            .unwrap();
        let seed = dir.path().join("seed");
        studio_git::seed_repository(
            &super::workspace_root().join("examples/design-system"),
            &seed,
            "main",
        )
        .await
        .unwrap();
        git(
            dir.path(),
            &["clone", "--quiet", "--bare", "seed", "remote.git"],
        );
        Self { dir }
    }

    /// What a create request names as `repository`.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    pub fn url(&self) -> String {
        self.path().display().to_string()
    }

    /// The commit a branch points at, if the branch exists.
    pub fn branch_head(&self, branch: &str) -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.path())
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// `(hash, subject)` of the commits on `branch` that `base` does not have, oldest first.
    pub fn commits_between(&self, base: &str, branch: &str) -> Vec<(String, String)> {
        let out = git(
            &self.path(),
            &[
                "log",
                "--reverse",
                "--format=%H %s",
                &format!("{base}..{branch}"),
            ],
        );
        out.lines()
            .map(|l| {
                let (hash, subject) = l.split_once(' ').unwrap_or((l, ""));
                (hash.to_owned(), subject.to_owned())
            })
            .collect()
    }

    /// Makes a commit on a new branch of the remote (through a scratch clone) and returns its hash:
    /// a commit that belongs to no sandbox session.
    pub fn commit_on_new_branch(&self, branch: &str) -> String {
        let work = self.dir.path().join(format!("work-{branch}"));
        git(
            self.dir.path(),
            &[
                "clone",
                "--quiet",
                "remote.git",
                &work.display().to_string(),
            ],
        );
        git(&work, &["checkout", "--quiet", "-b", branch]);
        std::fs::write(work.join("FOREIGN.md"), "not from a sandbox\n").unwrap();
        git(&work, &["add", "FOREIGN.md"]);
        git(
            &work,
            &[
                "-c",
                "user.name=Other",
                "-c",
                "user.email=other@example.invalid",
                "commit",
                "--quiet",
                "-m",
                "foreign",
            ],
        );
        git(&work, &["push", "--quiet", "origin", branch]);
        git(&work, &["rev-parse", "HEAD"]).trim().to_owned()
    }
}

/// Runs git in `dir` and returns its stdout; panics with its stderr when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
