//! What open renderer pages say about each component: the actor keeps the latest state per
//! component and story ([`ComponentStates`]) and announces a state only when it changes, so two
//! pages showing the same sandbox, or one page re-sending everything after a reconnect, add no
//! events. States last as long as some reporting page is connected: when the last one closes,
//! nobody is looking and every state is `pending` again (nothing is announced for that).

use std::collections::HashSet;

use studio_core::component::{ComponentReport, ComponentStates};

use super::Actor;
use crate::error::ManagerError;

/// The states and the WebSocket connections that reported them.
#[derive(Debug, Default)]
pub(crate) struct PageReports {
    states: ComponentStates,
    reporters: HashSet<u64>,
}

impl PageReports {
    pub(crate) fn states(&self) -> &ComponentStates {
        &self.states
    }
}

impl Actor {
    /// Takes one batch of reports; each change is persisted and then published, in the batch's
    /// order. A report the store does not take fails the batch (the page is told, and a later
    /// report of the same state is a change again, since it was never recorded).
    pub(super) async fn report_components(
        &mut self,
        reporter: u64,
        reports: Vec<ComponentReport>,
    ) -> Result<(), ManagerError> {
        self.pages.reporters.insert(reporter);
        for report in reports {
            let key = (report.component.clone(), report.story.clone());
            let before = self.pages.states.get(&key.0, key.1.as_deref()).cloned();
            let changed = self
                .pages
                .states
                .apply(report)
                .map_err(|e| ManagerError::invalid("too_many_components", e.to_string()))?;
            let Some((kind, payload)) = changed.map(ComponentReport::event) else {
                continue;
            };
            if let Err(e) = self.announce.event(kind, payload).await {
                self.pages.states.restore(&key.0, key.1.as_deref(), before);
                return Err(e);
            }
        }
        Ok(())
    }

    /// A WebSocket connection closed; forgets every state when it was the last reporting page.
    pub(super) fn reporter_gone(&mut self, reporter: u64) {
        if self.pages.reporters.remove(&reporter) && self.pages.reporters.is_empty() {
            tracing::debug!(sandbox = %self.id, "no page reports components any more: all pending");
            self.pages.states.clear();
        }
    }
}
