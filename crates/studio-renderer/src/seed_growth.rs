//! Publishing a sandbox's Vite dependency cache as the seed of its key, and growing that seed.
//!
//! A seed holds what its first sandbox bundled. A sandbox that imports a dependency the seed lacks
//! (another component, an edit that adds an import) makes its Vite optimize again and write a new
//! `deps/_metadata.json` with more `optimized` entries; every later sandbox started from the old
//! seed would pay for the same discovery. So while a sandbox's checkout exists, Studio looks at
//! its cache whenever the metadata file changes (a `stat` every few seconds) and offers it:
//! published if the key has no seed yet, swapped in if its dependencies are a strict superset of
//! the seed's. A sandbox that has other dependencies (a seed not contained in its own) leaves the
//! seed alone: one discovery must not undo another.
//!
//! What a renderer wrote is never trusted: its files are copied (no symlink or device followed,
//! bounded, `deps_cache::copy_tree`) into a directory of Studio's own, and published only if Vite
//! did not re-bundle during the copy. The new seed replaces the old one in one
//! `renameat2(RENAME_EXCHANGE)`; a sandbox planting the old one at that moment notices and starts
//! cold (`deps_cache::plant`).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::fs::{CWD, RenameFlags, renameat_with};
use serde_json::json;

use crate::deps_cache::{MAX_SEED_FILE, copy_tree};
use crate::error::RendererError;
use crate::fs_util::{read_repository_file, remove_tree};

/// How often a checkout's cache is looked at before Vite first wrote it (a start is waiting).
const FIRST_POLL: Duration = Duration::from_millis(500);
/// How often afterwards: discoveries are rare, and a late seed only costs a later sandbox one
/// re-optimization.
const GROW_POLL: Duration = Duration::from_secs(3);
/// What the template's `studio:deps-seed` records at each start (the `patches/` part of Vite's
/// lockfile hash), inside `.studio/.vite/`.
const LOCKFILE_RECORD: &str = "studio-lockfile.json";
const LOCKFILE_RECORD_CAP: u64 = 4096;

/// What offering a checkout's cache did to its seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// The key had no seed: this cache is it now.
    Published,
    /// The seed lacked dependencies this cache has: replaced.
    Grew,
    /// The seed already has everything this cache has (or other dependencies).
    Kept,
}

/// The checkouts whose caches are being watched, and for which seed. One per [`Renderer`](crate::Renderer).
#[derive(Debug, Default)]
pub(crate) struct SeedWatchers {
    watched: Mutex<HashMap<PathBuf, PathBuf>>,
}

impl SeedWatchers {
    /// Watches `checkout`'s cache for `seed` (one watcher per checkout; a preparation for another
    /// seed, after a dependency change, ends the previous one). Ends when `.studio/` is gone.
    pub(crate) fn watch(self: &Arc<Self>, seed: PathBuf, checkout: PathBuf, deps_key: String) {
        {
            let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
            if watched.get(&checkout) == Some(&seed) {
                return;
            }
            watched.insert(checkout.clone(), seed.clone());
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let studio_dir = checkout.join(crate::STUDIO_DIR);
            let metadata = studio_dir.join(".vite/deps/_metadata.json");
            let mut offered = None;
            while this.is_current(&checkout, &seed) && studio_dir.is_dir() {
                // Vite writes a new deps directory and renames it into place: a new inode.
                let stamp = fs::symlink_metadata(&metadata)
                    .ok()
                    .map(|m| (m.ino(), m.mtime(), m.mtime_nsec(), m.len()));
                if stamp.is_some() && stamp != offered {
                    offered = stamp;
                    let (s, c, k) = (seed.clone(), checkout.clone(), deps_key.clone());
                    match crate::error::blocking(move || offer(&s, &c, &k)).await {
                        Ok(Offer::Grew) => tracing::info!(
                            checkout = %checkout.display(),
                            "Vite's dependency seed grew by what a sandbox discovered"
                        ),
                        Ok(_) => {}
                        // Most often Vite re-bundled during the copy: its next metadata is
                        // another stamp, offered again.
                        Err(error) => {
                            tracing::debug!(%error, "Vite's dependency cache not shared")
                        }
                    }
                }
                let pause = if offered.is_some() {
                    GROW_POLL
                } else {
                    FIRST_POLL
                };
                tokio::time::sleep(pause).await;
            }
            let mut watched = this.watched.lock().unwrap_or_else(|e| e.into_inner());
            if watched.get(&checkout) == Some(&seed) {
                watched.remove(&checkout);
            }
        });
    }

    fn is_current(&self, checkout: &Path, seed: &Path) -> bool {
        let watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        watched.get(checkout).is_some_and(|s| s == seed)
    }
}

/// Offers `checkout`'s Vite cache as the seed at `seed`, made for the dependency store `deps_key`.
pub(crate) fn offer(seed: &Path, checkout: &Path, deps_key: &str) -> Result<Offer, RendererError> {
    let studio_dir = checkout.join(crate::STUDIO_DIR);
    // The checkout may have moved to other dependencies since this watcher began.
    let linked = fs::read_to_string(studio_dir.join("deps-key")).unwrap_or_default();
    if linked.trim() != deps_key {
        return Ok(Offer::Kept);
    }
    let deps = studio_dir.join(".vite/deps");
    let metadata_path = deps.join("_metadata.json");
    let read_metadata = || {
        read_repository_file(&metadata_path, MAX_SEED_FILE)?
            .ok_or_else(|| RendererError::Task(format!("{} disappeared", metadata_path.display())))
    };
    let before = read_metadata()?;
    let metadata = parse(&before, &metadata_path)?;
    let existing = read_repository_file(&seed.join("deps/_metadata.json"), MAX_SEED_FILE)?;
    if let Some(existing) = &existing
        && !strictly_more(&metadata, &parse(existing, seed)?)
    {
        return Ok(Offer::Kept);
    }
    let suffix = read_repository_file(
        &studio_dir.join(".vite").join(LOCKFILE_RECORD),
        LOCKFILE_RECORD_CAP,
    )?
    .and_then(|record| serde_json::from_slice::<serde_json::Value>(&record).ok())
    .and_then(|record| record["suffix"].as_str().map(str::to_owned))
    .unwrap_or_default();

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
        let origin = json!({
            "root": checkout,
            "configHash": metadata["configHash"],
            "lockfileSuffix": suffix,
        });
        let origin_path = tmp.join("origin.json");
        fs::write(&origin_path, origin.to_string())
            .map_err(RendererError::io("write", &origin_path))?;
        if existing.is_none() {
            return match fs::rename(&tmp, seed) {
                Ok(()) => Ok(Offer::Published),
                // Another sandbox published first: offered again at its next change.
                Err(_) if seed.is_dir() => Ok(Offer::Kept),
                Err(e) => Err(RendererError::io("publish", seed)(e)),
            };
        }
        renameat_with(CWD, &tmp, CWD, seed, RenameFlags::EXCHANGE)
            .map_err(|e| RendererError::io("swap in", seed)(io::Error::from(e)))?;
        Ok(Offer::Grew)
    })();
    // After an exchange `tmp` holds the previous seed; after a failure, a partial copy.
    remove_tree(&tmp)?;
    result
}

fn parse(content: &[u8], path: &Path) -> Result<serde_json::Value, RendererError> {
    serde_json::from_slice(content)
        .map_err(|e| RendererError::Task(format!("{}: {e}", path.display())))
}

/// Whether `candidate` optimized every dependency `seed` did, and more.
fn strictly_more(candidate: &serde_json::Value, seed: &serde_json::Value) -> bool {
    let (Some(candidate), Some(seed)) = (
        candidate["optimized"].as_object(),
        seed["optimized"].as_object(),
    ) else {
        return false;
    };
    candidate.len() > seed.len() && seed.keys().all(|id| candidate.contains_key(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(checkout: &Path, deps_key: &str, optimized: &[&str], bundle: &str) {
        let studio = checkout.join(crate::STUDIO_DIR);
        let deps = studio.join(".vite/deps");
        fs::create_dir_all(&deps).unwrap();
        fs::write(studio.join("deps-key"), deps_key).unwrap();
        let optimized: serde_json::Map<_, _> = optimized
            .iter()
            .map(|id| (id.to_string(), json!({ "file": format!("{id}.js") })))
            .collect();
        let metadata = json!({ "configHash": "c0ffee00", "optimized": optimized });
        fs::write(deps.join("_metadata.json"), metadata.to_string()).unwrap();
        fs::write(deps.join("bundle.js"), bundle).unwrap();
        fs::write(
            studio.join(".vite").join(LOCKFILE_RECORD),
            r#"{"suffix":"1765000000000.5"}"#,
        )
        .unwrap();
    }

    fn seed_bundle(seed: &Path) -> String {
        fs::read_to_string(seed.join("deps/bundle.js")).unwrap()
    }

    #[test]
    fn a_seed_is_published_then_grows_only_by_more_dependencies() {
        let dir = tempfile::tempdir().unwrap();
        let seed = dir.path().join("vite-deps/key");
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        cache(&a, "deps", &["react", "react-dom/client"], "a");
        assert_eq!(offer(&seed, &a, "deps").unwrap(), Offer::Published);
        assert_eq!(seed_bundle(&seed), "a");
        let origin: serde_json::Value =
            serde_json::from_slice(&fs::read(seed.join("origin.json")).unwrap()).unwrap();
        assert_eq!(origin["root"], json!(a));
        assert_eq!(origin["lockfileSuffix"], "1765000000000.5");

        // The same dependencies again, or other ones: the seed stays.
        assert_eq!(offer(&seed, &a, "deps").unwrap(), Offer::Kept);
        cache(&c, "deps", &["react", "lodash-es"], "c");
        assert_eq!(offer(&seed, &c, "deps").unwrap(), Offer::Kept);
        assert_eq!(seed_bundle(&seed), "a");

        // A session that discovered one more: the seed is its cache now, and nothing is left over.
        cache(
            &b,
            "deps",
            &["react", "react-dom/client", "react/jsx-runtime"],
            "b",
        );
        assert_eq!(offer(&seed, &b, "deps").unwrap(), Offer::Grew);
        assert_eq!(seed_bundle(&seed), "b");
        let left: Vec<_> = fs::read_dir(seed.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "a temporary copy was left behind");

        // A checkout now linked to other dependencies offers nothing for the old key.
        cache(
            &c,
            "other",
            &["react", "react-dom/client", "react/jsx-runtime", "x"],
            "c",
        );
        assert_eq!(offer(&seed, &c, "deps").unwrap(), Offer::Kept);
        assert_eq!(seed_bundle(&seed), "b");
    }

    #[test]
    fn a_grown_seed_never_follows_what_the_renderer_planted() {
        let dir = tempfile::tempdir().unwrap();
        let seed = dir.path().join("vite-deps/key");
        let a = dir.path().join("a");
        cache(&a, "deps", &["react"], "a");
        offer(&seed, &a, "deps").unwrap();

        let secret = dir.path().join("secret");
        fs::write(&secret, "server secret").unwrap();
        cache(&a, "deps", &["react", "x"], "a2");
        let deps = a.join(crate::STUDIO_DIR).join(".vite/deps");
        std::os::unix::fs::symlink(&secret, deps.join("x.js")).unwrap();
        assert_eq!(offer(&seed, &a, "deps").unwrap(), Offer::Grew);
        assert!(!seed.join("deps/x.js").exists(), "the symlink was followed");

        // A metadata file that is a symlink is refused outright.
        cache(&a, "deps", &["react", "x", "y"], "a3");
        fs::remove_file(deps.join("_metadata.json")).unwrap();
        std::os::unix::fs::symlink(&secret, deps.join("_metadata.json")).unwrap();
        assert!(offer(&seed, &a, "deps").is_err());
        assert_eq!(seed_bundle(&seed), "a2");
    }
}
