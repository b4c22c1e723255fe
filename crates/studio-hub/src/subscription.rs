//! A client's end of a topic: [`Subscription`], its replay backlog and the `seq` it has reached.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use studio_core::SandboxId;

use crate::event::SharedEvent;
use crate::queue::{ClientQueue, CloseReason};
use crate::topics::{Shared, Topic};

/// One client attached to one sandbox's topic. Dropping it detaches the client (and removes the
/// topic if it was the last one).
pub struct Subscription {
    shared: Arc<Shared>,
    sandbox: SandboxId,
    topic: Arc<Topic>,
    client_id: u64,
    queue: Arc<ClientQueue>,
    /// Replayed events not yet handed out; they come before anything from `queue`.
    pub(crate) backlog: VecDeque<SharedEvent>,
    /// `seq` of the last event handed out (or the `since` of a replay). Live events at or below it
    /// were already delivered by the replay and are skipped.
    pub(crate) last_seq: Option<u64>,
}

impl Subscription {
    pub(crate) fn new(
        shared: Arc<Shared>,
        sandbox: SandboxId,
        topic: Arc<Topic>,
        client_id: u64,
        queue: Arc<ClientQueue>,
    ) -> Self {
        Self {
            shared,
            sandbox,
            topic,
            client_id,
            queue,
            backlog: VecDeque::new(),
            last_seq: None,
        }
    }

    pub fn sandbox(&self) -> &SandboxId {
        &self.sandbox
    }

    /// `seq` of the last event handed out (or the `since` a replay started from): what the client
    /// would pass as `?since=` to resume after a disconnect.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// `seq` of the oldest live event waiting in the queue.
    pub(crate) fn first_live_seq(&self) -> Option<u64> {
        self.queue.front_seq()
    }

    /// The next event, in `seq` order, or why the stream ended.
    ///
    /// After a `TooSlow` close the client gets the reason at once (its backlog is dropped; it should
    /// reconnect with `?since`); after a graceful close it first gets everything already queued.
    /// Cancel-safe, so it can sit in a `tokio::select!` beside the socket's reader.
    pub async fn recv(&mut self) -> Result<SharedEvent, CloseReason> {
        if self.queue.closed_reason() == Some(CloseReason::TooSlow) {
            self.backlog.clear();
        }
        let event = match self.backlog.pop_front() {
            Some(event) => event,
            None => loop {
                let event = self.queue.pop().await?;
                // Already delivered by the replay (or published twice): skip it.
                if self.last_seq.is_none_or(|last| event.seq() > last) {
                    break event;
                }
            },
        };
        self.last_seq = Some(event.seq());
        self.shared.events_sent.fetch_add(1, Ordering::Relaxed);
        Ok(event)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.shared
            .leave(&self.sandbox, &self.topic, self.client_id);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("sandbox", &self.sandbox)
            .field("client_id", &self.client_id)
            .field("backlog", &self.backlog.len())
            .field("last_seq", &self.last_seq)
            .field("closed", &self.queue.closed_reason())
            .finish()
    }
}
