//! `?since=<seq>` replay: the events a reconnecting client missed, then the live stream.

use std::future::Future;

use studio_core::{Event, SandboxId};

use crate::event::SharedEvent;
use crate::hub::Hub;
use crate::subscription::Subscription;

/// Where the hub reads missed events from: the store, in production.
///
/// `events_since` returns at most `limit` events of `sandbox` with `seq > since`, in ascending
/// `seq` order. Fewer than `limit` means "that was all".
pub trait EventSource: Send + Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    fn events_since(
        &self,
        sandbox: &SandboxId,
        since: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Event>, Self::Error>> + Send;
}

/// Reading the missed events failed; the client was not attached.
#[derive(Debug, thiserror::Error)]
#[error("could not read the events missed since seq {since}")]
pub struct ReplayError<E: std::error::Error + 'static> {
    pub since: u64,
    #[source]
    pub source: E,
}

impl Hub {
    /// Attaches a client that first receives every event with `seq > since`, then the live
    /// stream, with no gap and no duplicate at the seam.
    ///
    /// How: the live queue is registered *before* the store is read, so an event is either already
    /// stored when the replay reads (it is replayed, and maybe also queued live) or published after
    /// the client joined (it is queued live). The subscription hands out the replay, then skips
    /// live events whose `seq` it has already delivered. Reading stops early once the replay reaches
    /// the oldest live event, so a busy sandbox cannot keep the replay chasing its tail.
    ///
    /// A `since` beyond the sandbox's latest `seq` skips events until `seq` passes it; the API layer
    /// should reject such a value.
    pub async fn subscribe_since<S: EventSource>(
        &self,
        sandbox: &SandboxId,
        since: u64,
        source: &S,
    ) -> Result<Subscription, ReplayError<S::Error>> {
        let page_size = self.config().replay_page;
        let mut subscription = self.subscribe(sandbox);
        subscription.last_seq = Some(since);
        let mut cursor = since;
        loop {
            let page = source
                .events_since(sandbox, cursor, page_size)
                .await
                .map_err(|source| ReplayError { since, source })?;
            let was_full_page = page.len() >= page_size;
            let before = cursor;
            for event in page {
                // Defensive: a source that repeats or reorders must not make us deliver twice.
                if event.seq > cursor {
                    cursor = event.seq;
                    subscription.backlog.push_back(SharedEvent::new(event));
                }
            }
            let caught_up_with_live = subscription
                .first_live_seq()
                .is_some_and(|first_live| first_live <= cursor.saturating_add(1));
            if !was_full_page || cursor == before || caught_up_with_live {
                break;
            }
        }
        Ok(subscription)
    }
}
