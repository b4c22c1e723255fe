//! The sample repository, `examples/design-system`: copied into a checkout, seeded as a git
//! repository (one commit on a branch), and served as a bare "remote" in a temp dir that sandboxes
//! fetch from and finalize pushes to.

use std::path::{Path, PathBuf};

use crate::git::git;
use crate::paths;

/// Folders never copied from the sample (generated or installed content).
const SKIPPED: [&str; 4] = ["node_modules", ".studio", ".git", "dist"];

/// The sample repository's files in the workspace.
pub fn design_system() -> PathBuf {
    paths::workspace_root().join("examples/design-system")
}

/// Copies the sample into `to` (created), without its build artefacts and installed packages.
pub fn copy_sample(to: &Path) {
    copy_dir(&design_system(), to);
}

fn copy_dir(from: &Path, to: &Path) {
    let fail = |what: &str, path: &Path, e: std::io::Error| -> ! {
        panic!("cannot {what} {}: {e}", path.display())
    };
    std::fs::create_dir_all(to).unwrap_or_else(|e| fail("create", to, e));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| fail("read", from, e));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| fail("read", from, e));
        let name = entry.file_name();
        if SKIPPED.iter().any(|s| name == *s) {
            continue;
        }
        let kind = entry
            .file_type()
            .unwrap_or_else(|e| fail("stat", &entry.path(), e));
        if kind.is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name))
                .unwrap_or_else(|e| fail("copy", &entry.path(), e));
        }
    }
}

/// A session checkout in the scratch space of `area`: a copy of the sample (not a repository).
pub fn checkout(area: &str, prefix: &str) -> tempfile::TempDir {
    let dir = paths::scratch_dir(area, prefix);
    copy_sample(dir.path());
    dir
}

/// Makes `dest` a repository holding the sample's files as one commit ("Initial import") on
/// `branch`.
pub fn seed_repository(dest: &Path, branch: &str) {
    copy_sample(dest);
    git(dest, &["init", "--quiet", "--initial-branch", branch]);
    git(dest, &["add", "--all"]);
    git(dest, &["commit", "--quiet", "-m", "Initial import"]);
}

/// A bare git repository standing in for a team's remote: the sample seeded as one commit on
/// `main`, cloned bare, in the scratch space of the black-box tests. Removed when dropped.
#[derive(Debug)]
pub struct Remote {
    dir: tempfile::TempDir,
}

impl Remote {
    /// Creates the remote (on a blocking thread: it copies files and runs git).
    pub async fn new() -> Self {
        tokio::task::spawn_blocking(Self::create)
            .await
            .expect("creating the remote panicked")
    }

    fn create() -> Self {
        let dir = paths::scratch_dir(paths::E2E, "remote-");
        seed_repository(&dir.path().join("seed"), "main");
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

    /// [`Remote::path`] as a string.
    pub fn url(&self) -> String {
        self.path().display().to_string()
    }

    /// The commit a branch points at, if the branch exists.
    pub fn branch_head(&self, branch: &str) -> Option<String> {
        let out = crate::git::command(
            &self.path(),
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ],
        )
        .output()
        .expect("run git rev-parse");
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
        std::fs::write(work.join("FOREIGN.md"), "not from a sandbox\n").expect("write FOREIGN.md");
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
