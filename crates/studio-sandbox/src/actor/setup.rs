//! Bringing a sandbox up: on create (setup) and at server start (recover), including the move of
//! sandboxes from before renderers served on Unix sockets.

use std::sync::Arc;
use std::time::Instant;

use studio_core::{SandboxConfig, SandboxId, SandboxStatus};
use studio_store::{NewSandbox, SandboxFilter, SandboxRecord};

use super::Actor;
use crate::announce::Announcer;
use crate::error::ManagerError;
use crate::policy::InactivityClock;
use crate::renderer_unit::RendererUnit;
use crate::request::ValidCreate;
use crate::shared::Shared;

/// Creates a sandbox: checkout and branch, record, renderer preparation and start (on its Unix
/// socket), ready.
///
/// On any failure everything made so far is undone (no process, socket or checkout is left), the
/// record ends `failed` with an `error` event, and the error says which step failed.
pub(crate) async fn setup(
    shared: &Arc<Shared>,
    id: SandboxId,
    req: ValidCreate,
    slot: crate::slots::Slot,
) -> Result<Actor, ManagerError> {
    let started = Instant::now();
    let announce = Announcer::new(
        id.clone(),
        shared.store.clone(),
        shared.hub.clone(),
        shared.metrics.clone(),
    );
    let session = match shared
        .git
        .open_session(&req.repository, req.branch.as_deref(), &id)
        .await
    {
        Ok(session) => session,
        Err(e) => {
            let error = crate::git_error(e).during("checkout");
            record_failed_setup(shared, &announce, &id, &req, &error).await;
            return Err(error);
        }
    };
    let new = NewSandbox {
        id: id.clone(),
        kind: req.kind.clone(),
        config: req.config.clone(),
        repository: req.repository.clone(),
        base_branch: session.info().base_branch.clone(),
        branch: id.branch(),
        work_dir: session.info().checkout.clone(),
        status: SandboxStatus::Starting,
        created_at: time::OffsetDateTime::now_utc(),
    };
    if let Err(e) = shared.store.insert_sandbox(&new).await {
        if let Err(undo) = shared
            .git
            .remove_session(&id, &session.info().checkout)
            .await
        {
            tracing::warn!(sandbox = %id, "could not remove checkout: {undo}");
        }
        return Err(e.into());
    }
    if let Err(e) = announce.status(SandboxStatus::Starting).await {
        return Err(fail_setup(shared, &announce, &id, &session, e).await);
    }

    let spec = renderer_spec(shared, &id, session.info(), &req.config);
    let unit = match start_renderer(shared, &id, &spec, &req.config).await {
        Ok(unit) => unit,
        Err(e) => return Err(fail_setup(shared, &announce, &id, &session, e).await),
    };
    let mut actor = Actor {
        id: id.clone(),
        shared: shared.clone(),
        clock: InactivityClock::start(req.config.timeout),
        config: req.config,
        repository: req.repository,
        base_branch: session.info().base_branch.clone(),
        session,
        unit,
        status: SandboxStatus::Starting,
        crash_restarts: 0,
        unit_restarts_seen: 0,
        oom_told: None,
        announce,
        pages: Default::default(),
        _slot: slot,
    };
    // The idle period starts now, in the store too: the deadline after a server restart is
    // derived from the stored time, and must be the one this clock keeps.
    let ready = async {
        actor.touch().await?;
        actor.save_runtime().await?;
        actor.set_status(SandboxStatus::Running).await
    }
    .await;
    if let Err(e) = ready {
        actor.unit.remove().await;
        return Err(fail_setup(shared, &actor.announce, &id, &actor.session, e).await);
    }
    shared.metrics.setup_took(started.elapsed().as_secs_f64());
    tracing::info!(sandbox = %id, elapsed_ms = started.elapsed().as_millis() as u64, "sandbox running");
    Ok(actor)
}

/// Prepares `.studio/` and starts the renderer under the supervisor, waiting until it serves.
async fn start_renderer(
    shared: &Arc<Shared>,
    id: &SandboxId,
    spec: &studio_renderer::SandboxSpec,
    config: &SandboxConfig,
) -> Result<RendererUnit, ManagerError> {
    let prepared = shared
        .renderer
        .prepare(spec)
        .await
        .map_err(|e| ManagerError::from(e).during("renderer preparation"))?;
    if let Some(member) = shared.pool.claim().await {
        match RendererUnit::from_pool(shared, id, prepared.launch.clone(), config, member).await {
            Ok(unit) => return Ok(unit),
            Err(e) => {
                shared.metrics.pool().missed();
                tracing::warn!(sandbox = %id, "starting the renderer cold instead: {}", e.message);
            }
        }
    }
    let unit = RendererUnit::add(shared, id, prepared.launch, config).await?;
    if let Err(e) = unit.start().await {
        let output = unit.last_output(30);
        unit.remove().await;
        return Err(e.during("renderer start").with_output(&output));
    }
    Ok(unit)
}

/// What the renderer crate needs to know about a sandbox.
pub(crate) fn renderer_spec(
    shared: &Shared,
    id: &SandboxId,
    session: &studio_git::SessionInfo,
    config: &SandboxConfig,
) -> studio_renderer::SandboxSpec {
    studio_renderer::SandboxSpec {
        checkout: session.checkout.clone(),
        repository: session.repository.clone(),
        sandbox_id: id.clone(),
        socket_url: url::Url::parse(&shared.config.urls.renderer_socket(id)).ok(),
        preview_host: shared.config.urls.preview_host(id),
        overrides: studio_renderer::RendererOverrides::from_config(config),
    }
}

async fn fail_setup(
    shared: &Shared,
    announce: &Announcer,
    id: &SandboxId,
    session: &studio_git::Session,
    error: ManagerError,
) -> ManagerError {
    tracing::warn!(sandbox = %id, "setup failed: {}", error.message);
    if let Err(e) = shared
        .git
        .remove_session(id, &session.info().checkout)
        .await
    {
        tracing::warn!(sandbox = %id, "could not remove checkout: {e}");
    }
    remove_sandbox_dir(shared, id).await;
    // The request fails with `error` either way; a store that cannot take `failed` (whose
    // failure may be `error` itself) has it logged, and nothing is announced.
    if let Err(e) = announce.status(SandboxStatus::Failed).await {
        tracing::error!(sandbox = %id, "could not record the failed setup: {}", e.message);
        return error;
    }
    announce.error(&error.message).await;
    error
}

/// Removes `<data>/sandboxes/<id>/`, the directory the git layer puts the checkout in, once the
/// checkout itself is gone. Only an empty directory is removed: anything still inside stays.
pub(crate) async fn remove_sandbox_dir(shared: &Shared, id: &SandboxId) {
    let dir = shared
        .config
        .data_dir
        .join("sandboxes")
        .join(id.to_string());
    match tokio::fs::remove_dir(&dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(sandbox = %id, "could not remove {}: {e}", dir.display()),
    }
}

/// The repository could not even be checked out: keep a `failed` record so the attempt is visible.
async fn record_failed_setup(
    shared: &Shared,
    announce: &Announcer,
    id: &SandboxId,
    req: &ValidCreate,
    error: &ManagerError,
) {
    let new = NewSandbox {
        id: id.clone(),
        kind: req.kind.clone(),
        config: req.config.clone(),
        repository: req.repository.clone(),
        base_branch: req.branch.clone().unwrap_or_default(),
        branch: id.branch(),
        work_dir: shared
            .config
            .data_dir
            .join("sandboxes")
            .join(id.to_string()),
        status: SandboxStatus::Failed,
        created_at: time::OffsetDateTime::now_utc(),
    };
    if let Err(e) = shared.store.insert_sandbox(&new).await {
        tracing::warn!(sandbox = %id, "could not record failed sandbox: {e}");
        return;
    }
    announce.error(&error.message).await;
}

/// Brings back every sandbox the store says is alive: re-adopts renderers that survived a crash of
/// the server (same PIDs, still serving on their sockets), restarts those a clean shutdown stopped
/// (same socket paths), and re-creates actors for stopped or failed sandboxes whose checkout still
/// exists. Renderers of an older Studio that still listen on a TCP port are restarted onto their
/// sockets.
///
/// Fails, before touching any sandbox, when the socket directory cannot be made or its paths
/// would not fit a socket address.
pub(crate) async fn recover(shared: &Arc<Shared>) -> Result<usize, ManagerError> {
    prepare_socket_dir(&shared.config)?;
    let records = shared
        .store
        .list_sandboxes(&SandboxFilter::default())
        .await?;
    let mut recovered = 0;
    for record in records.into_iter().filter(|r| !r.status.is_terminal()) {
        let id = record.id.clone();
        let adoption = record.runtime.adoption.clone();
        match recover_one(shared, record).await {
            Ok(Some(actor)) => {
                actor.spawn();
                recovered += 1;
            }
            Ok(None) => {}
            Err(e) => fail_recovery(shared, &id, adoption.as_ref(), e).await,
        }
    }
    Ok(recovered)
}

/// A sandbox that could not be recovered is `failed`, says why in an `error` event, and keeps
/// no process: the renderer the supervisor may already hold for it (adopted or started before the
/// failure) is removed, since no actor will own it.
async fn fail_recovery(
    shared: &Arc<Shared>,
    id: &SandboxId,
    adoption: Option<&serde_json::Value>,
    error: ManagerError,
) {
    tracing::warn!(sandbox = %id, "could not recover sandbox: {}", error.message);
    crate::renderer_unit::remove_unowned(shared, id, adoption).await;
    let announce = Announcer::new(
        id.clone(),
        shared.store.clone(),
        shared.hub.clone(),
        shared.metrics.clone(),
    );
    // No request waits on this: a store that refuses it too is logged, and the next start
    // tries the recovery again.
    match announce.status(SandboxStatus::Failed).await {
        Ok(_) => {
            announce
                .error(&format!(
                    "the sandbox could not be recovered: {}",
                    error.message
                ))
                .await
        }
        Err(e) => tracing::warn!(sandbox = %id, "could not mark the sandbox failed: {}", e.message),
    }
}

async fn recover_one(
    shared: &Arc<Shared>,
    record: SandboxRecord,
) -> Result<Option<Actor>, ManagerError> {
    let id = record.id.clone();
    let announce = Announcer::new(
        id.clone(),
        shared.store.clone(),
        shared.hub.clone(),
        shared.metrics.clone(),
    );
    if !record.work_dir.exists() {
        if record.status != SandboxStatus::Failed {
            announce.status(SandboxStatus::Failed).await?;
            announce
                .error("the sandbox's checkout is gone; it cannot be recovered")
                .await;
        }
        return Ok(None);
    }
    let session = shared
        .git
        .reopen_session(&record.repository, &id, &record.work_dir)
        .await
        .map_err(crate::git_error)?;
    // Before anything else reads the store's commits: a crash between a git commit and its
    // record left the store behind the branch.
    super::reconcile::reconcile_commits(shared, &announce, &id, &session).await?;
    let spec = renderer_spec(shared, &id, session.info(), &record.config);
    let prepared = shared.renderer.prepare(&spec).await?;
    let wanted_running = record.status.has_renderer();
    // A renderer of a Studio from before Unix sockets listens on a TCP port: it is adopted (so
    // that exactly its processes are stopped) and restarted onto its socket. Its port is
    // forgotten when the runtime record is saved below, so this happens once.
    let old_port = record.runtime.renderer_port;
    if let Some(port) = old_port {
        tracing::info!(
            sandbox = %id,
            port,
            socket = %shared.config.renderer_socket(&id).display(),
            "this sandbox's renderer served on a TCP port; it moves to its Unix socket"
        );
    }
    let (unit, status) = match (&record.runtime.adoption, wanted_running) {
        (Some(adoption), true) => match RendererUnit::adopt(
            shared,
            &id,
            prepared.launch.clone(),
            &record.config,
            adoption,
        )
        .await
        {
            Ok(unit) if old_port.is_some() => match unit.restart().await {
                Ok(()) => (unit, SandboxStatus::Running),
                Err(e) => {
                    tracing::warn!(sandbox = %id, "renderer did not start on its socket: {}", e.message);
                    (unit, SandboxStatus::Failed)
                }
            },
            Ok(unit) => {
                tracing::info!(sandbox = %id, "re-adopted running renderer");
                (unit, SandboxStatus::Running)
            }
            Err(e) => {
                tracing::info!(sandbox = %id, "renderer not re-adoptable ({}); starting it again", e.message);
                start_fresh(shared, &id, prepared.launch, &record.config).await
            }
        },
        (None, true) => start_fresh(shared, &id, prepared.launch, &record.config).await,
        (_, false) => (
            RendererUnit::add(shared, &id, prepared.launch, &record.config).await?,
            record.status,
        ),
    };
    let mut actor = Actor {
        id,
        shared: shared.clone(),
        // Derived from the stored last activity: a server restart neither extends nor shortens
        // the idle period (the time the server was down counts as idle).
        clock: InactivityClock::resume(
            record.config.timeout,
            record.last_activity_at,
            time::OffsetDateTime::now_utc(),
        ),
        config: record.config,
        repository: record.repository,
        base_branch: record.base_branch,
        session,
        unit,
        status: record.status,
        crash_restarts: record.runtime.restarts,
        unit_restarts_seen: 0,
        oom_told: None,
        announce,
        pages: Default::default(),
        _slot: shared.slots.claim_anyway(),
    };
    actor.save_runtime().await?;
    if status != actor.status {
        actor.set_status(status).await?;
    }
    Ok(Some(actor))
}

async fn start_fresh(
    shared: &Arc<Shared>,
    id: &SandboxId,
    launch: studio_renderer::LaunchSpec,
    config: &SandboxConfig,
) -> (RendererUnit, SandboxStatus) {
    match RendererUnit::add(shared, id, launch, config).await {
        Ok(unit) => match unit.start().await {
            Ok(()) => (unit, SandboxStatus::Running),
            Err(e) => {
                tracing::warn!(sandbox = %id, "renderer did not start again: {}", e.message);
                (unit, SandboxStatus::Failed)
            }
        },
        Err(e) => {
            tracing::warn!(sandbox = %id, "renderer could not be registered: {}", e.message);
            (RendererUnit::detached(), SandboxStatus::Failed)
        }
    }
}

/// Makes `<data-dir>/run/` (mode 0700: only Studio's user may connect to a renderer) after
/// checking that every renderer socket path fits a socket address.
fn prepare_socket_dir(config: &crate::config::ManagerConfig) -> Result<(), ManagerError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    config.check_socket_paths().map_err(|message| {
        ManagerError::new(crate::ErrorKind::Invalid, "socket_path_too_long", message)
    })?;
    let dir = config.data_dir.join("run");
    let failed = |e: std::io::Error| {
        ManagerError::internal(format!(
            "cannot prepare the socket directory {}: {e}",
            dir.display()
        ))
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(failed)?;
    // An existing directory keeps its mode under `create`: tighten it.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(failed)
}
