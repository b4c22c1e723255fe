//! Persist, then announce: a status change the database refuses fails its request with 503 and
//! the JSON error, changes nothing the API shows and is announced to no one; once the database
//! takes it again, the same request succeeds. (The refusal is a trigger on the server's own
//! PostgreSQL database, standing in for a full disk or a read-only database.)

#![allow(clippy::unwrap_used)]

mod pg_database;
mod support;

use std::time::Duration;

use serde_json::{Value, json};
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::{Studio, WsClient};

const WAIT: Duration = Duration::from_secs(60);

/// Refuses to store the statuses `stopped` and `restarting`; everything else goes through.
const REFUSE: &str = "\
    CREATE FUNCTION refuse_status() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
      IF NEW.status IN ('stopped', 'restarting') AND NEW.status <> OLD.status THEN \
        RAISE EXCEPTION 'status % refused by the test', NEW.status; \
      END IF; \
      RETURN NEW; \
    END $$; \
    CREATE TRIGGER refuse_status BEFORE UPDATE ON sandboxes \
      FOR EACH ROW EXECUTE FUNCTION refuse_status();";

/// Everything a client gets up to and including a marker selection sent after the request under
/// test: what was announced meanwhile.
async fn announced_until_marker(client: &mut WsClient, marker: &str) -> Vec<Value> {
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

fn statuses(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["type"] == "status")
        .map(|e| e["payload"]["status"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_the_database_refuses_fails_the_request_and_is_not_announced() {
    let database = pg_database::Database::create("persist");
    let remote = Remote::new().await;
    let data = DataDir::new("persist-");
    let studio = Studio::start(&ServerConfig::new(&data).env("DATABASE_URL", &database.url));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let mut client = WsClient::connect(created["websocket_url"].as_str().unwrap(), None)
        .await
        .unwrap();

    database.psql(REFUSE);
    for action in ["stop", "restart"] {
        let message = api
            .control(&id, action)
            .await
            .expect_error(503, "database_unavailable");
        assert!(
            message.contains("refused by the test"),
            "{action}: {message}"
        );
        assert_eq!(api.status_of(&id).await["status"], "running", "{action}");
        let announced = announced_until_marker(&mut client, &format!("after {action}")).await;
        assert_eq!(
            statuses(&announced),
            Vec::<&str>::new(),
            "{action} announced a status the store does not hold: {announced:#?}"
        );
    }

    // The database takes it again: the same request succeeds, stored and announced.
    database.psql("DROP TRIGGER refuse_status ON sandboxes");
    let stopped = api.control(&id, "stop").await;
    assert_eq!(stopped.expect(200)["status"], "stopped");
    let announced = announced_until_marker(&mut client, "after the database is back").await;
    assert_eq!(statuses(&announced), ["stopped"], "{announced:#?}");
    let stored = database.psql(&format!("SELECT status FROM sandboxes WHERE id = '{id}'"));
    assert_eq!(stored, "stopped");
}
