//! The WebSocket event stream of a real server: every client sees every event in order, client
//! messages are relayed to all (sender included), a reconnect with `?since=` replays exactly what
//! was missed, a rollback sends `reload`, and a client that does not read is dropped alone.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::ws::Ended;
use support::{Studio, WsClient};

const WAIT: Duration = Duration::from_secs(30);
const BUTTON: &str = "src/components/Button/Button.tsx";

fn selected(component: &str) -> Value {
    json!({"type": "component-selected", "payload": {"component": component}})
}

/// Long names (the server accepts up to 200 characters) make big events, so fewer are needed.
fn component_name(n: usize) -> String {
    format!("{n:06}-{}", "x".repeat(190))
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

/// Each `seq` is one more than the one before.
fn assert_consecutive(events: &[Value]) {
    let seqs = seqs(events);
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "seq gap or reorder in {events:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_get_every_event_in_order_and_replay_what_they_missed() {
    let remote = Remote::new().await;
    let data = DataDir::new("ws-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let ws_url = created["websocket_url"].as_str().unwrap().to_owned();
    let mut a = WsClient::connect(&ws_url, None).await.unwrap();
    let mut b = WsClient::connect(&ws_url, None).await.unwrap();

    // --- two clients, three commits: the same events, in order, with consecutive seq ---
    let mut hashes = Vec::new();
    for n in 0..3 {
        let source = format!("export const Button = () => <button>{n}</button>;\n");
        hashes.push(api.commit(&id, BUTTON, &source, &format!("edit {n}")).await);
    }
    let status = api.status_of(&id).await;
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for _ in 0..3 {
        seen_a.extend(a.until("commit", WAIT).await);
        seen_b.extend(b.until("commit", WAIT).await);
    }
    assert_eq!(seen_a, seen_b, "both clients see the same stream");
    assert_consecutive(&seen_a);
    let commits: Vec<&Value> = seen_a.iter().filter(|e| e["type"] == "commit").collect();
    assert_eq!(commits.len(), 3, "{seen_a:#?}");
    for (n, event) in commits.iter().enumerate() {
        assert_eq!(event["payload"]["hash"], hashes[n].as_str());
        assert_eq!(
            event["payload"]["message"],
            status["git_commits"][n]["message"]
        );
    }

    // --- component-selected from one client reaches both, the sender included ---
    a.send(&selected("Button")).await;
    let at_a = a.event(WAIT).await;
    let at_b = b.event(WAIT).await;
    assert_eq!(at_a, at_b);
    assert_eq!(at_a["type"], "component-selected");
    assert_eq!(at_a["payload"], json!({"component": "Button"}));
    assert_eq!(
        at_a["seq"].as_u64().unwrap(),
        seqs(&seen_a).last().unwrap() + 1
    );

    // --- a message the server does not accept is answered to its sender only ---
    a.send(&json!({"type": "delete-everything", "payload": {}}))
        .await;
    let refusal = a.event(WAIT).await;
    assert_eq!(refusal["type"], "error", "{refusal}");
    assert_eq!(
        refusal["payload"]["code"], "unknown_message_type",
        "{refusal}"
    );
    a.send(&json!({"type": "component-selected", "payload": {}}))
        .await;
    let refusal = a.event(WAIT).await;
    assert_eq!(refusal["payload"]["code"], "invalid_message", "{refusal}");

    // --- b goes away; what it misses is replayed on reconnect with ?since= ---
    let last_seen_by_b = at_b["seq"].as_u64().unwrap();
    b.close().await;
    hashes.push(
        api.commit(
            &id,
            BUTTON,
            "export const Button = () => <button>4</button>;\n",
            "edit 4",
        )
        .await,
    );
    a.send(&selected("Card")).await;
    let mut missed = a.until("commit", WAIT).await;
    missed.extend(a.until("component-selected", WAIT).await);
    assert_eq!(
        missed.first().unwrap()["seq"].as_u64().unwrap(),
        last_seen_by_b + 1,
        "{missed:#?}"
    );

    let mut b = WsClient::connect(&format!("{ws_url}?since={last_seen_by_b}"), None)
        .await
        .unwrap();
    let mut replayed = Vec::new();
    for _ in 0..missed.len() {
        replayed.push(b.event(WAIT).await);
    }
    assert_eq!(replayed, missed, "the replay is exactly what was missed");
    // Nothing more: the next event b gets is a new one, seen by a as well.
    a.send(&selected("Marker")).await;
    let next_b = b.event(WAIT).await;
    assert_eq!(next_b["payload"]["component"], "Marker", "{next_b}");
    assert_eq!(
        next_b["seq"].as_u64().unwrap(),
        replayed.last().unwrap()["seq"].as_u64().unwrap() + 1
    );
    assert_eq!(a.event(WAIT).await, next_b);

    // --- rollback: both get `reload` with the new head ---
    let rolled = api.rollback(&id, &json!({"steps": 1})).await;
    let head = rolled.expect(200)["current_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(head, hashes[2]);
    for client in [&mut a, &mut b] {
        let events = client.until("reload", WAIT).await;
        assert_eq!(
            events.len(),
            1,
            "only `reload` after a rollback: {events:#?}"
        );
        assert_eq!(events[0]["payload"]["commit_hash"], head.as_str());
    }

    // --- an unknown sandbox has no stream ---
    let refused = WsClient::connect(&ws_url.replace(&id, "sb_00000000000000ff"), None)
        .await
        .err()
        .unwrap();
    assert_eq!(refused.status, 404, "{refused:?}");
    assert!(refused.body.contains("sandbox_not_found"), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_is_dropped_and_the_others_get_everything() {
    // About 1 MB: several times what the TCP buffers between the server and a client that never
    // reads hold (the server bounds its send buffers; the client's receive buffer is 4 KiB), plus
    // the client's queue in the hub.
    const EVENTS: usize = 4_000;
    let remote = Remote::new().await;
    let data = DataDir::new("ws-slow-");
    // One client publishes every event here: lift the per-connection rate limit and selection
    // coalescing (tests/limits.rs covers those), so that each message is one event.
    let studio = Studio::start(
        &ServerConfig::new(&data)
            .env("STUDIO_WS_MESSAGES_PER_SECOND", 1_000_000)
            .env("STUDIO_WS_SELECTION_INTERVAL_MS", 0),
    );
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let ws_url = created["websocket_url"].as_str().unwrap().to_owned();

    // Connected first, never read until the end.
    let mut slow = WsClient::connect_with_small_buffer(&ws_url).await.unwrap();
    let keeping_up = WsClient::connect(&ws_url, None).await.unwrap();
    let (mut publisher, publisher_echo) = WsClient::connect(&ws_url, None).await.unwrap().split();

    let read_all = |mut client: support::ws::WsReader| {
        tokio::spawn(async move {
            let mut events = Vec::new();
            loop {
                match client.next(Duration::from_secs(60)).await {
                    Ok(event) => {
                        let done = event["payload"]["component"] == "done";
                        events.push(event);
                        if done {
                            return Ok(events);
                        }
                    }
                    Err(ended) => return Err((ended, events.len())),
                }
            }
        })
    };
    // Sending halves stay alive (and the connections open) until the end of the test.
    let (_fast_sender, fast_reader) = keeping_up.split();
    let fast = read_all(fast_reader);
    let echo = read_all(publisher_echo);
    for n in 0..EVENTS {
        publisher.send(&selected(&component_name(n))).await;
    }
    publisher.send(&selected("done")).await;

    let fast = fast
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the reading client lost its stream: {e:?}"));
    assert_eq!(fast.len(), EVENTS + 1);
    for (n, event) in fast.iter().take(EVENTS).enumerate() {
        assert_eq!(
            event["payload"]["component"],
            component_name(n),
            "order at {n}"
        );
    }
    assert_consecutive(&fast);
    let echo = echo
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the publisher lost its stream: {e:?}"));
    assert_eq!(
        echo, fast,
        "the sender gets its own messages back, like everyone"
    );

    // The server dropped it on its own: only the two readers are still connected.
    let api = studio.api();
    support::eventually("the slow client to be dropped", WAIT, async || {
        let metrics = api.get("/metrics").await.text;
        let clients = metrics
            .lines()
            .find(|l| l.starts_with("studio_websocket_clients "))
            .unwrap_or_default()
            .to_owned();
        if clients.ends_with(" 2") {
            Ok(())
        } else {
            Err(clients)
        }
    })
    .await;
    // The slow client got what fitted into its connection, then the server gave up on it.
    let mut got = Vec::new();
    let ended = loop {
        match slow.next(Duration::from_secs(30)).await {
            Ok(event) => got.push(event),
            Err(ended) => break ended,
        }
    };
    assert!(
        got.len() < EVENTS,
        "the client that never read got all {} events",
        got.len()
    );
    assert!(
        matches!(ended, Ended::Closed(_) | Ended::Dropped(_)),
        "the slow client was not disconnected: {ended:?} after {} events",
        got.len()
    );
    assert_eq!(got[..], fast[..got.len()], "what it got was in order");

    // It loses nothing: reconnecting with ?since= replays the rest.
    let since = match got.last() {
        Some(event) => event["seq"].as_u64().unwrap(),
        None => fast[0]["seq"].as_u64().unwrap() - 1,
    };
    let mut again = WsClient::connect(&format!("{ws_url}?since={since}"), None)
        .await
        .unwrap();
    for expected in &fast[got.len()..] {
        assert_eq!(&again.event(WAIT).await, expected);
    }
}

/// A browser page may open a sandbox's socket only from the API's hosts (the dashboard), that
/// sandbox's own preview, or an origin listed with `--cors-origin`: not from another site, and not
/// from another sandbox's preview, whose repository code is untrusted. Clients that send no
/// `Origin` (the CLI, servers) are not pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_dashboard_the_own_preview_and_listed_origins_open_a_socket() {
    const TOOL: &str = "https://tool.example";
    let remote = Remote::new().await;
    let data = DataDir::new("ws-origin-");
    let studio = Studio::start(&ServerConfig::new(&data).env("STUDIO_CORS_ORIGINS", TOOL));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let ws_url = created["websocket_url"].as_str().unwrap().to_owned();
    let own_preview = created["renderer_url"]
        .as_str()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let port = studio.port;

    for allowed in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        own_preview.clone(),
        TOOL.to_owned(),
    ] {
        let mut client = WsClient::connect_from(&ws_url, &allowed)
            .await
            .unwrap_or_else(|refused| panic!("{allowed} was refused: {refused:?}"));
        // It is a working subscription: the sandbox's history replays.
        client.send(&selected("Badge")).await;
        assert_eq!(
            client.next_of("component-selected", WAIT).await["payload"]["component"],
            "Badge"
        );
    }
    let other_preview = format!("http://sb-00000000000000ff.localhost:{port}");
    for refused in [
        "https://evil.example".to_owned(),
        other_preview,
        format!("http://localhost.evil.example:{port}"),
        "null".to_owned(),
    ] {
        let answer = WsClient::connect_from(&ws_url, &refused).await;
        let Err(refusal) = answer else {
            panic!("{refused} opened the socket");
        };
        assert_eq!(refusal.status, 403, "{refused}: {refusal:?}");
        assert!(
            refusal.body.contains("origin_not_allowed"),
            "{}",
            refusal.body
        );
    }
    // No Origin: not a browser page.
    WsClient::connect(&ws_url, None).await.unwrap();
}
