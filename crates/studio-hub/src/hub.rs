//! The hub facade: subscribing, publishing, closing topics and reading the counters. The shared
//! topic state it drives lives in `topics`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use studio_core::{Event, SandboxId};

use crate::config::HubConfig;
use crate::event::SharedEvent;
use crate::queue::{ClientQueue, CloseReason, Pushed};
use crate::subscription::Subscription;
use crate::topics::{Shared, Topic, lock};

/// A snapshot of the hub's counters, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HubStats {
    /// Topics with at least one client.
    pub topics: usize,
    /// Connected clients over all topics.
    pub clients: usize,
    /// Calls to [`Hub::publish`].
    pub events_published: u64,
    /// Events handed to clients by [`Subscription::recv`], replayed ones included.
    pub events_sent: u64,
    /// Clients dropped because their queue was full.
    pub clients_dropped_slow: u64,
}

/// The event hub. Cheap to clone: clones share the same topics.
#[derive(Debug, Clone, Default)]
pub struct Hub {
    pub(crate) shared: Arc<Shared>,
}

impl Hub {
    pub fn new(config: HubConfig) -> Self {
        let config = HubConfig {
            queue_capacity: config.queue_capacity.max(1),
            replay_page: config.replay_page.max(1),
        };
        Self {
            shared: Arc::new(Shared {
                config,
                ..Shared::default()
            }),
        }
    }

    pub fn config(&self) -> HubConfig {
        self.shared.config
    }

    /// Attaches a client to the live stream of `sandbox`, creating the topic if needed. It receives
    /// every event published from now on. Dropping the subscription detaches it.
    pub fn subscribe(&self, sandbox: &SandboxId) -> Subscription {
        let shared = &self.shared;
        let queue = Arc::new(ClientQueue::new(shared.config.queue_capacity));
        let client_id = shared.next_client.fetch_add(1, Ordering::Relaxed);
        let topic = {
            let mut topics = lock(&shared.topics);
            let topic = Arc::clone(topics.entry(sandbox.clone()).or_default());
            // Joining while still holding the map lock: `close_topic` and the last-client cleanup
            // remove a topic under the same lock, so a topic found here cannot be removed before
            // this client is in it.
            lock(&topic.clients)
                .by_id
                .insert(client_id, Arc::clone(&queue));
            topic
        };
        shared.clients.fetch_add(1, Ordering::Relaxed);
        Subscription::new(Arc::clone(shared), sandbox.clone(), topic, client_id, queue)
    }

    /// Sends `event` to every client of its sandbox's topic and returns how many queued it.
    ///
    /// Never awaits and never waits for a client: a client whose queue is full is dropped with
    /// [`CloseReason::TooSlow`]. Events must be published in `seq` order, after they are stored.
    pub fn publish(&self, sandbox: &SandboxId, event: Event) -> usize {
        let shared = &self.shared;
        shared.events_published.fetch_add(1, Ordering::Relaxed);
        let Some(topic) = lock(&shared.topics).get(sandbox).cloned() else {
            return 0;
        };
        let event = SharedEvent::new(event);
        let (queued, dropped, now_empty) = {
            let mut clients = lock(&topic.clients);
            let before = clients.by_id.len();
            clients
                .by_id
                .retain(|_, queue| queue.push(&event) == Pushed::Queued);
            let after = clients.by_id.len();
            (after, before - after, after == 0)
        };
        if dropped > 0 {
            shared.clients.fetch_sub(dropped, Ordering::Relaxed);
            shared
                .clients_dropped_slow
                .fetch_add(dropped as u64, Ordering::Relaxed);
            tracing::warn!(
                sandbox = %sandbox,
                dropped,
                seq = event.seq(),
                capacity = shared.config.queue_capacity,
                "dropped event-stream clients that could not keep up"
            );
        }
        if now_empty {
            shared.remove_topic_if_empty(sandbox, &topic);
        }
        queued
    }

    /// Ends every client of `sandbox` with [`CloseReason::TopicClosed`] (each still receives what
    /// was already queued for it) and forgets the topic. Returns how many clients were ended.
    pub fn close_topic(&self, sandbox: &SandboxId) -> usize {
        let topic = lock(&self.shared.topics).remove(sandbox);
        topic.map_or(0, |topic| {
            self.end_clients(&topic, CloseReason::TopicClosed)
        })
    }

    /// Ends every client of every topic with [`CloseReason::Shutdown`]. Returns how many.
    pub fn close_all(&self) -> usize {
        let topics: Vec<_> = lock(&self.shared.topics).drain().map(|(_, t)| t).collect();
        topics
            .iter()
            .map(|topic| self.end_clients(topic, CloseReason::Shutdown))
            .sum()
    }

    fn end_clients(&self, topic: &Topic, reason: CloseReason) -> usize {
        let mut clients = lock(&topic.clients);
        clients.removed = true;
        let ended = clients.by_id.len();
        for (_, queue) in clients.by_id.drain() {
            queue.close(reason);
        }
        self.shared.clients.fetch_sub(ended, Ordering::Relaxed);
        ended
    }

    /// Clients currently attached to `sandbox`.
    pub fn client_count(&self, sandbox: &SandboxId) -> usize {
        let topic = lock(&self.shared.topics).get(sandbox).cloned();
        topic.map_or(0, |topic| lock(&topic.clients).by_id.len())
    }

    /// Clients currently attached over all sandboxes.
    pub fn total_clients(&self) -> usize {
        self.shared.clients.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> HubStats {
        let shared = &self.shared;
        HubStats {
            topics: lock(&shared.topics).len(),
            clients: shared.clients.load(Ordering::Relaxed),
            events_published: shared.events_published.load(Ordering::Relaxed),
            events_sent: shared.events_sent.load(Ordering::Relaxed),
            clients_dropped_slow: shared.clients_dropped_slow.load(Ordering::Relaxed),
        }
    }
}
