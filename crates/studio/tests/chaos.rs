//! Chaos: three sandboxes take a stream of executes and rollbacks from several clients while the
//! test kills renderer trees at random and SIGKILLs the server twice (starting it again on the
//! same data dir). What must hold afterwards (issue 14, item 8):
//!
//! - an execute that arrives while a renderer restarts succeeds (edits do not wait for the
//!   renderer): every execute is answered 200 with a commit, unless the server was down, when it
//!   fails at the connection (and only then: a connection error outside a down window fails);
//! - an execute that failed at the connection is retried once the server is back, with the same
//!   content, and that retry is answered with the commit that carries its change (a `null`
//!   `commit_hash` means the crash left the commit in git but not in the store: item 3). A burst
//!   of executes to every sandbox is sent just before each SIGKILL, so that some are cut off
//!   inside the server, and the killer sends one right after each renderer kill, while nothing
//!   serves the sandbox;
//! - a crash leaves no git lock file behind that refuses later commits (`*.lock` in the mirror);
//! - every execute answered 200 has its commit in git, carrying its content, reachable from the
//!   session branch or, when a later rollback moved the branch back, from the undo refs
//!   `refs/studio/<hex>/undo/<n>` (rolled-back commits are not on the branch, so not in
//!   `git_commits`, by design); and `git_commits` is exactly the branch's session history;
//! - every WebSocket client, reconnecting with `?since=<last seq>` after each server crash, holds
//!   a gap-free, duplicate-free `seq` sequence, equal event for event to the store's replay from
//!   `?since=0`;
//! - renderers alive when the server died are re-adopted (same PIDs), one killed while it was dead
//!   is started again; at the end every sandbox is `running` and its preview serves, and after
//!   deleting them and stopping the server no process of theirs is left.
//!
//! Everything is bounded: a fixed number of operations per client, paced by a seeded RNG
//! (`STUDIO_CHAOS_SEED` replays another schedule), and a hard limit on the chaos phase. Failures
//! are collected and reported together, each naming the execute, hash or `seq` concerned.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use studio_testkit::procs::{self, Signal};
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners::{renderer_pids, renderer_socket};
use support::api::commit_hashes;
use support::{Studio, WsClient, renderer_serves};

const SANDBOXES: usize = 3;
/// Clients sending executes and rollbacks, each to any sandbox.
const CLIENTS: usize = 4;
const OPS_PER_CLIENT: usize = 45;
/// A client's pause between two operations, in milliseconds.
const PAUSE_MS: (u64, u64) = (400, 1600);
/// One operation in this many is a rollback (of one or two steps).
const ROLLBACK_ONE_IN: u64 = 8;
/// When the server is SIGKILLed, counted from the start of the chaos.
const SERVER_KILLS_AT: [Duration; 2] = [Duration::from_secs(20), Duration::from_secs(45)];
/// How long the server stays dead before it is started again.
const DOWNTIME: Duration = Duration::from_secs(2);
/// The killer's pause between two renderer kills, in milliseconds.
const RENDERER_KILL_EVERY_MS: (u64, u64) = (3000, 8000);
/// Clients start no new operation after this (retries of an execute cut off by a crash go on).
const CHAOS_LIMIT: Duration = Duration::from_secs(90);
/// Retries of an execute that failed at the connection stop after this.
const RETRY_LIMIT: Duration = Duration::from_secs(240);
/// Generous waits on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(120);
/// The client number of the killer's executes.
const KILLER: usize = CLIENTS;
/// The client number of the executes sent just before a server crash.
const BURST: usize = CLIENTS + 1;
/// Executes sent to each sandbox at once just before each server crash.
const BURST_PER_SANDBOX: usize = 6;
/// How long before the SIGKILL the burst starts, in milliseconds.
const BURST_HEAD_START_MS: (u64, u64) = (10, 80);
const SEED: u64 = 0x5EED_C4A0_5000_0014;
const END: &str = "END-OF-CHAOS";

/// splitmix64: a seeded schedule without a dependency.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn millis(&mut self, (lo, hi): (u64, u64)) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

/// Where the current server listens (a new port after every start).
#[derive(Debug, Clone)]
struct Endpoint {
    base: String,
    ws_base: String,
    pid: u32,
    generation: u32,
}

#[derive(Debug)]
struct Shared {
    start: Instant,
    data_dir: PathBuf,
    endpoint: RwLock<Endpoint>,
    /// `[from, to]` of each time the server was down (`to` unset while it is).
    down: Mutex<Vec<(Duration, Option<Duration>)>>,
    /// Held by whoever kills: the killer for one renderer kill, the main task for a whole
    /// server crash and restart (so the renderers' state before the crash is known).
    kill_lock: tokio::sync::Mutex<()>,
    stop_killer: AtomicBool,
}

impl Shared {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn endpoint(&self) -> Endpoint {
        self.endpoint.read().unwrap().clone()
    }

    /// Whether `[from, to]` overlaps a time the server was down (with a little slack for the
    /// moment a crash reaches the client).
    fn overlaps_down(&self, from: Duration, to: Duration) -> bool {
        let slack = Duration::from_millis(250);
        self.down.lock().unwrap().iter().any(|(start, end)| {
            let end = end.unwrap_or(Duration::MAX);
            from <= end.saturating_add(slack) && to + slack >= *start
        })
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// `attempt` counts from 0; attempts after the first retry one that failed at the connection.
    Execute {
        path: String,
        content: String,
        attempt: u32,
    },
    Rollback {
        steps: u64,
    },
}

#[derive(Debug, Clone)]
enum Outcome {
    Answer {
        status: u16,
        body: Value,
        text: String,
    },
    Connection(String),
    Timeout(String),
}

#[derive(Debug, Clone)]
struct Attempt {
    client: usize,
    op_no: usize,
    sandbox: usize,
    op: Op,
    sent: Duration,
    done: Duration,
    generation: u32,
    outcome: Outcome,
}

impl Attempt {
    fn name(&self) -> String {
        let what = match &self.op {
            Op::Execute { path, attempt, .. } => format!("execute {path} (attempt {attempt})"),
            Op::Rollback { steps } => format!("rollback of {steps} step(s)"),
        };
        let who = match self.client {
            KILLER => "the killer".to_owned(),
            BURST => "the crash burst".to_owned(),
            n => format!("client {n}"),
        };
        format!(
            "{who} op {} on sandbox {}: {what}, sent at {:.2?}, done at {:.2?}, server generation {}",
            self.op_no, self.sandbox, self.sent, self.done, self.generation
        )
    }
}

/// A renderer kill by the test.
#[derive(Debug, Clone)]
struct Kill {
    at: Duration,
    sandbox: usize,
    how: &'static str,
    pids: BTreeSet<u32>,
    /// Whether the execute sent right after the kill found no renderer process serving.
    edit_while_down: bool,
}

/// What one WebSocket client saw over its connections.
#[derive(Debug, Default)]
struct WsLog {
    events: Vec<Value>,
    connects: Vec<String>,
    /// How many events had arrived when each connection was made.
    starts: Vec<usize>,
    drops: Vec<String>,
    anomalies: Vec<String>,
    saw_end: bool,
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let _ = write!(text, ": {inner}");
        source = inner.source();
    }
    text
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
) -> Outcome {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap());
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return Outcome::Timeout(error_chain(&e)),
        Err(e) => return Outcome::Connection(error_chain(&e)),
    };
    let status = response.status().as_u16();
    match response.text().await {
        Ok(text) => Outcome::Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        },
        Err(e) if e.is_timeout() => Outcome::Timeout(error_chain(&e)),
        Err(e) => Outcome::Connection(error_chain(&e)),
    }
}

/// The status body of sandbox `id` on the current server.
async fn status_now(shared: &Shared, http: &reqwest::Client, id: &str) -> Result<Value, String> {
    let endpoint = shared.endpoint();
    let url = format!("{}/api/v1/sandboxes/{id}", endpoint.base);
    match send(http, reqwest::Method::GET, &url, None).await {
        Outcome::Answer {
            status: 200, body, ..
        } => Ok(body),
        other => Err(format!("GET {url}: {other:?}")),
    }
}

/// Polls `check` every 200 ms until it yields `Ok` or `limit` passes (then the last error).
async fn poll<T>(
    limit: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + limit;
    loop {
        match check().await {
            Ok(value) => return Ok(value),
            Err(last) if Instant::now() > deadline => {
                return Err(format!("still not after {limit:?}: {last}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Every sandbox `running`, its renderer holding its socket and its preview serving.
async fn all_running(
    shared: &Shared,
    http: &reqwest::Client,
    ids: &[String],
    sockets: &[PathBuf],
) -> Result<(), String> {
    let server = shared.endpoint().pid;
    for (id, socket) in ids.iter().zip(sockets) {
        let status = status_now(shared, http, id).await?;
        if status["status"] != "running" {
            return Err(format!("{id} is {}", status["status"]));
        }
        if renderer_pids(socket, server).is_empty() {
            return Err(format!("nothing serves on {}", socket.display()));
        }
        let url = status["renderer_url"].as_str().unwrap_or_default();
        renderer_serves(url)
            .await
            .map_err(|e| format!("{id}: {e}"))?;
    }
    Ok(())
}

/// Who sends an execute, and where.
#[derive(Debug)]
struct Target<'a> {
    client: usize,
    op_no: usize,
    sandbox: usize,
    id: &'a str,
}

/// One execute, retried with the same content while it fails at the connection (the server is
/// down): every attempt with its answer.
async fn execute(
    shared: &Shared,
    http: &reqwest::Client,
    target: &Target<'_>,
    path: &str,
    content: &str,
) -> Vec<Attempt> {
    let body = json!({
        "command": "write_file",
        "file_path": path,
        "content": content,
        "description": format!("chaos c{} op{}", target.client, target.op_no),
    });
    let mut attempts = Vec::new();
    for attempt in 0.. {
        let sent = shared.now();
        let endpoint = shared.endpoint();
        let url = format!("{}/api/v1/sandboxes/{}/execute", endpoint.base, target.id);
        let outcome = send(http, reqwest::Method::POST, &url, Some(&body)).await;
        let retry = matches!(outcome, Outcome::Connection(_));
        attempts.push(Attempt {
            client: target.client,
            op_no: target.op_no,
            sandbox: target.sandbox,
            op: Op::Execute {
                path: path.to_owned(),
                content: content.to_owned(),
                attempt,
            },
            sent,
            done: shared.now(),
            generation: endpoint.generation,
            outcome,
        });
        if !retry || shared.now() > RETRY_LIMIT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    attempts
}

/// One client: `OPS_PER_CLIENT` operations on random sandboxes, each recorded with its answer.
/// An execute that fails at the connection is retried with the same content until the server
/// answers.
async fn client(
    n: usize,
    seed: u64,
    shared: Arc<Shared>,
    http: reqwest::Client,
    ids: Arc<Vec<String>>,
) -> Vec<Attempt> {
    let mut rng = Rng::new(seed ^ (0xC11E_0000 + n as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut attempts = Vec::new();
    for op_no in 0..OPS_PER_CLIENT {
        if shared.now() > CHAOS_LIMIT {
            break;
        }
        tokio::time::sleep(rng.millis(PAUSE_MS)).await;
        let sandbox = usize::try_from(rng.below(SANDBOXES as u64)).unwrap();
        let id = &ids[sandbox];
        if rng.below(ROLLBACK_ONE_IN) == 0 {
            let steps = 1 + rng.below(2);
            let sent = shared.now();
            let endpoint = shared.endpoint();
            let url = format!("{}/api/v1/sandboxes/{id}/rollback", endpoint.base);
            let outcome = send(
                &http,
                reqwest::Method::POST,
                &url,
                Some(&json!({"steps": steps})),
            )
            .await;
            attempts.push(Attempt {
                client: n,
                op_no,
                sandbox,
                op: Op::Rollback { steps },
                sent,
                done: shared.now(),
                generation: endpoint.generation,
                outcome,
            });
            continue;
        }
        let path = format!("src/chaos/c{n}/op{op_no}.ts");
        let content = format!(
            "export const chaos_c{n}_op{op_no} = \"{:016x}\";\n",
            rng.next()
        );
        let target = Target {
            client: n,
            op_no,
            sandbox,
            id,
        };
        attempts.extend(execute(&shared, &http, &target, &path, &content).await);
    }
    attempts
}

/// The process groups of the processes serving on `socket` (the renderer tree, `bwrap → bwrap →
/// node`), never this test's nor the server's.
fn renderer_groups(socket: &Path, server: u32) -> BTreeSet<u32> {
    let own = procs::pgid_of(std::process::id());
    renderer_pids(socket, server)
        .into_iter()
        .filter_map(procs::pgid_of)
        .filter(|&group| group > 1 && Some(group) != own && group != server)
        .collect()
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// SIGKILLs sandbox `sandbox`'s renderer: its whole tree (every process group serving on its
/// socket) or only its `node` process. `None` when nothing serves (a restart is under way).
fn kill_renderer(
    socket: &Path,
    server: u32,
    whole_tree: bool,
    seen_groups: &Mutex<BTreeSet<u32>>,
) -> Option<(&'static str, BTreeSet<u32>)> {
    let pids = renderer_pids(socket, server);
    let groups = renderer_groups(socket, server);
    if pids.is_empty() || groups.is_empty() {
        return None;
    }
    seen_groups.lock().unwrap().extend(groups.iter().copied());
    let members: BTreeSet<u32> = groups
        .iter()
        .flat_map(|&g| procs::group_members(g))
        .collect();
    let node: Vec<u32> = members
        .iter()
        .copied()
        .filter(|&p| comm(p) == "node")
        .collect();
    if whole_tree || node.is_empty() {
        for &group in &groups {
            procs::signal_group(group, Signal::KILL);
        }
        Some(("process groups", members))
    } else {
        for &pid in &node {
            procs::signal(pid, Signal::KILL);
        }
        Some(("node", node.into_iter().collect()))
    }
}

/// Kills a random sandbox's renderer every few seconds until told to stop.
async fn killer(
    seed: u64,
    shared: Arc<Shared>,
    sockets: Arc<Vec<PathBuf>>,
    seen_groups: Arc<Mutex<BTreeSet<u32>>>,
    http: reqwest::Client,
    ids: Arc<Vec<String>>,
) -> (Vec<Kill>, Vec<Attempt>) {
    let mut rng = Rng::new(seed ^ 0x0000_4B11_1E55_0000);
    let mut kills = Vec::new();
    let mut attempts = Vec::new();
    while !shared.stop_killer.load(Ordering::Relaxed) {
        tokio::time::sleep(rng.millis(RENDERER_KILL_EVERY_MS)).await;
        let _turn = shared.kill_lock.lock().await;
        if shared.stop_killer.load(Ordering::Relaxed) {
            break;
        }
        let sandbox = usize::try_from(rng.below(SANDBOXES as u64)).unwrap();
        let whole_tree = rng.below(2) == 0;
        let server = shared.endpoint().pid;
        if let Some((how, pids)) =
            kill_renderer(&sockets[sandbox], server, whole_tree, &seen_groups)
        {
            let at = shared.now();
            // An edit while the renderer restarts: it must not wait for the renderer.
            let edit_while_down = renderer_pids(&sockets[sandbox], server).is_empty();
            let op_no = kills.len();
            let target = Target {
                client: KILLER,
                op_no,
                sandbox,
                id: &ids[sandbox],
            };
            let path = format!("src/chaos/killer/kill{op_no}.ts");
            let content = format!("export const killed_{op_no} = \"{:016x}\";\n", rng.next());
            attempts.extend(execute(&shared, &http, &target, &path, &content).await);
            kills.push(Kill {
                at,
                sandbox,
                how,
                pids,
                edit_while_down,
            });
        }
    }
    (kills, attempts)
}

fn is_end(event: &Value) -> bool {
    event["type"] == "component-selected" && event["payload"]["component"] == END
}

/// One WebSocket client of sandbox `id`: from `?since=0`, reconnecting with `?since=<last seq>`
/// whenever its connection ends, until it sees the end marker (or `limit` passes).
async fn watch(shared: Arc<Shared>, id: String, limit: Duration) -> WsLog {
    let mut log = WsLog::default();
    let deadline = Instant::now() + limit;
    'connect: while Instant::now() < deadline {
        let since = log
            .events
            .last()
            .map_or(0, |e| e["seq"].as_u64().unwrap_or(0));
        let url = format!(
            "{}/api/v1/sandboxes/{id}/ws?since={since}",
            shared.endpoint().ws_base
        );
        let client = match WsClient::connect(&url, None).await {
            Ok(client) => client,
            Err(refused) => {
                if refused.status != 0 {
                    log.anomalies.push(format!(
                        "{url} refused at {:.2?}: {} {}",
                        shared.now(),
                        refused.status,
                        refused.body
                    ));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        log.connects.push(format!("{url} at {:.2?}", shared.now()));
        log.starts.push(log.events.len());
        // The sender stays alive with the reader: the connection is only read.
        let (_sender, mut reader) = client.split();
        while Instant::now() < deadline {
            match reader.next(Duration::from_secs(1)).await {
                Ok(event) => {
                    if event.get("seq").and_then(Value::as_u64).is_none() {
                        log.anomalies
                            .push(format!("a message without seq: {event}"));
                        continue;
                    }
                    let end = is_end(&event);
                    log.events.push(event);
                    if end {
                        log.saw_end = true;
                        return log;
                    }
                }
                Err(support::ws::Ended::Silent) => {}
                Err(ended) => {
                    log.drops.push(format!("{ended:?} at {:.2?}", shared.now()));
                    continue 'connect;
                }
            }
        }
    }
    log
}

/// Each `seq` one more than the one before, starting at 1: no gap, no repeat, no reordering.
/// `starts` are the indexes where a new connection began (a break there is at a reconnect).
fn seq_breaks(events: &[Value], starts: &[usize]) -> Vec<String> {
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e["seq"].as_u64().unwrap_or(0))
        .collect();
    let mut wrong = Vec::new();
    if let Some(&first) = seqs.first()
        && first != 1
    {
        wrong.push(format!("starts at {first}, not 1"));
    }
    for (i, pair) in seqs.windows(2).enumerate() {
        if pair[1] != pair[0] + 1 {
            let what = if pair[1] <= pair[0] {
                "repeat/reorder"
            } else {
                "gap"
            };
            let place = if starts.contains(&(i + 1)) {
                " (across a reconnect with ?since=)"
            } else {
                " (within one connection)"
            };
            wrong.push(format!("{what}: {} then {}{place}", pair[0], pair[1]));
        }
    }
    wrong
}

/// Runs git in `dir`; its stdout, or why it failed.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = studio_testkit::git::command(dir, args)
        .output()
        .map_err(|e| format!("git {args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Git lock files (`*.lock`) under `dir` (the mirrors: refs, worktrees' indexes): a process
/// killed while it held one leaves it behind, and git refuses that ref or index until it is gone.
fn lock_files(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "lock") {
                out.push(path.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// Live processes whose command line or working directory lies under `dir` (not this test).
fn processes_under(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    procs::all_pids()
        .into_iter()
        .filter(|&pid| pid != std::process::id() && procs::alive(pid))
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            (cmdline.contains(&needle) || cwd.starts_with(&needle))
                .then(|| format!("{pid} (cwd {cwd}): {cmdline}"))
        })
        .collect()
}

/// Stops the current server with SIGKILL and starts the next one on the same data dir; checks
/// that the renderers alive before are re-adopted and that `kill_while_down`'s renderer, killed
/// while no server ran, is started again. Returns the new server and the killed one's log.
#[allow(clippy::too_many_arguments)]
async fn crash_and_restart(
    round: usize,
    studio: Studio,
    config: &ServerConfig,
    shared: &Arc<Shared>,
    http: &reqwest::Client,
    ids: &[String],
    sockets: &[PathBuf],
    kill_while_down: Option<usize>,
    seen_groups: &Mutex<BTreeSet<u32>>,
    rng: &mut Rng,
    failures: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> (Studio, String, Vec<Attempt>) {
    let _turn = shared.kill_lock.lock().await;
    // Known state before the crash: every renderer serving (the killer waits meanwhile).
    if let Err(e) = poll(WAIT, async || all_running(shared, http, ids, sockets).await).await {
        failures.push(format!(
            "before server crash {round}, not every sandbox ran: {e}"
        ));
    }
    let old_pid = studio.pid();
    let before: Vec<BTreeSet<u32>> = sockets.iter().map(|s| renderer_pids(s, old_pid)).collect();
    for socket in sockets {
        seen_groups
            .lock()
            .unwrap()
            .extend(renderer_groups(socket, old_pid));
    }
    // A burst of executes in flight when the server dies: some answered, some cut off inside the
    // actor (maybe between the git commit and the store), some never read. Each one cut off is
    // retried with the same content once the server is back, and must get its commit.
    let mut burst = Vec::new();
    for (sandbox, id) in ids.iter().enumerate() {
        for k in 0..BURST_PER_SANDBOX {
            let (shared, http, id) = (shared.clone(), http.clone(), id.clone());
            let op_no = round * 100 + sandbox * BURST_PER_SANDBOX + k;
            let path = format!("src/chaos/burst/crash{round}-s{sandbox}-{k}.ts");
            let content = format!("export const burst_{op_no} = \"{:016x}\";\n", rng.next());
            burst.push(tokio::spawn(async move {
                let target = Target {
                    client: BURST,
                    op_no,
                    sandbox,
                    id: &id,
                };
                execute(&shared, &http, &target, &path, &content).await
            }));
        }
    }
    tokio::time::sleep(rng.millis(BURST_HEAD_START_MS)).await;
    shared.down.lock().unwrap().push((shared.now(), None));
    let log = tokio::task::spawn_blocking(move || studio.kill())
        .await
        .unwrap();
    notes.push(format!(
        "server crash {round}: SIGKILL of {old_pid} at {:.2?}",
        shared.now()
    ));
    if let Some(sandbox) = kill_while_down {
        match kill_renderer(&sockets[sandbox], 0, true, seen_groups) {
            Some((_, pids)) => notes.push(format!(
                "server crash {round}: killed sandbox {sandbox}'s renderer {pids:?} while no server ran"
            )),
            None => failures.push(format!(
                "server crash {round}: sandbox {sandbox} had no renderer to kill while the server was dead"
            )),
        }
        let socket = sockets[sandbox].clone();
        if let Err(e) = poll(Duration::from_secs(10), async || {
            match renderer_pids(&socket, 0) {
                pids if pids.is_empty() => Ok(()),
                pids => Err(format!("{pids:?}")),
            }
        })
        .await
        {
            failures.push(format!(
                "sandbox {sandbox}'s renderer survived SIGKILL: {e}"
            ));
        }
    }
    tokio::time::sleep(DOWNTIME).await;
    let config = config.clone();
    let studio = tokio::task::spawn_blocking(move || Studio::start(&config))
        .await
        .unwrap();
    {
        let mut endpoint = shared.endpoint.write().unwrap();
        *endpoint = Endpoint {
            base: studio.base.clone(),
            ws_base: studio.ws_base(),
            pid: studio.pid(),
            generation: endpoint.generation + 1,
        };
    }
    if let Some(last) = shared.down.lock().unwrap().last_mut() {
        last.1 = Some(shared.now());
    }
    notes.push(format!(
        "server crash {round}: new server {} at {} listening at {:.2?}",
        studio.pid(),
        studio.base,
        shared.now()
    ));
    let locks = lock_files(&shared.data_dir.join("mirrors"));
    if !locks.is_empty() {
        notes.push(format!(
            "server crash {round}: git lock files in the mirrors after the restart: {locks:?}"
        ));
    }
    // Re-adopted: the very same processes serve. Started again: others do.
    for (n, socket) in sockets.iter().enumerate() {
        let now = renderer_pids(socket, studio.pid());
        if Some(n) == kill_while_down {
            let new_pid = studio.pid();
            let result = poll(WAIT, async || {
                let now = renderer_pids(socket, new_pid);
                if !now.is_empty() && now.is_disjoint(&before[n]) {
                    Ok(now)
                } else {
                    Err(format!("{now:?}"))
                }
            })
            .await;
            match result {
                Ok(now) => notes.push(format!(
                    "server crash {round}: sandbox {n} (killed while down) restarted: {:?} -> {now:?}",
                    before[n]
                )),
                Err(e) => failures.push(format!(
                    "server crash {round}: sandbox {n}'s renderer, killed while the server was dead, was not started again: {e}"
                )),
            }
        } else if now != before[n] || now.is_empty() {
            failures.push(format!(
                "server crash {round}: sandbox {n}'s renderer was not re-adopted: serving before the crash {:?}, after the restart {now:?}",
                before[n]
            ));
        }
    }
    if !studio.log().contains("re-adopted") {
        failures.push(format!(
            "server crash {round}: the new server's log does not say it re-adopted a renderer"
        ));
    }
    let mut attempts = Vec::new();
    for task in burst {
        attempts.extend(task.await.unwrap());
    }
    (studio, log, attempts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_edits_and_events_survive_renderer_kills_and_server_crashes() {
    Box::pin(chaos()).await;
}

#[allow(clippy::too_many_lines)]
async fn chaos() {
    let seed = std::env::var("STUDIO_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let remote = Remote::new().await;
    let data = DataDir::new("chaos-");
    let data_dir = data.path().canonicalize().unwrap();
    let config = ServerConfig::new(&data);
    let logs_dir = studio_testkit::paths::run_dir(studio_testkit::paths::E2E)
        .join("chaos-logs")
        .join(data_dir.file_name().unwrap());
    let mut failures: Vec<String> = Vec::new();
    let mut notes: Vec<String> = vec![format!(
        "seed {seed}; on failure, the logs of every server are written to {}",
        logs_dir.display()
    )];

    let studio = Studio::start(&config);
    let api = studio.api();
    // Random kills outrun the default crash budget (3 in a minute): give the sandboxes the most.
    let request = json!({"repository": remote.url(), "branch": "main", "max_restarts": 100});
    let answers = futures::future::join_all((0..SANDBOXES).map(|_| api.create(&request))).await;
    let ids: Vec<String> = answers
        .iter()
        .map(|a| a.expect(201)["sandbox_id"].as_str().unwrap().to_owned())
        .collect();
    let sockets: Vec<PathBuf> = ids
        .iter()
        .map(|id| renderer_socket(&data_dir, id))
        .collect();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(90))
        .no_proxy()
        .build()
        .unwrap();
    let shared = Arc::new(Shared {
        start: Instant::now(),
        data_dir: data_dir.clone(),
        endpoint: RwLock::new(Endpoint {
            base: studio.base.clone(),
            ws_base: studio.ws_base(),
            pid: studio.pid(),
            generation: 0,
        }),
        down: Mutex::new(Vec::new()),
        kill_lock: tokio::sync::Mutex::new(()),
        stop_killer: AtomicBool::new(false),
    });
    poll(WAIT, async || {
        all_running(&shared, &http, &ids, &sockets).await
    })
    .await
    .unwrap();
    let seen_groups = Arc::new(Mutex::new(BTreeSet::new()));
    for socket in &sockets {
        seen_groups
            .lock()
            .unwrap()
            .extend(renderer_groups(socket, studio.pid()));
    }

    // --- the chaos: WebSocket clients, operation clients, the renderer killer ---
    let watchers: Vec<_> = ids
        .iter()
        .map(|id| tokio::spawn(watch(shared.clone(), id.clone(), Duration::from_secs(600))))
        .collect();
    let shared_ids = Arc::new(ids.clone());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(client(
                n,
                seed,
                shared.clone(),
                http.clone(),
                shared_ids.clone(),
            ))
        })
        .collect();
    let killer_task = tokio::spawn(killer(
        seed,
        shared.clone(),
        Arc::new(sockets.clone()),
        seen_groups.clone(),
        http.clone(),
        shared_ids.clone(),
    ));

    let mut studio = studio;
    let mut server_logs = Vec::new();
    let mut burst_attempts = Vec::new();
    let mut burst_rng = Rng::new(seed ^ 0xB0B5_7000_0000_0000);
    for (round, at) in SERVER_KILLS_AT.into_iter().enumerate() {
        if let Some(left) = at.checked_sub(shared.now()) {
            tokio::time::sleep(left).await;
        }
        let (next, log, burst) = crash_and_restart(
            round + 1,
            studio,
            &config,
            &shared,
            &http,
            &ids,
            &sockets,
            (round == 0).then_some(0),
            &seen_groups,
            &mut burst_rng,
            &mut failures,
            &mut notes,
        )
        .await;
        studio = next;
        server_logs.push(log);
        burst_attempts.extend(burst);
    }
    let mut attempts = burst_attempts;
    for client in clients {
        attempts.extend(client.await.unwrap());
    }
    shared.stop_killer.store(true, Ordering::Relaxed);
    let (kills, killer_attempts) = killer_task.await.unwrap();
    attempts.extend(killer_attempts);
    notes.push(format!("chaos phase ended at {:.2?}", shared.now()));

    // --- every sandbox running and serving ---
    if let Err(e) = poll(WAIT, async || {
        all_running(&shared, &http, &ids, &sockets).await
    })
    .await
    {
        failures.push(format!(
            "after the chaos, not every sandbox runs and serves: {e}"
        ));
    }

    // --- the end marker, then every client's stream against the store's replay ---
    for id in &ids {
        let url = format!("{}/api/v1/sandboxes/{id}/ws", studio.ws_base());
        let mut marker = WsClient::connect(&url, None).await.unwrap();
        marker
            .send(&json!({"type": "component-selected", "payload": {"component": END}}))
            .await;
        let _ = tokio::time::timeout(WAIT, async {
            while let Ok(event) = marker.next(WAIT).await {
                if is_end(&event) {
                    break;
                }
            }
        })
        .await;
        marker.close().await;
    }
    let mut streams = Vec::new();
    for (n, watcher) in watchers.into_iter().enumerate() {
        match tokio::time::timeout(WAIT, watcher).await {
            Ok(log) => streams.push(log.unwrap()),
            Err(_) => {
                failures.push(format!("sandbox {n}'s WebSocket client did not finish"));
                streams.push(WsLog::default());
            }
        }
    }
    let mut replays = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let url = format!("{}/api/v1/sandboxes/{id}/ws?since=0", studio.ws_base());
        let mut replay = WsClient::connect(&url, None).await.unwrap();
        let mut stored = Vec::new();
        loop {
            match replay.next(WAIT).await {
                Ok(event) => {
                    let end = is_end(&event);
                    stored.push(event);
                    if end {
                        break;
                    }
                }
                Err(ended) => {
                    failures.push(format!(
                        "sandbox {n}: the replay from ?since=0 ended before the marker: {ended:?}"
                    ));
                    break;
                }
            }
        }
        replays.push(stored);
    }
    for (n, (log, stored)) in streams.iter().zip(&replays).enumerate() {
        let breaks = seq_breaks(&log.events, &log.starts);
        if !breaks.is_empty() {
            failures.push(format!(
                "sandbox {n}'s WebSocket client ({} connections) has {} seq break(s): {}",
                log.connects.len(),
                breaks.len(),
                breaks.join(", ")
            ));
        }
        let replay_breaks = seq_breaks(stored, &[]);
        if !replay_breaks.is_empty() {
            failures.push(format!(
                "sandbox {n}'s replay from ?since=0 has seq breaks: {}",
                replay_breaks.join(", ")
            ));
        }
        if !log.saw_end {
            failures.push(format!(
                "sandbox {n}'s WebSocket client never saw the end marker"
            ));
        }
        if log.connects.len() < SERVER_KILLS_AT.len() + 1 {
            failures.push(format!(
                "sandbox {n}'s WebSocket client connected only {} time(s): {:?}",
                log.connects.len(),
                log.connects
            ));
        }
        if log.events != *stored {
            let first_difference = log
                .events
                .iter()
                .zip(stored)
                .position(|(a, b)| a != b)
                .unwrap_or(log.events.len().min(stored.len()));
            failures.push(format!(
                "sandbox {n}: the client's {} events differ from the store's {} from event {first_difference}: client {:?} vs store {:?}",
                log.events.len(),
                stored.len(),
                log.events.get(first_difference),
                stored.get(first_difference)
            ));
        }
        for anomaly in &log.anomalies {
            failures.push(format!("sandbox {n}'s WebSocket client: {anomaly}"));
        }
        notes.push(format!(
            "sandbox {n}: {} events, {} connections, drops {:?}",
            log.events.len(),
            log.connects.len(),
            log.drops
        ));
    }

    // --- every answer: 200 with a commit, or a connection error while the server was down ---
    let mut acked: Vec<(&Attempt, String)> = Vec::new();
    let (mut connection_errors, mut retried_ok, mut rollbacks_ok, mut rollbacks_refused) =
        (0, 0, 0, 0);
    let mut unexpected: BTreeMap<String, usize> = BTreeMap::new();
    for attempt in &attempts {
        if let Outcome::Answer { status, body, .. } = &attempt.outcome
            && *status != 200
            && body["code"] != "rollback_out_of_range"
        {
            *unexpected
                .entry(format!("{status} {}", body["code"]))
                .or_default() += 1;
        }
        match (&attempt.op, &attempt.outcome) {
            (_, Outcome::Connection(e)) => {
                connection_errors += 1;
                if !shared.overlaps_down(attempt.sent, attempt.done) {
                    failures.push(format!(
                        "{} failed at the connection while the server was up: {e}",
                        attempt.name()
                    ));
                }
            }
            (_, Outcome::Timeout(e)) => {
                failures.push(format!("{} timed out: {e}", attempt.name()));
            }
            (Op::Execute { attempt: tries, .. }, Outcome::Answer { status: 200, body, text }) => {
                match body["commit_hash"].as_str() {
                    Some(hash) => {
                        if *tries > 0 {
                            retried_ok += 1;
                        }
                        acked.push((attempt, hash.to_owned()));
                    }
                    None if *tries > 0 => failures.push(format!(
                        "{}: the retry of an execute cut off by a server crash answered without a commit (its change is committed but the answer does not name the commit: item 3): {text}",
                        attempt.name()
                    )),
                    None => failures.push(format!(
                        "{}: 200 without a commit_hash for new content: {text}",
                        attempt.name()
                    )),
                }
            }
            (Op::Execute { .. }, Outcome::Answer { status, text, .. }) => failures.push(format!(
                "{} answered {status} (executes must succeed, renderer restarting or not): {text}",
                attempt.name()
            )),
            (Op::Rollback { .. }, Outcome::Answer { status: 200, .. }) => rollbacks_ok += 1,
            (Op::Rollback { .. }, Outcome::Answer { status: 422, body, .. })
                if body["code"] == "rollback_out_of_range" =>
            {
                rollbacks_refused += 1;
            }
            (Op::Rollback { .. }, Outcome::Answer { status, text, .. }) => failures.push(format!(
                "{} answered {status}: {text}",
                attempt.name()
            )),
        }
    }

    // --- every acknowledged commit in git, carrying its change, and in `git_commits` when on
    // the branch; `git_commits` is the branch's session history ---
    let mut rolled_back_acked = 0;
    for (n, id) in ids.iter().enumerate() {
        let hex = id.strip_prefix("sb_").unwrap();
        let checkout = data_dir.join("sandboxes").join(id).join("repo");
        let status = match status_now(&shared, &http, id).await {
            Ok(status) => status,
            Err(e) => {
                failures.push(format!("sandbox {n}: {e}"));
                continue;
            }
        };
        let branch = format!(
            "refs/heads/{}",
            status["branch"].as_str().unwrap_or_default()
        );
        let base = format!("refs/studio/{hex}/base");
        let stored = commit_hashes(&status);
        let history = match git(
            &checkout,
            &["rev-list", "--reverse", &format!("{base}..{branch}")],
        ) {
            Ok(out) => lines(&out),
            Err(e) => {
                failures.push(format!("sandbox {n}: {e}"));
                continue;
            }
        };
        if stored != history {
            let stored_set: BTreeSet<&String> = stored.iter().collect();
            let history_set: BTreeSet<&String> = history.iter().collect();
            failures.push(format!(
                "sandbox {n}: git_commits ({}) is not the branch's history ({}): on the branch but not in git_commits {:?}; in git_commits but not on the branch {:?}",
                stored.len(),
                history.len(),
                history_set.difference(&stored_set).collect::<Vec<_>>(),
                stored_set.difference(&history_set).collect::<Vec<_>>()
            ));
        }
        let on_branch: BTreeSet<String> = history.iter().cloned().collect();
        let undo_refs = lines(
            &git(
                &checkout,
                &[
                    "for-each-ref",
                    "--format=%(refname)",
                    &format!("refs/studio/{hex}/undo/"),
                ],
            )
            .unwrap_or_default(),
        );
        let mut undone = BTreeSet::new();
        if !undo_refs.is_empty() {
            let mut args = vec!["rev-list"];
            args.extend(undo_refs.iter().map(String::as_str));
            match git(&checkout, &args) {
                Ok(out) => undone.extend(lines(&out)),
                Err(e) => failures.push(format!("sandbox {n}: {e}")),
            }
        }
        let stored_set: BTreeSet<&String> = stored.iter().collect();
        for (attempt, hash) in acked.iter().filter(|(a, _)| a.sandbox == n) {
            let Op::Execute { path, content, .. } = &attempt.op else {
                continue;
            };
            match git(&checkout, &["show", &format!("{hash}:{path}")]) {
                Ok(text) if text == *content => {}
                Ok(text) => failures.push(format!(
                    "{}: commit {hash} holds {text:?} at {path}, not the content sent",
                    attempt.name()
                )),
                Err(e) => failures.push(format!(
                    "{}: commit {hash} lacks the change: {e}",
                    attempt.name()
                )),
            }
            if on_branch.contains(hash) {
                if !stored_set.contains(hash) {
                    failures.push(format!(
                        "{}: commit {hash} is on the branch but not in git_commits",
                        attempt.name()
                    ));
                }
            } else if undone.contains(hash) {
                rolled_back_acked += 1;
            } else {
                failures.push(format!(
                    "{}: commit {hash} is neither on {branch} nor under refs/studio/{hex}/undo/",
                    attempt.name()
                ));
            }
        }
        // Every acknowledged commit announced (not part of item 8's list: a note).
        let announced: BTreeSet<&str> = replays[n]
            .iter()
            .filter(|e| e["type"] == "commit")
            .filter_map(|e| e["payload"]["hash"].as_str())
            .collect();
        let unannounced: Vec<&str> = acked
            .iter()
            .filter(|(a, h)| a.sandbox == n && !announced.contains(h.as_str()))
            .map(|(_, h)| h.as_str())
            .collect();
        if !unannounced.is_empty() {
            notes.push(format!(
                "sandbox {n}: acknowledged commits without a commit event: {unannounced:?}"
            ));
        }
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for event in &replays[n] {
            let kind = match event["type"].as_str() {
                Some("status") => format!("status {}", event["payload"]["status"]),
                other => other.unwrap_or("?").to_owned(),
            };
            *kinds.entry(kind).or_default() += 1;
        }
        notes.push(format!(
            "sandbox {n}: {} commits on the branch, {} in git_commits, {} undo refs; {} renderer kills by the killer, `restarts` {}; events {kinds:?}",
            history.len(),
            stored.len(),
            undo_refs.len(),
            kills.iter().filter(|k| k.sandbox == n).count(),
            status["restarts"]
        ));
    }

    let locks = lock_files(&data_dir.join("mirrors"));
    if !locks.is_empty() {
        failures.push(format!(
            "git lock files left in the mirrors at the end (a crash left them; git refuses those refs or indexes until they are removed): {locks:?}"
        ));
    }

    // --- delete, stop, nothing left ---
    for id in &ids {
        let url = format!("{}/api/v1/sandboxes/{id}", studio.base);
        match send(&http, reqwest::Method::DELETE, &url, None).await {
            Outcome::Answer { status: 204, .. } => {}
            other => failures.push(format!("DELETE {id}: {other:?}")),
        }
    }
    let (exit, last_log) = tokio::task::spawn_blocking(move || studio.terminate())
        .await
        .unwrap();
    if !exit.success() {
        failures.push(format!("the last server exited with {exit} on SIGTERM"));
    }
    server_logs.push(last_log);
    let groups: Vec<u32> = seen_groups.lock().unwrap().iter().copied().collect();
    let orphans = poll(Duration::from_secs(30), async || {
        let mut left: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for &group in &groups {
            let members = procs::group_members(group);
            if !members.is_empty() {
                left.insert(
                    format!("renderer group {group}"),
                    members
                        .iter()
                        .map(|&p| format!("{p} {}", comm(p)))
                        .collect(),
                );
            }
        }
        let under = processes_under(&data_dir);
        if !under.is_empty() {
            left.insert(format!("under {}", data_dir.display()), under);
        }
        let sockets_left: Vec<String> = sockets
            .iter()
            .filter(|s| s.exists())
            .map(|s| s.display().to_string())
            .collect();
        if !sockets_left.is_empty() {
            left.insert("renderer sockets".into(), sockets_left);
        }
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{left:#?}"))
        }
    })
    .await;
    if let Err(e) = orphans {
        failures.push(format!("left behind after delete and SIGTERM: {e}"));
    }

    // The chaos really hit what it is meant to: edits while a renderer was gone, requests cut
    // off by a crash.
    let edits_while_down = kills.iter().filter(|k| k.edit_while_down).count();
    if edits_while_down == 0 {
        failures.push(format!(
            "no execute was sent while a renderer had no process ({} kills): the test did not exercise it",
            kills.len()
        ));
    }
    let crashes: Vec<Duration> = shared
        .down
        .lock()
        .unwrap()
        .iter()
        .map(|(from, _)| *from)
        .collect();
    let in_flight = attempts
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Connection(_)))
        .filter(|a| crashes.iter().any(|c| a.sent < *c && a.done >= *c))
        .map(Attempt::name)
        .collect::<Vec<_>>();
    notes.push(format!(
        "{edits_while_down} executes sent while a renderer had no process; {} requests in flight when the server was killed: {in_flight:#?}",
        in_flight.len()
    ));

    // --- the report ---
    if !failures.is_empty() {
        std::fs::create_dir_all(&logs_dir).unwrap();
        for (n, log) in server_logs.iter().enumerate() {
            std::fs::write(logs_dir.join(format!("server-{n}.log")), log).unwrap();
        }
    }
    let executes = attempts
        .iter()
        .filter(|a| matches!(a.op, Op::Execute { .. }))
        .count();
    let rollbacks = attempts.len() - executes;
    let down: Vec<String> = shared
        .down
        .lock()
        .unwrap()
        .iter()
        .map(|(from, to)| format!("{from:.2?}..{:.2?}", to.unwrap_or_default()))
        .collect();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "chaos: {SANDBOXES} sandboxes, {CLIENTS} clients x {OPS_PER_CLIENT} ops; {executes} execute attempts ({} acknowledged with a commit, {retried_ok} of them retries after a crash, {rolled_back_acked} later rolled back), {rollbacks} rollbacks ({rollbacks_ok} done, {rollbacks_refused} out of range), {connection_errors} connection errors; server down {down:?}; {} renderer kills",
        acked.len(),
        kills.len()
    );
    for kill in &kills {
        let _ = writeln!(
            report,
            "  renderer kill at {:.2?}: sandbox {} ({}: {:?}); the edit right after it found {}",
            kill.at,
            kill.sandbox,
            kill.how,
            kill.pids,
            if kill.edit_while_down {
                "no renderer process"
            } else {
                "the renderer's processes still there"
            }
        );
    }
    for note in &notes {
        let _ = writeln!(report, "  {note}");
    }
    if !unexpected.is_empty() {
        let _ = writeln!(
            report,
            "  unexpected answers by status and code: {unexpected:?}"
        );
    }
    println!("{report}");
    assert!(
        failures.is_empty(),
        "{} failure(s):\n- {}\n\n{report}",
        failures.len(),
        failures.join("\n- ")
    );
}
