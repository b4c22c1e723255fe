//! Ten sandboxes created at once on one server all come up, each on its own port.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use serde_json::json;
use support::server::DataDir;
use support::{Remote, ServerConfig, Studio, port_of, procs, renderer_serves};

const SANDBOXES: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_sandboxes_created_concurrently_all_run_on_distinct_ports() {
    let remote = Remote::new().await;
    let data = DataDir::new("concurrency-");
    let studio = Studio::start(&ServerConfig::new(&data));
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
