//! End-to-end latencies of a real `studio serve` (release build), each against a baseline measured
//! in the same run, so the ratios mean something on a shared, noisy machine:
//!
//! | measure | what is timed | baseline | goal |
//! | --- | --- | --- | --- |
//! | create | `POST /sandboxes` → 201 on a warm repository | `restart` of a renderer (the Vite start inside every create) | ≤ 1.5 s |
//! | execute → event | `POST …/execute` sent → its `commit` event read by a WebSocket client | `GET …/{id}` round trip | ≤ 15 ms |
//! | broadcast | one client sends `component-selected` → all 1,000 clients have it | the same with 1 client | ≤ 50 ms |
//! | finalize | `POST …/finalize` of a 10-commit session: push + PR against Prism | one PR request straight to Prism | (p50 reported) |
//!
//! Run: `cargo bench -p studio --bench server` (needs the GitHub peer: `bash tests/setup/npm-github-peer.sh`).
//! Every loop is bounded; every wait has a deadline.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use studio_testkit::bench::{self, Stats};
use studio_testkit::prism::PrismPeer;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::{Api, Studio, WsClient};
use tokio::sync::mpsc;

/// Every wait of the benchmark is bounded by this.
const WAIT: Duration = Duration::from_secs(60);
const BADGE: &str = "src/components/Badge/index.tsx";

fn main() {
    bench::runtime(Some(2)).block_on(run());
}

struct Row {
    name: &'static str,
    samples: Vec<Duration>,
    baseline_name: &'static str,
    baseline: Vec<Duration>,
    goal: Option<Duration>,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", bench::ms(d))
}

fn print(rows: &[Row]) {
    println!();
    println!(
        "{:<16} {:>5} {:>12} {:>12} | {:<28} {:>12} {:>8} | {:>10}",
        "measure", "n", "p50", "p99", "baseline", "p50", "ratio", "goal"
    );
    for row in rows {
        let Stats { p50, p99, .. } = Stats::of(&row.samples);
        let base = bench::percentile(&row.baseline, 0.5);
        let ratio = bench::ratio(p50, base);
        let (goal, verdict) = match row.goal {
            Some(goal) => (ms(goal), if p50 <= goal { "ok" } else { "MISSED" }),
            None => ("-".to_owned(), ""),
        };
        println!(
            "{:<16} {:>5} {:>12} {:>12} | {:<28} {:>12} {:>7.1}x | {:>10} {}",
            row.name,
            row.samples.len(),
            ms(p50),
            ms(p99),
            row.baseline_name,
            ms(base),
            ratio,
            goal,
            verdict
        );
    }
}

async fn run() {
    // GitHub first: the server is told where it is at start.
    let peer = PrismPeer::start().unwrap();
    let remote = Remote::new().await;
    let data = DataDir::new("bench-");
    let studio = Studio::start(
        &ServerConfig::new(&data)
            .env("STUDIO_LOG", "warn")
            .env("STUDIO_GITHUB_API_URL", peer.url())
            .env("GITHUB_TOKEN", "bench-dummy-token")
            // The remote is a local bare repository: `github_repo` cannot be its own name.
            .env("STUDIO_ALLOW_GITHUB_REPOS", "octo-org/hello")
            // The broadcast rounds publish back to back on one connection: they measure the relay,
            // not the coalescing of selections (which would hold each round for up to 100 ms).
            .env("STUDIO_WS_SELECTION_INTERVAL_MS", 0),
    );
    let api = studio.api();
    let request =
        json!({"repository": remote.url(), "branch": "main", "github_repo": "octo-org/hello"});

    // Warm-up: the first sandbox of a data dir installs dependencies into its stores.
    let warm = api.create(&request).await.expect(201).clone();
    let id = warm["sandbox_id"].as_str().unwrap().to_owned();

    let mut rows = Vec::new();
    rows.push(bench_create(&api, &request, &id).await);
    rows.push(bench_execute(&api, &id, warm["websocket_url"].as_str().unwrap()).await);
    rows.push(bench_broadcast(warm["websocket_url"].as_str().unwrap()).await);
    rows.push(bench_finalize(&api, &request, &peer).await);
    print(&rows);
}

async fn bench_create(api: &Api, request: &Value, running: &str) -> Row {
    const CREATES: usize = 10;
    let mut samples = Vec::new();
    for _ in 0..CREATES {
        let started = Instant::now();
        let created = api.create(request).await;
        samples.push(started.elapsed());
        let id = created.expect(201)["sandbox_id"]
            .as_str()
            .unwrap()
            .to_owned();
        api.delete(&format!("/api/v1/sandboxes/{id}"))
            .await
            .expect(204);
    }
    let mut baseline = Vec::new();
    for _ in 0..CREATES {
        let started = Instant::now();
        api.control(running, "restart").await.expect(200);
        baseline.push(started.elapsed());
    }
    Row {
        name: "create → 201",
        samples,
        baseline_name: "restart (Vite start)",
        baseline,
        goal: Some(Duration::from_millis(1500)),
    }
}

async fn bench_execute(api: &Api, id: &str, ws_url: &str) -> Row {
    const EDITS: usize = 100;
    let (_sender, mut reader) = WsClient::connect(ws_url, None).await.unwrap().split();
    // The reader stamps each commit event as it arrives; the event may beat the HTTP answer.
    let (tx, mut arrivals) = mpsc::unbounded_channel::<(String, Instant)>();
    let reading = tokio::spawn(async move {
        while let Ok(event) = reader.next(WAIT).await {
            if event["type"] == "commit" {
                let hash = event["payload"]["hash"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if tx.send((hash, Instant::now())).is_err() {
                    return;
                }
            }
        }
    });
    let mut samples = Vec::new();
    for n in 0..EDITS {
        let source = format!("export const Alert = () => <p>{n}</p>;\n");
        let started = Instant::now();
        let answer = api
            .write_file(
                id,
                "src/components/Alert.tsx",
                &source,
                &format!("bench {n}"),
            )
            .await;
        let hash = answer.commit_hash();
        let arrived = loop {
            let (seen, at) = tokio::time::timeout(WAIT, arrivals.recv())
                .await
                .unwrap()
                .unwrap();
            if seen == hash {
                break at;
            }
        };
        samples.push(arrived - started);
    }
    reading.abort();
    let mut baseline = Vec::new();
    for _ in 0..EDITS {
        let started = Instant::now();
        api.sandbox(id).await.expect(200);
        baseline.push(started.elapsed());
    }
    Row {
        name: "execute → event",
        samples,
        baseline_name: "GET sandbox round trip",
        baseline,
        goal: Some(Duration::from_millis(15)),
    }
}

/// `clients` readers on the stream; each round one publisher message, timed until every reader
/// has it.
async fn broadcast_rounds(ws_url: &str, clients: usize, rounds: usize) -> Vec<Duration> {
    let received = Arc::new(AtomicUsize::new(0));
    let (done_tx, mut done) = mpsc::unbounded_channel::<()>();
    let mut readers = Vec::new();
    for _ in 0..clients {
        let (sender, mut reader) = WsClient::connect(ws_url, None).await.unwrap().split();
        let received = Arc::clone(&received);
        let done_tx = done_tx.clone();
        readers.push(tokio::spawn(async move {
            let _keep_open = sender;
            while let Ok(event) = reader.next(WAIT).await {
                if event["type"] == "component-selected"
                    && received.fetch_add(1, Ordering::AcqRel) + 1 == clients
                {
                    let _ = done_tx.send(());
                }
            }
        }));
    }
    let (mut publisher, _echo) = WsClient::connect(ws_url, None).await.unwrap().split();
    let mut samples = Vec::new();
    for round in 0..rounds {
        received.store(0, Ordering::Release);
        let started = Instant::now();
        publisher
            .send(&json!({"type": "component-selected", "payload": {"component": format!("round-{round}")}}))
            .await;
        tokio::time::timeout(WAIT, done.recv())
            .await
            .unwrap()
            .unwrap();
        samples.push(started.elapsed());
    }
    for reader in readers {
        reader.abort();
    }
    samples
}

async fn bench_broadcast(ws_url: &str) -> Row {
    const BROADCAST_CLIENTS: usize = 1_000;
    const BROADCAST_ROUNDS: usize = 30;
    let baseline = broadcast_rounds(ws_url, 1, BROADCAST_ROUNDS).await;
    let samples = broadcast_rounds(ws_url, BROADCAST_CLIENTS, BROADCAST_ROUNDS).await;
    Row {
        name: "broadcast ×1000",
        samples,
        baseline_name: "same, 1 client",
        baseline,
        goal: Some(Duration::from_millis(50)),
    }
}

async fn bench_finalize(api: &Api, request: &Value, peer: &PrismPeer) -> Row {
    const FINALIZES: usize = 5;
    const SESSION_COMMITS: usize = 10;
    let mut samples = Vec::new();
    for _ in 0..FINALIZES {
        let created = api.create(request).await.expect(201).clone();
        let id = created["sandbox_id"].as_str().unwrap().to_owned();
        for n in 0..SESSION_COMMITS {
            let source = format!("export const Badge = () => <span>{n}</span>;\n");
            api.commit(&id, BADGE, &source, &format!("step {n}")).await;
        }
        let started = Instant::now();
        let answer = api.finalize(&id, "Bench", "Ten commits").await;
        samples.push(started.elapsed());
        assert_eq!(answer.expect(200)["pr_number"], 1347);
    }
    // One pull-request call straight to the peer: the GitHub share of a finalize.
    let client = reqwest::Client::new();
    let mut baseline = Vec::new();
    for _ in 0..FINALIZES {
        let started = Instant::now();
        let answer = client
            .post(format!("{}/repos/octo-org/hello/pulls", peer.url()))
            .json(&json!({"title": "t", "head": "design/studio-0123456789abcdef", "base": "main", "body": "b"}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201);
        baseline.push(started.elapsed());
    }
    Row {
        name: "finalize (10)",
        samples,
        baseline_name: "one PR call to Prism",
        baseline,
        goal: None,
    }
}
