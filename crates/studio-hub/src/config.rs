//! The hub's tuning knobs ([`HubConfig`]), kept apart so the topic state and the hub facade can
//! both read them without importing each other.

/// Tuning knobs. The defaults suit a WebSocket per browser tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubConfig {
    /// Events a client may have queued before it is dropped as too slow (at least 1).
    pub queue_capacity: usize,
    /// Events asked of the [`EventSource`](crate::EventSource) per call during replay (at least 1).
    pub replay_page: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 256,
            replay_page: 500,
        }
    }
}
