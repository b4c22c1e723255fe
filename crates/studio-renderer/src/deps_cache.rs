//! Sharing Vite's pre-bundled dependencies (`.studio/.vite/deps`) between sandboxes.
//!
//! On its first start Vite bundles React & co. into `.vite/deps` (a few hundred ms, the largest
//! part of a cold start). The bundles depend only on the installed packages and the Vite config,
//! so every sandbox of the same repository dependencies and template could reuse them, but Vite
//! stamps the cache with a hash of its config that includes the absolute root, and a copy in
//! another checkout is thrown away.
//!
//! So: once a renderer has bundled, its `deps/` is published as a *seed* keyed by the template's
//! files and the dependency store key (`<data>/renderer/vite-deps/<key>/`, with `origin.json` naming the
//! root it was made for). Preparing a checkout without a Vite cache plants the seed as
//! `.studio/.vite/deps-seed/`. At start, the template's Vite config (plugin `studio:deps-seed`)
//! re-stamps the seed for the new root and moves it into place — but only after checking that its
//! replica of Vite's config hash reproduces the seed's stamp for the seed's own root. If that
//! check fails (another Vite version, a config that differs in more than the root) the seed is
//! dropped and Vite bundles as usual: the worst case is the normal cold start, never a wrong cache.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::RendererError;
use crate::fs_util::{read_repository_file, remove_tree};

/// Largest file a seed may hold: a renderer writes these files, so they are read with a bound.
const MAX_SEED_FILE: u64 = 64 << 20;

/// Where planted seeds wait for the Vite config to adopt them, inside `.studio/.vite/`.
const PLANTED: &str = "deps-seed";
/// How long after a preparation the publisher waits for Vite to finish its first bundling.
const PUBLISH_WITHIN: Duration = Duration::from_secs(180);
const PUBLISH_POLL: Duration = Duration::from_millis(500);

/// The seed directory for a template (its files, which make Vite's config, and its store) and a
/// dependency store.
pub(crate) fn seed_dir(
    renderer_root: &Path,
    template_dir: &Path,
    deps_key: &str,
    repository: &str,
) -> Result<PathBuf, RendererError> {
    let mut hasher = Sha256::new();
    hash_tree(template_dir, template_dir, &mut hasher)?;
    hasher.update(deps_key.as_bytes());
    // A seed is what a renderer wrote, and a renderer runs the repository's code: it may be
    // shared only with sandboxes of the same repository, which could run that code anyway.
    hasher.update([0]);
    hasher.update(repository.as_bytes());
    let key: String = hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(renderer_root.join("vite-deps").join(key))
}

/// Feeds every file below `dir` (but `node_modules`), path and content, in a stable order.
fn hash_tree(root: &Path, dir: &Path, hasher: &mut Sha256) -> Result<(), RendererError> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(RendererError::io("list", dir))?
        .collect::<Result<_, _>>()
        .map_err(RendererError::io("list", dir))?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_name() == "node_modules" {
            continue;
        }
        if path.is_dir() {
            hash_tree(root, &path, hasher)?;
        } else {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let content = fs::read(&path).map_err(RendererError::io("read", &path))?;
            hasher.update((relative.as_os_str().len() as u64).to_le_bytes());
            hasher.update(relative.as_os_str().as_encoded_bytes());
            hasher.update((content.len() as u64).to_le_bytes());
            hasher.update(&content);
        }
    }
    Ok(())
}

/// Plants the seed into a checkout that has no Vite dependency cache yet. Returns whether it did.
pub(crate) fn plant(seed: &Path, studio_dir: &Path) -> Result<bool, RendererError> {
    let cache = studio_dir.join(".vite");
    if cache.join("deps/_metadata.json").is_file() || !seed.join("deps/_metadata.json").is_file() {
        return Ok(false);
    }
    let planted = cache.join(PLANTED);
    remove_tree(&planted)?;
    copy_tree(&seed.join("deps"), &planted)?;
    let origin = seed.join("origin.json");
    fs::copy(&origin, planted.join("origin.json")).map_err(RendererError::io("copy", &origin))?;
    Ok(true)
}

/// Publishes this checkout's Vite cache as the seed once Vite has written it (bounded wait, in
/// the background; losing the race to another sandbox is fine).
pub(crate) fn publish_when_ready(seed: PathBuf, checkout: PathBuf) {
    if seed.is_dir() {
        return;
    }
    tokio::spawn(async move {
        let metadata = checkout
            .join(crate::STUDIO_DIR)
            .join(".vite/deps/_metadata.json");
        let deadline = tokio::time::Instant::now() + PUBLISH_WITHIN;
        while !metadata.is_file() {
            if tokio::time::Instant::now() >= deadline || seed.is_dir() {
                return;
            }
            tokio::time::sleep(PUBLISH_POLL).await;
        }
        let result = crate::error::blocking(move || publish(&seed, &checkout)).await;
        if let Err(error) = result {
            tracing::warn!(%error, "could not share Vite's dependency cache");
        }
    });
}

fn publish(seed: &Path, checkout: &Path) -> Result<(), RendererError> {
    let deps = checkout.join(crate::STUDIO_DIR).join(".vite/deps");
    let metadata_path = deps.join("_metadata.json");
    let read_metadata = || {
        read_repository_file(&metadata_path, MAX_SEED_FILE)?
            .ok_or_else(|| RendererError::Task(format!("{} disappeared", metadata_path.display())))
    };
    let before = read_metadata()?;
    let metadata: serde_json::Value = serde_json::from_slice(&before)
        .map_err(|e| RendererError::Task(format!("{}: {e}", metadata_path.display())))?;
    let parent = seed.parent().unwrap_or(seed);
    fs::create_dir_all(parent).map_err(RendererError::io("create", parent))?;
    let tmp = parent.join(format!(".tmp-seed-{:08x}", rand::random::<u32>()));
    let result = (|| {
        copy_tree(&deps, &tmp.join("deps"))?;
        // Vite may have re-bundled (and swapped the directory) while we copied: then the copy
        // could mix two generations of files. Publish only a copy of one consistent state.
        let copied = tmp.join("deps/_metadata.json");
        if read_metadata()? != before
            || fs::read(&copied).map_err(RendererError::io("read", &copied))? != before
        {
            return Err(RendererError::Task(
                "Vite re-bundled while its cache was copied".into(),
            ));
        }
        let origin = json!({ "root": checkout, "configHash": metadata["configHash"] });
        let origin_path = tmp.join("origin.json");
        fs::write(&origin_path, origin.to_string())
            .map_err(RendererError::io("write", &origin_path))?;
        fs::rename(&tmp, seed).map_err(RendererError::io("publish", seed))
    })();
    if result.is_err() {
        let _ = remove_tree(&tmp);
        if seed.is_dir() {
            return Ok(()); // another sandbox published first
        }
    }
    result
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), RendererError> {
    fs::create_dir_all(to).map_err(RendererError::io("create", to))?;
    for entry in fs::read_dir(from).map_err(RendererError::io("list", from))? {
        let entry = entry.map_err(RendererError::io("list", from))?;
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        // `file_type` does not follow symlinks. The source was written by a renderer, which runs
        // the repository's code: a symlink or device planted there is never followed (copying
        // as root would read whatever it points to into a seed), only regular files and
        // directories are copied.
        let file_type = entry
            .file_type()
            .map_err(RendererError::io("inspect", &source))?;
        if file_type.is_dir() {
            copy_tree(&source, &dest)?;
        } else if file_type.is_file() {
            // Not following a symlink that replaced the file since it was listed either.
            let content = read_repository_file(&source, MAX_SEED_FILE)?.unwrap_or_default();
            fs::write(&dest, content).map_err(RendererError::io("copy", &dest))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_per_repository_and_never_follow_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("template");
        fs::create_dir_all(&template).unwrap();
        fs::write(template.join("vite.config.mjs"), "export default {}").unwrap();
        let root = dir.path().join("renderer");
        let a = seed_dir(&root, &template, "deps-key", "https://github.com/a/ui.git").unwrap();
        let b = seed_dir(&root, &template, "deps-key", "https://github.com/b/ui.git").unwrap();
        let a_again =
            seed_dir(&root, &template, "deps-key", "https://github.com/a/ui.git").unwrap();
        assert_ne!(
            a, b,
            "two repositories with the same dependencies share no seed"
        );
        assert_eq!(a, a_again);

        // What a renderer wrote is copied as regular files only: a symlink to a file it cannot
        // read itself is not followed by the server.
        let secret = dir.path().join("secret");
        fs::write(&secret, "server secret").unwrap();
        let from = dir.path().join("from");
        fs::create_dir_all(&from).unwrap();
        fs::write(from.join("react.js"), "export default 1").unwrap();
        std::os::unix::fs::symlink(&secret, from.join("stolen.js")).unwrap();
        let to = dir.path().join("to");
        copy_tree(&from, &to).unwrap();
        assert_eq!(
            fs::read_to_string(to.join("react.js")).unwrap(),
            "export default 1"
        );
        assert!(!to.join("stolen.js").exists(), "the symlink was followed");
    }
}
