//! The server under test: the real `studio serve` binary (its path given by the caller, e.g.
//! `env!("CARGO_BIN_EXE_studio")`), started as a separate process on `127.0.0.1:0` with its own
//! data directory and SQLite file.
//!
//! [`Server`] starts the binary in its own process group, reads the one `listening on http://…`
//! line from its stdout, and keeps its stderr (the log) for assertions. Dropping it stops the
//! server cleanly (SIGTERM, bounded), then kills its process group. Renderers live in process
//! groups of their own (the supervisor's), and must survive a SIGKILL of the server for the
//! re-adoption test, so the last line of defence is [`DataDir`]'s drop: every process that still
//! runs from the data directory is killed there.

mod config;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub use config::{DataDir, ServerConfig};

use crate::procs::{self, Signal};

/// Start-up includes migrations and bringing back every sandbox of the data dir (renderer
/// restarts): generous on a loaded 2-core machine.
const START_DEADLINE: Duration = Duration::from_secs(180);
/// A clean shutdown stops every renderer (SIGTERM to each, SIGKILL after their grace period).
const STOP_DEADLINE: Duration = Duration::from_secs(60);

/// A running `studio serve`.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The port it listens on.
    pub port: u16,
    /// How it was started.
    pub config: ServerConfig,
    log: Arc<Mutex<String>>,
    /// Disconnected when the stderr reader reached the end of the pipe.
    log_done: mpsc::Receiver<()>,
}

impl Server {
    /// Starts `binary serve` as `config` says and waits until it listens; panics (with its log)
    /// when it exits first or does not listen in time.
    pub fn start(binary: &Path, config: &ServerConfig) -> Self {
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
            .env_remove("STUDIO_ALLOW_SOURCES")
            .env_remove("STUDIO_ALLOW_LOCAL_SOURCES")
            .env_remove("STUDIO_ALLOW_GITHUB_REPOS")
            .env_remove("STUDIO_INSECURE_NO_JAIL")
            .env_remove("STUDIO_SANDBOX_USER")
            .env_remove("RUST_LOG")
            .envs(&config.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
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
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let mut server = Self {
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
                        server.log()
                    )
                }
                Err(_) => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        panic!(
                            "studio exited ({status}) before listening:\n{}",
                            server.log()
                        );
                    }
                }
            }
        };
        server.port = crate::ports::port_of(&base);
        server.base = base;
        server
    }

    /// The server's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `ws://127.0.0.1:PORT`
    pub fn ws_base(&self) -> String {
        self.base.replacen("http://", "ws://", 1)
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// SIGTERM, then waits (bounded) for the process to exit; its status and complete log.
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
        procs::signal(self.child.id(), signal);
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

impl Drop for Server {
    #[allow(clippy::print_stderr)] // the log of a failing test's server is its best clue
    fn drop(&mut self) {
        if self.signal_and_wait(Signal::TERM, STOP_DEADLINE).is_none() {
            procs::signal_group(self.child.id(), Signal::KILL);
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- studio server log ----\n{}", self.log());
        }
    }
}
