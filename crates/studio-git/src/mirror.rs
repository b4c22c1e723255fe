//! Bare mirrors: one per repository source, under `<data_dir>/mirrors/<name>.git`.
//!
//! A mirror is an ordinary bare repository whose `origin` points at the source. Remote branches
//! are fetched into `refs/remotes/origin/*` (never into `refs/heads/*`), so a fetch, even with
//! pruning, can never touch the session branches (`refs/heads/design/studio-*`) or the refs that
//! keep undone commits alive (`refs/studio/*`) that live in the same repository.
//!
//! The mirror is created in a temporary directory and renamed into place only after its first
//! fetch succeeded: an unreachable repository or a missing branch leaves nothing behind.
//! Fetches of one mirror are serialized by the caller (see `GitWorkspace`'s mirror locks).

use std::path::{Path, PathBuf};

use git2::{AutotagOption, Direction, FetchOptions, Oid, RemoteUpdateFlags, Repository};
use studio_core::SecretToken;

use crate::auth;
use crate::error::{GitContext, GitError, Result};
use crate::files::TEMP_PREFIX;
use crate::source::{RepoSource, Transport};

pub(crate) const REMOTE: &str = "origin";
const FETCH_REFSPEC: &str = "+refs/heads/*:refs/remotes/origin/*";
/// How many branch names a `BranchNotFound` error lists.
const MAX_LISTED_BRANCHES: usize = 20;

/// Patterns written to the mirror's `info/exclude`, which every worktree of it shares.
const EXCLUDES: &[&str] = &["/.studio/", "node_modules/"];

/// The base a new session starts from.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub branch: String,
    pub commit: Oid,
}

pub(crate) fn mirrors_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("mirrors")
}

pub(crate) fn mirror_path(data_dir: &Path, source: &RepoSource) -> PathBuf {
    mirrors_dir(data_dir).join(&source.mirror_name)
}

/// Fetches the mirror of `source` (creating it on first use) and resolves the base branch:
/// `branch`, or the remote's default branch. The caller holds the mirror's lock.
pub(crate) fn sync(
    data_dir: &Path,
    source: &RepoSource,
    token: Option<&SecretToken>,
    branch: Option<&str>,
) -> Result<(Repository, Base)> {
    let path = mirror_path(data_dir, source);
    if path.exists() {
        touch(&path);
        let repo = Repository::open_bare(&path).context("open mirror")?;
        configure(&repo, source)?;
        let base = fetch(&repo, source, token, branch)?;
        return Ok((repo, base));
    }
    let parent = mirrors_dir(data_dir);
    std::fs::create_dir_all(&parent).map_err(|e| GitError::io("create mirrors directory", e))?;
    let temp = parent.join(format!(
        "{TEMP_PREFIX}{}-{}",
        std::process::id(),
        source.mirror_name
    ));
    let _ = std::fs::remove_dir_all(&temp);
    let created = (|| {
        let repo = Repository::init_bare(&temp).context("create mirror")?;
        configure(&repo, source)?;
        if source.transport == Transport::Local {
            seed_local_objects(&source.url, repo.path())?;
        }
        fetch(&repo, source, token, branch)
    })();
    let base = match created {
        Ok(base) => base,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&temp);
            return Err(e);
        }
    };
    std::fs::rename(&temp, &path).map_err(|e| {
        let _ = std::fs::remove_dir_all(&temp);
        GitError::io("move new mirror into place", e)
    })?;
    let repo = Repository::open_bare(&path).context("open mirror")?;
    Ok((repo, base))
}

/// Stamps the mirror's last use (its directory's mtime), which collection orders mirrors by.
/// Best effort: a missed stamp only makes a mirror look older, and one in use is never collected.
fn touch(path: &Path) {
    let now = std::fs::FileTimes::new().set_modified(std::time::SystemTime::now());
    if let Err(error) = std::fs::File::open(path).and_then(|dir| dir.set_times(now)) {
        tracing::debug!(%error, mirror = %path.display(), "could not stamp the mirror's last use");
    }
}

/// Hard-links (or copies, across filesystems) the object files of a local source into a new
/// mirror before its first fetch.
///
/// libgit2's local transport answers a fetch by building a fresh pack of everything the mirror
/// lacks, with delta compression: for a large history that takes minutes. Once the objects are
/// present, the fetch finds every advertised tip locally and transfers nothing; later fetches
/// pack only new commits. Object files are immutable, so sharing them by hard link is safe.
fn seed_local_objects(source: &str, mirror_git_dir: &Path) -> Result<()> {
    let source_repo = Repository::open(source).map_err(|e| GitError::Unreachable {
        url: source.to_owned(),
        message: e.message().to_owned(),
    })?;
    let from = source_repo.commondir().join("objects");
    let to = mirror_git_dir.join("objects");
    link_tree(&from, &to).map_err(|e| GitError::io("copy objects of local repository", e))
}

/// Recursively hard-links regular files from `from` into `to` (copying when linking fails),
/// skipping files that already exist. `info/alternates` is copied too, so objects the source
/// borrows from elsewhere stay reachable.
fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            link_tree(&source, &target)?;
        } else if kind.is_file()
            && !target.exists()
            && std::fs::hard_link(&source, &target).is_err()
        {
            std::fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

/// Idempotent: origin with our refspec, no automatic gc by the git CLI, and the excludes.
fn configure(repo: &Repository, source: &RepoSource) -> Result<()> {
    match repo.find_remote(REMOTE) {
        Ok(remote) if remote.url() == Ok(source.url.as_str()) => {}
        Ok(_) => repo
            .remote_set_url(REMOTE, &source.url)
            .context("set mirror URL")?,
        Err(_) => {
            repo.remote_with_fetch(REMOTE, &source.url, FETCH_REFSPEC)
                .context("configure mirror remote")?;
        }
    }
    let mut config = repo.config().context("open mirror config")?;
    config.set_i32("gc.auto", 0).context("configure mirror")?;
    // libgit2 creates `worktrees/` exclusively on first use, so two sessions starting at once
    // on a new mirror would race for it; it exists from the start instead.
    std::fs::create_dir_all(repo.path().join("worktrees"))
        .map_err(|e| GitError::io("create worktrees directory", e))?;
    ensure_excludes(repo.path())
}

fn ensure_excludes(git_dir: &Path) -> Result<()> {
    let info = git_dir.join("info");
    let file = info.join("exclude");
    let existing = std::fs::read_to_string(&file).unwrap_or_default();
    let temp_pattern = format!("{TEMP_PREFIX}*");
    let missing: Vec<&str> = EXCLUDES
        .iter()
        .copied()
        .chain([temp_pattern.as_str()])
        .filter(|p| !existing.lines().any(|l| l.trim() == *p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut content = existing;
    if !content.is_empty() && !content.ends_with('\n') {
        content.push('\n');
    }
    content.push_str("# Generated by Studio: never committed, never touched by rollbacks.\n");
    for pattern in missing {
        content.push_str(pattern);
        content.push('\n');
    }
    std::fs::create_dir_all(&info).map_err(|e| GitError::io("create info directory", e))?;
    std::fs::write(&file, content).map_err(|e| GitError::io("write info/exclude", e))
}

/// One connection: list the remote's branches, pick the base, download, update
/// `refs/remotes/origin/*` and prune branches deleted upstream.
fn fetch(
    repo: &Repository,
    source: &RepoSource,
    token: Option<&SecretToken>,
    branch: Option<&str>,
) -> Result<Base> {
    let transport_error = |e: git2::Error| auth::transport_error(source, &e);
    let mut remote = repo.find_remote(REMOTE).context("find mirror remote")?;
    let mut conn = remote
        .connect_auth(Direction::Fetch, Some(auth::callbacks(source, token)), None)
        .map_err(transport_error)?;
    let mut heads: Vec<(String, Oid)> = conn
        .list()
        .map_err(transport_error)?
        .iter()
        .filter_map(|h| Some((h.name().strip_prefix("refs/heads/")?.to_owned(), h.oid())))
        .collect();
    heads.sort();
    if heads.is_empty() {
        return Err(GitError::EmptyRepository {
            url: source.display(),
        });
    }
    let default = conn.default_branch().ok().and_then(|b| {
        b.as_str()
            .ok()?
            .strip_prefix("refs/heads/")
            .map(str::to_owned)
    });
    let wanted = match (branch, default) {
        (Some(b), _) => b.to_owned(),
        (None, Some(d)) => d,
        // A remote that advertises no HEAD (rare): take the only branch, or ask the caller
        // (the error lists the branches to choose from).
        (None, None) if heads.len() == 1 => heads[0].0.clone(),
        (None, None) => "HEAD".to_owned(),
    };
    let Some(commit) = heads
        .iter()
        .find(|(n, _)| *n == wanted)
        .map(|(_, oid)| *oid)
    else {
        return Err(GitError::BranchNotFound {
            branch: wanted,
            available: heads
                .into_iter()
                .take(MAX_LISTED_BRANCHES)
                .map(|(n, _)| n)
                .collect(),
        });
    };
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(auth::callbacks(source, token))
        .download_tags(AutotagOption::None)
        .update_fetchhead(false)
        // The source policy vetted this URL's host, not wherever it might redirect to.
        .follow_redirects(git2::RemoteRedirect::None);
    let remote = conn.remote();
    remote
        .download(&[] as &[&str], Some(&mut options))
        .map_err(transport_error)?;
    remote
        .update_tips(
            None,
            RemoteUpdateFlags::empty(),
            AutotagOption::None,
            Some("studio: fetch"),
        )
        .context("update remote-tracking refs")?;
    remote
        .prune(Some(auth::callbacks(source, token)))
        .context("prune remote-tracking refs")?;
    Ok(Base {
        branch: wanted,
        commit,
    })
}
