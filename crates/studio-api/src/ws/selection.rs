//! A connection's selections on their way through the sandbox's actor.
//!
//! The actor is the one writer of its sandbox's event stream, and it may be busy with an edit or
//! an install for a while. So the pump does not wait for it: one selection per connection is in
//! flight, beside the pump (events and pings go on meanwhile), and those that arrive meanwhile
//! wait here, in order, to go next. When [`WAITING`] of them wait, the pump stops reading the
//! client until one is stored: backpressure onto the client, as for anything that cannot keep up,
//! rather than memory that grows or selections that are silently dropped.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use studio_core::SandboxId;
use studio_sandbox::{Manager, ManagerError};

/// Selections that may wait behind the one in flight before the pump stops reading the client.
/// With the usual coalescing (one selection per 100 ms) that is seconds of a busy actor.
pub(super) const WAITING: usize = 64;

/// A selection being stored and relayed by the sandbox's actor.
type Delivery = Pin<Box<dyn Future<Output = Result<(), ManagerError>> + Send>>;

/// The selection in flight and those waiting behind it.
#[derive(Default)]
pub(super) struct Selections {
    in_flight: Option<Delivery>,
    waiting: VecDeque<String>,
}

impl Selections {
    pub(super) fn busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Whether the pump may read another message from the client.
    pub(super) fn has_room(&self) -> bool {
        self.waiting.len() < WAITING
    }

    /// Sends `text` now if nothing is in flight, else queues it behind the others.
    pub(super) fn offer(&mut self, manager: &Manager, id: &SandboxId, text: String) {
        if self.busy() {
            self.waiting.push_back(text);
            return;
        }
        let (manager, id) = (manager.clone(), id.clone());
        self.in_flight = Some(Box::pin(
            async move { manager.client_message(&id, &text).await },
        ));
    }

    /// The outcome of the selection in flight (never resolves when there is none); the next one
    /// waiting is sent. Cancel-safe: the delivery stays in flight when another branch wins.
    pub(super) async fn done(
        &mut self,
        manager: &Manager,
        id: &SandboxId,
    ) -> Result<(), ManagerError> {
        let result = match &mut self.in_flight {
            Some(delivery) => delivery.await,
            None => std::future::pending().await,
        };
        self.in_flight = None;
        if let Some(text) = self.waiting.pop_front() {
            self.offer(manager, id, text);
        }
        result
    }

    /// The client is gone: what is in flight and what waits is stored all the same, in order.
    /// A refusal has no one to be told to.
    pub(super) async fn finish(mut self, manager: &Manager, id: &SandboxId) {
        while self.busy() {
            if let Err(e) = self.done(manager, id).await {
                tracing::debug!(sandbox = %id, "a selection of a closed client was not stored: {e}");
            }
        }
    }
}
