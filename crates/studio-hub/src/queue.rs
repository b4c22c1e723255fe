//! One client's bounded event queue.
//!
//! A plain `VecDeque` behind a mutex plus a [`Notify`], rather than a `tokio::sync::mpsc` channel,
//! because the hub needs two things a channel does not give: dropping a slow client must discard
//! what it has not read yet (a channel would make it drain up to `capacity` stale events before it
//! noticed), and the receiver must learn *why* it was closed.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::event::SharedEvent;

/// Why a subscription ended. The API layer turns it into a WebSocket close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    /// The client's queue was full when an event arrived: it was not reading fast enough.
    #[error("client too slow: its event queue filled up; reconnect with ?since=<last seq>")]
    TooSlow,
    /// The sandbox was deleted or torn down; no more events will come.
    #[error("sandbox closed: no more events will be published")]
    TopicClosed,
    /// The server is shutting down.
    #[error("server shutting down")]
    Shutdown,
}

impl CloseReason {
    /// The WebSocket close code (RFC 6455 §7.4.1) that reports this reason.
    pub fn close_code(self) -> u16 {
        match self {
            // 1008 "policy violation": the client broke the keep-up rule. (1013 "try again later"
            // would also fit; 1008 is what most brokers send to slow consumers.)
            Self::TooSlow => 1008,
            Self::TopicClosed => 1000,
            Self::Shutdown => 1001,
        }
    }

    /// A short reason for the close frame (which allows at most 123 bytes).
    pub fn close_text(self) -> &'static str {
        match self {
            Self::TooSlow => "too slow",
            Self::TopicClosed => "sandbox closed",
            Self::Shutdown => "server shutting down",
        }
    }
}

/// What happened to one push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// The queue was full: the client is now closed with [`CloseReason::TooSlow`].
    DroppedTooSlow,
    /// The client had already been closed; nothing was queued.
    AlreadyClosed,
}

#[derive(Debug)]
pub(crate) struct ClientQueue {
    state: Mutex<State>,
    /// Wakes the single receiver. `notify_one` stores a permit when nobody waits, so a push that
    /// lands between the receiver's check and its wait is never missed.
    wake: Notify,
    capacity: usize,
}

#[derive(Debug)]
struct State {
    events: VecDeque<SharedEvent>,
    closed: Option<CloseReason>,
}

impl ClientQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                events: VecDeque::new(),
                closed: None,
            }),
            wake: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing in this module panics while holding the lock, so a poisoned lock still guards a
        // consistent queue.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Never blocks beyond the short critical section, never awaits.
    pub(crate) fn push(&self, event: &SharedEvent) -> Pushed {
        let outcome = {
            let mut state = self.state();
            if state.closed.is_some() {
                return Pushed::AlreadyClosed;
            }
            if state.events.len() >= self.capacity {
                // Free the backlog now: a client that is this far behind will reconnect and replay.
                state.events = VecDeque::new();
                state.closed = Some(CloseReason::TooSlow);
                Pushed::DroppedTooSlow
            } else {
                state.events.push_back(event.clone());
                Pushed::Queued
            }
        };
        self.wake.notify_one();
        outcome
    }

    /// Ends the client gracefully: what is already queued is still delivered, then `reason`.
    pub(crate) fn close(&self, reason: CloseReason) {
        {
            let mut state = self.state();
            if state.closed.is_none() {
                state.closed = Some(reason);
            }
        }
        self.wake.notify_one();
    }

    pub(crate) fn closed_reason(&self) -> Option<CloseReason> {
        self.state().closed
    }

    /// `seq` of the oldest queued event, if any.
    pub(crate) fn front_seq(&self) -> Option<u64> {
        self.state().events.front().map(SharedEvent::seq)
    }

    /// The next event, or the close reason once the queue is closed and drained.
    ///
    /// Cancel-safe: an event is only taken out of the queue by a call that returns it.
    pub(crate) async fn pop(&self) -> Result<SharedEvent, CloseReason> {
        loop {
            {
                let mut state = self.state();
                if let Some(event) = state.events.pop_front() {
                    return Ok(event);
                }
                if let Some(reason) = state.closed {
                    return Err(reason);
                }
            }
            self.wake.notified().await;
        }
    }
}
