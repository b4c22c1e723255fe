//! "Persist, then announce": the only way the manager tells anyone anything.
//!
//! An event is appended to the store (which assigns its gap-free `seq`) and only then published to
//! the hub. A client that reconnects with `?since=` is therefore always able to get it back from
//! the store, and a crash after the announcement never forgets it.

use std::sync::Arc;

use serde_json::{Value, json};
use studio_core::{EventKind, SandboxId, SandboxStatus};
use studio_hub::Hub;
use studio_store::Store;
use time::OffsetDateTime;

use crate::error::ManagerError;
use crate::metrics::Metrics;

/// Writes status changes and events for one sandbox, in that order: store, then hub.
#[derive(Debug, Clone)]
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

    /// Persists an event, then publishes it to the sandbox's clients.
    pub async fn event(&self, kind: EventKind, payload: Value) -> Result<(), ManagerError> {
        let event = self.store.append_event(&self.id, kind, payload).await?;
        let delivered = self.hub.publish(&self.id, event);
        self.metrics.events_sent(delivered);
        Ok(())
    }

    /// Persists a status change, then broadcasts it as a `status` event.
    pub async fn status(&self, status: SandboxStatus) -> Result<(), ManagerError> {
        self.store
            .set_status(&self.id, status, OffsetDateTime::now_utc())
            .await?;
        tracing::info!(sandbox = %self.id, %status, "status");
        self.event(EventKind::Status, json!({ "status": status }))
            .await
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
}
