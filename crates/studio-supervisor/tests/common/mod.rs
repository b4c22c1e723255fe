//! Helpers shared by the supervisor's integration tests: real processes, real sockets.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use studio_supervisor::{Probe, RestartPolicy, Supervisor, SupervisorConfig, UnitSpec};

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
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
    }
}

/// The Node fixture server behind a `sh -c` that does not exec (like `npm run dev`): the leader
/// is `sh`, the server is its child.
pub fn node_server(name: &str, port: u16, grace_ms: u64) -> UnitSpec {
    let script = fixture("server.js");
    UnitSpec {
        name: name.into(),
        program: "sh".into(),
        args: vec!["-c".into(), format!("node {}; exit $?", script.display())],
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

/// `GET /` on the fixture server: the PID that answered.
pub fn http_pid(port: u16) -> Option<u32> {
    http_get_pid(port, "/")
}

/// `GET path` on the fixture server: the PID that answered.
pub fn http_get_pid(port: u16, path: &str) -> Option<u32> {
    let addr = ("127.0.0.1", port).to_socket_addrs().ok()?.next()?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let body = response.split("\r\n\r\n").nth(1)?;
    body.trim()
        .strip_prefix("{\"pid\":")?
        .strip_suffix('}')?
        .parse()
        .ok()
}

/// `/proc/<pid>/stat` fields: (state, ppid, pgrp, session).
pub fn proc_stat(pid: u32) -> Option<(char, u32, u32, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let mut num = || fields.next()?.parse().ok();
    Some((state, num()?, num()?, num()?))
}

/// Alive means: exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|(state, ..)| state != 'Z' && state != 'X')
}

pub fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("/proc is readable")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Live processes whose environment contains `KEY=value`.
pub fn processes_with_env(key: &str, value: &str) -> Vec<u32> {
    let wanted = format!("{key}={value}");
    all_pids()
        .into_iter()
        .filter(|&pid| alive(pid))
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == wanted.as_bytes()))
        })
        .collect()
}

/// Live processes in process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&pid| proc_stat(pid).is_some_and(|(s, _, pg, _)| pg == pgid && s != 'Z'))
        .collect()
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
