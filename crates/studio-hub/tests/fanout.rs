//! Live fan-out: ordering, slow clients, closing, counting.

mod common;

use common::{commit_event, next, read_through, sandbox};
use studio_hub::{CloseReason, Hub, HubConfig, HubStats};

#[tokio::test]
async fn two_clients_receive_every_event_in_order() {
    let hub = Hub::default();
    let id = sandbox(1);
    let mut first = hub.subscribe(&id);
    let mut second = hub.subscribe(&id);

    for seq in 1..=100 {
        assert_eq!(hub.publish(&id, commit_event(seq)), 2);
    }

    let expected: Vec<u64> = (1..=100).collect();
    assert_eq!(read_through(&mut first, 100).await, expected);
    assert_eq!(read_through(&mut second, 100).await, expected);
    // The payload is delivered intact and serialised in the API's wire form.
    hub.publish(&id, commit_event(101));
    let event = next(&mut first).await.unwrap();
    assert_eq!(event.event(), &commit_event(101));
    let wire: serde_json::Value = serde_json::from_str(event.json()).unwrap();
    assert_eq!(wire["type"], "commit");
    assert_eq!(wire["seq"], 101);
}

#[tokio::test]
async fn a_client_only_sees_events_published_after_it_joined() {
    let hub = Hub::default();
    let id = sandbox(2);
    assert_eq!(hub.publish(&id, commit_event(1)), 0, "nobody listens yet");
    let mut sub = hub.subscribe(&id);
    hub.publish(&id, commit_event(2));
    assert_eq!(next(&mut sub).await.unwrap().seq(), 2);
}

#[tokio::test]
async fn slow_client_is_dropped_while_another_keeps_receiving() {
    let capacity = 8;
    let hub = Hub::new(HubConfig {
        queue_capacity: capacity,
        ..HubConfig::default()
    });
    let id = sandbox(3);
    let mut slow = hub.subscribe(&id); // never reads
    let mut fast = hub.subscribe(&id);

    let mut queued_per_publish = Vec::new();
    for seq in 1..=50 {
        queued_per_publish.push(hub.publish(&id, commit_event(seq)));
        // The fast client reads each event as it comes and never misses one.
        assert_eq!(next(&mut fast).await.unwrap().seq(), seq);
    }

    // Both clients got the first `capacity` events; the next one found the slow queue full.
    let both = queued_per_publish.iter().take_while(|&&n| n == 2).count();
    assert_eq!(both, capacity);
    assert!(queued_per_publish[capacity..].iter().all(|&n| n == 1));

    // The slow client learns at once, without first draining stale events.
    assert_eq!(next(&mut slow).await.unwrap_err(), CloseReason::TooSlow);
    assert_eq!(next(&mut slow).await.unwrap_err(), CloseReason::TooSlow);
    assert_eq!(CloseReason::TooSlow.close_code(), 1008);

    let stats = hub.stats();
    assert_eq!(stats.clients_dropped_slow, 1);
    assert_eq!(stats.clients, 1);
    assert_eq!(hub.client_count(&id), 1);
    assert_eq!(
        stats.events_sent, 50,
        "only the fast client's deliveries count"
    );
}

#[tokio::test]
async fn slow_client_does_not_hold_up_a_busy_reader_on_another_task() {
    // Same rule with real concurrency: the fast reader runs on its own task while the publisher
    // keeps publishing; it must see every event even though the slow one is dropped.
    let hub = Hub::new(HubConfig {
        queue_capacity: 1024,
        ..HubConfig::default()
    });
    let id = sandbox(4);
    let _slow = hub.subscribe(&id);
    let mut fast = hub.subscribe(&id);
    let reader = tokio::spawn(async move { read_through(&mut fast, 3000).await });
    for seq in 1..=3000 {
        hub.publish(&id, commit_event(seq));
        if seq % 256 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let seqs = tokio::time::timeout(common::DEADLINE, reader)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seqs, (1..=3000).collect::<Vec<u64>>());
    assert_eq!(hub.stats().clients_dropped_slow, 1);
}

#[tokio::test]
async fn closing_a_topic_ends_its_clients_after_what_was_queued() {
    let hub = Hub::default();
    let (doomed, other) = (sandbox(5), sandbox(6));
    let mut a = hub.subscribe(&doomed);
    let mut b = hub.subscribe(&doomed);
    let mut bystander = hub.subscribe(&other);
    hub.publish(&doomed, commit_event(1));
    hub.publish(&doomed, commit_event(2));

    assert_eq!(hub.close_topic(&doomed), 2);
    assert_eq!(hub.close_topic(&doomed), 0, "already closed");
    for sub in [&mut a, &mut b] {
        assert_eq!(read_through(sub, 2).await, vec![1, 2]);
        assert_eq!(next(sub).await.unwrap_err(), CloseReason::TopicClosed);
    }
    assert_eq!(hub.stats().topics, 1);
    assert_eq!(hub.total_clients(), 1);

    hub.publish(&other, commit_event(1));
    assert_eq!(next(&mut bystander).await.unwrap().seq(), 1);

    assert_eq!(hub.close_all(), 1);
    assert_eq!(
        next(&mut bystander).await.unwrap_err(),
        CloseReason::Shutdown
    );
    assert_eq!(hub.stats().topics, 0);
    assert_eq!(hub.total_clients(), 0);
}

#[tokio::test]
async fn a_closed_client_wakes_up_while_waiting() {
    let hub = Hub::default();
    let id = sandbox(7);
    let mut sub = hub.subscribe(&id);
    let waiter = tokio::spawn(async move { sub.recv().await.map(|e| e.seq()) });
    // On this single-threaded runtime, yielding runs the waiter until it parks on its empty queue,
    // so the close below has to wake it (it would pass too if it had not parked yet).
    tokio::task::yield_now().await;
    hub.close_topic(&id);
    let outcome = tokio::time::timeout(common::DEADLINE, waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, Err(CloseReason::TopicClosed));
}

#[tokio::test]
async fn counts_follow_clients_and_topics_are_cleaned_up() {
    let hub = Hub::default();
    let (x, y) = (sandbox(8), sandbox(9));
    assert_eq!(hub.stats(), HubStats::default());

    let x1 = hub.subscribe(&x);
    let x2 = hub.subscribe(&x);
    let mut y1 = hub.subscribe(&y);
    assert_eq!((hub.client_count(&x), hub.client_count(&y)), (2, 1));
    assert_eq!(hub.stats().topics, 2);
    assert_eq!(hub.total_clients(), 3);

    drop(x1);
    assert_eq!(hub.client_count(&x), 1);
    drop(x2);
    assert_eq!(hub.client_count(&x), 0);
    assert_eq!(
        hub.stats().topics,
        1,
        "the last client leaving removes the topic"
    );

    assert_eq!(hub.publish(&x, commit_event(1)), 0);
    assert_eq!(hub.publish(&y, commit_event(1)), 1);
    next(&mut y1).await.unwrap();
    drop(y1);

    let stats = hub.stats();
    assert_eq!(
        (
            stats.topics,
            stats.clients,
            stats.events_published,
            stats.events_sent
        ),
        (0, 0, 2, 1)
    );

    // A topic emptied by dropping its only (slow) client goes away as well.
    let hub = Hub::new(HubConfig {
        queue_capacity: 1,
        ..HubConfig::default()
    });
    let slow = hub.subscribe(&x);
    hub.publish(&x, commit_event(1));
    hub.publish(&x, commit_event(2));
    assert_eq!(hub.stats().topics, 0);
    assert_eq!(hub.total_clients(), 0);
    drop(slow);
    assert_eq!(
        hub.total_clients(),
        0,
        "a dropped client is not subtracted twice"
    );
}
