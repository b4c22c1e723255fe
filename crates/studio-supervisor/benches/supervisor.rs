//! Supervisor vs. the naive approach, with a real Node server behind a non-exec `sh -c` (the
//! shape of `npm run dev`):
//!
//!     cargo bench -p studio-supervisor --bench supervisor
//!
//! The naive approach is what a bash loop, or a supervisor that only knows its direct child, does:
//! signal the leader, and restart as soon as the leader exits. Both run in this process, one after
//! the other, against the same server script and port, so a busy machine affects both alike.
//!
//! Prints p50/p99 of: stop latency, crash (kill -9 of the server) → serving again, restart →
//! serving again; then the memory and CPU an idle unit costs the supervisor.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use studio_supervisor::{
    Probe, RestartPolicy, Supervisor, SupervisorConfig, Unit, UnitSpec, check_port, cpu_ticks,
    rss_bytes,
};
use studio_testkit::bench::{self, Stats, ms};
use studio_testkit::node_server::{http_pid, shell_script};
use studio_testkit::procs::{Signal, parent_of, processes_with_env, signal};

const SAMPLES: usize = 20;
const NAIVE_RESTART_SAMPLES: usize = 5;
const IDLE_UNITS: usize = 50;
const READY_TIMEOUT: Duration = Duration::from_secs(5);
const HEALTHY_AFTER: Duration = Duration::from_millis(200);

fn main() {
    bench::runtime(Some(2)).block_on(run());
}

async fn run() {
    println!(
        "studio-supervisor benchmark: {SAMPLES} samples each; load average {}",
        bench::load_average()
    );
    println!("server: Node HTTP server behind `sh -c 'node server.js; exit $?'` (leader = sh)\n");
    let sup = Supervisor::new(SupervisorConfig {
        port_range: 7300..=7399,
        ..Default::default()
    });
    let port = sup.ports().allocate().expect("a free port");
    let mark = format!("bench-{}", std::process::id());
    let unit = sup.add(server_spec(port, &mark)).await.expect("unit");

    // Stop latency.
    let mut supervised = Vec::new();
    for _ in 0..SAMPLES {
        unit.start().await.expect("start");
        let started = Instant::now();
        unit.stop().await.expect("stop");
        supervised.push(started.elapsed());
        assert!(http_pid(port).is_none(), "served after a supervised stop");
    }
    let (mut naive, mut orphaned) = (Vec::new(), 0);
    for _ in 0..SAMPLES {
        let mut leader = spawn_tree(port, &mark, false);
        wait_served(port, None);
        let started = Instant::now();
        signal(leader.id(), Signal::TERM);
        let _ = leader.wait();
        naive.push(started.elapsed());
        if http_pid(port).is_some() {
            orphaned += 1; // the server outlived its leader and still holds the port
        }
        kill_marked(&mark);
        wait_port_free(port);
    }
    report("stop (until nothing of it is alive)", &supervised, &naive);
    println!(
        "    naive stops that left the server running and holding the port: {orphaned}/{SAMPLES}\n"
    );

    // Crash: kill -9 of the server process → serving again.
    unit.start().await.expect("start");
    let supervised = off_runtime(move || measure_crashes(port)).await;
    unit.stop().await.expect("stop");
    let naive_loop = NaiveLoop::start(port, &mark, false);
    wait_served(port, None);
    let naive = measure_crashes(port);
    naive_loop.finish(&mark);
    wait_port_free(port);
    report(
        "crash (kill -9 server) → serving again",
        &supervised,
        &naive,
    );
    println!();

    // Restart → serving again.
    unit.start().await.expect("start");
    let mut supervised = Vec::new();
    for _ in 0..SAMPLES {
        let before = http_pid(port);
        let started = Instant::now();
        unit.restart().await.expect("restart");
        off_runtime(move || wait_served(port, before)).await;
        supervised.push(started.elapsed());
    }
    unit.stop().await.expect("stop");
    let naive_loop = NaiveLoop::start(port, &mark, false);
    wait_served(port, None);
    let mut never_ready = 0;
    for _ in 0..NAIVE_RESTART_SAMPLES {
        let leader = naive_loop.leader();
        signal(leader, Signal::TERM);
        // Ready means: answered by the *new* leader's server, not by the old orphan.
        let deadline = Instant::now() + READY_TIMEOUT;
        while naive_loop.leader() == leader || !served_by_child_of(port, naive_loop.leader()) {
            if Instant::now() > deadline {
                never_ready += 1;
                break;
            }
            thread::sleep(Duration::from_millis(2));
        }
        kill_orphans(&mark, naive_loop.leader());
    }
    naive_loop.finish(&mark);
    wait_port_free(port);
    // The same naive loop, made to work by letting the server be the leader (`exec node`).
    let naive_loop = NaiveLoop::start(port, &mark, true);
    wait_served(port, None);
    let mut naive = Vec::new();
    for _ in 0..SAMPLES {
        let before = http_pid(port);
        let started = Instant::now();
        signal(naive_loop.leader(), Signal::TERM);
        wait_served(port, before);
        naive.push(started.elapsed());
    }
    naive_loop.finish(&mark);
    wait_port_free(port);
    report(
        "restart → serving again (naive: exec node)",
        &supervised,
        &naive,
    );
    println!(
        "    naive restarts of the sh-wrapped server that never served again within {READY_TIMEOUT:?} \
         (the orphaned old server kept the port): {never_ready}/{NAIVE_RESTART_SAMPLES}\n"
    );
    unit.remove().await.expect("remove");

    idle_overhead(&sup).await;
}

fn server_spec(port: u16, mark: &str) -> UnitSpec {
    UnitSpec {
        name: "bench-server".into(),
        program: "sh".into(),
        args: vec!["-c".into(), shell_script(&server_script(), false)],
        env: BTreeMap::from([
            ("PORT".to_owned(), port.to_string()),
            ("BENCH_MARK".to_owned(), mark.to_owned()),
        ]),
        port: Some(port),
        readiness: Some(Probe::http(format!("http://127.0.0.1:{port}/"))),
        readiness_interval: Duration::from_millis(5),
        // Every measured crash is a first crash after a healthy period: it gets the first
        // backoff delay (50-100 ms with jitter) and never counts towards `failed`.
        restart: RestartPolicy {
            healthy_after: HEALTHY_AFTER,
            ..RestartPolicy::default()
        },
        ..UnitSpec::default()
    }
}

fn server_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/server.js")
}

fn spawn_tree(port: u16, mark: &str, exec: bool) -> Child {
    Command::new("sh")
        .args(["-c", &shell_script(&server_script(), exec)])
        .env("PORT", port.to_string())
        .env("BENCH_MARK", mark)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn sh")
}

/// A naive supervisor: restarts the leader as soon as it exits.
struct NaiveLoop {
    stop: Arc<AtomicBool>,
    leader: Arc<AtomicU32>,
    current: Arc<Mutex<Option<Child>>>,
    thread: thread::JoinHandle<()>,
}

impl NaiveLoop {
    fn start(port: u16, mark: &str, exec: bool) -> Self {
        let (stop, leader) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU32::new(0)),
        );
        let current: Arc<Mutex<Option<Child>>> = Arc::new(Mutex::new(None));
        let mark = mark.to_owned();
        let thread = thread::spawn({
            let (stop, leader, current) = (stop.clone(), leader.clone(), current.clone());
            move || {
                while !stop.load(Ordering::SeqCst) {
                    let child = spawn_tree(port, &mark, exec);
                    leader.store(child.id(), Ordering::SeqCst);
                    *current.lock().expect("lock") = Some(child);
                    loop {
                        let exited = current.lock().expect("lock").as_mut().map(|c| c.try_wait());
                        if !matches!(exited, Some(Ok(None))) {
                            break;
                        }
                        thread::sleep(Duration::from_millis(1));
                    }
                }
            }
        });
        Self {
            stop,
            leader,
            current,
            thread,
        }
    }

    fn leader(&self) -> u32 {
        self.leader.load(Ordering::SeqCst)
    }

    fn finish(self, mark: &str) {
        self.stop.store(true, Ordering::SeqCst);
        kill_marked(mark);
        let _ = self.thread.join();
        if let Some(mut child) = self.current.lock().expect("lock").take() {
            let _ = child.wait();
        }
        kill_marked(mark);
    }
}

/// Runs blocking measurement code (HTTP polling, sleeps) off the runtime's two worker threads,
/// which belong to the supervisor under test.
async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("measurement thread")
}

/// kill -9 of the process answering on the port, then time until another one answers.
fn measure_crashes(port: u16) -> Vec<Duration> {
    (0..SAMPLES)
        .map(|_| {
            let server = wait_served(port, None);
            thread::sleep(HEALTHY_AFTER + Duration::from_millis(50));
            let started = Instant::now();
            signal(server, Signal::KILL);
            wait_served(port, Some(server));
            started.elapsed()
        })
        .collect()
}

/// Waits until the port is answered by a server other than `not`; returns its PID.
fn wait_served(port: u16, not: Option<u32>) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(pid) = http_pid(port).filter(|&pid| Some(pid) != not) {
            return pid;
        }
        assert!(Instant::now() < deadline, "nothing served on port {port}");
        thread::sleep(Duration::from_millis(2));
    }
}

fn served_by_child_of(port: u16, leader: u32) -> bool {
    http_pid(port).is_some_and(|pid| parent_of(pid) == Some(leader))
}

fn wait_port_free(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check_port(port).is_free() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
}

/// Every live process carrying the benchmark's mark: the naive runs' servers and shells.
fn marked(mark: &str) -> Vec<u32> {
    processes_with_env("BENCH_MARK", mark)
}

fn kill_marked(mark: &str) {
    for pid in marked(mark) {
        signal(pid, Signal::KILL);
    }
}

/// Kills naive-run processes that are not the current leader or its children.
fn kill_orphans(mark: &str, leader: u32) {
    for pid in marked(mark) {
        if pid != leader && parent_of(pid) != Some(leader) {
            signal(pid, Signal::KILL);
        }
    }
}

async fn idle_overhead(sup: &Supervisor) {
    let me = std::process::id();
    let rss_before = rss_bytes(me).unwrap_or(0);
    let mut units: Vec<Unit> = Vec::new();
    for i in 0..IDLE_UNITS {
        let spec = UnitSpec {
            name: format!("idle-{i}"),
            program: "sleep".into(),
            args: vec!["1000".into()],
            ..UnitSpec::default()
        };
        let unit = sup.add(spec).await.expect("add");
        unit.start().await.expect("start");
        units.push(unit);
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // let spawn-time work settle
    let rss_after = rss_bytes(me).unwrap_or(0);
    let ticks_before = cpu_ticks(me).unwrap_or(0);
    let window = Duration::from_secs(5);
    tokio::time::sleep(window).await;
    let ticks = cpu_ticks(me).unwrap_or(0) - ticks_before;
    let per_unit = rss_after.saturating_sub(rss_before) / IDLE_UNITS as u64;
    println!("idle overhead, {IDLE_UNITS} running units (`sleep`), no liveness probes:");
    println!(
        "    supervisor RSS per unit: {:.1} KB",
        per_unit as f64 / 1024.0
    );
    println!("    supervisor CPU over {window:?} idle: {ticks} ticks (1 tick = 10 ms)");
    let started = Instant::now();
    sup.shutdown().await;
    println!(
        "    shutdown of all {IDLE_UNITS}: {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
}

fn report(what: &str, supervised: &[Duration], naive: &[Duration]) {
    let (supervised, naive) = (Stats::of(supervised), Stats::of(naive));
    println!("{what}");
    println!(
        "    supervisor  p50 {:8.1} ms   p99 {:8.1} ms",
        ms(supervised.p50),
        ms(supervised.p99)
    );
    println!(
        "    naive       p50 {:8.1} ms   p99 {:8.1} ms",
        ms(naive.p50),
        ms(naive.p99)
    );
    println!(
        "    ratio (supervisor / naive) at p50: {:.2}",
        ms(supervised.p50) / ms(naive.p50).max(0.001)
    );
}
