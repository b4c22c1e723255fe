//! The port registry: uniqueness under concurrency, the manager's lease loop, ownership,
//! reclaiming at start-up.

use std::collections::{BTreeSet, HashSet};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Arc, Mutex};

use studio_core::SandboxStatus;
use studio_store::StoreError;
use time::OffsetDateTime;

use crate::support::{TestDb, insert_sandbox, lease_owners};

/// 20 tasks × 500 lease/release cycles over 30 ports. Each task records the port it holds in a
/// shared set before releasing it; a port handed out while another task holds it would already
/// be in the set.
pub async fn ten_thousand_concurrent_lease_cycles_never_share_a_port(db: &TestDb) {
    const TASKS: usize = 20;
    const CYCLES: usize = 500;
    const RANGE: std::ops::RangeInclusive<u16> = 42_000..=42_029;
    let store = db.open().await;
    let mut owners = Vec::new();
    for _ in 0..TASKS / 2 {
        owners.push(insert_sandbox(&*store).await); // two tasks per sandbox
    }
    let held: Arc<Mutex<HashSet<u16>>> = Arc::default();
    let used: Arc<Mutex<BTreeSet<u16>>> = Arc::default();

    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (store, held, used) = (Arc::clone(&store), Arc::clone(&held), Arc::clone(&used));
        let id = owners[task / 2].clone();
        tasks.spawn(async move {
            for cycle in 0..CYCLES {
                let port = store
                    .lease_next_port(&id, RANGE, &BTreeSet::new())
                    .await
                    .expect("lease");
                assert!(RANGE.contains(&port));
                let fresh = held.lock().expect("lock").insert(port);
                assert!(
                    fresh,
                    "port {port} handed out twice (task {task}, cycle {cycle})"
                );
                used.lock().expect("lock").insert(port);
                // Let other tasks run while this one holds the port.
                tokio::task::yield_now().await;
                held.lock().expect("lock").remove(&port);
                assert!(
                    store.release_port(&id, port).await.expect("release"),
                    "we held {port}"
                );
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("task panicked");
    }
    assert!(
        store.port_leases().await.expect("leases").is_empty(),
        "every lease was released"
    );
    assert!(
        used.lock().expect("lock").len() > 1,
        "the tasks really overlapped"
    );
    store.close().await;
}

/// The sandbox manager's loop: lease in the database, check the OS, skip busy ports.
pub async fn the_lease_loop_skips_ports_busy_in_the_os(db: &TestDb) {
    let store = db.open().await;
    let id = insert_sandbox(&*store).await;
    // A port another program is listening on: the lowest of the range.
    let busy = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let busy_port = busy.local_addr().expect("addr").port();
    let range = busy_port..=busy_port.saturating_add(20);
    let os_free = |port: u16| TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok();

    let mut skip = BTreeSet::new();
    let port = loop {
        assert!(skip.len() <= 21, "the loop ends");
        let port = store
            .lease_next_port(&id, range.clone(), &skip)
            .await
            .expect("lease");
        if os_free(port) {
            break port;
        }
        assert!(store.release_port(&id, port).await.expect("release"));
        skip.insert(port);
    };
    assert!(
        skip.contains(&busy_port),
        "the busy port was tried first, then skipped"
    );
    assert_ne!(port, busy_port);
    assert_eq!(lease_owners(&*store).await, vec![(port, id)]);
    drop(busy);
    store.close().await;
}

pub async fn leases_respect_their_owner_and_the_range(db: &TestDb) {
    let store = db.open().await;
    let (a, b, c) = (
        insert_sandbox(&*store).await,
        insert_sandbox(&*store).await,
        insert_sandbox(&*store).await,
    );
    let range = 43_000..=43_002;
    let none = BTreeSet::new();
    assert_eq!(
        store
            .lease_next_port(&a, range.clone(), &none)
            .await
            .expect("a"),
        43_000
    );
    assert_eq!(
        store
            .lease_next_port(&b, range.clone(), &BTreeSet::from([43_001]))
            .await
            .expect("b"),
        43_002
    );
    assert_eq!(
        store
            .lease_next_port(&c, range.clone(), &none)
            .await
            .expect("c"),
        43_001
    );
    let err = store
        .lease_next_port(&c, range.clone(), &none)
        .await
        .expect_err("range exhausted");
    assert!(
        matches!(&err, StoreError::NoFreePort { range: r } if *r == range),
        "{err:?}"
    );
    assert!(err.to_string().contains("43000..=43002"), "{err}");

    assert!(
        store.try_lease_port(&a, 43_000).await.expect("own port"),
        "re-claiming one's own port"
    );
    assert!(
        !store.try_lease_port(&b, 43_000).await.expect("taken"),
        "another's port"
    );
    assert!(
        !store.release_port(&b, 43_000).await.expect("release"),
        "cannot release another's port"
    );
    assert!(store.release_port(&a, 43_000).await.expect("release"));
    assert!(store.try_lease_port(&b, 43_000).await.expect("now free"));

    let leases = store.port_leases().await.expect("leases");
    let view: Vec<(u16, _)> = leases
        .iter()
        .map(|l| (l.port, l.sandbox_id.clone()))
        .collect();
    assert_eq!(
        view,
        vec![
            (43_000, b.clone()),
            (43_001, c.clone()),
            (43_002, b.clone())
        ]
    );
    let now = OffsetDateTime::now_utc();
    assert!(
        leases
            .iter()
            .all(|l| (now - l.leased_at).abs() < time::Duration::minutes(5)),
        "leased_at is now"
    );
    assert_eq!(store.release_ports(&b).await.expect("release all"), 2);
    assert_eq!(store.port_leases().await.expect("leases").len(), 1);
    store.close().await;
}

pub async fn stale_leases_are_reclaimed(db: &TestDb) {
    let store = db.open().await;
    let now = OffsetDateTime::now_utc();
    let mut expected_left = Vec::new();
    for (port, status) in [
        (44_000, SandboxStatus::Running),
        (44_001, SandboxStatus::Expired),
        (44_002, SandboxStatus::Stopped),
        (44_003, SandboxStatus::Finalized),
        (44_004, SandboxStatus::Restarting),
    ] {
        let id = insert_sandbox(&*store).await;
        assert!(store.try_lease_port(&id, port).await.expect("lease"));
        store.set_status(&id, status, now).await.expect("status");
        if !status.is_terminal() {
            expected_left.push(port);
        }
    }
    // A crashed server restarts: leases of sandboxes that are gone for good are freed...
    store.close().await;
    let store = db.open().await;
    assert_eq!(store.reclaim_stale_leases().await.expect("reclaim"), 2);
    let left: Vec<u16> = store
        .port_leases()
        .await
        .expect("leases")
        .iter()
        .map(|l| l.port)
        .collect();
    assert_eq!(left, expected_left);
    // ...once.
    assert_eq!(
        store.reclaim_stale_leases().await.expect("reclaim again"),
        0
    );
    store.close().await;
}
