//! The inactivity timeout of a real server, set to a few seconds: clients are warned (`expiring`),
//! then the sandbox is `expired`, its renderer port is released and nothing of it keeps running.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use studio_testkit::ports::port_of;
use studio_testkit::procs;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::{Studio, WsClient};

/// 0.002 h = 7.2 s; the warning goes out half-way.
const TIMEOUT_HOURS: &str = "0.002";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_sandbox_is_warned_then_expires_and_leaves_nothing_running() {
    let remote = Remote::new().await;
    let data = DataDir::new("expiry-");
    let studio = Studio::start(
        &ServerConfig::new(&data).env("COMPONENT_STUDIO_TIMEOUT_HOURS", TIMEOUT_HOURS),
    );
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let port = port_of(created["renderer_url"].as_str().unwrap());
    let mut client = WsClient::connect(created["websocket_url"].as_str().unwrap(), None)
        .await
        .unwrap();

    // What runs for this sandbox: the renderer's process group and cgroup.
    let leader = *procs::listening_pids(port).iter().next().unwrap();
    let group = procs::pgid_of(leader).unwrap();
    let cgroup = procs::cgroup_of(leader);
    assert!(!procs::group_members(group).is_empty());

    // --- warned first, then expired (an open WebSocket is not activity) ---
    let warning = client.next_of("expiring", Duration::from_secs(60)).await;
    let seconds_left = warning["payload"]["seconds_left"].as_f64().unwrap();
    assert!((0.0..=8.0).contains(&seconds_left), "{warning}");
    assert_eq!(
        api.status_of(&id).await["status"],
        "running",
        "warned, not yet expired"
    );
    let mut events = Vec::new();
    loop {
        let event = client.event(Duration::from_secs(60)).await;
        let expired = event["type"] == "status" && event["payload"]["status"] == "expired";
        events.push(event);
        if expired {
            break;
        }
    }
    // The stream of an expired sandbox ends.
    let after = client.next(Duration::from_secs(30)).await;
    assert!(
        after.is_err(),
        "the stream went on after expiry: {after:?} (events {events:#?})"
    );

    // --- released: status, port, processes, cgroup, checkout ---
    let status = api.status_of(&id).await;
    assert_eq!(status["status"], "expired");
    assert!(
        procs::connection_refused(port),
        "the renderer port {port} still accepts connections"
    );
    assert_eq!(procs::listening_pids(port).len(), 0);
    assert_eq!(
        procs::group_members(group),
        Vec::<u32>::new(),
        "renderer processes survived expiry"
    );
    if let Some(cgroup) = cgroup {
        assert_eq!(
            procs::cgroup_members(&cgroup),
            Vec::<u32>::new(),
            "{}",
            cgroup.display()
        );
    }
    assert!(
        !data.path().join("sandboxes").join(&id).exists(),
        "the checkout survived expiry"
    );
    // An expired sandbox takes no more edits, and says why.
    let refused = api
        .write_file(&id, "src/components/Alert.tsx", "export {};\n", "too late")
        .await;
    let message = refused.expect_error(409, "sandbox_not_active");
    assert!(message.contains("expired"), "{message}");
}
