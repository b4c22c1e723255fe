//! The state every hub clone and subscription shares: the topic map, each topic's clients, and
//! the counters. Joining and leaving a topic live here so a subscription can detach itself
//! without reaching back into the hub facade.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use studio_core::SandboxId;

use crate::config::HubConfig;
use crate::queue::ClientQueue;

#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) topics: Mutex<HashMap<SandboxId, Arc<Topic>>>,
    pub(crate) config: HubConfig,
    pub(crate) next_client: AtomicU64,
    pub(crate) clients: AtomicUsize,
    pub(crate) events_published: AtomicU64,
    pub(crate) events_sent: AtomicU64,
    pub(crate) clients_dropped_slow: AtomicU64,
}

/// The clients of one sandbox.
#[derive(Debug, Default)]
pub(crate) struct Topic {
    pub(crate) clients: Mutex<TopicClients>,
}

#[derive(Debug, Default)]
pub(crate) struct TopicClients {
    pub(crate) by_id: HashMap<u64, Arc<ClientQueue>>,
    /// Set once the topic has left the map; it then never gains clients again.
    pub(crate) removed: bool,
}

/// Locks ignoring poison: every critical section here leaves the data consistent at each step.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Detaches one client (its subscription was dropped).
    pub(crate) fn leave(&self, sandbox: &SandboxId, topic: &Arc<Topic>, client_id: u64) {
        let was_attached = lock(&topic.clients).by_id.remove(&client_id).is_some();
        if was_attached {
            self.clients.fetch_sub(1, Ordering::Relaxed);
        }
        self.remove_topic_if_empty(sandbox, topic);
    }

    /// Removes `topic` from the map if it has no clients left and is still the map's topic for
    /// `sandbox` (a newer topic for the same sandbox is left alone).
    pub(crate) fn remove_topic_if_empty(&self, sandbox: &SandboxId, topic: &Arc<Topic>) {
        let mut topics = lock(&self.topics);
        let mut clients = lock(&topic.clients);
        if clients.removed || !clients.by_id.is_empty() {
            return;
        }
        clients.removed = true;
        if topics
            .get(sandbox)
            .is_some_and(|current| Arc::ptr_eq(current, topic))
        {
            topics.remove(sandbox);
        }
    }
}
