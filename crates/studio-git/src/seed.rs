//! Turning a plain folder into a repository Studio can open: `studio demo` and the black-box tests
//! use it on `examples/design-system`, which ships as files inside Studio's own repository.

use std::fs;
use std::path::Path;

use git2::{IndexAddOption, Repository, RepositoryInitOptions, Signature};

use crate::error::{GitContext, GitError, Result};

/// Folders never copied into the seeded repository (generated or installed content).
const SKIPPED: [&str; 4] = ["node_modules", ".studio", ".git", "dist"];

/// Creates a repository at `dest` holding the files of `source` as one commit on `branch`.
///
/// Idempotent: if `dest` already is a repository, nothing changes (a demo run twice reuses the
/// repository and its mirror).
pub async fn seed_repository(source: &Path, dest: &Path, branch: &str) -> Result<()> {
    let (source, dest, branch) = (source.to_path_buf(), dest.to_path_buf(), branch.to_owned());
    tokio::task::spawn_blocking(move || seed_blocking(&source, &dest, &branch))
        .await
        .map_err(|e| GitError::Internal(format!("seed task failed: {e}")))?
}

fn seed_blocking(source: &Path, dest: &Path, branch: &str) -> Result<()> {
    if Repository::open(dest).is_ok() {
        return Ok(());
    }
    copy_tree(source, dest)?;
    let mut options = RepositoryInitOptions::new();
    options.initial_head(branch);
    let repo = Repository::init_opts(dest, &options).context("init seeded repository")?;
    let mut index = repo.index().context("open index")?;
    index
        .add_all(["*"], IndexAddOption::DEFAULT, None)
        .context("stage seeded files")?;
    index.write().context("write index")?;
    let tree_id = index.write_tree().context("write tree")?;
    let tree = repo.find_tree(tree_id).context("find tree")?;
    let author = Signature::now("Studio", "studio@localhost").context("signature")?;
    repo.commit(Some("HEAD"), &author, &author, "Initial import", &tree, &[])
        .context("commit seeded files")?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).map_err(|e| GitError::io(format!("create {}", to.display()), e))?;
    let entries =
        fs::read_dir(from).map_err(|e| GitError::io(format!("read {}", from.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| GitError::io(format!("read {}", from.display()), e))?;
        let name = entry.file_name();
        if SKIPPED.iter().any(|s| name == *s) {
            continue;
        }
        let kind = entry
            .file_type()
            .map_err(|e| GitError::io("file type", e))?;
        let target = to.join(&name);
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &target)
                .map_err(|e| GitError::io(format!("copy {}", entry.path().display()), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn seeds_once_and_skips_generated_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("node_modules/react")).unwrap();
        fs::create_dir_all(src.join("components")).unwrap();
        fs::write(src.join("components/A.tsx"), "export const A = 1").unwrap();
        fs::write(src.join("node_modules/react/index.js"), "x").unwrap();
        let dest = tmp.path().join("repo");
        seed_repository(&src, &dest, "main").await.unwrap();
        let repo = Repository::open(&dest).unwrap();
        let head = repo.head().unwrap();
        assert_eq!(head.shorthand().ok(), Some("main"));
        let tree = head.peel_to_tree().unwrap();
        assert!(tree.get_path(Path::new("components/A.tsx")).is_ok());
        assert!(tree.get_path(Path::new("node_modules")).is_err());
        let first = head.target().unwrap();
        seed_repository(&src, &dest, "main").await.unwrap();
        assert_eq!(
            Repository::open(&dest)
                .unwrap()
                .head()
                .unwrap()
                .target()
                .unwrap(),
            first
        );
    }
}
