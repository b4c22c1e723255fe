//! Helpers shared by the supervisor's integration tests: real processes, real sockets. The
//! `/proc` readers and the fixture server's client are `studio_testkit`'s, re-exported here.
#![allow(dead_code)] // each test binary uses a different subset
#![allow(unused_imports)] // the re-exports, likewise

pub mod host;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use studio_supervisor::{Probe, RestartPolicy, Supervisor, SupervisorConfig, UnitSpec};
pub use studio_testkit::node_server::{http_get_pid, http_pid, unix_pid};
use studio_testkit::procs::{Signal, signal};
pub use studio_testkit::procs::{alive, all_pids, group_members, proc_stat, processes_with_env};

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every unit the helpers below create carries `STUDIO_TEST_OWNER=<test process id>`, so that a
/// failing test can kill what it started (units deliberately outlive their supervisor).
pub const OWNER_VAR: &str = "STUDIO_TEST_OWNER";

fn owner() -> String {
    std::process::id().to_string()
}

/// A supervisor whose port range is private to this test process (tests run in parallel
/// processes, each with its own registry), below the kernel's ephemeral range.
pub fn supervisor() -> TestSupervisor {
    supervisor_with(SupervisorConfig::default())
}

pub fn supervisor_with(config: SupervisorConfig) -> TestSupervisor {
    let base = 10_000 + (std::process::id() % 1_000) as u16 * 20;
    TestSupervisor(Supervisor::new(SupervisorConfig {
        port_range: base..=base + 19,
        ..config
    }))
}

/// A supervisor that, when the test ends (passing or panicking), SIGKILLs any process the test's
/// units left behind. A passing test has normally stopped them all already.
pub struct TestSupervisor(pub Supervisor);

impl std::ops::Deref for TestSupervisor {
    type Target = Supervisor;
    fn deref(&self) -> &Supervisor {
        &self.0
    }
}

impl Drop for TestSupervisor {
    fn drop(&mut self) {
        for pid in processes_with_env(OWNER_VAR, &owner()) {
            signal(pid, Signal::KILL);
        }
    }
}

/// The Node fixture server behind a `sh -c` that does not exec (like `npm run dev`): the leader
/// is `sh`, the server is its child.
pub fn node_server(name: &str, port: u16, grace_ms: u64) -> UnitSpec {
    UnitSpec {
        name: name.into(),
        program: "sh".into(),
        args: vec![
            "-c".into(),
            studio_testkit::node_server::shell_script(&fixture("server.js"), false),
        ],
        env: BTreeMap::from([
            ("PORT".to_owned(), port.to_string()),
            ("GRACE_MS".to_owned(), grace_ms.to_string()),
            (OWNER_VAR.to_owned(), owner()),
        ]),
        port: Some(port),
        readiness: Some(Probe::http(format!("http://127.0.0.1:{port}/"))),
        readiness_interval: Duration::from_millis(5),
        stop_grace: Duration::from_secs(5),
        ..UnitSpec::default()
    }
}

/// The Node fixture server (behind `sh -c`, like [`node_server`]) serving on the Unix socket at
/// `socket`, which the supervisor binds and passes as fd 3. No TCP port.
pub fn node_server_on_socket(name: &str, socket: &std::path::Path, grace_ms: u64) -> UnitSpec {
    let mut spec = node_server(name, 0, grace_ms);
    spec.env.remove("PORT");
    spec.port = None;
    spec.listen_socket = Some(socket.to_owned());
    spec.readiness = Some(Probe::http_unix(socket, "/"));
    spec
}

/// A shell command as a unit.
pub fn shell(name: &str, script: &str) -> UnitSpec {
    UnitSpec {
        name: name.into(),
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        env: BTreeMap::from([(OWNER_VAR.to_owned(), owner())]),
        restart: RestartPolicy::never(),
        ..UnitSpec::default()
    }
}

/// Polls `condition` every 5 ms until it holds; panics with `what` after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A unique marker for environment-based process lookups.
pub fn marker() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_u64()
    )
}

fn rand_u64() -> u128 {
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("/dev/urandom is readable");
    u128::from(u64::from_le_bytes(bytes))
}
