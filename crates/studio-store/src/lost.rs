//! Connections the database may have ended under the pool.
//!
//! When PostgreSQL restarts, fails over or an administrator ends the server's sessions, every
//! pooled connection is dead, and without a ping the pool hands each of them out once more: each
//! fails one request (503) after the database is back, and `/readyz` may say ready while the next
//! write still draws a dead connection. So once any call saw its connection lost, every pooled
//! connection that sat idle since before that is pinged (and replaced if dead) before use; a
//! connection used after the loss is known good again, so the extra round trips end by themselves.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When a call last saw its connection lost (process-wide: a loss seen by another store only
/// costs a ping).
static LAST: Mutex<Option<Instant>> = Mutex::new(None);

/// Notes `e` if it means the connection is gone: a transport failure, or PostgreSQL's
/// "connection exception" (08…) and "operator intervention" (57P…: shutdown, terminated).
pub(crate) fn note(e: &sqlx::Error) {
    let lost = match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
        _ => false,
    };
    if lost {
        *LAST.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
}

/// Whether a connection idle for `idle_for` was last used before the last loss.
pub(crate) fn idle_since_a_loss(idle_for: Duration) -> bool {
    let last = *LAST.lock().unwrap_or_else(|e| e.into_inner());
    last.is_some_and(|lost| {
        Instant::now()
            .checked_sub(idle_for)
            .is_none_or(|idle_since| idle_since <= lost)
    })
}
