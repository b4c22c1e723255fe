//! [`Manager`]: the facade the API layer talks to.
//!
//! Reads (status, list, logs, event replay) are served from the store and the supervisor directly;
//! everything that changes a sandbox is sent to that sandbox's actor, which does it in order.

use std::sync::Arc;
use std::time::Duration;

use studio_core::{SandboxId, SandboxStatus};
use studio_forge::Forge;
use studio_git::GitWorkspace;
use studio_hub::{Hub, HubConfig, Subscription};
use studio_renderer::Renderer;
use studio_store::{SandboxFilter, SandboxRecord, Store};
use studio_supervisor::Supervisor;
use tokio::sync::broadcast;

use crate::actor;
use crate::config::ManagerConfig;
use crate::error::{ErrorKind, ManagerError};
use crate::handle::{Command, Reply, SandboxHandle};
use crate::metrics::Metrics;
use crate::renderer_unit::{self, LogEntry};
use crate::request::{CreateSandbox, Execute, RollbackTo};
use crate::service_config;
use crate::shared::{Registry, Shared};
use crate::snapshot::{RendererResources, SandboxSnapshot};

/// Cloneable handle to the sandbox manager.
#[derive(Debug, Clone)]
pub struct Manager {
    // Read by `preview` (the front door's lookups), an `impl Manager` of its own.
    pub(crate) shared: Arc<Shared>,
    /// Collection at start and hourly (`collect`), ended by [`Manager::shutdown`].
    collector: Arc<crate::collect::background::Background>,
}

impl Manager {
    /// Builds every service, then recovers the sandboxes the store says were alive.
    pub async fn open(config: ManagerConfig, store: Arc<dyn Store>) -> Result<Self, ManagerError> {
        let git = GitWorkspace::new(service_config::git_config(&config));
        let supervisor = Supervisor::new(service_config::supervisor_config(&config));
        let isolation = crate::isolation::Isolation::decide(
            &config.jail,
            &config.data_dir,
            &studio_renderer::node_program()?,
            &supervisor,
        );
        let renderer = Renderer::new(service_config::renderer_config(
            &config,
            isolation.jail().cloned(),
        ))?;
        let forge = Forge::new(&config.github_api_url, config.github_token.clone())?;
        let preview_key = crate::access::PreviewKey::load_or_create(&config.data_dir)?;
        let config_max = config.max_sandboxes;
        let pool_target = pool_target(&config, &renderer, &supervisor, &isolation);
        let (pool, pool_inbox) = crate::pool::Pool::new(pool_target);
        let shared = Arc::new(Shared {
            config,
            store,
            git,
            renderer,
            supervisor,
            hub: Hub::new(HubConfig::default()),
            forge,
            metrics: Metrics::new(),
            registry: Registry::default(),
            preview_key,
            slots: crate::slots::Slots::new(config_max),
            isolation,
            pool,
        });
        let recovered = actor::recover(&shared).await?;
        if recovered > 0 {
            tracing::info!(recovered, "recovered sandboxes");
        }
        // After recovery: what it adopted is registered, everything else of ours is left over.
        crate::leftovers::remove_leftover_renderers(&shared).await;
        // After the sweep stopped the previous server's idle pool renderers: their slots go.
        let slots = crate::pool::remove_unclaimed_slots(&shared).await;
        if slots > 0 {
            tracing::info!(slots, "removed the pool slots of a previous server");
        }
        pool_inbox.spawn(Arc::downgrade(&shared));
        spawn_event_pruning(Arc::downgrade(&shared));
        let collector = crate::collect::background::Background::start(
            Arc::downgrade(&shared),
            shared.config.collect_every,
        );
        Ok(Self {
            shared,
            collector: Arc::new(collector),
        })
    }

    /// Creates a sandbox and returns once its renderer serves the page.
    pub async fn create(&self, request: CreateSandbox) -> Result<SandboxSnapshot, ManagerError> {
        let defaults = self.shared.config.sandbox_defaults();
        let valid = request.validate(&defaults)?;
        self.shared.isolation.require()?;
        let own = self
            .shared
            .forge
            .repo_from_remote_url(&valid.repository)
            .ok();
        crate::request::check_github_repo(
            valid.config.github_repo.as_deref(),
            own.map(|r| r.to_string()).as_deref(),
            &self.shared.config.allow_github_repos,
        )?;
        // Before anything is recorded: a refused source leaves no sandbox behind.
        self.shared
            .git
            .check_source(&valid.repository)
            .await
            .map_err(crate::git_error)?;
        // The server's default never exceeds the cap (`studio serve` refuses to start otherwise),
        // so a timeout above it was asked for.
        let max_timeout = self.shared.config.max_timeout;
        if valid.config.timeout > max_timeout {
            return Err(ManagerError::invalid(
                "invalid_timeout",
                format!(
                    "timeout_hours may be at most {} on this server (--max-timeout-hours), got {}",
                    max_timeout.as_secs_f64() / 3600.0,
                    valid.config.timeout.as_secs_f64() / 3600.0
                ),
            ));
        }
        // Claimed before any work, held by the actor: concurrent creates cannot overshoot.
        let slot = self.shared.slots.claim().ok_or_else(|| {
            ManagerError::new(
                ErrorKind::TooMany,
                "too_many_sandboxes",
                format!(
                    "this server runs at most {} sandboxes (--max-sandboxes); delete one or retry later",
                    self.shared.slots.max()
                ),
            )
        })?;
        let id = SandboxId::from_random(rand::random());
        // In a task of its own, awaited here: a client that disconnects drops this future, never
        // the setup half-way (which would leave a `starting` record, a checkout and perhaps a
        // running renderer with no actor to own them). The sandbox is created either way.
        let (shared, setup_id) = (self.shared.clone(), id.clone());
        tokio::spawn(async move {
            let actor = actor::setup(&shared, setup_id, valid, slot).await?;
            actor.spawn();
            Ok::<(), ManagerError>(())
        })
        .await
        .map_err(|e| ManagerError::internal(format!("the create task ended abnormally: {e}")))??;
        self.snapshot(&id).await
    }

    pub async fn get(&self, id: &str) -> Result<SandboxSnapshot, ManagerError> {
        self.snapshot(&parse_id(id)?).await
    }

    /// Every sandbox, oldest first.
    pub async fn list(&self) -> Result<Vec<SandboxSnapshot>, ManagerError> {
        let records = self
            .shared
            .store
            .list_sandboxes(&SandboxFilter::default())
            .await?;
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            let commits = self.shared.store.commits(&record.id).await?;
            let resources = self.resources(&record);
            out.push(SandboxSnapshot::from_record(
                record,
                commits,
                &self.shared.config.urls,
                resources,
            ));
        }
        Ok(out)
    }

    /// Writes or deletes a file; returns the commit hash when one was made.
    pub async fn execute(
        &self,
        id: &str,
        request: Execute,
    ) -> Result<Option<String>, ManagerError> {
        self.actor(id, "execute")
            .await?
            .ask(|r| Command::Execute(request, r))
            .await
    }

    /// Lists a directory of the sandbox's checkout (`None`: the repository root), under the path
    /// guard of writes. Read from the working tree directly, never waiting for the actor: writes
    /// are atomic renames, so no half-written file is ever seen.
    pub async fn list_files(
        &self,
        id: &str,
        path: Option<&str>,
    ) -> Result<Vec<studio_git::DirEntry>, ManagerError> {
        let checkout = self.checkout(id).await?;
        let listed = self.shared.git.list_files(&checkout, path).await;
        self.checkout_read(id, &checkout, listed).await
    }

    /// Reads a file of the sandbox's checkout as text, with its git blob id (see
    /// [`Manager::list_files`]).
    pub async fn read_file(
        &self,
        id: &str,
        path: &str,
    ) -> Result<studio_git::FileText, ManagerError> {
        let checkout = self.checkout(id).await?;
        let read = self.shared.git.read_file(&checkout, path).await;
        self.checkout_read(id, &checkout, read).await
    }

    /// The checkout of a sandbox that has one (not expired, finalized, or failed before it had
    /// one).
    async fn checkout(&self, id: &str) -> Result<std::path::PathBuf, ManagerError> {
        let sandbox = parse_id(id)?;
        let record = self
            .shared
            .store
            .get_sandbox(&sandbox)
            .await?
            .ok_or_else(|| ManagerError::not_found(id))?;
        if record.status.is_terminal() || !record.work_dir.is_dir() {
            return Err(no_checkout(&record));
        }
        Ok(record.work_dir)
    }

    /// A read's outcome; a checkout removed while it was read (a delete or expiry at that
    /// moment) is the sandbox's state, not Studio's fault.
    async fn checkout_read<T>(
        &self,
        id: &str,
        checkout: &std::path::Path,
        read: Result<T, studio_git::GitError>,
    ) -> Result<T, ManagerError> {
        match read {
            Ok(value) => Ok(value),
            Err(e) if !checkout.is_dir() => {
                tracing::debug!(sandbox = id, "a read lost its checkout: {e}");
                let record = self.shared.store.get_sandbox(&parse_id(id)?).await?;
                Err(record.map_or_else(|| ManagerError::not_found(id), |r| no_checkout(&r)))
            }
            Err(e) => Err(crate::read_error(e)),
        }
    }

    /// Returns the new head.
    pub async fn rollback(&self, id: &str, target: RollbackTo) -> Result<String, ManagerError> {
        self.actor(id, "roll back")
            .await?
            .ask(|r| Command::Rollback(target, r))
            .await
    }

    /// Returns the pull request's URL and number.
    pub async fn finalize(
        &self,
        id: &str,
        title: String,
        description: String,
    ) -> Result<(String, u64), ManagerError> {
        self.actor(id, "finalize")
            .await?
            .ask(|reply| Command::Finalize {
                title,
                description,
                reply,
            })
            .await
    }

    pub async fn restart(&self, id: &str) -> Result<SandboxSnapshot, ManagerError> {
        self.control(id, "restart", Command::Restart).await
    }

    pub async fn stop(&self, id: &str) -> Result<SandboxSnapshot, ManagerError> {
        self.control(id, "stop", Command::Stop).await
    }

    pub async fn start(&self, id: &str) -> Result<SandboxSnapshot, ManagerError> {
        self.control(id, "start", Command::Start).await
    }

    /// Tears the sandbox down and forgets it.
    pub async fn delete(&self, id: &str) -> Result<(), ManagerError> {
        let sandbox = parse_id(id)?;
        match self.shared.registry.get(&sandbox) {
            Some(handle) => handle.ask(Command::Delete).await,
            None => self.delete_unowned(&sandbox).await,
        }
    }

    /// Deletes a sandbox no actor owns: a failed setup or recovery, or a finished one. Whatever
    /// may be left of it goes with the record: a renderer the supervisor still holds, the
    /// checkout (its commits stay in the mirror), the socket file.
    async fn delete_unowned(&self, sandbox: &SandboxId) -> Result<(), ManagerError> {
        let record = self
            .shared
            .store
            .get_sandbox(sandbox)
            .await?
            .ok_or_else(|| ManagerError::not_found(sandbox))?;
        // Only a create in progress has a `starting` record and no actor yet (recovery at start
        // settles every other one): its setup owns the checkout until it is done.
        if record.status == SandboxStatus::Starting {
            return Err(ManagerError::conflict(
                "sandbox_not_active",
                format!("{sandbox} is still being created; delete it once it is running or failed"),
            ));
        }
        renderer_unit::remove_unowned(&self.shared, sandbox, record.runtime.adoption.as_ref())
            .await;
        if record.work_dir.exists() {
            self.shared
                .git
                .remove_session(sandbox, &record.work_dir)
                .await
                .map_err(crate::git_error)?;
        }
        let socket = self.shared.config.renderer_socket(sandbox);
        if let Err(e) = std::fs::remove_file(&socket)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(socket = %socket.display(), "could not remove a renderer socket: {e}");
        }
        match self.shared.store.delete_sandbox(sandbox).await? {
            true => {
                self.shared.hub.close_topic(sandbox);
                Ok(())
            }
            false => Err(ManagerError::not_found(sandbox)),
        }
    }

    /// The renderer's last `limit` output lines.
    pub async fn logs(&self, id: &str, limit: usize) -> Result<Vec<LogEntry>, ManagerError> {
        let sandbox = self.existing(id).await?;
        Ok(renderer_unit::logs(&self.shared, &sandbox, limit))
    }

    /// The last `limit` lines and a live feed of new ones.
    pub async fn follow_logs(
        &self,
        id: &str,
        limit: usize,
    ) -> Result<(Vec<LogEntry>, broadcast::Receiver<LogEntry>), ManagerError> {
        let sandbox = self.existing(id).await?;
        renderer_unit::follow_logs(&self.shared, &sandbox, limit).ok_or_else(|| {
            ManagerError::conflict("no_renderer", format!("sandbox {id} has no renderer"))
        })
    }

    /// Subscribes to a sandbox's events, replaying those after `since` from the store first.
    pub async fn subscribe(
        &self,
        id: &str,
        since: Option<u64>,
    ) -> Result<Subscription, ManagerError> {
        let sandbox = parse_id(id)?;
        let source = crate::replay::StoreSource(self.shared.store.clone());
        // Subscribe first, then check existence (see studio-hub: a deletion after this point
        // closes the subscription).
        let subscription = match since {
            Some(since) => self
                .shared
                .hub
                .subscribe_since(&sandbox, since, &source)
                .await
                .map_err(|e| ManagerError::internal(format!("event replay: {e}")))?,
            None => self.shared.hub.subscribe(&sandbox),
        };
        self.existing(id).await?;
        Ok(subscription)
    }

    /// A message from a WebSocket client: `component-selected` is persisted and relayed to every
    /// client of the sandbox (the sender included). Any message counts as activity.
    pub async fn client_message(&self, id: &SandboxId, text: &str) -> Result<(), ManagerError> {
        if let Some(handle) = self.shared.registry.get(id) {
            handle.tell(Command::Activity);
        }
        let message: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            ManagerError::bad_request("invalid_message", format!("message is not JSON: {e}"))
        })?;
        let kind = message
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or_default();
        match kind {
            "component-selected" => {
                let component = message
                    .pointer("/payload/component")
                    .and_then(|c| c.as_str())
                    .filter(|c| !c.is_empty() && c.len() <= 200)
                    .ok_or_else(|| {
                        ManagerError::invalid(
                            "invalid_message",
                            "component-selected needs payload.component (a name)",
                        )
                    })?;
                actor::select_component(&self.shared, id, component).await
            }
            // Clients may send keep-alives of their own; they are activity and nothing else.
            "ping" | "activity" => Ok(()),
            other => Err(ManagerError::invalid(
                "unknown_message_type",
                format!(
                    "unknown message type {other:?}; clients may send component-selected (and pages component-state)"
                ),
            )),
        }
    }

    /// Removes what the bounds let go and nothing an existing sandbox needs (`collect`); the
    /// server also does this at start and every `collect_every`.
    pub async fn collect(
        &self,
        options: crate::collect::CollectOptions,
    ) -> Result<crate::collect::CollectReport, ManagerError> {
        crate::collect::collect(&crate::collect::Parts::of(&self.shared), options).await
    }

    /// The renderer limits this host cannot enforce (`memory`, `pids`, `cpu`: no cgroup
    /// controller for them), for `/readyz` and the start-up log.
    pub fn unenforced_limits(&self) -> Vec<&'static str> {
        self.shared.supervisor.unenforced_limits()
    }

    /// Ready: the database answers.
    pub async fn ready(&self) -> Result<(), ManagerError> {
        self.shared.isolation.require()?;
        self.shared
            .store
            .list_sandboxes(&SandboxFilter::default())
            .await
            .map(|_| ())
            .map_err(|e| {
                ManagerError::new(
                    ErrorKind::Unavailable,
                    "database_unavailable",
                    format!("database: {e}"),
                )
            })
    }

    /// Prometheus text.
    pub async fn metrics_text(&self) -> String {
        let by_status = match self
            .shared
            .store
            .list_sandboxes(&SandboxFilter::default())
            .await
        {
            Ok(records) => SandboxStatus::ALL
                .into_iter()
                .map(|s| (s, records.iter().filter(|r| r.status == s).count()))
                .collect(),
            Err(_) => Vec::new(),
        };
        self.shared
            .metrics
            .render(&by_status, self.shared.hub.total_clients())
    }

    /// Clean server shutdown: every renderer is stopped (statuses are kept, so the next start
    /// brings the sandboxes back on the same ports), WebSocket clients are told, the database closed.
    pub async fn shutdown(&self) {
        self.collector.stop().await;
        // Before the sandboxes: no new pre-started renderer begins while they stop.
        self.shared.pool.shutdown().await;
        let handles = self.shared.registry.all();
        let stops =
            handles.iter().map(|h| {
                let h = h.clone();
                async move {
                    tokio::time::timeout(Duration::from_secs(30), h.ask(Command::Shutdown)).await
                }
            });
        futures::future::join_all(stops).await;
        self.shared.hub.close_all();
        self.shared.supervisor.shutdown().await;
        self.shared.store.close().await;
    }

    async fn snapshot(&self, id: &SandboxId) -> Result<SandboxSnapshot, ManagerError> {
        let record = self
            .shared
            .store
            .get_sandbox(id)
            .await?
            .ok_or_else(|| ManagerError::not_found(id))?;
        let commits = self.shared.store.commits(id).await?;
        let resources = self.resources(&record);
        Ok(SandboxSnapshot::from_record(
            record,
            commits,
            &self.shared.config.urls,
            resources,
        ))
    }

    /// The renderer's use, only while the sandbox's status says a renderer runs (a unit that
    /// lingers between a status change and its stop is not reported).
    fn resources(&self, record: &SandboxRecord) -> Option<RendererResources> {
        record
            .status
            .has_renderer()
            .then(|| renderer_unit::resources(&self.shared, &record.id))
            .flatten()
    }

    async fn existing(&self, id: &str) -> Result<SandboxId, ManagerError> {
        let sandbox = parse_id(id)?;
        match self.shared.store.get_sandbox(&sandbox).await? {
            Some(_) => Ok(sandbox),
            None => Err(ManagerError::not_found(id)),
        }
    }

    /// The actor of a sandbox that can take `action`, or why not.
    pub(crate) async fn actor(
        &self,
        id: &str,
        action: &str,
    ) -> Result<SandboxHandle, ManagerError> {
        let sandbox = parse_id(id)?;
        if let Some(handle) = self.shared.registry.get(&sandbox) {
            return Ok(handle);
        }
        match self.shared.store.get_sandbox(&sandbox).await? {
            None => Err(ManagerError::not_found(id)),
            Some(record) => Err(ManagerError::wrong_status(action, record.status)),
        }
    }

    async fn control(
        &self,
        id: &str,
        action: &str,
        make: fn(Reply<()>) -> Command,
    ) -> Result<SandboxSnapshot, ManagerError> {
        self.actor(id, action).await?.ask(make).await?;
        self.get(id).await
    }
}

fn no_checkout(record: &SandboxRecord) -> ManagerError {
    ManagerError::conflict(
        "sandbox_not_active",
        format!(
            "sandbox {} is {}: it has no checkout to read",
            record.id, record.status
        ),
    )
}

fn parse_id(id: &str) -> Result<SandboxId, ManagerError> {
    id.parse().map_err(|_| ManagerError::not_found(id))
}

/// How often, at most rarely, events older than the retention setting are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Pruning runs at least twice per retention period, so the event table holds at most about 1.5
/// periods of events (a short retention, as in the soak benchmark, is pruned as often as it needs).
fn prune_interval(retention: Duration) -> Duration {
    (retention / 2).clamp(Duration::from_secs(1), PRUNE_EVERY)
}

/// Deletes events older than `event_retention`, once at start and then every
/// [`prune_interval`], for as long as the manager lives (the task holds only a weak reference, so
/// it never keeps a stopped server alive).
fn spawn_event_pruning(shared: std::sync::Weak<Shared>) {
    let Some(retention) = shared.upgrade().map(|s| s.config.event_retention) else {
        return;
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(prune_interval(retention));
        loop {
            tick.tick().await;
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let cutoff = time::OffsetDateTime::now_utc() - shared.config.event_retention;
            match shared.store.prune_events(cutoff).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned events past their retention"),
                Err(e) => tracing::warn!("could not prune old events: {e}"),
            }
        }
    });
}

/// How many pre-started renderers this server keeps: `--renderer-pool`, or 0 (with a warning
/// saying why) where a pooled renderer could not keep the guarantees of a cold one.
fn pool_target(
    config: &ManagerConfig,
    renderer: &Renderer,
    supervisor: &Supervisor,
    isolation: &crate::isolation::Isolation,
) -> usize {
    let wanted = config.renderer_pool;
    if wanted == 0 {
        return 0;
    }
    let refusal = if isolation.require().is_err() {
        Some("renderers may not start on this server")
    } else if !supervisor.uses_cgroups() {
        Some("pre-started renderers are stopped by their cgroup, and there are no cgroups here")
    } else {
        renderer.pool_unsupported()
    };
    match refusal {
        Some(reason) => {
            tracing::warn!(
                wanted,
                "the renderer pool is off: {reason}; every renderer starts cold"
            );
            0
        }
        None => {
            tracing::info!(size = wanted, "renderer pool on");
            wanted
        }
    }
}
