//! The GitHub API peer: Prism serving GitHub's own OpenAPI description (pulls paths) with
//! `--errors`, so every request is validated against GitHub's schema and every answer is GitHub's
//! documented example. Its npm packages live in the workspace's `tests/github-peer` (installed by
//! `tests/setup/npm-github-peer.sh`).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{paths, ports, procs};

/// Prism takes ~2 s to start alone; give a loaded 2-core machine plenty of room.
const START_DEADLINE: Duration = Duration::from_secs(120);
const EXITED: &str = "prism exited before listening";
const LOG_LINES_KEPT: usize = 400;

/// A running Prism, killed (its whole process group) when dropped, also on panic.
#[derive(Debug)]
pub struct PrismPeer {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl PrismPeer {
    /// Starts Prism on a free 127.0.0.1 port and waits until it says it is listening.
    pub fn start() -> Result<Self, String> {
        let (prism, description) = installed()?;
        // The port can be taken between probing and Prism's bind, and then Prism exits: try a
        // few ports. A Prism that is merely slow is not restarted (the deadline is generous).
        let mut result = Self::start_on(&prism, &description, ports::free_port());
        for _ in 0..2 {
            match &result {
                Err(e) if e.starts_with(EXITED) => {
                    result = Self::start_on(&prism, &description, ports::free_port());
                }
                _ => break,
            }
        }
        result
    }

    /// Starts Prism on `port` (which must be free): a server can be pointed at a GitHub that
    /// comes up later.
    pub fn start_on_port(port: u16) -> Result<Self, String> {
        let (prism, description) = installed()?;
        Self::start_on(&prism, &description, port)
    }

    fn start_on(prism: &Path, description: &Path, port: u16) -> Result<Self, String> {
        let mut child = Command::new(prism)
            .args(["mock", "--errors", "-h", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .arg(description)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that the guard can kill node and anything it spawned.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", prism.display()))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        // Drain both pipes for Prism's whole life (it logs every request; a full pipe would block
        // it) and report the "listening" line.
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let log = Arc::clone(&log);
            let ready_tx = ready_tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if line.contains("Prism is listening") {
                        let _ = ready_tx.send(());
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if log.len() >= LOG_LINES_KEPT {
                        log.remove(0);
                    }
                    log.push(line);
                }
            });
        }
        drop(ready_tx);
        let mut peer = Self { child, port, log };
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            match ready_rx.recv_timeout(Duration::from_millis(200)) {
                Ok(()) => return Ok(peer),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = peer.child.wait();
                    return Err(format!("{EXITED}:\n{}", peer.log_text()));
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() > deadline => {
                    return Err(format!(
                        "prism not listening after {START_DEADLINE:?}:\n{}",
                        peer.log_text()
                    ));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Prism's recent output (it logs each request and the validator's verdict).
    pub fn log_text(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// Waits (bounded) until Prism's log contains `needle`; its log trails its answers slightly.
    pub fn wait_for_log(&self, needle: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.log_text().contains(needle) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "prism never logged {needle:?}:\n{}",
            self.log_text()
        ))
    }
}

impl Drop for PrismPeer {
    fn drop(&mut self) {
        procs::signal_group(self.child.id(), procs::Signal::KILL);
        let _ = self.child.wait();
    }
}

/// The workspace's `tests/github-peer`.
pub fn peer_dir() -> PathBuf {
    paths::workspace_root().join("tests/github-peer")
}

/// Prism's executable and the trimmed description.
fn installed() -> Result<(PathBuf, PathBuf), String> {
    let description = ensure_description()?;
    let prism = peer_dir().join("node_modules/.bin/prism");
    if !prism.exists() {
        return Err(format!(
            "{} is missing: run `bash tests/setup/npm-github-peer.sh` (tests/run.sh does)",
            prism.display()
        ));
    }
    Ok((prism, description))
}

/// The trimmed+repaired description, generated by the setup script; generated here when missing
/// or older than the script that makes it (so `cargo nextest run -p studio-forge` works after a
/// plain `npm ci`).
pub fn ensure_description() -> Result<PathBuf, String> {
    let out = paths::run_root().join("github-peer/pulls.openapi.json");
    let script = peer_dir().join("trim-description.mjs");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&out).is_some() && modified(&out) >= modified(&script) {
        return Ok(out);
    }
    let status = Command::new("node")
        .arg(&script)
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run node {}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!(
            "{} failed ({status}); run `bash tests/setup/npm-github-peer.sh`",
            script.display()
        ));
    }
    Ok(out)
}
