//! The store as the hub's source of missed events (`?since=`).

use std::sync::Arc;

use studio_core::{Event, SandboxId};
use studio_store::{Store, StoreError};

/// Adapts [`Store::events_since`] to the hub's [`studio_hub::EventSource`].
pub(crate) struct StoreSource(pub Arc<dyn Store>);

impl studio_hub::EventSource for StoreSource {
    type Error = StoreError;

    async fn events_since(
        &self,
        sandbox: &SandboxId,
        since: u64,
        limit: usize,
    ) -> Result<Vec<Event>, Self::Error> {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        self.0.events_since(sandbox, since, limit).await
    }
}
