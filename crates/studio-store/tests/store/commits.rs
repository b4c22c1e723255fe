//! Commit lists: order, rollback marks, re-recorded commits.

use time::macros::datetime;

use crate::support::{TestDb, commit, insert_sandbox};

pub async fn commits_keep_their_order_and_rollback_marks(db: &TestDb) {
    let store = db.open().await;
    let id = insert_sandbox(&*store).await;
    let other = insert_sandbox(&*store).await;
    // Git timestamps have whole seconds: five commits in the same second must keep their order.
    let second = datetime!(2026-11-22 14:30:59 UTC);
    // Recorded in an order that is neither hash order nor reverse.
    let order = [3, 1, 4, 0, 2];
    for n in order {
        store
            .record_commit(&id, &commit(n, second))
            .await
            .expect("record");
    }
    store
        .record_commit(&other, &commit(1, second))
        .await
        .expect("same hash, other sandbox");

    let listed = store.commits(&id).await.expect("commits");
    let hashes: Vec<String> = listed.iter().map(|c| c.commit.hash.clone()).collect();
    assert_eq!(hashes, order.map(|n| commit(n, second).hash).to_vec());
    assert!(listed.iter().all(|c| !c.rolled_back));
    assert_eq!(
        listed[0].commit,
        commit(3, second),
        "message and timestamp round-trip"
    );

    // Roll back past the last two (and name one that does not exist).
    let past = vec![
        commit(0, second).hash,
        commit(2, second).hash,
        "f".repeat(40),
    ];
    assert_eq!(store.mark_rolled_back(&id, &past).await.expect("mark"), 2);
    assert_eq!(
        store.mark_rolled_back(&id, &past).await.expect("again"),
        0,
        "already marked"
    );
    let marks = |list: Vec<studio_store::StoredCommit>| {
        list.iter().map(|c| c.rolled_back).collect::<Vec<_>>()
    };
    assert_eq!(
        marks(store.commits(&id).await.expect("commits")),
        [false, false, false, true, true]
    );
    assert_eq!(
        marks(store.commits(&other).await.expect("commits")),
        [false],
        "other sandbox untouched"
    );

    // Rolling forward again, and re-making a rolled-back commit, clear the mark in place.
    assert_eq!(
        store
            .mark_restored(&id, &[commit(0, second).hash])
            .await
            .expect("restore"),
        1
    );
    store
        .record_commit(&id, &commit(2, second))
        .await
        .expect("re-record");
    let listed = store.commits(&id).await.expect("commits");
    assert_eq!(listed.len(), 5, "a re-recorded commit is not listed twice");
    assert_eq!(marks(listed), [false; 5]);
    store.close().await;
}
