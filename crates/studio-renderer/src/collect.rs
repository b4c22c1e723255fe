//! What of the renderer's disk may be collected: store entries, Vite dependency seeds, npm's cache
//! and the Vite caches of checkouts nothing owns, each with when it was last used and whether a
//! checkout references it. Deciding what goes (the bounds, the LRU order) is the caller's.
//!
//! # What a checkout references
//!
//! Everything a prepared checkout uses is named inside its `.studio/`: `deps-key` (the dependency
//! store entry, see `link`), the `node_modules` symlink (the template store entry, see
//! `generate`) and `seed-key` (the Vite seed it was planted from or will publish, see `prepare`).
//! [`Renderer::prepare`](crate::Renderer::prepare) writes them while holding the preparation
//! lock that [`Renderer::pause_preparations`](crate::Renderer::pause_preparations) takes, so a caller that scans the checkouts with
//! preparations paused sees every entry a sandbox has claimed.
//!
//! # When an entry was last used
//!
//! The entry directory's mtime: set when it is created, and touched (`fs_util::touch`) whenever a
//! preparation reuses it (a store entry ensured, a seed planted, npm's cache handed to an install).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::RendererError;
use crate::fingerprint::Manifests;
use crate::fs_util::remove_tree;
use crate::store::INSTALL_FLAVOUR;

/// Records, inside a checkout's `.studio/`, the Vite seed directory it shares.
pub(crate) const SEED_KEY_FILE: &str = "seed-key";
/// Prefix of an entry being removed (renamed first, so nobody sees half of it).
const REMOVING: &str = ".tmp-gc-";

/// What a collectable entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CacheKind {
    /// `<data>/renderer/template/<key>`: the template's installed dependencies.
    TemplateStore,
    /// `<data>/renderer/deps/<key>`: a repository's installed dependencies.
    DepsStore,
    /// `<data>/renderer/vite-deps/<key>`: Vite's pre-bundled dependencies, shared per repository.
    ViteSeed,
    /// `<checkout>/.studio/.vite` of a checkout no sandbox owns.
    ViteCache,
    /// npm's download cache (its contents; the directory itself stays, owned by the jail's user).
    NpmCache,
}

impl CacheKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TemplateStore => "template-store",
            Self::DepsStore => "deps-store",
            Self::ViteSeed => "vite-seed",
            Self::ViteCache => "vite-cache",
            Self::NpmCache => "npm-cache",
        }
    }
}

/// One entry on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub kind: CacheKind,
    pub path: PathBuf,
    /// The directory's mtime (see the module documentation); the epoch for the remains of an
    /// interrupted removal, which go first.
    pub last_used: SystemTime,
    /// A checkout names it (or it is the current template's store): never removed.
    pub referenced: bool,
}

/// Where to look.
#[derive(Debug, Clone, Copy)]
pub struct CacheScan<'a> {
    pub data_dir: &'a Path,
    /// npm's cache, if it is `<data>/npm-cache`: an operator's `--npm-cache` may be shared with
    /// other servers, whose installs this process could not see, so it is never collected.
    pub npm_cache: Option<&'a Path>,
    /// Every checkout on disk that may be used: their references are kept.
    pub checkouts: &'a [PathBuf],
    /// Checkouts that no sandbox owns: their `.studio/.vite` is collectable.
    pub orphans: &'a [PathBuf],
    /// The template renderers are prepared from now: its store entry is kept even when no
    /// checkout links it yet (the next preparation, a pre-started renderer, would need it).
    pub template_dir: Option<&'a Path>,
}

/// Lists the collectable entries. Blocking (file system walks of directory listings only).
pub fn scan_caches(scan: &CacheScan<'_>) -> Result<Vec<CacheEntry>, RendererError> {
    let root = scan.data_dir.join("renderer");
    let mut kept = References::default();
    for checkout in scan.checkouts {
        kept.add_checkout(&root, checkout);
    }
    if let Some(template_dir) = scan.template_dir
        && let Some(manifests) = Manifests::read(template_dir, INSTALL_FLAVOUR)?
    {
        kept.paths.insert(root.join("template").join(manifests.key));
    }
    let mut entries = Vec::new();
    for (dir, kind) in [
        ("template", CacheKind::TemplateStore),
        ("deps", CacheKind::DepsStore),
        ("vite-deps", CacheKind::ViteSeed),
    ] {
        list_entries(&root.join(dir), kind, &kept, &mut entries)?;
    }
    for orphan in scan.orphans {
        let cache = orphan.join(crate::STUDIO_DIR).join(".vite");
        if let Some(last_used) = modified(&cache) {
            entries.push(CacheEntry {
                kind: CacheKind::ViteCache,
                path: cache,
                last_used,
                referenced: false,
            });
        }
    }
    if let Some(cache) = scan.npm_cache
        && let Some(last_used) = modified(cache)
        && fs::read_dir(cache).is_ok_and(|mut d| d.next().is_some())
    {
        entries.push(CacheEntry {
            kind: CacheKind::NpmCache,
            path: cache.to_owned(),
            last_used,
            referenced: false,
        });
    }
    Ok(entries)
}

/// Removes an entry: renamed out of sight first (a preparation then installs afresh rather than
/// using half an entry), then deleted. npm's cache keeps its directory and loses its contents.
pub fn remove_cache_entry(entry: &CacheEntry) -> Result<(), RendererError> {
    if entry.kind == CacheKind::NpmCache {
        for child in fs::read_dir(&entry.path).map_err(RendererError::io("list", &entry.path))? {
            let child = child.map_err(RendererError::io("list", &entry.path))?;
            let path = child.path();
            if child.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&path)?;
            } else {
                fs::remove_file(&path).map_err(RendererError::io("remove", &path))?;
            }
        }
        return Ok(());
    }
    let name = entry.path.file_name().unwrap_or_default().to_string_lossy();
    if name.starts_with(REMOVING) {
        return remove_tree(&entry.path);
    }
    let parent = entry.path.parent().unwrap_or(&entry.path);
    let hidden = parent.join(format!("{REMOVING}{name}-{:08x}", rand::random::<u32>()));
    match fs::rename(&entry.path, &hidden) {
        Ok(()) => remove_tree(&hidden),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RendererError::io("move aside", &entry.path)(e)),
    }
}

/// Entry directories named by checkouts.
#[derive(Debug, Default)]
struct References {
    paths: HashSet<PathBuf>,
}

impl References {
    fn add_checkout(&mut self, root: &Path, checkout: &Path) {
        let studio = checkout.join(crate::STUDIO_DIR);
        let read_key = |file: &str| {
            let key = fs::read_to_string(studio.join(file)).ok()?;
            let key = key.trim();
            // A key is one path component; anything else is not ours and names nothing.
            (!key.is_empty() && !key.contains('/') && key != "..").then(|| key.to_owned())
        };
        if let Some(key) = read_key("deps-key") {
            self.paths.insert(root.join("deps").join(key));
        }
        if let Some(key) = read_key(SEED_KEY_FILE) {
            self.paths.insert(root.join("vite-deps").join(key));
        }
        // `.studio/node_modules` → `<root>/template/<key>/node_modules`.
        if let Ok(target) = fs::read_link(studio.join("node_modules"))
            && let Some(entry) = target.parent()
            && let Some(key) = entry.file_name()
        {
            self.paths.insert(root.join("template").join(key));
        }
    }

    fn contains(&self, entry: &Path) -> bool {
        self.paths.contains(entry)
    }
}

fn list_entries(
    dir: &Path,
    kind: CacheKind,
    kept: &References,
    out: &mut Vec<CacheEntry>,
) -> Result<(), RendererError> {
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(RendererError::io("list", dir)(e)),
    };
    for entry in listing {
        let entry = entry.map_err(RendererError::io("list", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        let interrupted = name.starts_with(REMOVING);
        // Other temporaries (an install or a publication under way) belong to their writer.
        if name.starts_with('.') && !interrupted {
            continue;
        }
        let Some(last_used) = modified(&path) else {
            continue;
        };
        out.push(CacheEntry {
            kind,
            referenced: !interrupted && kept.contains(&path),
            last_used: if interrupted {
                SystemTime::UNIX_EPOCH
            } else {
                last_used
            },
            path,
        });
    }
    Ok(())
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.is_dir())
        .and_then(|m| m.modified().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkout_keeps_what_it_names_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let root = data.join("renderer");
        for entry in [
            "template/t1/node_modules",
            "template/t2/node_modules",
            "deps/d1/node_modules",
            "deps/d2/node_modules",
            "deps/.tmp-d3-0000/node_modules",
            "deps/.tmp-gc-d4-0000",
            "vite-deps/s1/deps",
            "vite-deps/s2/deps",
        ] {
            fs::create_dir_all(root.join(entry)).unwrap();
        }
        let checkout = data.join("sandboxes/sb_1/repo");
        let studio = checkout.join(".studio");
        fs::create_dir_all(&studio).unwrap();
        fs::write(studio.join("deps-key"), "d1").unwrap();
        fs::write(studio.join(SEED_KEY_FILE), "s1\n").unwrap();
        std::os::unix::fs::symlink(
            root.join("template/t1/node_modules"),
            studio.join("node_modules"),
        )
        .unwrap();
        let orphan = data.join("sandboxes/sb_2/repo");
        fs::create_dir_all(orphan.join(".studio/.vite/deps")).unwrap();
        let npm_cache = data.join("npm-cache");
        fs::create_dir_all(npm_cache.join("_cacache")).unwrap();

        let checkouts = [checkout];
        let orphans = [orphan.clone()];
        let mut entries = scan_caches(&CacheScan {
            data_dir: data,
            npm_cache: Some(&npm_cache),
            checkouts: &checkouts,
            orphans: &orphans,
            template_dir: None,
        })
        .unwrap();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        let shown: Vec<(String, bool)> = entries
            .iter()
            .map(|e| {
                let path = e.path.strip_prefix(data).unwrap().display().to_string();
                (path, e.referenced)
            })
            .collect();
        let expected = [
            ("npm-cache", false),
            ("renderer/deps/.tmp-gc-d4-0000", false),
            ("renderer/deps/d1", true),
            ("renderer/deps/d2", false),
            ("renderer/template/t1", true),
            ("renderer/template/t2", false),
            ("renderer/vite-deps/s1", true),
            ("renderer/vite-deps/s2", false),
            ("sandboxes/sb_2/repo/.studio/.vite", false),
        ];
        let expected: Vec<(String, bool)> =
            expected.iter().map(|(p, r)| (p.to_string(), *r)).collect();
        assert_eq!(shown, expected, "an install under way is never listed");
        let interrupted = entries.iter().find(|e| e.path.ends_with(".tmp-gc-d4-0000"));
        assert_eq!(interrupted.unwrap().last_used, SystemTime::UNIX_EPOCH);

        for entry in entries.iter().filter(|e| !e.referenced) {
            remove_cache_entry(entry).unwrap();
        }
        assert!(root.join("deps/d1/node_modules").is_dir());
        assert!(!root.join("deps/d2").exists());
        assert!(!root.join("template/t2").exists());
        assert!(!root.join("vite-deps/s2").exists());
        assert!(!orphan.join(".studio/.vite").exists());
        assert!(npm_cache.is_dir(), "npm's cache directory stays");
        assert_eq!(fs::read_dir(&npm_cache).unwrap().count(), 0);
        let left: Vec<_> = fs::read_dir(root.join("deps"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        let mut left = left;
        left.sort();
        assert_eq!(left, [".tmp-d3-0000", "d1"], "nothing half-removed stays");
    }

    #[test]
    fn touching_moves_the_last_use_forward() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("e");
        fs::create_dir(&entry).unwrap();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        fs::File::open(&entry)
            .unwrap()
            .set_times(fs::FileTimes::new().set_modified(old))
            .unwrap();
        assert_eq!(modified(&entry), Some(old));
        crate::fs_util::touch(&entry);
        assert!(modified(&entry).unwrap() > old);
    }
}
