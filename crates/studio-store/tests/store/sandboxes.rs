//! Sandbox records: every column, status changes, listing, deletion, concurrent writers.

use std::sync::Arc;

use serde_json::json;
use studio_core::{EventKind, SandboxStatus};
use studio_store::{PullRequest, RuntimeState, SandboxFilter, Store, StoreError};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::{TestDb, commit, insert_sandbox, random_id, sample_sandbox};

pub async fn a_sandbox_round_trips_every_field_across_a_restart(db: &TestDb) {
    let store = db.open().await;
    // Nanoseconds and a non-UTC offset: the store keeps the instant, in UTC, to the microsecond.
    let created = datetime!(2026-11-22 14:30:59.123456789 +02:00);
    let new = sample_sandbox(created);
    let inserted = store.insert_sandbox(&new).await.expect("insert");

    assert_eq!(inserted.id, new.id);
    assert_eq!(inserted.kind, new.kind);
    assert_eq!(inserted.config, new.config);
    assert_eq!(inserted.repository, new.repository);
    assert_eq!(inserted.base_branch, new.base_branch);
    assert_eq!(inserted.branch, new.branch);
    assert_eq!(inserted.work_dir, new.work_dir);
    assert_eq!(inserted.status, SandboxStatus::Starting);
    assert_eq!(
        inserted.created_at,
        datetime!(2026-11-22 12:30:59.123456 UTC)
    );
    assert_eq!(inserted.last_activity_at, inserted.created_at);
    assert_eq!(inserted.finished_at, None);
    assert_eq!(inserted.runtime, RuntimeState::default());
    assert_eq!(inserted.pull_request, None);
    assert_eq!(inserted.last_event_seq, 0);
    assert_eq!(
        store.get_sandbox(&new.id).await.expect("get"),
        Some(inserted.clone())
    );

    let runtime = RuntimeState {
        renderer_port: Some(5174),
        adoption: Some(
            json!({"pid": 4242, "pgid": 4242, "start_ticks": 987_654_321u64, "argv": ["npm", "run", "dev"]}),
        ),
        restarts: 2,
    };
    store
        .update_runtime(&new.id, &runtime)
        .await
        .expect("runtime");
    let pr = PullRequest {
        url: "https://github.com/acme/design-system/pull/123".into(),
        number: 123,
    };
    store
        .set_pull_request(&new.id, &pr)
        .await
        .expect("pull request");
    let finished = datetime!(2026-11-22 16:00:00.5 UTC);
    store
        .set_status(&new.id, SandboxStatus::Finalized, finished)
        .await
        .expect("status");

    // A restart: a new store on the same database sees everything.
    store.close().await;
    let store = db.open().await;
    let got = store
        .get_sandbox(&new.id)
        .await
        .expect("get")
        .expect("still there");
    assert_eq!(got.runtime, runtime);
    assert_eq!(got.pull_request, Some(pr));
    assert_eq!(got.status, SandboxStatus::Finalized);
    assert_eq!(got.finished_at, Some(finished));
    assert_eq!(got.config, new.config);
    assert_eq!(got.created_at, inserted.created_at);

    // Clearing the runtime state is stored too.
    store
        .update_runtime(&new.id, &RuntimeState::default())
        .await
        .expect("clear runtime");
    let got = store
        .get_sandbox(&new.id)
        .await
        .expect("get")
        .expect("there");
    assert_eq!(got.runtime, RuntimeState::default());
    store.close().await;
}

pub async fn duplicates_and_unknown_sandboxes_are_reported(db: &TestDb) {
    let store = db.open().await;
    let new = sample_sandbox(OffsetDateTime::now_utc());
    store.insert_sandbox(&new).await.expect("insert");

    let err = store.insert_sandbox(&new).await.expect_err("same id twice");
    assert!(
        matches!(&err, StoreError::SandboxExists(id) if *id == new.id),
        "{err:?}"
    );
    let mut same_branch = sample_sandbox(OffsetDateTime::now_utc());
    same_branch.branch = new.branch.clone();
    let err = store
        .insert_sandbox(&same_branch)
        .await
        .expect_err("same branch twice");
    assert!(matches!(err, StoreError::SandboxExists(_)), "{err:?}");

    let ghost = random_id();
    let now = OffsetDateTime::now_utc();
    let not_found = |r: Result<(), StoreError>, what: &str| match r {
        Err(StoreError::SandboxNotFound(id)) => assert_eq!(id, ghost, "{what}"),
        other => panic!("{what}: expected SandboxNotFound, got {other:?}"),
    };
    not_found(
        store.set_status(&ghost, SandboxStatus::Running, now).await,
        "set_status",
    );
    not_found(
        store.update_runtime(&ghost, &RuntimeState::default()).await,
        "update_runtime",
    );
    not_found(store.touch_activity(&ghost, now).await, "touch_activity");
    let pr = PullRequest {
        url: "u".into(),
        number: 1,
    };
    not_found(
        store.set_pull_request(&ghost, &pr).await,
        "set_pull_request",
    );
    not_found(
        store.record_commit(&ghost, &commit(1, now)).await,
        "record_commit",
    );
    not_found(
        store
            .append_event(&ghost, EventKind::Reload, json!({}))
            .await
            .map(drop),
        "append_event",
    );

    assert_eq!(store.get_sandbox(&ghost).await.expect("get"), None);
    assert!(store.commits(&ghost).await.expect("commits").is_empty());
    assert!(
        store
            .events_since(&ghost, 0, 10)
            .await
            .expect("events")
            .is_empty()
    );
    assert!(!store.delete_sandbox(&ghost).await.expect("delete"));
    store.close().await;
}

pub async fn terminal_statuses_stamp_finished_at_once(db: &TestDb) {
    let store = db.open().await;
    let id = insert_sandbox(&*store).await;
    let t0 = datetime!(2026-11-22 10:00 UTC);
    for (i, status) in [
        SandboxStatus::Running,
        SandboxStatus::Restarting,
        SandboxStatus::Failed,
        SandboxStatus::Stopped,
    ]
    .into_iter()
    .enumerate()
    {
        store
            .set_status(&id, status, t0 + Duration::minutes(i as i64))
            .await
            .expect("set");
        let got = store.get_sandbox(&id).await.expect("get").expect("there");
        assert_eq!((got.status, got.finished_at), (status, None));
    }
    let expired_at = t0 + Duration::hours(4);
    store
        .set_status(&id, SandboxStatus::Expired, expired_at)
        .await
        .expect("expire");
    store
        .set_status(
            &id,
            SandboxStatus::Finalized,
            expired_at + Duration::hours(1),
        )
        .await
        .expect("finalize");
    let got = store.get_sandbox(&id).await.expect("get").expect("there");
    assert_eq!(got.status, SandboxStatus::Finalized);
    assert_eq!(
        got.finished_at,
        Some(expired_at),
        "finished_at is the first terminal time"
    );
    store.close().await;
}

pub async fn list_filters_by_status_oldest_first(db: &TestDb) {
    let store = db.open().await;
    let base = datetime!(2026-01-01 00:00 UTC);
    // Inserted out of order; listed by creation time.
    let plan = [
        (3, SandboxStatus::Running),
        (1, SandboxStatus::Expired),
        (4, SandboxStatus::Failed),
        (2, SandboxStatus::Finalized),
        (0, SandboxStatus::Stopped),
    ];
    let mut by_age = Vec::new();
    for (minutes, status) in plan {
        let mut new = sample_sandbox(base + Duration::minutes(minutes));
        new.status = status;
        store.insert_sandbox(&new).await.expect("insert");
        by_age.push((minutes, new.id, status));
    }
    by_age.sort_by_key(|(m, _, _)| *m);

    let ids = |records: Vec<studio_store::SandboxRecord>| {
        records.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let all = store
        .list_sandboxes(&SandboxFilter::all())
        .await
        .expect("all");
    assert_eq!(
        ids(all),
        by_age
            .iter()
            .map(|(_, id, _)| id.clone())
            .collect::<Vec<_>>()
    );

    let live = store
        .list_sandboxes(&SandboxFilter::live())
        .await
        .expect("live");
    let expected: Vec<_> = by_age
        .iter()
        .filter(|(_, _, s)| !s.is_terminal())
        .map(|(_, id, _)| id.clone())
        .collect();
    assert_eq!(expected.len(), 3);
    assert_eq!(ids(live), expected);

    let failed = store
        .list_sandboxes(&SandboxFilter::with_statuses([SandboxStatus::Failed]))
        .await
        .expect("failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].status, SandboxStatus::Failed);

    let none = store
        .list_sandboxes(&SandboxFilter::with_statuses([]))
        .await
        .expect("empty filter");
    assert!(none.is_empty(), "an empty status list matches nothing");
    store.close().await;
}

pub async fn activity_only_moves_forward(db: &TestDb) {
    let store = db.open().await;
    let new = sample_sandbox(datetime!(2026-11-22 09:00 UTC));
    store.insert_sandbox(&new).await.expect("insert");
    let later = datetime!(2026-11-22 09:10:00.000001 UTC);
    store.touch_activity(&new.id, later).await.expect("touch");
    // A request that was slower to arrive must not move activity back (string or instant bugs
    // would: 09:05:00Z sorts after 09:10:00.000001Z as text without fixed-width fractions).
    store
        .touch_activity(&new.id, datetime!(2026-11-22 09:05 UTC))
        .await
        .expect("touch older");
    store
        .touch_activity(&new.id, datetime!(2026-11-22 11:09:00 +02:00))
        .await
        .expect("touch older, other offset");
    let got = store
        .get_sandbox(&new.id)
        .await
        .expect("get")
        .expect("there");
    assert_eq!(got.last_activity_at, later);
    store.close().await;
}

pub async fn delete_removes_commits_and_events(db: &TestDb) {
    let store = db.open().await;
    let doomed = insert_sandbox(&*store).await;
    let kept = insert_sandbox(&*store).await;
    for id in [&doomed, &kept] {
        store
            .record_commit(id, &commit(1, OffsetDateTime::now_utc()))
            .await
            .expect("commit");
        store
            .append_event(id, EventKind::Commit, json!({"hash": "x"}))
            .await
            .expect("event");
    }

    assert!(store.delete_sandbox(&doomed).await.expect("delete"));
    assert_eq!(store.get_sandbox(&doomed).await.expect("get"), None);
    assert!(store.commits(&doomed).await.expect("commits").is_empty());
    assert!(
        store
            .events_since(&doomed, 0, 10)
            .await
            .expect("events")
            .is_empty()
    );
    assert!(store.get_sandbox(&kept).await.expect("get").is_some());
    assert_eq!(store.commits(&kept).await.expect("commits").len(), 1);
    assert_eq!(
        store
            .events_since(&kept, 0, 10)
            .await
            .expect("events")
            .len(),
        1
    );
    store.close().await;
}

/// Many sandboxes written at once through two independent stores on the same database (for
/// SQLite: two pools contending for the file lock, as a second process would). Nothing may fail
/// with "database is locked", and nothing may be lost.
pub async fn concurrent_writers_on_two_stores_never_fail(db: &TestDb) {
    const SANDBOXES: usize = 16;
    const ROUNDS: u32 = 20;
    let stores: [Arc<dyn Store>; 2] = [db.open().await, db.open().await];
    let mut ids = Vec::new();
    for _ in 0..SANDBOXES {
        ids.push(insert_sandbox(&*stores[0]).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for id in &ids {
        for (s, store) in stores.iter().enumerate() {
            let (store, id) = (Arc::clone(store), id.clone());
            tasks.spawn(async move {
                for round in 0..ROUNDS {
                    let now = OffsetDateTime::now_utc();
                    store
                        .append_event(&id, EventKind::Status, json!({"store": s, "round": round}))
                        .await?;
                    store.set_status(&id, SandboxStatus::Running, now).await?;
                    store.touch_activity(&id, now).await?;
                    let hash_seed = (s as u32) << 16 | round;
                    store.record_commit(&id, &commit(hash_seed, now)).await?;
                    store.get_sandbox(&id).await?;
                }
                Ok::<_, StoreError>(())
            });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        joined
            .expect("task")
            .expect("every write succeeds under contention");
    }
    let store = &stores[0];
    for id in &ids {
        let rec = store.get_sandbox(id).await.expect("get").expect("there");
        assert_eq!(rec.last_event_seq, u64::from(2 * ROUNDS));
        let seqs: Vec<u64> = store
            .events_since(id, 0, 1000)
            .await
            .expect("events")
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, (1..=u64::from(2 * ROUNDS)).collect::<Vec<_>>());
        assert_eq!(
            store.commits(id).await.expect("commits").len(),
            2 * ROUNDS as usize
        );
    }
    for store in stores {
        store.close().await;
    }
}
