//! The real `studio serve`, started as a separate process on `127.0.0.1:0`.
//!
//! [`Studio`] starts the binary in its own process group, reads the one `listening on http://…`
//! line from its stdout, and keeps its stderr (the log) for assertions. Dropping it stops the
//! server cleanly (SIGTERM, bounded), then kills its process group. Renderers live in process
//! groups of their own (the supervisor's), and must survive a SIGKILL of the server for the
//! re-adoption test, so the last line of defence is [`DataDir`]'s drop: every process that still
//! runs from the data directory is killed there.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use super::api::Api;

/// Start-up includes migrations and bringing back every sandbox of the data dir (renderer
/// restarts): generous on a loaded 2-core machine.
const START_DEADLINE: Duration = Duration::from_secs(180);
/// A clean shutdown stops every renderer (SIGTERM to each, SIGKILL after their grace period).
const STOP_DEADLINE: Duration = Duration::from_secs(60);

/// A data directory (database, mirrors, checkouts) that outlives server restarts. Dropping it kills
/// whatever still runs from it and removes it.
pub struct DataDir {
    dir: tempfile::TempDir,
}

impl DataDir {
    pub fn new(prefix: &str) -> Self {
        let parent = super::run_dir().join("scratch");
        std::fs::create_dir_all(&parent).unwrap();
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(parent)
            .unwrap();
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        super::procs::kill_processes_under(self.dir.path());
    }
}

/// How to start a server: environment on top of the test defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub env: BTreeMap<String, String>,
    /// The token the test's [`Api`] sends (normally the same as `STUDIO_API_TOKEN`).
    pub client_token: Option<String>,
    /// A command the server is started through (`prlimit …`), if any.
    pub launcher: Vec<String>,
}

impl ServerConfig {
    /// Defaults for tests: an own range of renderer ports (so servers of tests running in
    /// parallel rarely race for one), the shared npm cache, quiet HTTP tracing.
    pub fn new(data: &DataDir) -> Self {
        let mut env = BTreeMap::new();
        env.insert(
            "COMPONENT_STUDIO_VITE_PORT".into(),
            random_port_base().to_string(),
        );
        env.insert(
            "STUDIO_NPM_CACHE".into(),
            super::shared_npm_cache().display().to_string(),
        );
        env.insert("STUDIO_LOG".into(), "info,tower_http=warn,sqlx=warn".into());
        Self {
            data_dir: data.path().to_path_buf(),
            env,
            client_token: None,
            launcher: Vec::new(),
        }
    }

    pub fn env(mut self, key: &str, value: impl ToString) -> Self {
        self.env.insert(key.into(), value.to_string());
        self
    }

    /// Sets `STUDIO_API_TOKEN` and makes the test's client send it.
    pub fn api_token(mut self, token: &str) -> Self {
        self.client_token = Some(token.into());
        self.env("STUDIO_API_TOKEN", token)
    }
}

/// Renderer port ranges (1,000 ports each) below the kernel's ephemeral range (32768+).
fn random_port_base() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let seed = u64::from(nanos) ^ (u64::from(std::process::id()) << 16);
    10_000 + (seed % 20_000) as u16
}

/// A running `studio serve`.
pub struct Studio {
    child: Child,
    pub base: String,
    pub port: u16,
    pub config: ServerConfig,
    log: Arc<Mutex<String>>,
    /// Disconnected when the stderr reader reached the end of the pipe.
    log_done: mpsc::Receiver<()>,
}

impl Studio {
    pub fn start(config: &ServerConfig) -> Self {
        let binary = env!("CARGO_BIN_EXE_studio");
        let mut command = match config.launcher.split_first() {
            Some((launcher, args)) => {
                let mut command = Command::new(launcher);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&config.data_dir)
            // A test must not pick up the developer's settings.
            .env_remove("DATABASE_URL")
            .env_remove("STUDIO_API_TOKEN")
            .env_remove("GITHUB_TOKEN")
            .env_remove("STUDIO_GITHUB_API_URL")
            .env_remove("RUST_LOG")
            .envs(&config.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        let (log_done_tx, log_done) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let _done = log_done_tx;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let mut studio = Self {
            child,
            base: String::new(),
            port: 0,
            config: config.clone(),
            log,
            log_done,
        };
        let deadline = Instant::now() + START_DEADLINE;
        let base = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(url) => break url,
                Err(_) if Instant::now() > deadline => {
                    panic!(
                        "studio did not listen within {START_DEADLINE:?}:\n{}",
                        studio.log()
                    )
                }
                Err(_) => {
                    if let Ok(Some(status)) = studio.child.try_wait() {
                        panic!(
                            "studio exited ({status}) before listening:\n{}",
                            studio.log()
                        );
                    }
                }
            }
        };
        studio.port = super::port_of(&base);
        studio.base = base;
        studio
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn api(&self) -> Api {
        Api::new(&self.base, self.config.client_token.clone())
    }

    /// `ws://127.0.0.1:PORT`
    pub fn ws_base(&self) -> String {
        self.base.replacen("http://", "ws://", 1)
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// SIGTERM, then waits (bounded) for the process to exit.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let status = self.signal_and_wait(Signal::TERM, STOP_DEADLINE);
        (
            status.unwrap_or_else(|| panic!("studio ignored SIGTERM:\n{}", self.log())),
            self.log(),
        )
    }

    /// SIGKILL of the server process alone: what a crash looks like to its renderers.
    pub fn kill(mut self) -> String {
        self.signal_and_wait(Signal::KILL, STOP_DEADLINE);
        self.log()
    }

    fn signal_and_wait(&mut self, signal: Signal, limit: Duration) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let pid = Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, signal);
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The log is complete once the reader saw the end of the pipe.
                let _ = self.log_done.recv_timeout(Duration::from_secs(5));
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Studio {
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        if self.signal_and_wait(Signal::TERM, STOP_DEADLINE).is_none() {
            let pgid = Pid::from_child(&self.child);
            let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- studio server log ----\n{}", self.log());
        }
    }
}
