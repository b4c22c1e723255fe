//! Poison-tolerant locking for the std mutexes the workspace shares between blocking threads.

use std::sync::{Mutex, MutexGuard};

/// Locks a std mutex, recovering from poisoning: the guarded data are plain flags and an
/// optional spare, which stay consistent even if a holder panicked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
