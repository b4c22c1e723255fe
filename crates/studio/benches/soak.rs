//! Soak: mixed traffic on 10 sandboxes for a long time, watching what must stay flat.
//!
//! Every `SAMPLE_EVERY` the bench prints the server's resident memory (`VmRSS`), its open file
//! descriptors, the size of the event table (`SELECT count(*) FROM events` on the server's SQLite
//! file) and how many requests and events went by. The goal is a flat line: memory and
//! descriptors back where they were once the traffic settles, the event table bounded by pruning
//! (the server runs with a short `--event-retention-hours`, so pruning happens during the run).
//!
//! The traffic, round-robin over the sandboxes: a write (execute, auto-committed), every 13th
//! operation a rollback of one step, a `component-selected` over each sandbox's WebSocket, and
//! status and log reads; one WebSocket client per sandbox reads every event.
//!
//! Run: `cargo bench -p studio --bench soak` (30 minutes; `STUDIO_SOAK_MINUTES=2` for a short run;
//! `STUDIO_SOAK_LAUNCHER="heaptrack -o /tmp/soak"` starts the server under a profiler).
//! Every loop is bounded by the deadline and an operation cap; every wait has a deadline.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use studio_testkit::bench;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::{Studio, WsClient};

const SANDBOXES: usize = 10;
const SAMPLE_EVERY: Duration = Duration::from_secs(60);
/// An upper bound on operations whatever the duration (about 20 per second at most).
const MAX_OPERATIONS: usize = 200_000;
/// Events older than this are pruned while the soak runs: 6 minutes.
const RETENTION_HOURS: f64 = 0.1;

fn main() {
    bench::runtime(Some(2)).block_on(run());
}

fn minutes() -> u64 {
    std::env::var("STUDIO_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(30)
}

/// What is sampled: resident KiB, open descriptors, rows of the event table.
struct Sample {
    rss_kib: u64,
    fds: usize,
    events: u64,
}

fn sample(pid: u32, database: &std::path::Path) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let out = std::process::Command::new("sqlite3")
        .arg(database)
        .arg("SELECT count(*) FROM events")
        .output()
        .expect("sqlite3 (Debian package sqlite3) counts the event table");
    let events = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    Sample {
        rss_kib,
        fds,
        events,
    }
}

fn print_sample(label: &str, s: &Sample, operations: usize, received: usize) {
    println!(
        "{label:>8} | rss {:>8} KiB | fds {:>5} | event rows {:>7} | operations {:>7} | events received {:>8}",
        s.rss_kib, s.fds, s.events, operations, received
    );
}

async fn run() {
    let remote = Remote::new().await;
    let data = DataDir::new("soak-");
    let mut config = ServerConfig::new(&data)
        .env("STUDIO_EVENT_RETENTION_HOURS", RETENTION_HOURS)
        // The soak is not about the per-client limits (tests/limits.rs covers them).
        .env("STUDIO_WS_MESSAGES_PER_SECOND", 1_000);
    // A profiler to start the server under, e.g. `STUDIO_SOAK_LAUNCHER="heaptrack -o /tmp/soak"`.
    if let Ok(launcher) = std::env::var("STUDIO_SOAK_LAUNCHER") {
        config.launcher = launcher.split_whitespace().map(str::to_owned).collect();
    }
    let studio = Studio::start(&config);
    let api = studio.api();
    let database = data.path().join("studio.db");
    let mut ids = Vec::new();
    let received = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..SANDBOXES {
        let created = api.create_ok(&remote.url()).await;
        ids.push(created["sandbox_id"].as_str().unwrap().to_owned());
        let ws = created["websocket_url"].as_str().unwrap();
        let (sender, mut reader) = WsClient::connect(ws, None).await.unwrap().split();
        senders.push(sender);
        let counter = received.clone();
        tokio::spawn(async move {
            // Ends when the connection does, at the end of the run.
            while reader.next(Duration::from_secs(3600)).await.is_ok() {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let start = sample(studio.pid(), &database);
    println!(
        "soak: {SANDBOXES} sandboxes, {} minutes, event retention {RETENTION_HOURS} h",
        minutes()
    );
    print_sample("start", &start, 0, 0);

    let deadline = Instant::now() + Duration::from_secs(minutes() * 60);
    let mut next_sample = Instant::now() + SAMPLE_EVERY;
    let mut operations = 0;
    let mut failures = 0;
    let mut samples = vec![start];
    while Instant::now() < deadline && operations < MAX_OPERATIONS {
        let i = operations % SANDBOXES;
        let id = &ids[i];
        // Every 13th operation (13 and the sandbox count share no factor, so every sandbox gets
        // writes and rollbacks) rolls one step back.
        let answer = if operations % 13 == 12 {
            api.rollback(id, &json!({"steps": 1})).await
        } else {
            let path = format!("src/soak/file-{}.txt", operations % 7);
            api.write_file(id, &path, &format!("operation {operations}\n"), "soak")
                .await
        };
        if answer.status >= 400 {
            failures += 1;
            if failures <= 5 {
                println!("operation {operations}: {} {}", answer.status, answer.text);
            }
        }
        senders[i]
            .send(&json!({"type": "component-selected", "payload": {"component": format!("C{operations}")}}))
            .await;
        if operations % 5 == 0 {
            api.status_of(id).await;
            api.get(&format!("/api/v1/sandboxes/{id}/logs?limit=50"))
                .await;
        }
        operations += 1;
        if Instant::now() >= next_sample {
            next_sample += SAMPLE_EVERY;
            let s = sample(studio.pid(), &database);
            print_sample(
                &format!("{}m", samples.len()),
                &s,
                operations,
                received.load(Ordering::Relaxed),
            );
            samples.push(s);
        }
    }
    let end = sample(studio.pid(), &database);
    print_sample("end", &end, operations, received.load(Ordering::Relaxed));
    let first = &samples[0];
    println!(
        "change start → end: rss {:+} KiB, fds {:+}, event rows {:+} (bounded by pruning: at most \
         about 1.5 × {RETENTION_HOURS} h of events); failed operations: {failures}",
        end.rss_kib as i64 - first.rss_kib as i64,
        end.fds as i64 - first.fds as i64,
        end.events as i64 - first.events as i64,
    );
    for id in &ids {
        api.delete(&format!("/api/v1/sandboxes/{id}")).await;
    }
}
