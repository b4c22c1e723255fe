//! One ordered event stream per sandbox, whoever produces its events: several WebSocket clients
//! select components as fast as the server lets them while edits commit, and every client (the
//! producers included) gets every event exactly once, in `seq` order, exactly as the store replays
//! it. Before the sandbox's actor was the one writer of its stream, two producers could publish
//! out of `seq` order and a subscriber skipped the older event (a gap here). On PostgreSQL, where
//! appends of concurrent producers complete in any order, that happened within seconds; on
//! SQLite (one writer connection) the window is much narrower, and the test runs there too.

#![allow(clippy::unwrap_used)]

mod pg_database;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::WsClient;
use support::ws::WsReader;

const WAIT: Duration = Duration::from_secs(60);
const BUTTON: &str = "src/components/Button/Button.tsx";
/// Clients that send selections (and read, like every client).
const PRODUCERS: usize = 6;
/// Clients that only read.
const OBSERVERS: usize = 2;
const EDITS: usize = 12;
/// The producers keep going at least this long, edits or not.
const AT_LEAST: Duration = Duration::from_secs(5);
/// Under the server's 20 messages per second per connection, so nothing is refused; the
/// server coalesces them to one stored selection per 100 ms and connection.
const SEND_EVERY: Duration = Duration::from_millis(60);
const END: &str = "END-OF-TEST";

fn selected(component: &str) -> Value {
    json!({"type": "component-selected", "payload": {"component": component}})
}

fn is_end(event: &Value) -> bool {
    event["type"] == "component-selected" && event["payload"]["component"] == END
}

/// Every event up to and including the end marker.
async fn read_to_end(mut reader: WsReader) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let event = match reader.next(WAIT).await {
            Ok(event) => event,
            Err(ended) => panic!("stream ended before the marker ({ended:?}); got {seen:#?}"),
        };
        let end = is_end(&event);
        seen.push(event);
        if end {
            return seen;
        }
    }
}

/// Each `seq` exactly one more than the one before: no gap, no repeat, no reordering.
fn check_gap_free(who: &str, events: &[Value]) -> Result<(), String> {
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let wrong: Vec<String> = seqs
        .windows(2)
        .filter(|pair| pair[1] != pair[0] + 1)
        .map(|pair| format!("{} then {}", pair[0], pair[1]))
        .collect();
    if wrong.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{who}: {} breaks in seq {}..={}: {}",
        wrong.len(),
        seqs[0],
        seqs[seqs.len() - 1],
        wrong.join(", ")
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_concurrent_producers_never_make_a_client_miss_or_repeat_an_event() {
    let database = pg_database::Database::create("order");
    let data = DataDir::new("order-pg-");
    stream_stays_in_order(&ServerConfig::new(&data).env("DATABASE_URL", &database.url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_concurrent_producers_never_make_a_client_miss_or_repeat_an_event() {
    let data = DataDir::new("order-");
    stream_stays_in_order(&ServerConfig::new(&data)).await;
}

async fn stream_stays_in_order(config: &ServerConfig) {
    let remote = Remote::new().await;
    let studio = support::Studio::start(config);
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let ws_url = created["websocket_url"].as_str().unwrap().to_owned();

    let mut readers = tokio::task::JoinSet::new();
    let mut senders = Vec::new();
    for n in 0..PRODUCERS + OBSERVERS {
        let (sender, reader) = WsClient::connect(&ws_url, None).await.unwrap().split();
        readers.spawn(async move { (n, read_to_end(reader).await) });
        if n < PRODUCERS {
            senders.push(sender);
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mut producers = tokio::task::JoinSet::new();
    for (p, mut sender) in senders.into_iter().enumerate() {
        let stop = stop.clone();
        producers.spawn(async move {
            let mut tick = tokio::time::interval(SEND_EVERY);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                assert!(
                    sender
                        .try_send_text(selected(&format!("p{p}-{n}")).to_string())
                        .await,
                    "producer {p} was disconnected"
                );
                n += 1;
            }
            sender
        });
    }
    let started = Instant::now();
    let mut hashes = Vec::new();
    for n in 0..EDITS {
        let source = format!("export const Button = () => <button>{n}</button>;\n");
        hashes.push(api.commit(&id, BUTTON, &source, &format!("edit {n}")).await);
    }
    if let Some(left) = AT_LEAST.checked_sub(started.elapsed()) {
        // Not a synchronisation: the producers are meant to run this long beside the edits.
        tokio::time::sleep(left).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut senders = producers.join_all().await;
    // Sent after every other selection of its own connection; the other connections' last
    // selections may still be stored after it, which the checks below allow for.
    senders[0]
        .try_send_text(selected(END).to_string())
        .await
        .then_some(())
        .unwrap();

    let mut streams = readers.join_all().await;
    streams.sort_by_key(|(n, _)| *n);
    let failures: Vec<String> = streams
        .iter()
        .filter_map(|(n, events)| check_gap_free(&format!("client {n}"), events).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // What each client saw is what the store replays, event for event.
    let first = streams
        .iter()
        .map(|(_, events)| events[0]["seq"].as_u64().unwrap())
        .min()
        .unwrap();
    let replay = WsClient::connect(&format!("{ws_url}?since={}", first - 1), None)
        .await
        .unwrap();
    let stored = read_to_end(replay.reader).await;
    check_gap_free("the replay", &stored).unwrap();
    for (n, events) in &streams {
        let from = events[0]["seq"].as_u64().unwrap();
        let offset = usize::try_from(from - first).unwrap();
        assert_eq!(
            events.as_slice(),
            &stored[offset..],
            "client {n} saw something else than the store holds"
        );
    }

    // The stream really was contended: every edit and many selections are in it.
    let commits: Vec<&Value> = stored.iter().filter(|e| e["type"] == "commit").collect();
    let committed: Vec<&str> = commits
        .iter()
        .map(|e| e["payload"]["hash"].as_str().unwrap())
        .collect();
    assert_eq!(committed, hashes, "every edit's commit event, in order");
    let selections = stored
        .iter()
        .filter(|e| e["type"] == "component-selected")
        .count();
    assert!(
        selections >= 5 * PRODUCERS,
        "only {selections} selections were stored: the test did not contend"
    );
}
