//! What open renderer pages say about each component: the actor keeps every page's latest state
//! per component and story ([`ComponentStates`] adds them up) and announces a tile's state only
//! when it changes, so two pages showing the same sandbox, or one page re-sending everything
//! after a reconnect, add no events. When a page's connection closes its reports go with it: the
//! tiles are what the other pages say, or `pending` once no page is open (nothing is announced
//! for that).

use studio_core::component::{Change, ComponentReport, ComponentStates, Reporter};

use super::Actor;
use crate::error::ManagerError;

impl Actor {
    /// Takes one batch of reports; each change is persisted and then published, in the batch's
    /// order. A change the store does not take fails the batch (the page is told), and stays
    /// unannounced, so the next report of that tile announces it.
    pub(super) async fn report_components(
        &mut self,
        reporter: Reporter,
        reports: Vec<ComponentReport>,
    ) -> Result<(), ManagerError> {
        for report in reports {
            let change = self
                .pages
                .apply(reporter, report)
                .map_err(|e| ManagerError::invalid("too_many_components", e.to_string()))?;
            if let Some(change) = change {
                self.announce_change(change).await?;
            }
        }
        Ok(())
    }

    /// A WebSocket connection closed: the tiles it reported are what the other pages say.
    pub(super) async fn reporter_gone(&mut self, reporter: Reporter) {
        for change in self.pages.remove_reporter(reporter) {
            // No request to fail: the next report of the tile announces it again.
            if let Err(e) = self.announce_change(change).await {
                tracing::warn!(sandbox = %self.id, "could not record a component state: {e}");
            }
        }
        if self.pages.is_empty() {
            tracing::debug!(sandbox = %self.id, "no page reports components: all pending");
        }
    }

    async fn announce_change(&mut self, change: Change) -> Result<(), ManagerError> {
        let (kind, payload) = change.report.event();
        let stored = self.announce.event(kind, payload).await;
        if stored.is_err() {
            self.pages.not_announced(change);
        }
        stored
    }

    pub(super) fn component_states(&self) -> &ComponentStates {
        &self.pages
    }
}
