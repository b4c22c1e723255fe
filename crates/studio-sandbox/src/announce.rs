//! "Persist, then announce": the only way the manager tells anyone anything.
//!
//! An event is appended to the store (which assigns its gap-free `seq`) and only then published to
//! the hub. A client that reconnects with `?since=` is therefore always able to get it back from
//! the store, and a crash after the announcement never forgets it.
//!
//! One writer per sandbox: the hub needs a sandbox's events published in `seq` order (a
//! subscriber skips anything at or below the last `seq` it got), and nothing orders two appends
//! made by two tasks with their publishes. So a sandbox's [`Announcer`] is owned by its actor
//! (before the actor's task starts, by the setup or recovery that builds it), is not `Clone`, and
//! everyone else's events (a client's `component-selected`) are commands to that actor.

use std::sync::Arc;

use serde_json::{Value, json};
use studio_core::{EventKind, SandboxId, SandboxStatus};
use studio_hub::Hub;
use studio_store::Store;
use time::OffsetDateTime;

use crate::error::ManagerError;
use crate::metrics::Metrics;

/// Writes status changes and events for one sandbox, in that order: store, then hub.
#[derive(Debug)]
pub struct Announcer {
    id: SandboxId,
    store: Arc<dyn Store>,
    hub: Hub,
    metrics: Metrics,
}

impl Announcer {
    pub fn new(id: SandboxId, store: Arc<dyn Store>, hub: Hub, metrics: Metrics) -> Self {
        Self {
            id,
            store,
            hub,
            metrics,
        }
    }

    /// Persists an event, then publishes it to the sandbox's clients. Nothing is published when
    /// the store did not take it.
    pub async fn event(&self, kind: EventKind, payload: Value) -> Result<(), ManagerError> {
        let event = self.store.append_event(&self.id, kind, payload).await?;
        self.publish(event);
        Ok(())
    }

    /// Persists a status change together with its `status` event (one transaction), then
    /// publishes the event. On failure neither is stored and nothing is announced.
    pub async fn status(&self, status: SandboxStatus) -> Result<(), ManagerError> {
        let event = self
            .store
            .set_status_with_event(
                &self.id,
                status,
                OffsetDateTime::now_utc(),
                json!({ "status": status }),
            )
            .await?;
        tracing::info!(sandbox = %self.id, %status, "status");
        self.publish(event);
        Ok(())
    }

    /// An `error` event; failures to announce are logged, never allowed to hide the original error.
    pub async fn error(&self, message: &str) {
        if let Err(e) = self
            .event(EventKind::Error, json!({ "error": message }))
            .await
        {
            tracing::warn!(sandbox = %self.id, "could not record error event: {e}");
        }
    }

    fn publish(&self, event: studio_core::Event) {
        let delivered = self.hub.publish(&self.id, event);
        self.metrics.events_sent(delivered);
    }
}
