//! Sharing Vite's pre-bundled dependencies (`.studio/.vite/deps`) between sandboxes.
//!
//! On its first start Vite bundles React & co. into `.vite/deps` (a few hundred ms, the largest
//! part of a cold start). The bundles depend only on the installed packages and the Vite config,
//! so every sandbox of the same repository dependencies and template could reuse them, but Vite
//! stamps the cache with a hash of its config that includes the absolute root, and with a hash of
//! the lockfile that includes the mtime of the repository's `patches/` directory (different in
//! every checkout): a copy in another checkout is thrown away.
//!
//! So: once a renderer has bundled, its `deps/` is published as a *seed* (`<data>/renderer/vite-deps/<key>/`,
//! with `origin.json` naming the root it was made for and that root's `patches/` part of the
//! lockfile hash). The key is what decides the pre-bundle, and who may share it:
//!
//! * the template's files: Vite's version (its lockfile) and config;
//! * the dependency store key: `package.json`, `package-lock.json`, `.npmrc`, so the very
//!   `node_modules/.package-lock.json` Vite hashes;
//! * the other lockfiles Vite would hash instead if a repository has one at its root
//!   ([`VITE_LOCKFILES`]);
//! * the repository, since a seed is what a renderer wrote (it runs the repository's code).
//!
//! Not in the key: the `patches/` mtime (re-stamped, see below) and the components a sandbox
//! shows (they decide which dependencies are bundled, not whether a bundle is valid; a seed
//! *grows* instead, `seed_growth`).
//!
//! Preparing a checkout without a Vite cache plants the seed as `.studio/.vite/deps-seed/`. At
//! start, the template's Vite config (plugin `studio:deps-seed`) re-stamps the seed for the new
//! root and moves it into place — but only after checking that its replicas of Vite's config and
//! lockfile hashes reproduce the seed's stamps for the seed's own root. If that check fails
//! (another Vite version, a config that differs in more than the root, another lockfile) the seed
//! is dropped and Vite bundles as usual: the worst case is the normal cold start, never a wrong
//! cache.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::RendererError;
use crate::fs_util::{LOCKFILE_CAP, read_repository_file, remove_tree};

/// Largest file a seed may hold: a renderer writes these files, so they are read with a bound.
pub(crate) const MAX_SEED_FILE: u64 = 64 << 20;

/// Where planted seeds wait for the Vite config to adopt them, inside `.studio/.vite/`.
const PLANTED: &str = "deps-seed";

/// The lockfiles at a repository's root that Vite 8's `getLockfileHash` may read instead of
/// npm's `node_modules/.package-lock.json` (the ones below `node_modules/` come from the
/// dependency store, whose key already covers them).
const VITE_LOCKFILES: [&str; 7] = [
    "bun.lock",
    "bun.lockb",
    "aube-lock.yaml",
    "nub.lock",
    ".pnp.cjs",
    ".pnp.js",
    // Vite also knows `.rush/temp/shrinkwrap-deps.json`; below a directory the repository could
    // make a symlink, it is left to the template's check (a mismatch only means a cold start).
    "yarn.lock",
];

/// The seed directory for a template (its files, which make Vite's config, and its store), a
/// dependency store, the lockfiles Vite reads in `checkout`, and a repository.
pub(crate) fn seed_dir(
    renderer_root: &Path,
    template_dir: &Path,
    deps_key: &str,
    checkout: &Path,
    repository: &str,
) -> Result<PathBuf, RendererError> {
    let mut hasher = Sha256::new();
    hash_tree(template_dir, template_dir, &mut hasher)?;
    hasher.update(deps_key.as_bytes());
    for name in VITE_LOCKFILES {
        // Read like every repository manifest; one that cannot be read safely still changes the
        // key (and the template's own check then decides), it never fails the preparation.
        let content = read_repository_file(&checkout.join(name), LOCKFILE_CAP);
        match content {
            Ok(None) => continue,
            Ok(Some(content)) => {
                hasher.update([1]);
                hasher.update(name.as_bytes());
                hasher.update((content.len() as u64).to_le_bytes());
                hasher.update(&content);
            }
            Err(_) => {
                hasher.update([2]);
                hasher.update(name.as_bytes());
            }
        }
    }
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
///
/// A seed may be replaced by a grown one while it is copied (`seed_growth`): then the copy could
/// mix two generations, so it is kept only if the seed's metadata was the same before and after
/// and is the one copied. Anything that goes wrong only means no seed (a normal cold start).
pub(crate) fn plant(seed: &Path, studio_dir: &Path) -> Result<bool, RendererError> {
    let cache = studio_dir.join(".vite");
    let metadata = seed.join("deps/_metadata.json");
    if cache.join("deps/_metadata.json").is_file() || !metadata.is_file() {
        return Ok(false);
    }
    // The seed's last use, which collection orders by (`collect`).
    crate::fs_util::touch(seed);
    let planted = cache.join(PLANTED);
    remove_tree(&planted)?;
    let copied = (|| {
        let before = fs::read(&metadata).map_err(RendererError::io("read", &metadata))?;
        copy_tree(&seed.join("deps"), &planted)?;
        let origin = seed.join("origin.json");
        fs::copy(&origin, planted.join("origin.json"))
            .map_err(RendererError::io("copy", &origin))?;
        let planted_metadata = planted.join("_metadata.json");
        Ok::<_, RendererError>(
            fs::read(&metadata).ok().as_ref() == Some(&before)
                && fs::read(&planted_metadata).ok().as_ref() == Some(&before),
        )
    })();
    match copied {
        Ok(true) => Ok(true),
        Ok(false) | Err(_) => {
            if let Err(error) = &copied {
                tracing::debug!(%error, "Vite's dependency seed not planted");
            }
            remove_tree(&planted)?;
            Ok(false)
        }
    }
}

/// Copies a tree a renderer wrote: regular files and directories only.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), RendererError> {
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
        let checkout = dir.path().join("checkout");
        fs::create_dir_all(&checkout).unwrap();
        let key = |repository: &str| seed_dir(&root, &template, "deps-key", &checkout, repository);
        let a = key("https://github.com/a/ui.git").unwrap();
        let b = key("https://github.com/b/ui.git").unwrap();
        let a_again = key("https://github.com/a/ui.git").unwrap();
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

    #[test]
    fn the_key_follows_what_vite_hashes_and_not_a_patches_directory() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("template");
        fs::create_dir_all(&template).unwrap();
        fs::write(template.join("vite.config.mjs"), "export default {}").unwrap();
        let root = dir.path().join("renderer");
        let (one, two) = (dir.path().join("one"), dir.path().join("two"));
        for checkout in [&one, &two] {
            fs::create_dir_all(checkout).unwrap();
        }
        let key = |deps: &str, checkout: &Path| {
            seed_dir(&root, &template, deps, checkout, "file:///ui").unwrap()
        };
        let plain = key("deps-a", &one);

        // Vite hashes `patches/` by its mtime, which differs in every checkout: the seed is
        // re-stamped for it instead, so the key stays.
        fs::create_dir_all(two.join("patches")).unwrap();
        fs::write(two.join("patches/react+19.0.0.patch"), "diff").unwrap();
        assert_eq!(key("deps-a", &two), plain);

        // Other installed packages, or another lockfile Vite reads first, are another seed.
        assert_ne!(key("deps-b", &one), plain);
        fs::write(two.join("bun.lock"), "{}").unwrap();
        let with_bun = key("deps-a", &two);
        assert_ne!(with_bun, plain);
        fs::write(two.join("bun.lock"), "{ \"lockfileVersion\": 1 }").unwrap();
        assert_ne!(key("deps-a", &two), with_bun);

        // A lockfile that is a symlink is never read, and fails nothing.
        fs::remove_file(two.join("bun.lock")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", two.join("yarn.lock")).unwrap();
        assert_ne!(key("deps-a", &two), plain);
    }

    #[test]
    fn a_seed_that_changes_while_it_is_planted_is_not_planted() {
        let dir = tempfile::tempdir().unwrap();
        let seed = dir.path().join("seed");
        fs::create_dir_all(seed.join("deps")).unwrap();
        fs::write(seed.join("deps/_metadata.json"), "{}").unwrap();
        fs::write(seed.join("deps/react.js"), "export default 1").unwrap();
        fs::write(seed.join("origin.json"), "{}").unwrap();
        let studio = dir.path().join("checkout/.studio");
        fs::create_dir_all(&studio).unwrap();
        assert!(plant(&seed, &studio).unwrap());
        assert_eq!(
            fs::read_to_string(studio.join(".vite/deps-seed/react.js")).unwrap(),
            "export default 1"
        );

        // Without `origin.json` (a seed half replaced) nothing is planted, and nothing is left.
        fs::remove_file(seed.join("origin.json")).unwrap();
        assert!(!plant(&seed, &studio).unwrap());
        assert!(!studio.join(".vite/deps-seed").exists());
    }
}
