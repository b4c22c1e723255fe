//! The event log: gap-free sequences under concurrency, across restarts and pruning; replay.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use studio_core::{Event, EventKind};
use time::OffsetDateTime;

use crate::support::{TestDb, insert_sandbox, random_id};

pub async fn event_seqs_are_gap_free_under_50_concurrent_appenders(db: &TestDb) {
    const APPENDERS: u64 = 50;
    const EACH: u64 = 20;
    let store = db.open().await;
    let busy = insert_sandbox(&*store).await;
    let quiet = insert_sandbox(&*store).await;

    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..APPENDERS {
        // Most appenders write to `busy`; every fifth also interleaves one for `quiet`.
        let (store, busy, quiet) = (Arc::clone(&store), busy.clone(), quiet.clone());
        tasks.spawn(async move {
            let mut mine = Vec::new();
            for i in 0..EACH {
                let ev = store
                    .append_event(&busy, EventKind::Status, json!({"task": task, "i": i}))
                    .await
                    .expect("append");
                mine.push(ev);
                if task % 5 == 0 {
                    store
                        .append_event(&quiet, EventKind::Reload, json!({"task": task}))
                        .await
                        .expect("append");
                }
            }
            mine
        });
    }
    let mut returned = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let mine = joined.expect("task");
        // One appender's own events come back in increasing order.
        assert!(
            mine.windows(2).all(|w| w[0].seq < w[1].seq),
            "per-appender order"
        );
        returned.extend(mine);
    }

    let total = APPENDERS * EACH;
    let seqs: BTreeSet<u64> = returned.iter().map(|e| e.seq).collect();
    assert_eq!(seqs.len() as u64, total, "no seq handed out twice");
    assert_eq!(seqs, (1..=total).collect(), "no gap");

    // What is stored is exactly what was returned, in seq order.
    let stored = store.events_since(&busy, 0, 10_000).await.expect("replay");
    returned.sort_by_key(|e| e.seq);
    assert_eq!(stored, returned);
    assert_eq!(
        store
            .get_sandbox(&busy)
            .await
            .expect("get")
            .expect("there")
            .last_event_seq,
        total
    );

    let quiet_seqs: Vec<u64> = store
        .events_since(&quiet, 0, 10_000)
        .await
        .expect("replay")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        quiet_seqs,
        (1..=APPENDERS / 5 * EACH).collect::<Vec<_>>(),
        "sequences are per sandbox"
    );
    store.close().await;
}

pub async fn event_seqs_survive_restarts_and_pruning(db: &TestDb) {
    let store = db.open().await;
    let id = insert_sandbox(&*store).await;
    for i in 1..=2u64 {
        let ev = store
            .append_event(&id, EventKind::Commit, json!({"n": i}))
            .await
            .expect("append");
        assert_eq!(ev.seq, i);
    }
    // The retention cut-off falls between the first two events and the next two.
    let cutoff = OffsetDateTime::now_utc();

    store.close().await;
    let store = db.open().await;
    for i in 3..=4u64 {
        let ev = store
            .append_event(&id, EventKind::Commit, json!({"n": i}))
            .await
            .expect("append");
        assert_eq!(ev.seq, i, "the sequence continues after a restart");
    }

    assert_eq!(
        store
            .prune_events(cutoff - time::Duration::hours(1))
            .await
            .expect("prune none"),
        0
    );
    assert_eq!(store.prune_events(cutoff).await.expect("prune"), 2);
    let left: Vec<u64> = store
        .events_since(&id, 0, 100)
        .await
        .expect("replay")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(left, [3, 4]);

    assert_eq!(
        store
            .prune_events(OffsetDateTime::now_utc() + time::Duration::seconds(1))
            .await
            .expect("prune all"),
        2
    );
    assert!(
        store
            .events_since(&id, 0, 100)
            .await
            .expect("replay")
            .is_empty()
    );
    let ev = store
        .append_event(&id, EventKind::Reload, json!({}))
        .await
        .expect("append");
    assert_eq!(ev.seq, 5, "pruning never resets the sequence");
    assert_eq!(
        store
            .get_sandbox(&id)
            .await
            .expect("get")
            .expect("there")
            .last_event_seq,
        5
    );
    store.close().await;
}

pub async fn events_since_pages_in_order(db: &TestDb) {
    let store = db.open().await;
    let id = insert_sandbox(&*store).await;
    let mut appended: Vec<Event> = Vec::new();
    // Every kind, with payloads of several JSON shapes.
    for (i, kind) in EventKind::ALL.into_iter().cycle().take(12).enumerate() {
        let payload = json!({"i": i, "nested": {"list": [1, "two", null, 3.5], "ok": true}, "text": "ünïcødé \"quoted\""});
        appended.push(
            store
                .append_event(&id, kind, payload)
                .await
                .expect("append"),
        );
    }
    let page = |since, limit| {
        let store = Arc::clone(&store);
        let id = id.clone();
        async move { store.events_since(&id, since, limit).await.expect("page") }
    };
    assert_eq!(page(0, 3).await, appended[0..3]);
    assert_eq!(page(3, 100).await, appended[3..]);
    assert_eq!(page(11, 100).await, appended[11..]);
    assert!(page(12, 100).await.is_empty());
    assert!(page(u64::MAX, 100).await.is_empty());
    assert!(page(0, 0).await.is_empty());
    assert!(
        store
            .events_since(&random_id(), 0, 100)
            .await
            .expect("unknown")
            .is_empty()
    );
    store.close().await;
}
