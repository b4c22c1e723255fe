//! An in-memory event log that plays the store's part for the hub: it assigns gap-free `seq`s and
//! answers `events_since`. Writers follow the manager's rule: store, then publish.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::convert::Infallible;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use studio_core::{Event, EventKind, SandboxId};
use studio_hub::{CloseReason, EventSource, Hub, SharedEvent, Subscription};

/// Deadline for any single wait in these tests: generous for a loaded 2-core machine, but a test
/// that is stuck fails instead of hanging.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub fn sandbox(n: u8) -> SandboxId {
    SandboxId::from_random([n; 8])
}

pub fn commit_event(seq: u64) -> Event {
    Event {
        kind: EventKind::Commit,
        payload: json!({"hash": format!("{seq:040x}"), "message": format!("AI: edit {seq}")}),
        seq,
    }
}

#[derive(Debug, Default)]
pub struct EventLog {
    events: Mutex<Vec<Event>>,
}

impl EventLog {
    /// Stores the next event and returns it (not yet published).
    pub fn append(&self) -> Event {
        let mut events = self.events.lock().expect("event log lock poisoned");
        let event = commit_event(events.len() as u64 + 1);
        events.push(event.clone());
        event
    }

    /// Store, then publish: what the sandbox manager does for every event.
    pub fn append_and_publish(&self, hub: &Hub, sandbox: &SandboxId) -> u64 {
        let event = self.append();
        let seq = event.seq;
        hub.publish(sandbox, event);
        seq
    }

    pub fn read(&self, since: u64, limit: usize) -> Vec<Event> {
        let events = self.events.lock().expect("event log lock poisoned");
        events
            .iter()
            .filter(|e| e.seq > since)
            .take(limit)
            .cloned()
            .collect()
    }
}

impl EventSource for EventLog {
    type Error = Infallible;

    async fn events_since(
        &self,
        _sandbox: &SandboxId,
        since: u64,
        limit: usize,
    ) -> Result<Vec<Event>, Infallible> {
        // A real store answers after a round trip; let publishers run meanwhile.
        tokio::task::yield_now().await;
        let page = self.read(since, limit);
        tokio::task::yield_now().await;
        Ok(page)
    }
}

/// The next event, failing the test after [`DEADLINE`].
pub async fn next(sub: &mut Subscription) -> Result<SharedEvent, CloseReason> {
    tokio::time::timeout(DEADLINE, sub.recv())
        .await
        .expect("no event or close within the deadline")
}

/// Reads until the event with `last_seq` and returns every `seq` received.
pub async fn read_through(sub: &mut Subscription, last_seq: u64) -> Vec<u64> {
    let mut seqs = Vec::new();
    while seqs.last() != Some(&last_seq) {
        let event = next(sub).await.expect("stream ended early");
        assert!(
            event.seq() <= last_seq,
            "got seq {} past {last_seq}",
            event.seq()
        );
        seqs.push(event.seq());
    }
    seqs
}
