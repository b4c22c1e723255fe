//! Prepares a session checkout for its renderer: the Vite app that shows every component of the
//! repository and hot-updates on each edit.
//!
//! Studio keeps one [`Renderer`] per server. For each sandbox, [`Renderer::prepare`] does four
//! things and returns a [`LaunchSpec`] that the caller runs under `studio-supervisor`:
//!
//! 1. **Template store.** The template's own dependencies (only Vite) are installed once per
//!    template lockfile into `<data>/renderer/template/<hash>/node_modules` and symlinked into
//!    each `.studio/`. No sandbox ever runs an install for them.
//! 2. **Repository store.** The repository's dependencies are installed once per content hash of
//!    `package.json` + lockfile (+ `.npmrc`) into `<data>/renderer/deps/<hash>/node_modules`
//!    (`npm ci --ignore-scripts --prefer-offline` with one shared npm cache; `npm install` when
//!    there is no usable lockfile) and **hard-linked** into the checkout's `node_modules/`.
//! 3. **`.studio/`.** The template is copied into `<checkout>/.studio/` with a `settings.json`
//!    (absolute root, the sandbox's preview host, cache dir) and a `src/generated.js` holding
//!    what cannot be data: the `import.meta.glob` of the component globs, the setup modules and
//!    the wrapper.
//! 4. **Launch spec.** `node .studio/server.mjs`: Vite in middleware mode on the Unix listening
//!    socket the supervisor passes as fd 3 (no TCP port), with an environment built from scratch
//!    (never Studio's own, which holds tokens).
//!
//! # Invariants
//!
//! * A store entry is complete or absent: installs run in a temporary directory that is renamed
//!   into place, so concurrent sandboxes (even in other processes) never see half a store. Inside
//!   one process, a per-entry lock makes concurrent sandboxes share a single install.
//! * Store entries are never modified after the rename: their files are made read-only, and a
//!   dependency change installs into a *new* entry that is swapped into the checkout
//!   (`renameat2(RENAME_EXCHANGE)`), then the renderer restarts.
//! * Studio writes only `.studio/` and `node_modules/` inside a checkout (both git-excluded).
//!   A repository that tracks either gets them removed on the first preparation (`.studio/owner`
//!   holds a secret of the data directory), so nothing it brought is linked, run or published.
//! * The repository's manifests (`package.json`, lockfiles, `studio.json`, `.npmrc`) are read
//!   without following symlinks and capped (1 MiB; lockfiles 32 MiB): anything else is
//!   [`RendererError::UnsafeManifest`]. Its `.npmrc` keeps only a few resolution keys (never a
//!   registry, credentials, a git or shell program).
//! * [`Renderer::prepare`] is idempotent and cheap when nothing changed: it rewrites only files
//!   whose content differs, so re-running it under a live renderer triggers no reload.
//!
//! # Why hard links, not a symlink, for the repository's `node_modules`
//!
//! Both are fast enough (a symlink is O(1); hard-linking is O(files): `cp -al` of the sample's 258
//! files takes about 10 ms, see the benchmark), and both leave the store untouched by reads.
//! A symlinked `node_modules` makes Node and Vite see every package under the store's real path,
//! outside the checkout, which needs extra `server.fs.allow` entries; and git ignore patterns
//! written as `node_modules/` match only directories, so a symlink would show up as an untracked
//! file that an auto-commit could pick up. Hard links give a real directory that every tool treats
//! as a normal install. The benchmark prints both costs.
//!
//! # Cold starts
//!
//! Vite's first start in a checkout bundles the dependencies (React & co.) into `.studio/.vite`,
//! the largest part of a cold start. Once one sandbox has done it, the bundles are shared with
//! later sandboxes of the same dependencies and template (see `deps_cache`): Vite normally
//! rejects a copied cache because its stamps cover the absolute root and a `patches/` mtime, so
//! the template re-stamps it, after checking its replicas of Vite's hashes against the seed's own
//! stamps. A seed grows when a sandbox discovers dependencies it lacks (`seed_growth`).
//!
//! What a write means for the renderer is decided by [`write_effect`]: dependency manifests need
//! `prepare` + restart, `studio.json` needs `prepare` only, everything else reaches the page by
//! Vite's hot update on its own.

mod claim;
pub mod collect;
mod deps_cache;
mod error;
mod fingerprint;
mod fs_util;
mod generate;
mod jail;
mod launch;
mod link;
mod npm;
mod pause;
mod pool;
mod prepare;
pub mod registry_proxy;
mod seed_growth;
mod settings;
mod store;
mod write_effect;

pub use error::RendererError;
pub use fs_util::node_program;
pub use launch::{HEALTH_PATH, LaunchSpec};
pub use pause::PreparationsPaused;
pub use pool::{
    POOL_CONTROL_VAR, PoolSlot, pool_dir, pool_slot_claimed_by, pool_slot_dirs, remove_pool_slot,
};
pub use prepare::{PrepareReport, Prepared, Renderer, RendererConfig, SandboxSpec};
pub use settings::{RendererOverrides, RendererSettings, WrapperRef};
pub use store::{StoreEntry, StoreOutcome};
pub use write_effect::{WriteEffect, write_effect};

/// Name of the generated renderer app inside a checkout.
pub const STUDIO_DIR: &str = ".studio";
/// The repository's own renderer settings file, at its root.
pub const STUDIO_JSON: &str = "studio.json";
