//! Ten sandboxes created at once on one server all come up, each on its own port; and a server
//! started with a low soft limit of open files still takes hundreds of WebSocket clients.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use studio_testkit::ports::port_of;
use studio_testkit::procs;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::{Studio, WsClient, renderer_serves};

const SANDBOXES: usize = 10;
const CLIENTS: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_sandboxes_created_concurrently_all_run_on_distinct_ports() {
    let remote = Remote::new().await;
    let data = DataDir::new("concurrency-");
    // Started the way many service managers start it: 256 open files allowed, more on request.
    let mut config = ServerConfig::new(&data);
    config.launcher = ["prlimit", "--nofile=256:8192", "--"]
        .map(String::from)
        .to_vec();
    let studio = Studio::start(&config);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", studio.pid())).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().collect::<Vec<_>>()[3..5],
        ["8192", "8192"],
        "the server raises its soft limit to the hard one: {open_files}"
    );
    let api = studio.api();
    let request = json!({"repository": remote.url(), "branch": "main"});

    let answers = futures::future::join_all((0..SANDBOXES).map(|_| api.create(&request))).await;
    let created: Vec<serde_json::Value> = answers.iter().map(|a| a.expect(201).clone()).collect();

    let ids: BTreeSet<&str> = created
        .iter()
        .map(|c| c["sandbox_id"].as_str().unwrap())
        .collect();
    let ports: BTreeSet<u16> = created
        .iter()
        .map(|c| port_of(c["renderer_url"].as_str().unwrap()))
        .collect();
    assert_eq!(ids.len(), SANDBOXES, "ids are unique");
    assert_eq!(
        ports.len(),
        SANDBOXES,
        "every renderer has its own port: {ports:?}"
    );
    let branches: BTreeSet<&str> = created
        .iter()
        .map(|c| c["branch"].as_str().unwrap())
        .collect();
    assert_eq!(branches.len(), SANDBOXES);

    for sandbox in &created {
        let id = sandbox["sandbox_id"].as_str().unwrap();
        assert_eq!(api.status_of(id).await["status"], "running");
        renderer_serves(sandbox["renderer_url"].as_str().unwrap())
            .await
            .unwrap();
    }
    // Ten different processes serve them.
    let leaders: BTreeSet<u32> = ports
        .iter()
        .map(|&p| *procs::listening_pids(p).iter().next().unwrap())
        .collect();
    assert_eq!(leaders.len(), SANDBOXES);

    // More WebSocket clients than the soft limit the server was started with.
    let ws_url = created[0]["websocket_url"].as_str().unwrap();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(WsClient::connect(ws_url, None).await.unwrap());
    }
    clients[0]
        .send(&json!({"type": "component-selected", "payload": {"component": "Card"}}))
        .await;
    for client in &mut clients {
        let event = client.event(Duration::from_secs(60)).await;
        assert_eq!(event["payload"]["component"], "Card");
    }
    drop(clients);

    // And all go away together.
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/api/v1/sandboxes/{id}"))
        .collect();
    let deletes = futures::future::join_all(paths.iter().map(|path| api.delete(path))).await;
    for answer in deletes {
        answer.expect(204);
    }
    for port in ports {
        assert!(
            procs::connection_refused(port),
            "port {port} still open after delete"
        );
    }
}
