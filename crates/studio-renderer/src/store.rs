//! Content-addressed, read-only `node_modules` stores under `<data>/renderer/`.
//!
//! An entry `<kind>/<key>/` holds the manifests it was installed from and its `node_modules/`.
//! It is built in `<kind>/.tmp-<key>-<random>/` and renamed into place in one step: a store
//! entry that exists is complete. Two processes installing the same key both succeed; the
//! second rename fails because the target exists, and that process uses the winner's entry.

use std::collections::HashMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{RendererError, blocking};
use crate::fingerprint::Manifests;
use crate::fs_util::remove_tree;
use crate::npm::Npm;

/// What ensuring a store entry took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    /// The entry existed: no npm process ran.
    Reused,
    /// This call ran npm to create the entry.
    Installed { duration: Duration },
}

impl StoreOutcome {
    pub fn installed(self) -> bool {
        matches!(self, Self::Installed { .. })
    }
}

/// One ready store entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreEntry {
    pub key: String,
    /// Its `node_modules/` (read-only files; link them, never write into them).
    pub node_modules: PathBuf,
    pub outcome: StoreOutcome,
}

/// The stores of one data directory, with one npm cache shared by every install.
#[derive(Debug)]
pub(crate) struct Stores {
    root: PathBuf,
    npm_cache: PathBuf,
    npm: Npm,
    /// One async lock per entry path, so concurrent sandboxes of one process share an install.
    installing: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    /// Server-wide cap on npm processes (`--max-installs`).
    install_slots: tokio::sync::Semaphore,
    max_installs: usize,
}

/// How installs run; part of every store key.
pub(crate) const INSTALL_FLAVOUR: &str = "npm --ignore-scripts";

impl Stores {
    pub fn new(root: PathBuf, npm_cache: PathBuf, npm: Npm, max_installs: usize) -> Self {
        let max_installs = max_installs.max(1);
        for kind in ["template", "deps"] {
            remove_stale_temporaries(&root.join(kind), ".tmp-");
        }
        Self {
            root,
            npm_cache,
            npm,
            installing: Mutex::new(HashMap::new()),
            install_slots: tokio::sync::Semaphore::new(max_installs),
            max_installs,
        }
    }

    /// `<data>/renderer`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns the entry for `manifests` under `<root>/<kind>/`, installing it if needed.
    pub async fn ensure(
        &self,
        kind: &str,
        manifests: &Manifests,
    ) -> Result<StoreEntry, RendererError> {
        let entry_dir = self.root.join(kind).join(&manifests.key);
        let ready = |outcome| StoreEntry {
            key: manifests.key.clone(),
            node_modules: entry_dir.join("node_modules"),
            outcome,
        };
        if entry_dir.is_dir() {
            crate::fs_util::touch(&entry_dir);
            return Ok(ready(StoreOutcome::Reused));
        }
        let lock = {
            let mut installing = self
                .installing
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(installing.entry(entry_dir.clone()).or_default())
        };
        let _guard = lock.lock().await;
        if entry_dir.is_dir() {
            crate::fs_util::touch(&entry_dir);
            return Ok(ready(StoreOutcome::Reused)); // installed while we waited for the lock
        }
        let started = Instant::now();
        let _slot = match self.install_slots.try_acquire() {
            Ok(slot) => slot,
            Err(_) => {
                tracing::info!(
                    kind,
                    key = %manifests.key,
                    "install waits for one of the {} install slots (--max-installs)",
                    self.max_installs
                );
                self.install_slots
                    .acquire()
                    .await
                    .map_err(|_| RendererError::Task("the install slots were closed".into()))?
            }
        };
        self.install(&entry_dir, manifests).await?;
        Ok(ready(StoreOutcome::Installed {
            duration: started.elapsed(),
        }))
    }

    async fn install(&self, entry_dir: &Path, manifests: &Manifests) -> Result<(), RendererError> {
        let parent = entry_dir.parent().unwrap_or(&self.root).to_owned();
        let tmp = parent.join(format!(
            ".tmp-{}-{:08x}",
            manifests.key,
            rand::random::<u32>()
        ));
        let files = manifests.files.clone();
        let (tmp_for_setup, cache) = (tmp.clone(), self.npm_cache.clone());
        blocking(move || {
            fs::create_dir_all(&cache).map_err(RendererError::io("create", &cache))?;
            crate::fs_util::touch(&cache);
            fs::create_dir_all(&tmp_for_setup)
                .map_err(RendererError::io("create", &tmp_for_setup))?;
            for (name, content) in &files {
                let path = tmp_for_setup.join(name);
                fs::write(&path, content).map_err(RendererError::io("write", &path))?;
            }
            Ok(())
        })
        .await?;

        let result = self.run_npm(&tmp, manifests.has_lockfile()).await;
        let entry_dir = entry_dir.to_owned();
        blocking(move || {
            if let Err(e) = result {
                remove_tree(&tmp)?;
                return Err(e);
            }
            let node_modules = tmp.join("node_modules");
            // A project without dependencies gets no node_modules from npm; keep the layout uniform.
            fs::create_dir_all(&node_modules)
                .map_err(RendererError::io("create", &node_modules))?;
            make_read_only(&node_modules)?;
            match fs::rename(&tmp, &entry_dir) {
                Ok(()) => Ok(()),
                // Another process finished the same entry first: use it, drop ours.
                Err(e)
                    if entry_dir.is_dir()
                        && matches!(
                            e.kind(),
                            ErrorKind::DirectoryNotEmpty | ErrorKind::AlreadyExists
                        ) =>
                {
                    remove_tree(&tmp)
                }
                Err(e) => {
                    let _ = remove_tree(&tmp);
                    Err(RendererError::io("move into place", &entry_dir)(e))
                }
            }
        })
        .await
    }

    /// `npm ci` when there is a lockfile, falling back to `npm install` when the lockfile does not
    /// match `package.json` (a design tool edited one without the other); `npm install` otherwise.
    async fn run_npm(&self, dir: &Path, has_lockfile: bool) -> Result<(), RendererError> {
        let cache = self.npm_cache.to_string_lossy().into_owned();
        let common = [
            "--ignore-scripts",
            "--prefer-offline",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--cache",
            &cache,
        ];
        if has_lockfile {
            let ci: Vec<&str> = ["ci"].into_iter().chain(common).collect();
            match self.npm.run(dir, &ci).await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    tracing::warn!(%error, "npm ci failed; resolving with npm install instead")
                }
            }
        }
        let install: Vec<&str> = ["install"].into_iter().chain(common).collect();
        self.npm.run(dir, &install).await
    }
}

/// Installs interrupted by a crash leave their temporary directory behind. One that has not
/// changed for this long is not being written by anyone any more.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Best effort: removes entries of `dir` named `<prefix>…` that nobody has touched for an hour.
pub(crate) fn remove_stale_temporaries(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(prefix)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().unwrap_or_default() > STALE_AFTER);
        if stale {
            tracing::info!(path = %entry.path().display(), "removing an interrupted install");
            let _ = remove_tree(&entry.path());
        }
    }
}

/// Clears the write bits of every file below `dir`. The files are hard-linked into checkouts, so
/// a tool writing into one in place would otherwise change it for every sandbox.
fn make_read_only(dir: &Path) -> Result<(), RendererError> {
    use std::os::unix::fs::PermissionsExt;
    let entries = fs::read_dir(dir).map_err(RendererError::io("list", dir))?;
    for entry in entries {
        let entry = entry.map_err(RendererError::io("list", dir))?;
        let path = entry.path();
        let file_type = entry
            .file_type()
            .map_err(RendererError::io("inspect", &path))?;
        if file_type.is_dir() {
            make_read_only(&path)?;
        } else if file_type.is_file() {
            let mode = entry
                .metadata()
                .map_err(RendererError::io("inspect", &path))?
                .permissions()
                .mode();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode & !0o222))
                .map_err(RendererError::io("make read-only", &path))?;
        }
    }
    Ok(())
}
