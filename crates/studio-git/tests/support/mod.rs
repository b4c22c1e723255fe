//! Real repositories for the tests and the benchmark: bare remotes built with `git fast-import`,
//! and the `git` CLI as an independent witness of what libgit2 wrote.

#![allow(dead_code)] // each test binary uses a different subset
#![allow(clippy::unwrap_used)] // test support: a panic with its message is the failure report

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use studio_core::{CommitInfo, CommitPattern, SandboxId};
use studio_git::{Author, GitConfig, GitWorkspace, Session};
use tempfile::TempDir;

pub const FILES: usize = 10_000;
pub const COMMITS: usize = 5_000;

/// Runs `git -C dir args...` with no user or system configuration; panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = git_command(dir, args).output().expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned()
}

/// Like [`git`] but returns whether it succeeded instead of panicking.
pub fn git_ok(dir: &Path, args: &[&str]) -> bool {
    git_command(dir, args)
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("run git")
        .success()
}

fn git_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Remote Person")
        .env("GIT_AUTHOR_EMAIL", "remote@example.com")
        .env("GIT_COMMITTER_NAME", "Remote Person")
        .env("GIT_COMMITTER_EMAIL", "remote@example.com");
    command
}

/// A `git fast-import` stream, built in memory.
#[derive(Default)]
pub struct Stream {
    bytes: Vec<u8>,
    time: u64,
}

impl Stream {
    /// Appends a commit on `branch` that writes `files`. Within one stream, commits on a branch
    /// continue from each other; see [`Stream::after`] to continue from an existing commit.
    pub fn commit(&mut self, branch: &str, message: &str, files: &[(&str, &[u8])]) -> &mut Self {
        self.commit_from(branch, None, message, files)
    }

    /// Appends a commit on `branch` whose parent is the existing commit `parent`.
    pub fn after(
        &mut self,
        branch: &str,
        parent: &str,
        message: &str,
        files: &[(&str, &[u8])],
    ) -> &mut Self {
        self.commit_from(branch, Some(parent), message, files)
    }

    fn commit_from(
        &mut self,
        branch: &str,
        parent: Option<&str>,
        message: &str,
        files: &[(&str, &[u8])],
    ) -> &mut Self {
        self.time += 1;
        let b = &mut self.bytes;
        writeln!(b, "commit refs/heads/{branch}").unwrap();
        writeln!(
            b,
            "committer Remote Person <remote@example.com> {} +0000",
            1_700_000_000 + self.time
        )
        .unwrap();
        writeln!(b, "data {}\n{message}", message.len()).unwrap();
        if let Some(parent) = parent {
            writeln!(b, "from {parent}").unwrap();
        }
        for (path, content) in files {
            writeln!(b, "M 100644 inline {path}\ndata {}", content.len()).unwrap();
            b.extend_from_slice(content);
            b.push(b'\n');
        }
        b.push(b'\n');
        self
    }

    /// Feeds the stream to `git fast-import` in the bare repository `bare`.
    pub fn import(&self, bare: &Path) {
        let mut child = git_command(bare, &["fast-import", "--quiet"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("start git fast-import");
        child.stdin.take().unwrap().write_all(&self.bytes).unwrap();
        assert!(child.wait().unwrap().success(), "git fast-import failed");
    }
}

/// A bare repository in a temp dir, default branch `main`.
pub struct Remote {
    _dir: TempDir,
    path: PathBuf,
}

impl Remote {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn path_str(&self) -> String {
        self.path().to_str().unwrap().to_owned()
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.path_str())
    }

    /// Adds a commit on top of `branch` of the remote, as someone else pushing would.
    pub fn advance(&self, branch: &str, message: &str, files: &[(&str, &[u8])]) -> String {
        Stream::default()
            .after(branch, &self.tip(branch), message, files)
            .import(self.path());
        self.tip(branch)
    }

    /// The commit a branch of the remote points at.
    pub fn tip(&self, branch: &str) -> String {
        git(self.path(), &["rev-parse", &format!("refs/heads/{branch}")])
    }
}

/// A bare remote whose `main` has one commit with `files`.
pub fn remote_with(files: &[(&str, &str)]) -> Remote {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    init_bare(&path);
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (*p, c.as_bytes())).collect();
    Stream::default()
        .commit("main", "initial", &files)
        .import(&path);
    Remote { _dir: dir, path }
}

/// The usual small design-system remote: a few components and a README.
pub fn design_system() -> Remote {
    remote_with(&[
        ("README.md", "# UI\n"),
        (
            "src/components/Button/Button.tsx",
            "export const Button = () => <button />;\n",
        ),
        (
            "src/components/Card/Card.tsx",
            "export const Card = () => <div />;\n",
        ),
        ("src/tokens.css", ":root { --radius: 4px; }\n"),
    ])
}

fn init_bare(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    git(
        path,
        &["init", "--quiet", "--bare", "--initial-branch=main"],
    );
}

/// A workspace in `data` with a recognizable author; spares off unless a test wants them.
pub fn workspace(data: &Path) -> GitWorkspace {
    GitWorkspace::new(config(data))
}

pub fn config(data: &Path) -> GitConfig {
    let mut config = GitConfig::new(data);
    config.author = Author {
        name: "Studio Test".to_owned(),
        email: "studio-test@example.com".to_owned(),
    };
    config.spare_checkouts = false;
    config
}

pub fn sandbox(n: u8) -> SandboxId {
    SandboxId::from_random([0xab, 0xcd, 0, 0, 0, 0, 0, n])
}

/// The usual set-up: the design-system remote and a workspace in a fresh data directory.
pub struct Fixture {
    pub remote: Remote,
    pub data: TempDir,
    pub ws: GitWorkspace,
}

impl Fixture {
    /// The design-system remote and a workspace with the test configuration (spares off).
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    /// Like [`Fixture::new`], with the workspace's configuration adjusted by `adjust`.
    pub fn with_config(adjust: impl FnOnce(&mut GitConfig)) -> Self {
        let remote = design_system();
        let data = tempfile::tempdir().unwrap();
        let mut config = config(data.path());
        adjust(&mut config);
        Self {
            remote,
            data,
            ws: GitWorkspace::new(config),
        }
    }

    /// The workspace's data directory.
    pub fn data(&self) -> &Path {
        self.data.path()
    }

    /// Opens session [`sandbox(n)`](sandbox) on the remote, named by its plain path.
    pub async fn open(&self, n: u8) -> Session {
        self.open_url(&self.remote.path_str(), n).await
    }

    /// Opens session [`sandbox(n)`](sandbox) on the repository at `url`.
    pub async fn open_url(&self, url: &str, n: u8) -> Session {
        self.ws
            .open_session(url, None, &sandbox(n))
            .await
            .expect("open session")
    }
}

/// Writes `content` to `path` with the default message pattern; panics unless that commits.
pub async fn commit(
    session: &Session,
    path: &str,
    content: impl Into<Vec<u8>>,
    description: &str,
) -> CommitInfo {
    session
        .write_file(path, content, description, &CommitPattern::default())
        .await
        .expect("write")
        .expect("a commit")
}

/// The paths `commit` changed, one a line (`git diff-tree` as the independent witness).
pub fn changed_paths(checkout: &Path, commit: &str) -> String {
    git(
        checkout,
        &["diff-tree", "--no-commit-id", "--name-only", "-r", commit],
    )
}

/// The one mirror under a data directory.
pub fn only_mirror(data: &Path) -> PathBuf {
    let mut mirrors: Vec<PathBuf> = std::fs::read_dir(data.join("mirrors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(mirrors.len(), 1, "{mirrors:?}");
    mirrors.pop().unwrap()
}

/// `git status --porcelain` of a checkout (empty = clean, untracked files included).
pub fn status(checkout: &Path) -> String {
    git(
        checkout,
        &["status", "--porcelain", "--untracked-files=all"],
    )
}

/// The 10,000-file / 5,000-commit remote, generated once per target directory and reused by
/// every test process and the benchmark (generation takes a few seconds).
pub fn big_remote() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("studio-git-fixtures");
    let path = root.join(format!("big-{FILES}-{COMMITS}-v1.git"));
    if path.join("HEAD").exists() {
        return path;
    }
    std::fs::create_dir_all(&root).unwrap();
    // Build beside the final path and rename: concurrent test processes never see half a repo.
    let temp = root.join(format!("building-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temp);
    init_bare(&temp);
    let mut stream = Stream::default();
    let contents: Vec<(String, Vec<u8>)> = (0..FILES)
        .map(|i| (big_file_path(i), component(i, 0).into_bytes()))
        .collect();
    let files: Vec<(&str, &[u8])> = contents
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    stream.commit("main", "initial import", &files);
    for k in 1..COMMITS {
        let i = (k * 7919) % FILES;
        let content = component(i, k);
        stream.commit(
            "main",
            &format!("change {k}"),
            &[(&big_file_path(i), content.as_bytes())],
        );
    }
    stream.import(&temp);
    if std::fs::rename(&temp, &path).is_err() {
        // Another process won the race; its copy is as good as ours.
        let _ = std::fs::remove_dir_all(&temp);
    }
    path
}

pub fn big_file_path(i: usize) -> String {
    format!("src/components/group{:03}/Component{i}.tsx", i / 100)
}

fn component(i: usize, version: usize) -> String {
    format!("export const Component{i} = () => <div data-version=\"{version}\">{i}</div>;\n")
}

/// Awaits spawned tasks in order; panics on the first failure.
pub async fn join_all<T, E: std::fmt::Debug>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<T, E>>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap().unwrap());
    }
    out
}
