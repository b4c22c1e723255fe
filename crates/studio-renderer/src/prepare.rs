//! The entry point: [`Renderer::prepare`] turns a checkout into a runnable renderer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use studio_core::SandboxId;
use url::Url;

use crate::deps_cache;
use crate::error::{RendererError, blocking};
use crate::fingerprint::Manifests;
use crate::generate::{AppInputs, REQUIRED_TEMPLATE_FILES, generate_app};
use crate::launch::{LaunchSpec, launch_spec};
use crate::link::link_into_checkout;
use crate::npm::Npm;
use crate::settings::{RendererOverrides, RendererSettings};
use crate::store::{INSTALL_FLAVOUR, StoreEntry, Stores};

/// Server-wide renderer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RendererConfig {
    /// Studio's data directory; stores live in `<data>/renderer/`.
    pub data_dir: PathBuf,
    /// The `studio-template/` directory (`COMPONENT_STUDIO_TEMPLATE_DIR`).
    pub template_dir: PathBuf,
    /// The npm cache shared by every install; `<data>/npm-cache` by default.
    pub npm_cache: Option<PathBuf>,
    /// Start Vite with the memory-saving environment (on by default).
    pub memory_tuning: bool,
    /// The jail renderers and installs run in; `None` only with `--insecure-no-jail` (and in
    /// this crate's own tests of what happens outside it).
    pub jail: Option<studio_jail::Jail>,
    /// npm installs at once in this process; more wait for a slot.
    pub max_installs: usize,
}

impl RendererConfig {
    pub fn new(data_dir: impl Into<PathBuf>, template_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            template_dir: template_dir.into(),
            npm_cache: None,
            memory_tuning: true,
            jail: None,
            max_installs: studio_core::defaults::MAX_INSTALLS,
        }
    }
}

/// One sandbox's renderer, as the sandbox manager knows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SandboxSpec {
    /// The session checkout (the repository root).
    pub checkout: PathBuf,
    /// The repository's source (as the session records it). Vite caches that this sandbox's
    /// renderer writes are shared only with sandboxes of the same repository.
    pub repository: String,
    pub sandbox_id: SandboxId,
    /// Studio's WebSocket for this sandbox (`ws://…/api/v1/sandboxes/<id>/ws`), if any.
    pub socket_url: Option<Url>,
    /// The host name the renderer is reached at through Studio's front door
    /// (`sb-<hex>.<preview domain>`): the one host Vite accepts besides `localhost` and IPs.
    pub preview_host: String,
    /// What the create request said about components, setup and wrapper.
    pub overrides: RendererOverrides,
}

impl std::fmt::Debug for SandboxSpec {
    /// Leaves out the socket URL's query: it may carry an API token (`?token=`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let socket = self.socket_url.as_ref().map(|url| {
            let mut shown = url.clone();
            shown.set_query(url.query().map(|_| "<redacted>"));
            shown.to_string()
        });
        f.debug_struct("SandboxSpec")
            .field("checkout", &self.checkout)
            .field("repository", &self.repository)
            .field("sandbox_id", &self.sandbox_id)
            .field("socket_url", &socket)
            .field("preview_host", &self.preview_host)
            .field("overrides", &self.overrides)
            .finish()
    }
}

/// A prepared checkout: run `launch` under the supervisor.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub launch: LaunchSpec,
    pub settings: RendererSettings,
    pub report: PrepareReport,
}

/// What a preparation did, for logs, tests and the benchmark.
#[derive(Debug, Clone)]
pub struct PrepareReport {
    pub template: StoreEntry,
    pub deps: StoreEntry,
    /// The checkout's `node_modules` was (re)linked to `deps`.
    pub deps_relinked: bool,
    /// `.studio/settings.json` changed (first preparation, or another preview host).
    pub settings_changed: bool,
    /// Vite's pre-bundled dependencies of an earlier sandbox were planted for this one.
    pub vite_cache_seeded: bool,
    pub duration: Duration,
}

impl PrepareReport {
    /// Whether a renderer already running on this checkout must restart to see this preparation
    /// (Vite neither watches dependencies nor re-reads its settings).
    pub fn needs_restart(&self) -> bool {
        self.deps_relinked || self.settings_changed
    }
}

/// Prepares checkouts for their renderers. One per server; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Renderer {
    template_dir: PathBuf,
    node: PathBuf,
    stores: Stores,
    memory_tuning: bool,
    /// Marks checkouts' `.studio/` as prepared by this data directory (see `claim`).
    owner_secret: String,
    jail: Option<studio_jail::Jail>,
    /// npm's only way out of its jail; kept alive as long as the renderer.
    _registry: Option<crate::registry_proxy::RegistryProxy>,
    /// The checkouts whose Vite caches may publish or grow a seed (see `seed_growth`).
    seeds: std::sync::Arc<crate::seed_growth::SeedWatchers>,
    /// Held (shared) by every preparation, from the first store lookup until the checkout names
    /// what it uses; held alone while a collection scans and removes (see `collect`), by this
    /// process or another one on the same data dir (`pause`).
    preparing: crate::pause::PreparationLock,
}

impl Renderer {
    /// Checks the template and finds `node` and `npm`.
    pub fn new(config: RendererConfig) -> Result<Self, RendererError> {
        let template_dir = config
            .template_dir
            .canonicalize()
            .map_err(RendererError::io(
                "open the renderer template",
                &config.template_dir,
            ))?;
        for missing in REQUIRED_TEMPLATE_FILES {
            if !template_dir.join(missing).is_file() {
                return Err(RendererError::Template {
                    dir: template_dir,
                    missing,
                });
            }
        }
        let node =
            crate::fs_util::find_on_path("node").ok_or(RendererError::ToolNotFound("node"))?;
        let root = config.data_dir.join("renderer");
        let npm_cache = config
            .npm_cache
            .unwrap_or_else(|| config.data_dir.join("npm-cache"));
        let owner_secret = crate::claim::load_secret(&root)?;
        let (npm_jail, registry) = match &config.jail {
            Some(jail) => {
                let (npm_jail, registry) =
                    crate::jail::npm_jail(jail, &config.data_dir, &npm_cache, &node)?;
                (Some(npm_jail), Some(registry))
            }
            None => (None, None),
        };
        Ok(Self {
            template_dir,
            node,
            owner_secret,
            stores: Stores::new(
                root,
                npm_cache,
                Npm::from_path(npm_jail)?,
                config.max_installs,
            ),
            memory_tuning: config.memory_tuning,
            jail: config.jail,
            _registry: registry,
            seeds: Default::default(),
            preparing: crate::pause::PreparationLock::new(&config.data_dir.join("renderer")),
        })
    }

    /// Waits for preparations under way to finish and holds off new ones until the guard is
    /// dropped: while it is held, every store entry, seed and npm cache in use is named by a
    /// checkout, so a collection that scans the checkouts removes nothing a sandbox needs.
    /// Preparations of other processes on the same data dir (`studio gc` beside a server) are
    /// paused too.
    pub async fn pause_preparations(
        &self,
    ) -> Result<crate::pause::PreparationsPaused<'_>, RendererError> {
        self.preparing.pause().await
    }

    /// The jail renderers run in (`None` with `--insecure-no-jail`).
    pub(crate) fn jail(&self) -> Option<&studio_jail::Jail> {
        self.jail.as_ref()
    }

    pub(crate) fn node(&self) -> &Path {
        &self.node
    }

    pub(crate) fn memory_tuning(&self) -> bool {
        self.memory_tuning
    }

    /// Studio's data directory (the parent of the stores' `<data>/renderer`).
    pub(crate) fn data_dir(&self) -> &Path {
        self.stores.root().parent().unwrap_or(self.stores.root())
    }

    /// The template directory renderers are generated from (canonical).
    pub fn template_dir(&self) -> &Path {
        &self.template_dir
    }

    /// Makes `spec.checkout` ready to run its renderer and returns how to run it.
    ///
    /// Idempotent: call it again after a write that [`write_effect`](crate::write_effect) flags;
    /// it installs only for new manifests and rewrites only changed files. Restart a running
    /// renderer when [`PrepareReport::needs_restart`] says so. Calls for the same checkout must
    /// not overlap (the sandbox manager serialises the work of one sandbox); calls for different
    /// checkouts may, and share installs.
    pub async fn prepare(&self, spec: &SandboxSpec) -> Result<Prepared, RendererError> {
        let started = Instant::now();
        let _preparing = self.preparing.preparing().await?;
        let (checkout, template_manifests, deps_manifests, settings) = {
            let (checkout, template_dir, overrides) = (
                spec.checkout.clone(),
                self.template_dir.clone(),
                spec.overrides.clone(),
            );
            blocking(move || {
                let checkout = checkout
                    .canonicalize()
                    .map_err(RendererError::io("open the checkout", &checkout))?;
                let template = Manifests::read(&template_dir, INSTALL_FLAVOUR)?.ok_or(
                    RendererError::Template {
                        dir: template_dir,
                        missing: "package.json",
                    },
                )?;
                let deps = Manifests::read(&checkout, INSTALL_FLAVOUR)?
                    .ok_or_else(|| RendererError::NoPackageJson(checkout.clone()))?;
                let settings = RendererSettings::resolve(&checkout, &overrides)?;
                Ok((checkout, template, deps, settings))
            })
            .await?
        };

        let (template, deps) = tokio::try_join!(
            self.stores.ensure("template", &template_manifests),
            self.stores.ensure("deps", &deps_manifests),
        )?;

        let (deps_relinked, settings_changed, vite_cache_seeded, seed) = {
            let (checkout, template_dir, settings) = (
                checkout.clone(),
                self.template_dir.clone(),
                settings.clone(),
            );
            let (template, deps, spec) = (template.clone(), deps.clone(), spec.clone());
            let renderer_root = self.stores.root().to_owned();
            let owner_secret = self.owner_secret.clone();
            let jail = self.jail.clone();
            blocking(move || {
                // Before anything below reads them: a tracked `.studio/` or `node_modules/` is
                // the repository's, not Studio's work.
                crate::claim::claim(&checkout, &owner_secret)?;
                let studio_dir = checkout.join(crate::STUDIO_DIR);
                let relinked =
                    link_into_checkout(&deps.node_modules, &deps.key, &checkout, &studio_dir)?;
                require_react(&checkout)?;
                let settings_changed = generate_app(&AppInputs {
                    checkout: &checkout,
                    template_dir: &template_dir,
                    template_node_modules: &template.node_modules,
                    settings: &settings,
                    sandbox_id: &spec.sandbox_id,
                    socket_url: spec.socket_url.as_ref(),
                    preview_host: &spec.preview_host,
                })?;
                let seed = deps_cache::seed_dir(
                    &renderer_root,
                    &template_dir,
                    &deps.key,
                    &checkout,
                    &spec.repository,
                )?;
                let seeded = deps_cache::plant(&seed, &studio_dir)?;
                // Names the seed this checkout shares, so that collection keeps it.
                let seed_key = seed.file_name().unwrap_or_default().as_encoded_bytes();
                crate::fs_util::write_if_changed(
                    &studio_dir.join(crate::collect::SEED_KEY_FILE),
                    seed_key,
                )?;
                if let Some(jail) = &jail {
                    // Vite's cache is the one place in the checkout the renderer writes.
                    let cache = studio_dir.join(".vite");
                    std::fs::create_dir_all(&cache).map_err(RendererError::io("create", &cache))?;
                    jail.hand_over(&cache)?;
                }
                Ok((relinked, settings_changed, seeded, seed))
            })
            .await?
        };
        // Publishes this checkout's cache as the seed, and grows the seed by what it discovers.
        self.seeds.watch(seed, checkout.clone(), deps.key.clone());

        let checkout_str = checkout
            .to_str()
            .ok_or_else(|| RendererError::NonUtf8Path(checkout.clone()))?;
        let mut launch = launch_spec(&self.node, checkout_str, self.memory_tuning);
        if let Some(jail) = &self.jail {
            let spec = crate::jail::renderer_spec(&checkout, &template.node_modules, &self.node);
            launch = launch.jailed(jail, &spec);
        }
        let report = PrepareReport {
            template,
            deps,
            deps_relinked,
            settings_changed,
            vite_cache_seeded,
            duration: started.elapsed(),
        };
        tracing::info!(
            sandbox = %spec.sandbox_id,
            template_installed = report.template.outcome.installed(),
            deps_installed = report.deps.outcome.installed(),
            deps_relinked,
            ms = report.duration.as_millis() as u64,
            "renderer prepared"
        );
        Ok(Prepared {
            launch,
            settings,
            report,
        })
    }
}

/// The page is rendered by the repository's React: without it the renderer could only fail.
fn require_react(checkout: &Path) -> Result<(), RendererError> {
    for package in ["react", "react-dom"] {
        if !checkout
            .join("node_modules")
            .join(package)
            .join("package.json")
            .is_file()
        {
            return Err(RendererError::MissingPackage { package });
        }
    }
    Ok(())
}
