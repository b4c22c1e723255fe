//! Shared fixtures of the renderer tests and benchmark: checkouts of the sample repository, warm
//! stores, and a running Vite on its Unix socket (reached by Chromium through a TCP forwarder).
//! Chromium, the forwarder and the sample's files are `studio_testkit`'s.
#![allow(dead_code)]
// each test binary uses a different subset
// Fixtures: a panic is how a test reports a broken environment.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use studio_core::SandboxId;
use studio_renderer::{
    HEALTH_PATH, LaunchSpec, Prepared, Renderer, RendererConfig, RendererOverrides, SandboxSpec,
};
use studio_supervisor::{
    CgroupMode, Probe, RestartPolicy, Supervisor, SupervisorConfig, Unit, UnitSpec,
};
use studio_testkit::forward::UnixForwarder;
use studio_testkit::paths::{self, RENDERER};
use studio_testkit::{procs, sample};
use url::Url;

/// The configuration of a renderer over `data_dir` that shares the test npm cache.
pub fn renderer_config(data_dir: &Path) -> RendererConfig {
    let mut config = RendererConfig::new(data_dir, paths::workspace_root().join("studio-template"));
    config.npm_cache = Some(paths::npm_cache(RENDERER));
    config
}

/// A renderer over `data_dir` that shares the test npm cache.
pub fn renderer_in(data_dir: &Path) -> Renderer {
    Renderer::new(renderer_config(data_dir)).unwrap()
}

/// The directory of the stores every test shares (warm after the first install).
pub fn shared_data_dir() -> std::path::PathBuf {
    paths::run_dir(RENDERER).join("data")
}

/// The renderer over the stores every test shares.
pub fn shared_renderer() -> Renderer {
    renderer_in(&shared_data_dir())
}

/// A temporary directory under the run dir (same file system as the stores: hard links work).
pub fn scratch_dir(prefix: &str) -> tempfile::TempDir {
    paths::scratch_dir(RENDERER, prefix)
}

/// A session checkout: a copy of `examples/design-system` without its build artefacts.
pub fn sample_checkout(prefix: &str) -> tempfile::TempDir {
    sample::checkout(RENDERER, prefix)
}

pub fn sandbox_id() -> SandboxId {
    SandboxId::from_random(rand::random())
}

pub fn spec(checkout: &Path, socket_url: Option<Url>) -> SandboxSpec {
    let sandbox_id = sandbox_id();
    SandboxSpec {
        checkout: checkout.to_owned(),
        // Every checkout of these tests is the sample repository: one repository, so its
        // sandboxes share Vite's pre-bundled dependencies (seeds are per repository).
        repository: "file:///studio-tests/design-system".to_owned(),
        preview_host: format!("{}.localhost", sandbox_id.preview_label()),
        sandbox_id,
        socket_url,
        overrides: RendererOverrides::default(),
    }
}

pub async fn prepare(renderer: &Renderer, spec: &SandboxSpec) -> Prepared {
    match renderer.prepare(spec).await {
        Ok(prepared) => prepared,
        Err(e) => panic!("prepare failed: {e}"),
    }
}

/// A renderer running under `studio-supervisor`, as Studio runs it: one unit per sandbox, with
/// the launch spec's program, arguments and environment, serving on a Unix socket the supervisor
/// binds, probed at the health path over that socket. Chromium cannot open a Unix socket, so the
/// page is reached through a TCP forwarder on 127.0.0.1 (`url`).
pub struct Vite {
    supervisor: Supervisor,
    unit: Unit,
    /// The page, through the forwarder: `http://127.0.0.1:<port>/`.
    pub url: Url,
    /// The renderer's own socket.
    pub socket: std::path::PathBuf,
    forwarder: Option<UnixForwarder>,
    _socket_dir: tempfile::TempDir,
    stopped: bool,
}

impl Vite {
    /// Starts the unit; returns once the health endpoint answers over the socket.
    pub async fn start(launch: &LaunchSpec) -> Self {
        // In the system temp dir: a socket path has at most 107 bytes.
        let socket_dir = tempfile::Builder::new()
            .prefix("renderer-")
            .tempdir()
            .unwrap();
        let socket = socket_dir.path().join("r.sock");
        // Process groups contain a renderer (Vite never calls setsid); no cgroup setup needed.
        let supervisor = Supervisor::new(SupervisorConfig {
            cgroups: CgroupMode::Disabled,
            ..Default::default()
        });
        let unit = supervisor
            .add(UnitSpec {
                name: format!("renderer-{:08x}", rand::random::<u32>()),
                program: launch.program.to_string_lossy().into_owned(),
                args: launch.args.clone(),
                cwd: launch.cwd.clone(),
                env: launch.env.clone(),
                listen_socket: Some(socket.clone()),
                readiness: Some(Probe::http_unix(&socket, HEALTH_PATH)),
                readiness_interval: Duration::from_millis(10),
                stop_grace: Duration::from_secs(2),
                restart: RestartPolicy::never(),
                ..Default::default()
            })
            .await
            .unwrap();
        if let Err(e) = unit.start().await {
            panic!("renderer did not start: {e}\n{}", output_of(&unit));
        }
        let forwarder = UnixForwarder::start(&socket).await;
        Self {
            supervisor,
            unit,
            url: Url::parse(&forwarder.url()).unwrap(),
            socket,
            forwarder: Some(forwarder),
            _socket_dir: socket_dir,
            stopped: false,
        }
    }

    /// The process group leader (the group holds every process of the renderer).
    pub fn pid(&self) -> u32 {
        self.unit.status().pid.unwrap()
    }

    /// Restarts the renderer (as Studio does after a dependency change); returns once ready.
    pub async fn restart(&self) {
        if let Err(e) = self.unit.restart().await {
            panic!("renderer did not restart: {e}\n{}", self.output());
        }
    }

    pub fn output(&self) -> String {
        output_of(&self.unit)
    }

    /// Stops the renderer: nothing of it is alive and its socket is gone afterwards.
    pub async fn stop(mut self) {
        if let Some(forwarder) = self.forwarder.take() {
            forwarder.stop();
        }
        self.unit.stop().await.unwrap();
        self.supervisor.shutdown().await;
        assert!(
            !self.socket.exists(),
            "the renderer's socket file outlived its stop"
        );
        self.stopped = true;
    }
}

impl Drop for Vite {
    /// A test that fails never reaches `stop()`, and units outlive their supervisor (on purpose:
    /// Studio re-adopts them after a restart). Kill the renderer's process group so that a
    /// failing test leaves no Vite behind holding an inotify instance.
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        if let Some(leader) = self.unit.status().pid {
            procs::signal_group(leader, procs::Signal::KILL);
        }
    }
}

fn output_of(unit: &Unit) -> String {
    unit.logs(200)
        .into_iter()
        .map(|line| line.text)
        .collect::<Vec<_>>()
        .join("\n")
}
