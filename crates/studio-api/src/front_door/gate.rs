//! How much of the front door each sandbox holds right now: requests in flight and open WebSocket
//! tunnels, counted per sandbox, with a [`Pass`] that gives its place back when dropped (when
//! the response body has been sent, or the tunnel has closed).
//!
//! A plain mutex is right here: it is held for a map update, never across an `.await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use studio_core::SandboxId;

/// Why a request was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    Requests,
    WebSockets,
}

#[derive(Debug, Default, Clone, Copy)]
struct Held {
    requests: usize,
    websockets: usize,
}

/// The per-sandbox counters.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    held: Arc<Mutex<HashMap<SandboxId, Held>>>,
    max_requests: usize,
    max_websockets: usize,
}

/// One request's (or tunnel's) place; given back on drop.
#[derive(Debug)]
pub(crate) struct Pass {
    gate: Gate,
    id: SandboxId,
    websocket: bool,
}

impl Gate {
    pub(crate) fn new(max_requests: usize, max_websockets: usize) -> Self {
        Self {
            held: Arc::default(),
            max_requests,
            max_websockets,
        }
    }

    /// A place for one request of `id` (a WebSocket tunnel when `websocket`), or which limit
    /// is reached.
    pub(crate) fn enter(&self, id: &SandboxId, websocket: bool) -> Result<Pass, Full> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = held.entry(id.clone()).or_default();
        if entry.requests >= self.max_requests {
            return Err(Full::Requests);
        }
        if websocket && entry.websockets >= self.max_websockets {
            return Err(Full::WebSockets);
        }
        entry.requests += 1;
        if websocket {
            entry.websockets += 1;
        }
        Ok(Pass {
            gate: self.clone(),
            id: id.clone(),
            websocket,
        })
    }

    #[cfg(test)]
    fn held(&self, id: &SandboxId) -> (usize, usize) {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.get(id).map_or((0, 0), |h| (h.requests, h.websockets))
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut held = self
            .gate
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = held.get_mut(&self.id) {
            entry.requests = entry.requests.saturating_sub(1);
            if self.websocket {
                entry.websockets = entry.websockets.saturating_sub(1);
            }
            // Forget idle sandboxes, so the map holds only those with traffic in flight.
            if entry.requests == 0 {
                held.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sandbox_has_its_own_budget_and_a_dropped_pass_gives_its_place_back() {
        let gate = Gate::new(3, 1);
        let a = SandboxId::from_random([1; 8]);
        let b = SandboxId::from_random([2; 8]);
        let ws = gate.enter(&a, true).unwrap();
        assert_eq!(gate.enter(&a, true).unwrap_err(), Full::WebSockets);
        let r1 = gate.enter(&a, false).unwrap();
        let r2 = gate.enter(&a, false).unwrap();
        assert_eq!(gate.enter(&a, false).unwrap_err(), Full::Requests);
        assert_eq!(gate.held(&a), (3, 1));
        // Another sandbox is not affected.
        let other = gate.enter(&b, true).unwrap();
        drop(ws);
        assert_eq!(gate.held(&a), (2, 0));
        let ws_again = gate.enter(&a, true).unwrap();
        drop((r1, r2, ws_again, other));
        assert_eq!(gate.held(&a), (0, 0));
        assert!(gate.held.lock().unwrap().is_empty());
    }
}
