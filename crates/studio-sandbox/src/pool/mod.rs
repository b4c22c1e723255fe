//! The renderer pool: pre-started renderers waiting for a sandbox (`--renderer-pool N`).
//!
//! [`Pool`] is a cloneable handle to one task ([`actor`]) that owns every idle member and keeps
//! `N` of them, starting one at a time in the background (a start competes for the CPU with the
//! creates it is meant to speed up). A create asks for a member ([`Pool::claim`]); the member
//! hands itself over ([`Member::hand_over`]: the checkout appears in its jail, it switches to the
//! sandbox's Vite, and the supervisor gives its process to the sandbox's renderer unit: socket
//! renamed, cgroup and limits the sandbox's). An empty pool, or a member that fails, is a *miss*:
//! the create starts its renderer cold, as without a pool.
//!
//! Members are supervised units (`pool-<name>`) in cgroups of their own, stopped with the same
//! guarantees as renderers. A server restart does not re-adopt idle members: they are cheap to
//! replace, so the leftover sweep removes them (`leftovers`) and their slots, and the pool fills
//! again. A claimed member is a renderer like any other and is re-adopted as one; its slot (the
//! mount of its checkout) lives until the sandbox's renderer stops.

mod actor;
mod member;
mod recovery;

use tokio::sync::{mpsc, oneshot};

pub(crate) use member::{
    Member, POOL_UNIT_PREFIX, hand_over, release_slot_of, release_slots, remove_unclaimed_slots,
    wait_serving,
};
pub(crate) use recovery::CrashRecovery;

/// Requests to the pool's task.
#[derive(Debug)]
enum Request {
    /// An idle member, if there is one.
    Claim(oneshot::Sender<Option<Member>>),
    /// Stop every idle member and starting one, then end.
    Shutdown(oneshot::Sender<()>),
}

/// Handle to the pool's task. Without a task (pool off, or not started yet) every claim misses.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    tx: mpsc::Sender<Request>,
    /// 0: the pool is off, and a claim does not even ask.
    target: usize,
}

/// The receiving end, until the task is spawned (after recovery, when `Shared` exists): see
/// `actor.rs`, `PoolInbox::spawn`.
#[derive(Debug)]
pub(crate) struct PoolInbox {
    rx: mpsc::Receiver<Request>,
    target: usize,
}

impl Pool {
    /// A pool of `target` members; start its task with [`PoolInbox::spawn`].
    pub fn new(target: usize) -> (Self, PoolInbox) {
        let (tx, rx) = mpsc::channel(64);
        (Self { tx, target }, PoolInbox { rx, target })
    }

    /// Whether the pool keeps any renderer (`--renderer-pool` > 0 and supported here).
    pub fn is_on(&self) -> bool {
        self.target > 0
    }

    /// An idle member, or `None` (pool off, empty, or shut down).
    pub async fn claim(&self) -> Option<Member> {
        if self.target == 0 {
            return None;
        }
        let (reply, answer) = oneshot::channel();
        self.tx.send(Request::Claim(reply)).await.ok()?;
        answer.await.ok().flatten()
    }

    /// Stops every member that is not claimed; returns once they are gone.
    pub async fn shutdown(&self) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Request::Shutdown(reply)).await.is_ok() {
            let _ = done.await;
        }
    }
}
