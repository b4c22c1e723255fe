//! The server-wide cap on live sandboxes (`--max-sandboxes`).
//!
//! Every live sandbox (one with an actor: starting, running, restarting, expiring or stopped) holds
//! one [`Slot`]; the slot is claimed before any work of a create starts and released when the
//! actor ends (teardown, delete, shutdown) or when the setup fails. Claiming is one atomic
//! compare-and-swap on a counter, so concurrent creates can never overshoot the cap and no lock
//! guards any sandbox state. Stopped sandboxes keep their slot: they keep their checkout and can be
//! started again without asking for one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The counter of claimed slots and the cap.
#[derive(Debug)]
pub(crate) struct Slots {
    max: usize,
    used: Arc<AtomicUsize>,
}

/// One claimed slot; dropping it releases it.
#[derive(Debug)]
pub(crate) struct Slot {
    used: Arc<AtomicUsize>,
}

impl Slots {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            used: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A slot, or `None` when `max` are held.
    pub fn claim(&self) -> Option<Slot> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot {
                used: self.used.clone(),
            })
    }

    /// A slot even past the cap: for sandboxes recovered at start, which existed before the cap
    /// was (perhaps) lowered and must not be dropped for it. They still count against new creates.
    pub fn claim_anyway(&self) -> Slot {
        self.used.fetch_add(1, Ordering::AcqRel);
        Slot {
            used: self.used.clone(),
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.used.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_holds_and_a_dropped_slot_frees_one() {
        let slots = Slots::new(2);
        let a = slots.claim().expect("first");
        let _b = slots.claim().expect("second");
        assert!(slots.claim().is_none());
        drop(a);
        let _c = slots.claim().expect("freed by the drop");
        assert!(slots.claim().is_none());
        let _recovered = slots.claim_anyway();
        assert!(slots.claim().is_none());
    }

    #[test]
    fn concurrent_claims_never_overshoot() {
        let slots = Arc::new(Slots::new(5));
        let claimed: Vec<_> = (0..16)
            .map(|_| {
                let slots = slots.clone();
                std::thread::spawn(move || slots.claim())
            })
            .collect();
        let held: Vec<Slot> = claimed
            .into_iter()
            .filter_map(|t| t.join().expect("thread"))
            .collect();
        assert_eq!(held.len(), 5);
    }
}
