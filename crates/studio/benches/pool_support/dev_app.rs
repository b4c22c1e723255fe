//! The baselines outside Studio: the same renderer app served by plain Vite, started by
//! `npm run dev`, and (if `pm2` is on PATH) kept alive by PM2.
//!
//! The sample repository (`examples/design-system`) has no `dev` script and no Vite of its own, so
//! the app is the sandbox's own generated one: a copy of a running sandbox's checkout (its
//! `node_modules` and `.studio/` included, so nothing is installed), with `.studio/settings.json`
//! pointed at the copy and a `dev` script added to the copy's `package.json`:
//! `vite --config .studio/vite.config.mjs --configLoader native` (Vite from `.studio/node_modules`).
//! It serves the very page a renderer serves, on a TCP port, with no jail, no supervisor and no
//! front door.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use studio_testkit::paths;
use studio_testkit::procs::{self, Signal};

/// What the `dev` script runs (from the copy's root; `vite` is `.studio/node_modules/.bin/vite`).
pub const DEV_SCRIPT: &str = "vite --config .studio/vite.config.mjs --configLoader native";

/// A copy of a sandbox's checkout that plain Vite can serve. Removed when dropped.
pub struct DevApp {
    _scratch: tempfile::TempDir,
    root: PathBuf,
}

impl DevApp {
    /// Copies `checkout` (a sandbox's `<data-dir>/sandboxes/<id>/repo`) and makes it a plain Vite
    /// app of its own.
    pub fn from_checkout(checkout: &Path) -> Result<Self, String> {
        let scratch = paths::scratch_dir(paths::E2E, "bench-dev-app-");
        let root = scratch.path().join("app");
        let copied = Command::new("cp")
            .args(["-a", "--no-target-directory"])
            .arg(checkout)
            .arg(&root)
            .status()
            .map_err(|e| format!("cp: {e}"))?;
        if !copied.success() {
            return Err(format!("cannot copy {}", checkout.display()));
        }
        // The checkout's `.git` names the server's mirror: not part of the app.
        let _ = std::fs::remove_file(root.join(".git"));
        let _ = std::fs::remove_dir_all(root.join(".git"));

        let settings_path = root.join(".studio/settings.json");
        let text = std::fs::read_to_string(&settings_path)
            .map_err(|e| format!("{}: {e}", settings_path.display()))?;
        let mut settings: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", settings_path.display()))?;
        let old_root = settings["root"]
            .as_str()
            .ok_or_else(|| format!("no root in {text}"))?
            .to_owned();
        settings["root"] = Value::from(root.display().to_string());
        settings["cacheDir"] = Value::from(root.join(".studio/.vite-dev").display().to_string());
        let rewritten = serde_json::to_string_pretty(&settings).map_err(|e| e.to_string())?;
        std::fs::write(&settings_path, rewritten).map_err(|e| e.to_string())?;
        // Anything else generated with the sandbox's root (warm-up list) follows the copy.
        let warmup = root.join(".studio").join("warmup.json");
        if let Ok(text) = std::fs::read_to_string(&warmup) {
            let text = text.replace(&old_root, &root.display().to_string());
            std::fs::write(&warmup, text).map_err(|e| e.to_string())?;
        }

        let manifest_path = root.join("package.json");
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| e.to_string())?;
        let mut manifest: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        manifest["scripts"]["dev"] = Value::from(DEV_SCRIPT);
        let rewritten = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
        std::fs::write(&manifest_path, rewritten).map_err(|e| e.to_string())?;
        if !root.join(".studio/node_modules/.bin/vite").exists() {
            return Err(format!(
                "{} has no .studio/node_modules/.bin/vite",
                checkout.display()
            ));
        }
        Ok(Self {
            _scratch: scratch,
            root,
        })
    }

    /// The app's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// PATH with the app's Vite first.
    fn path_env(&self) -> String {
        format!(
            "{}:{}",
            self.root.join(".studio/node_modules/.bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// `npm run dev` on `port` (127.0.0.1), in a process group of its own.
    pub fn npm_run_dev(&self, port: u16) -> DevServer {
        let child = Command::new("npm")
            .args(["run", "--silent", "dev", "--", "--strictPort", "--host"])
            .arg("127.0.0.1")
            .arg("--port")
            .arg(port.to_string())
            .current_dir(&self.root)
            .env("PATH", self.path_env())
            .env("npm_config_update_notifier", "false")
            .env("BROWSER", "none")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start npm run dev: {e}"));
        DevServer { child }
    }
}

/// A dev server started by the benchmark; its process group is killed when dropped.
pub struct DevServer {
    child: Child,
}

impl DevServer {
    /// SIGTERM to the group, SIGKILL after 5 s; waits for the exit.
    pub fn stop(mut self) {
        self.stop_group();
    }

    fn stop_group(&mut self) {
        let group = self.child.id();
        procs::signal_group(group, Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && !procs::group_members(group).is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
        procs::signal_group(group, Signal::KILL);
        let _ = self.child.wait();
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop_group();
        }
    }
}

/// Whether `GET url` answers 200 with the renderer page (2 s per attempt).
pub async fn serves_page(url: &str) -> bool {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    else {
        return false;
    };
    match client.get(url).send().await {
        Ok(answer) if answer.status() == 200 => answer
            .text()
            .await
            .is_ok_and(|t| t.contains("<title>Studio renderer</title>")),
        _ => false,
    }
}

/// Polls `url` every 5 ms until it serves the renderer page; panics after `limit`.
pub async fn wait_serving(url: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !serves_page(url).await {
        assert!(
            Instant::now() < deadline,
            "{url} did not serve within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// PM2 keeping the app alive: started with its own `PM2_HOME` (a scratch dir), so the machine's
/// PM2, if any, is not touched; `pm2 kill` when dropped.
pub struct Pm2 {
    home: tempfile::TempDir,
    app: PathBuf,
    path_env: String,
}

impl Pm2 {
    /// `None` when `pm2` is not on PATH.
    pub fn find(app: &DevApp) -> Option<Self> {
        let on_path = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("pm2").is_file()));
        on_path.then(|| Self {
            home: paths::scratch_dir(paths::E2E, "bench-pm2-"),
            app: app.root().to_owned(),
            path_env: app.path_env(),
        })
    }

    fn pm2(&self, args: &[&str]) -> Result<(), String> {
        let status = Command::new("pm2")
            .args(args)
            .current_dir(&self.app)
            .env("PM2_HOME", self.home.path())
            .env("PATH", &self.path_env)
            .env("npm_config_update_notifier", "false")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("pm2 {args:?}: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("pm2 {args:?}: {status}"))
        }
    }

    /// Starts the app under PM2 on `port`: `npm run dev` (`via_npm`) or Vite's own binary.
    pub fn start(&self, name: &str, port: u16, via_npm: bool) -> Result<(), String> {
        let port = port.to_string();
        let vite = self.app.join(".studio/node_modules/vite/bin/vite.js");
        let vite = vite.to_string_lossy();
        let mut args = vec!["start"];
        if via_npm {
            args.extend(["npm", "--name", name, "--", "run", "dev", "--"]);
        } else {
            args.extend([&*vite, "--name", name, "--"]);
            args.extend([
                "--config",
                ".studio/vite.config.mjs",
                "--configLoader",
                "native",
            ]);
        }
        args.extend(["--strictPort", "--host", "127.0.0.1", "--port", &port]);
        self.pm2(&args)
    }

    /// Stops and forgets the app `name`.
    pub fn delete(&self, name: &str) -> Result<(), String> {
        self.pm2(&["delete", name])
    }
}

impl Drop for Pm2 {
    fn drop(&mut self) {
        let _ = self.pm2(&["kill"]);
    }
}
