//! The inactivity timeout of a real server, set to a few seconds: clients are warned (`expiring`),
//! then the sandbox is `expired`, its preview is gone from the front door, its renderer socket is
//! released and nothing of it keeps running.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use studio_testkit::procs;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners::{renderer_pids, renderer_socket};
use support::{Studio, WsClient, door};

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
    let renderer_url = created["renderer_url"].as_str().unwrap().to_owned();
    let socket = renderer_socket(&data.path().canonicalize().unwrap(), &id);
    let mut client = WsClient::connect(created["websocket_url"].as_str().unwrap(), None)
        .await
        .unwrap();

    // What runs for this sandbox: the renderer's process group and cgroup.
    let leader = *renderer_pids(&socket, studio.pid()).iter().next().unwrap();
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

    // --- released: status, preview, socket, processes, cgroup, checkout ---
    let status = api.status_of(&id).await;
    assert_eq!(status["status"], "expired");
    let (host, port) = door::host_and_port(&renderer_url);
    let preview = door::request_with_host(port, &host, "GET", "/")
        .await
        .unwrap();
    assert_eq!(preview.status, 503, "{}", preview.text);
    assert!(preview.text.contains("expired"), "{}", preview.text);
    assert!(!socket.exists(), "{} survived expiry", socket.display());
    assert!(renderer_pids(&socket, studio.pid()).is_empty());
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
