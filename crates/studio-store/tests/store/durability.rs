//! "Written before acknowledged": a writer process is killed with SIGKILL in the middle of a
//! stream of writes; everything it acknowledged before dying must be in the database.
//!
//! The writer is this same test binary, re-run with `--exact <this test>` and
//! `STUDIO_STORE_CRASH_CHILD` set: it then opens the database, and for i = 1, 2, ... appends an
//! event, sets the sandbox's status, its restart count to i and its activity time to
//! `EPOCH + i s`, and prints `ack <i>` only after all four calls returned, like a server
//! answering a request.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use studio_core::{EventKind, SandboxId, SandboxStatus};
use studio_store::RuntimeState;
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{Kind, TestDb, insert_sandbox};

const CHILD_ENV: &str = "STUDIO_STORE_CRASH_CHILD";
const EPOCH: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);
/// Acks to see before killing the writer.
const KILL_AFTER: u64 = 150;
/// The writer stops by itself after this many, should nobody kill it.
const CHILD_LIMIT: u64 = 100_000;
const DEADLINE: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_writes_survive_sigkill() {
    crash_test(
        Kind::Sqlite,
        "durability::sqlite_acknowledged_writes_survive_sigkill",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledged_writes_survive_sigkill() {
    crash_test(
        Kind::Postgres,
        "durability::postgres_acknowledged_writes_survive_sigkill",
    )
    .await;
}

fn status_for(i: u64) -> SandboxStatus {
    if i.is_multiple_of(2) {
        SandboxStatus::Running
    } else {
        SandboxStatus::Restarting
    }
}

async fn crash_test(kind: Kind, test_name: &str) {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return child(&spec).await;
    }
    let db = TestDb::create(kind).await;
    let store = db.open().await;
    let id = insert_sandbox(&*store).await;
    store.close().await;

    let mut writer = tokio::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([test_name, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, format!("{id} {}", db.url))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn writer");
    let mut lines = BufReader::new(writer.stdout.take().expect("stdout")).lines();
    let mut last_ack = 0;
    let read_acks = async {
        while let Some(line) = lines.next_line().await.expect("read") {
            if let Some(n) = line.strip_prefix("ack ") {
                last_ack = n.parse().expect("ack number");
                if last_ack >= KILL_AFTER {
                    return;
                }
            }
        }
        panic!("the writer exited after {last_ack} acks without being killed");
    };
    tokio::time::timeout(DEADLINE, read_acks)
        .await
        .expect("writer too slow");
    writer.start_kill().expect("SIGKILL");
    let status = writer.wait().await.expect("wait");
    assert!(
        !status.success(),
        "the writer was killed, not finished: {status}"
    );

    // A restarted server sees every acknowledged write.
    let store = db.open().await;
    let rec = store.get_sandbox(&id).await.expect("get").expect("sandbox");
    assert!(
        rec.last_event_seq >= last_ack,
        "acked {last_ack} events, {} stored",
        rec.last_event_seq
    );
    assert!(
        u64::from(rec.runtime.restarts) >= last_ack,
        "acked {last_ack}, stored {:?}",
        rec.runtime
    );
    assert!(rec.last_activity_at >= EPOCH + time::Duration::seconds(last_ack as i64));
    let events = store.events_since(&id, 0, u32::MAX).await.expect("events");
    for (i, ev) in (1..=last_ack).zip(&events) {
        assert_eq!((ev.seq, &ev.payload), (i, &json!({"i": i})));
    }
    assert_ne!(
        rec.status,
        SandboxStatus::Starting,
        "acked status changes were kept"
    );
    store.close().await;
    db.destroy().await;
}

async fn child(spec: &str) {
    let (id, url) = spec.split_once(' ').expect("<id> <url>");
    let id: SandboxId = id.parse().expect("id");
    let store = studio_store::connect(url).await.expect("child connect");
    for i in 1..=CHILD_LIMIT {
        let ev = store
            .append_event(&id, EventKind::Status, json!({"i": i}))
            .await
            .expect("append");
        assert_eq!(ev.seq, i);
        store
            .set_status(&id, status_for(i), OffsetDateTime::now_utc())
            .await
            .expect("status");
        let runtime = RuntimeState {
            restarts: i as u32,
            ..RuntimeState::default()
        };
        store.update_runtime(&id, &runtime).await.expect("runtime");
        store
            .touch_activity(&id, EPOCH + time::Duration::seconds(i as i64))
            .await
            .expect("touch");
        println!("ack {i}");
    }
}
