//! A status change and its `status` event: stored in one transaction, both or neither.

use serde_json::json;
use studio_core::{EventKind, SandboxStatus};
use studio_store::StoreError;
use time::macros::datetime;

use crate::support::{Kind, TestDb, insert_sandbox, random_id};

pub async fn a_status_and_its_event_are_stored_together_in_seq_order(db: &TestDb) {
    let store = db.open().await;
    let id = insert_sandbox(&*store).await;
    let at = datetime!(2026-11-22 10:00 UTC);
    let before = store
        .append_event(&id, EventKind::Commit, json!({"hash": "a"}))
        .await
        .expect("append");

    let event = store
        .set_status_with_event(
            &id,
            SandboxStatus::Running,
            at,
            json!({"status": "running"}),
        )
        .await
        .expect("status");
    assert_eq!(event.kind, EventKind::Status);
    assert_eq!(event.payload, json!({"status": "running"}));
    assert_eq!(
        event.seq,
        before.seq + 1,
        "the same sequence as append_event"
    );
    let got = store.get_sandbox(&id).await.expect("get").expect("there");
    assert_eq!(
        (got.status, got.finished_at),
        (SandboxStatus::Running, None)
    );

    let after = store
        .append_event(&id, EventKind::Commit, json!({"hash": "b"}))
        .await
        .expect("append");
    assert_eq!(after.seq, event.seq + 1);
    let stored = store.events_since(&id, 0, 100).await.expect("events");
    assert_eq!(stored, vec![before, event, after]);

    // Terminal statuses are stamped as by `set_status`.
    store
        .set_status_with_event(
            &id,
            SandboxStatus::Expired,
            at,
            json!({"status": "expired"}),
        )
        .await
        .expect("expire");
    let got = store.get_sandbox(&id).await.expect("get").expect("there");
    assert_eq!(
        (got.status, got.finished_at),
        (SandboxStatus::Expired, Some(at))
    );

    let unknown = random_id();
    let err = store
        .set_status_with_event(
            &unknown,
            SandboxStatus::Running,
            at,
            json!({"status": "running"}),
        )
        .await
        .expect_err("no such sandbox");
    assert!(matches!(err, StoreError::SandboxNotFound(_)), "{err:?}");
    store.close().await;
}

/// An event insert the database refuses (a trigger standing in for a full disk) takes the status
/// change down with it, and the sequence has no gap afterwards.
pub async fn a_status_whose_event_fails_is_not_stored(db: &TestDb) {
    let store = db.open().await;
    let id = insert_sandbox(&*store).await;
    let at = datetime!(2026-11-22 10:00 UTC);
    let first = store
        .set_status_with_event(
            &id,
            SandboxStatus::Running,
            at,
            json!({"status": "running"}),
        )
        .await
        .expect("status");

    match db.kind {
        Kind::Sqlite => {
            db.execute_raw(
                "CREATE TRIGGER refuse_events BEFORE INSERT ON events \
                 BEGIN SELECT RAISE(ABORT, 'events refused'); END",
            )
            .await;
        }
        Kind::Postgres => {
            db.execute_raw(
                "CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'events refused'; END $$",
            )
            .await;
            db.execute_raw(
                "CREATE TRIGGER refuse_events BEFORE INSERT ON events \
                 FOR EACH ROW EXECUTE FUNCTION refuse_events()",
            )
            .await;
        }
    }
    let refused = store
        .set_status_with_event(
            &id,
            SandboxStatus::Stopped,
            at,
            json!({"status": "stopped"}),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let got = store.get_sandbox(&id).await.expect("get").expect("there");
    assert_eq!(got.status, SandboxStatus::Running, "the status rolled back");

    match db.kind {
        Kind::Sqlite => db.execute_raw("DROP TRIGGER refuse_events").await,
        Kind::Postgres => db.execute_raw("DROP TRIGGER refuse_events ON events").await,
    }
    let next = store
        .set_status_with_event(
            &id,
            SandboxStatus::Stopped,
            at,
            json!({"status": "stopped"}),
        )
        .await
        .expect("status");
    assert_eq!(next.seq, first.seq + 1, "no seq was used up by the failure");
    let stored = store.events_since(&id, 0, 100).await.expect("events");
    assert_eq!(stored, vec![first, next]);
    store.close().await;
}
