//! The server on PostgreSQL instead of its embedded SQLite: a sandbox's whole state (record,
//! commits, events, port lease, re-adoption record) lives there and survives a crash of the server.
//!
//! Needs `STUDIO_TEST_POSTGRES_URL` (an admin URL; tests/run.sh starts a throwaway cluster and sets
//! it). Without it the test fails: it must never pass by not running.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners::{renderer_pids, renderer_socket};
use support::api::commit_hashes;
use support::{Studio, WsClient, renderer_serves};

const ALERT: &str = "src/components/Alert.tsx";

/// A database of its own on the test cluster, dropped afterwards.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn create() -> Self {
        let admin = std::env::var("STUDIO_TEST_POSTGRES_URL").expect(
            "STUDIO_TEST_POSTGRES_URL: run the tests through tests/run.sh, which starts PostgreSQL",
        );
        let name = format!("studio_e2e_{:08x}_{}", std::process::id(), nanos());
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Self {
            admin,
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &self.admin,
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-XAtqc", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_postgres_keeps_its_sandboxes_through_a_crash() {
    let database = Database::create();
    let remote = Remote::new().await;
    let data = DataDir::new("postgres-");
    let config = ServerConfig::new(&data).env("DATABASE_URL", &database.url);
    let first = Studio::start(&config);
    assert!(
        !data.path().join("studio.db").exists(),
        "DATABASE_URL was ignored: the server made its SQLite file"
    );
    let api = first.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let first_url = created["renderer_url"].as_str().unwrap().to_owned();
    let mut hashes = Vec::new();
    for n in 0..2 {
        let source = format!("export const Alert = () => <p>{n}</p>;\n");
        hashes.push(api.commit(&id, ALERT, &source, &format!("Alert {n}")).await);
    }
    // It is really in PostgreSQL.
    let stored = psql(&database.url, "SELECT count(*) FROM sandboxes");
    assert_eq!(stored, "1");

    // A crash, then a new server on the same database: everything is back, the renderer re-adopted.
    first.kill();
    let second = Studio::start(&config);
    let api = second.api();
    let status = api.status_of(&id).await;
    assert_eq!(status["status"], "running", "{status}");
    assert_eq!(commit_hashes(&status), hashes);
    // Same socket; re-adopted or, if Vite died meanwhile, started again. (Vite logs the hot updates
    // of the edits above, possibly after the kill, into pipes nobody reads any more: EPIPE ends
    // it. Re-adoption of a quiet renderer is the recovery test's subject.)
    let socket = renderer_socket(&data.path().canonicalize().unwrap(), &id);
    assert!(!renderer_pids(&socket, second.pid()).is_empty());
    let renderer_url = status["renderer_url"].as_str().unwrap().to_owned();
    assert_ne!(
        renderer_url, first_url,
        "the preview URL names the new server's front door"
    );
    renderer_serves(&renderer_url).await.unwrap();
    // The event history came through too: a client replays it from the start.
    let mut client = WsClient::connect(
        &format!("{}?since=0", status["websocket_url"].as_str().unwrap()),
        None,
    )
    .await
    .unwrap();
    let commits: Vec<String> = {
        let mut seen = Vec::new();
        while seen.len() < 2 {
            let event = client
                .next_of("commit", std::time::Duration::from_secs(30))
                .await;
            seen.push(event["payload"]["hash"].as_str().unwrap().to_owned());
        }
        seen
    };
    assert_eq!(commits, hashes);

    api.delete(&format!("/api/v1/sandboxes/{id}"))
        .await
        .expect(204);
    assert_eq!(psql(&database.url, "SELECT count(*) FROM sandboxes"), "0");
}
