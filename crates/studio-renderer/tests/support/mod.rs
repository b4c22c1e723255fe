//! Shared fixtures of the renderer tests and benchmark: checkouts of the sample repository, warm
//! stores, a running Vite, and Chromium driven through `tests/browser/driver.mjs`.
#![allow(dead_code)]
// each test binary uses a different subset
// Fixtures: a panic is how a test reports a broken environment.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use studio_core::SandboxId;
use studio_renderer::{
    LaunchSpec, Prepared, Renderer, RendererConfig, RendererOverrides, SandboxSpec,
};
use studio_supervisor::{
    CgroupMode, Probe, RestartPolicy, Supervisor, SupervisorConfig, Unit, UnitSpec,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use url::Url;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Scratch space shared by every test process (git-ignored): warm stores and the npm cache live
/// here so that only the first test of a fresh machine pays for installs.
pub fn run_dir() -> PathBuf {
    let dir = std::env::var_os("STUDIO_TEST_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("tests/.run"))
        .join("renderer");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn shared_npm_cache() -> PathBuf {
    run_dir().join("npm-cache")
}

/// A renderer over `data_dir` that shares the test npm cache.
pub fn renderer_in(data_dir: &Path) -> Renderer {
    let mut config = RendererConfig::new(data_dir, workspace_root().join("studio-template"));
    config.npm_cache = Some(shared_npm_cache());
    Renderer::new(config).unwrap()
}

/// The renderer over the stores every test shares (warm after the first install).
pub fn shared_renderer() -> Renderer {
    renderer_in(&run_dir().join("data"))
}

/// A temporary directory under the run dir (same file system as the stores: hard links work).
pub fn scratch_dir(prefix: &str) -> tempfile::TempDir {
    let parent = run_dir().join("scratch");
    std::fs::create_dir_all(&parent).unwrap();
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .unwrap()
}

/// A session checkout: a copy of `examples/design-system` without its build artefacts.
pub fn sample_checkout(prefix: &str) -> tempfile::TempDir {
    let dir = scratch_dir(prefix);
    copy_dir(&workspace_root().join("examples/design-system"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "node_modules" || name == ".studio" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

pub fn sandbox_id() -> SandboxId {
    SandboxId::from_random(rand::random())
}

/// A port outside the ephemeral range that is free right now.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let port = 20_000 + rand::random::<u16>() % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port found");
}

pub fn spec(checkout: &Path, socket_url: Option<Url>) -> SandboxSpec {
    SandboxSpec {
        checkout: checkout.to_owned(),
        sandbox_id: sandbox_id(),
        socket_url,
        port: free_port(),
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
/// the launch spec's program, arguments, environment and port, and its readiness URL as probe.
pub struct Vite {
    supervisor: Supervisor,
    unit: Unit,
    pub url: Url,
    stopped: bool,
}

impl Vite {
    /// Starts the unit; returns once the readiness URL answers.
    pub async fn start(launch: &LaunchSpec) -> Self {
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
                port: Some(launch.port),
                readiness: Some(Probe::http(launch.readiness_url.as_str())),
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
        Self {
            supervisor,
            unit,
            url: launch.page_url.clone(),
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

    /// Stops the renderer: nothing of it is alive and its port is free afterwards.
    pub async fn stop(mut self) {
        self.unit.stop().await.unwrap();
        self.supervisor.shutdown().await;
        self.stopped = true;
    }
}

impl Drop for Vite {
    /// A test that fails never reaches `stop()`, and units outlive their supervisor (on purpose:
    /// Studio re-adopts them after a restart). Kill the renderer's process group so that a
    /// failing test leaves no Vite behind holding a port and an inotify instance.
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let leader = self
            .unit
            .status()
            .pid
            .and_then(|pid| rustix::process::Pid::from_raw(pid as i32));
        if let Some(leader) = leader {
            let _ = rustix::process::kill_process_group(leader, rustix::process::Signal::KILL);
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

/// Chromium, driven through `tests/browser/driver.mjs` over JSON lines.
pub struct Browser {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl Browser {
    pub async fn launch() -> Self {
        let driver = workspace_root().join("tests/browser/driver.mjs");
        assert!(
            workspace_root()
                .join("tests/browser/node_modules/playwright-core")
                .is_dir(),
            "run tests/setup/npm-browser.sh first (installs playwright-core)"
        );
        let mut child = Command::new("node")
            .arg(driver)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("Chromium did not start within 60 s")
            .unwrap()
            .expect("driver exited before Chromium started");
        let ready: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(ready["ready"], true, "{first}");
        Self {
            child,
            stdin,
            lines,
            next_id: 0,
        }
    }

    /// Sends one command and returns its value, or the driver's error message.
    pub async fn call(&mut self, mut command: Value) -> Result<Value, String> {
        self.next_id += 1;
        command["id"] = json!(self.next_id);
        let line = format!("{command}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        loop {
            let line = self
                .lines
                .next_line()
                .await
                .unwrap()
                .expect("browser driver exited");
            let answer: Value = serde_json::from_str(&line).unwrap();
            if answer["id"] != json!(self.next_id) {
                continue;
            }
            return if answer["ok"] == true {
                Ok(answer["value"].clone())
            } else {
                Err(answer["error"].as_str().unwrap_or("?").to_owned())
            };
        }
    }

    pub async fn open(&mut self, page: &str, url: &str) {
        if let Err(e) = self
            .call(json!({"cmd": "open", "page": page, "url": url}))
            .await
        {
            panic!("opening {url} failed: {e}");
        }
    }

    /// Waits until `expr` is truthy in the page; panics with the page's console on timeout.
    pub async fn wait_for(&mut self, page: &str, expr: &str, timeout: Duration) -> Value {
        let command = json!({"cmd": "waitFor", "page": page, "expr": expr, "timeoutMs": timeout.as_millis() as u64});
        match self.call(command).await {
            Ok(value) => value,
            Err(e) => {
                let logs = self
                    .call(json!({"cmd": "logs", "page": page}))
                    .await
                    .unwrap_or_default();
                let text = self.eval(page, "document.body.innerText").await;
                panic!("waiting for `{expr}` failed: {e}\npage text:\n{text}\nconsole:\n{logs:#}");
            }
        }
    }

    pub async fn eval(&mut self, page: &str, expr: &str) -> Value {
        self.call(json!({"cmd": "eval", "page": page, "expr": expr}))
            .await
            .unwrap_or_else(|e| panic!("evaluating `{expr}` failed: {e}"))
    }

    /// Waits until the renderer marked the page ready and returns the number of components.
    pub async fn wait_ready(&mut self, page: &str) -> u64 {
        let value = self
            .wait_for(
                page,
                "document.documentElement.dataset.studioReady",
                Duration::from_secs(20),
            )
            .await;
        value.as_str().and_then(|s| s.parse().ok()).unwrap()
    }

    /// The names of the component cards on the page, in order.
    pub async fn component_names(&mut self, page: &str) -> Vec<String> {
        let value = self
            .eval(page, "[...document.querySelectorAll('[data-studio-component]')].map(e => e.dataset.studioComponent)")
            .await;
        serde_json::from_value(value).unwrap()
    }

    pub async fn close(mut self) {
        let _ = self.stdin.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

/// JavaScript that records (once) the wall-clock time at which `text` is first painted.
pub fn observe_text(text: &str) -> String {
    let text = serde_json::to_string(text).unwrap();
    format!(
        "(() => {{ window.__seenAt = 0; const want = {text}; const check = () => {{
            if (!window.__seenAt && document.body.innerText.includes(want)) {{
              observer.disconnect();
              requestAnimationFrame(() => {{ window.__seenAt = performance.timeOrigin + performance.now(); }});
            }} }};
          const observer = new MutationObserver(check);
          observer.observe(document.body, {{ subtree: true, childList: true, characterData: true }});
          check(); return true; }})()"
    )
}

/// Milliseconds since the Unix epoch, comparable with the page's `performance.timeOrigin`.
pub fn epoch_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// Resident memory (KiB) of every process in process group `pgid`: a renderer's whole footprint.
pub fn group_rss_kib(pgid: u32) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command: state, ppid, pgrp, …
        let Some(after_comm) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        let pgrp = after_comm
            .split_whitespace()
            .nth(2)
            .and_then(|f| f.parse::<u32>().ok());
        if pgrp != Some(pgid) {
            continue;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        total += rss;
    }
    total
}
