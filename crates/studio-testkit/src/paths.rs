//! Where tests find the workspace and keep their files: the workspace root, the git-ignored run
//! directory shared by every test process (`$STUDIO_TEST_RUN_DIR` or `tests/.run`), one area of it
//! per suite (its npm cache, warm stores and scratch directories), and directory listings for
//! failure messages.

use std::path::{Path, PathBuf};

/// The area of the black-box tests of the `studio` binary (servers' data directories, remotes).
pub const E2E: &str = "e2e";
/// The area of the renderer's tests and benchmark (warm dependency stores, checkouts).
pub const RENDERER: &str = "renderer";

/// The workspace root, found from this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// Git-ignored scratch space shared by every test process: `$STUDIO_TEST_RUN_DIR`, or the
/// workspace's `tests/.run`.
pub fn run_root() -> PathBuf {
    std::env::var_os("STUDIO_TEST_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("tests/.run"))
}

/// One area of the run directory (created): each suite keeps its own, so that only the first test
/// of a fresh machine pays for installs.
pub fn run_dir(area: &str) -> PathBuf {
    let dir = run_root().join(area);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// The npm cache of an area, shared by every test process using it.
pub fn npm_cache(area: &str) -> PathBuf {
    run_dir(area).join("npm-cache")
}

/// A temporary directory under the area's `scratch/` (the same file system as the area's stores,
/// so hard links work), removed when dropped.
pub fn scratch_dir(area: &str, prefix: &str) -> tempfile::TempDir {
    let parent = run_dir(area).join("scratch");
    std::fs::create_dir_all(&parent)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&parent)
        .unwrap_or_else(|e| panic!("cannot create a directory in {}: {e}", parent.display()))
}

/// Every path under `dir` (relative; at most about 200), for failure messages.
pub fn dir_listing(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(
                path.strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            );
            if entry.file_type().is_ok_and(|t| t.is_dir()) && out.len() < 200 {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}
