//! Two promises about time and repetition: restart requests that arrive while one is in flight
//! join it (one restart, every caller answered with its outcome), and the inactivity deadline is
//! the stored last activity plus the timeout, whatever the server does meanwhile (a restart of the
//! server neither extends nor shortens it).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::{Studio, WsClient};

const WAIT: Duration = Duration::from_secs(60);
const RESTARTS: usize = 5;

/// Everything a client gets up to and including a marker selection it sends now.
async fn events_until_marker(client: &mut WsClient, marker: &str) -> Vec<Value> {
    client
        .send(&json!({"type": "component-selected", "payload": {"component": marker}}))
        .await;
    let mut seen = Vec::new();
    loop {
        let event = client.event(WAIT).await;
        let done = event["type"] == "component-selected" && event["payload"]["component"] == marker;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_restarts_join_the_one_in_flight() {
    let remote = Remote::new().await;
    let data = DataDir::new("restarts-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let mut client = WsClient::connect(created["websocket_url"].as_str().unwrap(), None)
        .await
        .unwrap();

    // A renderer restart takes a good part of a second; the requests all leave at once.
    let answers =
        futures::future::join_all((0..RESTARTS).map(|_| api.control(&id, "restart"))).await;
    for answer in &answers {
        assert_eq!(answer.expect(200)["status"], "running");
    }
    // `resources` is read live from the cgroup as each answer is made: the rest is the outcome.
    let bodies: Vec<Value> = answers
        .iter()
        .map(|a| {
            let mut body = a.body.clone();
            body.as_object_mut().unwrap().remove("resources");
            body
        })
        .collect();
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "every caller gets the same outcome: {bodies:#?}"
    );

    let events = events_until_marker(&mut client, "after the restarts").await;
    let statuses: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "status")
        .map(|e| e["payload"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["restarting", "running"],
        "{RESTARTS} concurrent requests restart once: {events:#?}"
    );
    // The one restart was a requested one, not a crash.
    assert_eq!(api.status_of(&id).await["restarts"], 0);
}

/// 0.004 h = 14.4 s.
const TIMEOUT_HOURS: &str = "0.004";
const TIMEOUT: Duration = Duration::from_millis(14_400);
/// How late the expiry may be announced (the actor's wake-up, the event's way to the client).
const LATE: Duration = Duration::from_millis(1_500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_deadline_is_kept_across_a_server_restart() {
    let remote = Remote::new().await;
    let data = DataDir::new("idle-restart-");
    let config = ServerConfig::new(&data).env("COMPONENT_STUDIO_TIMEOUT_HOURS", TIMEOUT_HOURS);
    let first = Studio::start(&config);
    let api = first.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();

    // The last activity: an edit, somewhere between these two instants.
    let sent = Instant::now();
    api.commit(
        &id,
        "src/components/Alert.tsx",
        "export const Alert = () => null;\n",
        "Quiet alert",
    )
    .await;
    let answered = Instant::now();

    // Not a synchronisation: the server is to be down for a while of the idle period, so that a
    // clock started afresh by the restart would expire clearly later than the stored deadline.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (exit, log) = first.terminate();
    assert!(exit.success(), "studio exited with {exit}:\n{log}");
    let second = Studio::start(&config);
    let restarted = Instant::now();
    assert!(
        restarted > answered + LATE + Duration::from_secs(1),
        "the restart came too soon to tell the deadlines apart"
    );
    let api = second.api();
    let status = api.status_of(&id).await;
    assert_eq!(status["status"], "running", "{status}");
    let mut client = WsClient::connect(status["websocket_url"].as_str().unwrap(), None)
        .await
        .unwrap();
    let expired = loop {
        let event = client.event(TIMEOUT + WAIT).await;
        if event["type"] == "status" && event["payload"]["status"] == "expired" {
            break Instant::now();
        }
    };
    assert!(
        expired >= sent + TIMEOUT,
        "expired {:?} after the last activity, before its timeout of {TIMEOUT:?}",
        expired - sent
    );
    assert!(
        expired <= answered + TIMEOUT + LATE,
        "expired {:?} after the last activity and {:?} after the server's restart: the restart \
         extended the idle period of {TIMEOUT:?}",
        expired - answered,
        expired - restarted
    );
}
