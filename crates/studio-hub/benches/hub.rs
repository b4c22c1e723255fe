//! Time to deliver one event to 1,000 connected clients, against `tokio::sync::broadcast`.
//!
//! Run with `cargo bench -p studio-hub --bench hub`. Each client is a task awaiting its queue; a
//! round measures from just before `publish` until the last client has received the event (the
//! last receiver records the time). The baseline does the same with one broadcast channel and
//! 1,000 receivers, in the same process and on the same runtime, so the ratio is meaningful on a
//! noisy shared machine even when the absolute numbers are not.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use studio_core::{Event, EventKind, SandboxId};
use studio_hub::{Hub, HubConfig};
use studio_testkit::bench::{self, Stats, ms};
use tokio::sync::{Notify, broadcast};

const CLIENTS: usize = 1_000;
const WARMUP_ROUNDS: usize = 20;
const ROUNDS: usize = 300;

fn event(seq: u64) -> Event {
    Event {
        kind: EventKind::Commit,
        payload: json!({"hash": format!("{seq:040x}"), "message": "AI: Updated border-radius - 2026-11-22 14:30"}),
        seq,
    }
}

/// One measured round. All rounds are allocated up front and found by the event's `seq`, so the
/// clients share no lock with the driver or each other (only one atomic counter per round).
struct Round {
    /// Nanoseconds since `Rounds::epoch` at which the driver called publish.
    started_ns: AtomicU64,
    remaining: AtomicUsize,
    /// Nanoseconds since `Rounds::epoch` at which the last client received, written by that client.
    finished_ns: AtomicU64,
    done: Notify,
}

struct Rounds {
    epoch: Instant,
    rounds: Vec<Round>,
}

impl Rounds {
    fn new() -> Arc<Self> {
        let rounds = (0..WARMUP_ROUNDS + ROUNDS)
            .map(|_| Round {
                started_ns: AtomicU64::new(0),
                remaining: AtomicUsize::new(CLIENTS),
                finished_ns: AtomicU64::new(0),
                done: Notify::new(),
            })
            .collect();
        Arc::new(Self {
            epoch: Instant::now(),
            rounds,
        })
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn get(&self, seq: u64) -> &Round {
        &self.rounds[seq as usize - 1]
    }

    /// Called by each client on receiving event `seq`.
    fn received(&self, seq: u64) {
        let round = self.get(seq);
        if round.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            round.finished_ns.store(self.now_ns(), Ordering::Release);
            round.done.notify_one();
        }
    }
}

struct Sample {
    deliver: Vec<Duration>,
    publish_call: Vec<Duration>,
}

async fn run_rounds(rounds: &Rounds, mut publish: impl FnMut(u64)) -> Sample {
    let mut sample = Sample {
        deliver: Vec::with_capacity(ROUNDS),
        publish_call: Vec::with_capacity(ROUNDS),
    };
    for seq in 1..=(WARMUP_ROUNDS + ROUNDS) as u64 {
        let round = rounds.get(seq);
        let started = rounds.now_ns();
        round.started_ns.store(started, Ordering::Release);
        publish(seq);
        let call = Duration::from_nanos(rounds.now_ns() - started);
        tokio::time::timeout(Duration::from_secs(30), round.done.notified())
            .await
            .expect("not every client received the event within 30 s");
        if seq as usize > WARMUP_ROUNDS {
            let finished = round.finished_ns.load(Ordering::Acquire);
            sample
                .deliver
                .push(Duration::from_nanos(finished - started));
            sample.publish_call.push(call);
        }
    }
    sample
}

async fn bench_hub() -> Sample {
    let hub = Hub::new(HubConfig::default());
    let id = SandboxId::from_random([7; 8]);
    let rounds = Rounds::new();
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let mut sub = hub.subscribe(&id);
        let rounds = Arc::clone(&rounds);
        clients.push(tokio::spawn(async move {
            while let Ok(event) = sub.recv().await {
                rounds.received(event.seq());
            }
        }));
    }
    assert_eq!(hub.client_count(&id), CLIENTS);
    let sample = run_rounds(&rounds, |seq| {
        let queued = hub.publish(&id, event(seq));
        assert_eq!(queued, CLIENTS, "a client was dropped during the benchmark");
    })
    .await;
    hub.close_topic(&id);
    for client in clients {
        client.await.expect("hub client task panicked");
    }
    sample
}

async fn bench_broadcast() -> Sample {
    let (tx, _) = broadcast::channel::<Arc<Event>>(256);
    let rounds = Rounds::new();
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let mut rx = tx.subscribe();
        let rounds = Arc::clone(&rounds);
        clients.push(tokio::spawn(async move {
            while let Ok(event) = rx.recv().await {
                rounds.received(event.seq);
            }
        }));
    }
    let sample = run_rounds(&rounds, |seq| {
        let receivers = tx.send(Arc::new(event(seq))).unwrap_or(0);
        assert_eq!(receivers, CLIENTS);
    })
    .await;
    drop(tx);
    for client in clients {
        client.await.expect("broadcast client task panicked");
    }
    sample
}

fn report(name: &str, sample: &Sample) -> (Duration, Duration) {
    let (deliver, call) = (Stats::of(&sample.deliver), Stats::of(&sample.publish_call));
    println!(
        "{name:<28} deliver to last client: p50 {:>7.3} ms  p99 {:>7.3} ms   publish call: p50 {:>7.3} ms  p99 {:>7.3} ms",
        ms(deliver.p50),
        ms(deliver.p99),
        ms(call.p50),
        ms(call.p99)
    );
    (deliver.p50, deliver.p99)
}

fn main() {
    let runtime = bench::runtime(None);
    println!(
        "one event to {CLIENTS} client tasks, {ROUNDS} rounds after {WARMUP_ROUNDS} warm-up rounds, {} runtime workers",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // Interleave the two so that background load on the machine hits both alike.
    let baseline_first = runtime.block_on(bench_broadcast());
    let hub = runtime.block_on(bench_hub());
    let baseline_again = runtime.block_on(bench_broadcast());
    let mut baseline = baseline_first;
    baseline.deliver.extend(baseline_again.deliver);
    baseline.publish_call.extend(baseline_again.publish_call);

    let (base50, base99) = report("tokio broadcast (baseline)", &baseline);
    let (hub50, hub99) = report("studio-hub", &hub);
    println!(
        "ratio hub/baseline: p50 {:.2}x  p99 {:.2}x   (goal: p99 <= 50 ms: {})",
        hub50.as_secs_f64() / base50.as_secs_f64(),
        hub99.as_secs_f64() / base99.as_secs_f64(),
        if hub99 <= Duration::from_millis(50) {
            "met"
        } else {
            "NOT met"
        }
    );
}
