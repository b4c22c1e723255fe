//! `?since=` replay: the seam between history and the live stream.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{DEADLINE, EventLog, read_through, sandbox};
use studio_core::{Event, SandboxId};
use studio_hub::{EventSource, Hub, HubConfig};

fn small_pages() -> HubConfig {
    HubConfig {
        replay_page: 3,
        ..HubConfig::default()
    }
}

/// An event log whose first read is interleaved with writes, at fixed points, so that every kind
/// of seam event occurs: published before the read (in both replay and live), stored before the
/// read but published after it (both), and stored and published after it (live only).
struct InterleavingLog<'a> {
    log: &'a EventLog,
    hub: &'a Hub,
    sandbox: SandboxId,
    interleaved: AtomicBool,
}

impl EventSource for InterleavingLog<'_> {
    type Error = std::convert::Infallible;

    async fn events_since(
        &self,
        _sandbox: &SandboxId,
        since: u64,
        limit: usize,
    ) -> Result<Vec<Event>, Self::Error> {
        if self.interleaved.swap(true, Ordering::SeqCst) {
            return Ok(self.log.read(since, limit));
        }
        self.log.append_and_publish(self.hub, &self.sandbox); // 11: replay and live
        self.log.append_and_publish(self.hub, &self.sandbox); // 12: replay and live
        let stored_not_published = self.log.append(); // 13: stored now, published later
        let page = self.log.read(since, limit);
        self.hub.publish(&self.sandbox, stored_not_published); // 13: replay and live
        self.log.append_and_publish(self.hub, &self.sandbox); // 14: live only
        Ok(page)
    }
}

#[tokio::test]
async fn replay_then_live_has_no_gap_and_no_duplicate_at_the_seam() {
    for replay_page in [1, 3, 100] {
        let hub = Hub::new(HubConfig {
            replay_page,
            ..HubConfig::default()
        });
        let id = sandbox(1);
        let log = EventLog::default();
        for _ in 1..=10 {
            log.append_and_publish(&hub, &id); // nobody listening yet
        }
        let source = InterleavingLog {
            log: &log,
            hub: &hub,
            sandbox: id.clone(),
            interleaved: AtomicBool::new(false),
        };

        let mut sub = hub.subscribe_since(&id, 4, &source).await.unwrap();
        log.append_and_publish(&hub, &id); // 15: after the replay

        let seqs = read_through(&mut sub, 15).await;
        assert_eq!(
            seqs,
            (5..=15).collect::<Vec<u64>>(),
            "replay_page {replay_page}"
        );
        assert_eq!(sub.last_seq(), Some(15));
    }
}

#[tokio::test]
async fn replay_from_zero_and_from_the_latest_seq() {
    let hub = Hub::new(small_pages());
    let id = sandbox(2);
    let log = EventLog::default();
    for _ in 0..7 {
        log.append_and_publish(&hub, &id);
    }

    let mut everything = hub.subscribe_since(&id, 0, &log).await.unwrap();
    let mut up_to_date = hub.subscribe_since(&id, 7, &log).await.unwrap();
    log.append_and_publish(&hub, &id);

    assert_eq!(
        read_through(&mut everything, 8).await,
        (1..=8).collect::<Vec<u64>>()
    );
    assert_eq!(read_through(&mut up_to_date, 8).await, vec![8]);
}

#[tokio::test]
async fn a_failing_replay_leaves_no_client_behind() {
    #[derive(Debug, thiserror::Error)]
    #[error("database is down")]
    struct Down;
    struct BrokenStore;
    impl EventSource for BrokenStore {
        type Error = Down;
        async fn events_since(&self, _: &SandboxId, _: u64, _: usize) -> Result<Vec<Event>, Down> {
            Err(Down)
        }
    }

    let hub = Hub::default();
    let id = sandbox(3);
    let err = hub.subscribe_since(&id, 5, &BrokenStore).await.unwrap_err();
    assert_eq!(err.since, 5);
    assert_eq!(
        err.to_string(),
        "could not read the events missed since seq 5"
    );
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "database is down"
    );
    assert_eq!(hub.total_clients(), 0);
    assert_eq!(hub.stats().topics, 0);
}

/// Many clients reconnect at random moments while a writer keeps storing and publishing: each must
/// receive exactly the events after its `since`, in order, then the live ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_seam_holds_under_concurrency() {
    const EVENTS: u64 = 2_000;
    const CLIENTS: u64 = 40;
    let hub = Hub::new(HubConfig {
        queue_capacity: EVENTS as usize, // nobody may be dropped as too slow here
        replay_page: 16,
    });
    let id = sandbox(4);
    let log = Arc::new(EventLog::default());

    let writer = {
        let (hub, id, log) = (hub.clone(), id.clone(), Arc::clone(&log));
        tokio::spawn(async move {
            for _ in 0..EVENTS {
                log.append_and_publish(&hub, &id);
                tokio::task::yield_now().await;
            }
        })
    };

    let mut readers = Vec::new();
    for client in 0..CLIENTS {
        let (hub, id, log) = (hub.clone(), id.clone(), Arc::clone(&log));
        readers.push(tokio::spawn(async move {
            // Join at a point spread over the writer's run; resume from a little while ago.
            for _ in 0..client * 3 {
                tokio::task::yield_now().await;
            }
            let latest = log.read(0, usize::MAX).len() as u64;
            let since = latest.saturating_sub(client % 20);
            let mut sub = hub.subscribe_since(&id, since, log.as_ref()).await.unwrap();
            (since, read_through(&mut sub, EVENTS).await)
        }));
    }

    tokio::time::timeout(DEADLINE, writer)
        .await
        .unwrap()
        .unwrap();
    for reader in readers {
        let (since, seqs) = tokio::time::timeout(DEADLINE, reader)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            seqs,
            (since + 1..=EVENTS).collect::<Vec<u64>>(),
            "since {since}"
        );
    }
    assert_eq!(hub.stats().clients_dropped_slow, 0);
}
