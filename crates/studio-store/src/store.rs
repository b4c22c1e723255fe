//! The `Store` trait: everything Studio persists, behind one interface for both databases.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;

use async_trait::async_trait;
use serde_json::Value;
use studio_core::{CommitInfo, Event, EventKind, SandboxId, SandboxStatus};
use time::OffsetDateTime;

use crate::error::Result;
use crate::model::{
    NewSandbox, PortLease, PullRequest, RuntimeState, SandboxFilter, SandboxRecord, StoredCommit,
};
use crate::url::Backend;

/// Studio's durable state.
///
/// Every write has been committed by the database when its future resolves, so the caller may
/// acknowledge it (answer the HTTP request, publish the event): a crash of the server after that
/// point never loses it. Writes to a sandbox that does not exist fail with
/// [`StoreError::SandboxNotFound`](crate::StoreError::SandboxNotFound); reads of one return
/// `None` or an empty list.
///
/// A trait object (`Arc<dyn Store>`) rather than a closed enum, so that tests of other crates can
/// wrap a real store in a decorator that injects a fault. `async-trait` boxes each call's future:
/// one allocation next to a database round trip.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Which database this store writes to.
    fn backend(&self) -> Backend;

    // ---- sandboxes ----------------------------------------------------------------------

    /// Stores a new sandbox and returns it as stored (timestamps normalised to UTC µs).
    /// Fails with `SandboxExists` if the id or the branch is taken.
    async fn insert_sandbox(&self, new: &NewSandbox) -> Result<SandboxRecord>;

    async fn get_sandbox(&self, id: &SandboxId) -> Result<Option<SandboxRecord>>;

    /// Sandboxes matching `filter`, oldest first.
    async fn list_sandboxes(&self, filter: &SandboxFilter) -> Result<Vec<SandboxRecord>>;

    /// Removes a sandbox with its commits, events and port leases. Returns whether it existed.
    async fn delete_sandbox(&self, id: &SandboxId) -> Result<bool>;

    /// Records a status change. Entering a terminal status also stamps `finished_at` (once).
    async fn set_status(
        &self,
        id: &SandboxId,
        status: SandboxStatus,
        at: OffsetDateTime,
    ) -> Result<()>;

    /// Replaces the renderer port, the supervisor's adoption record and the restart count.
    async fn update_runtime(&self, id: &SandboxId, runtime: &RuntimeState) -> Result<()>;

    /// Moves `last_activity_at` forward to `at` (never backwards, whatever the call order).
    async fn touch_activity(&self, id: &SandboxId, at: OffsetDateTime) -> Result<()>;

    async fn set_pull_request(&self, id: &SandboxId, pr: &PullRequest) -> Result<()>;

    // ---- commits ------------------------------------------------------------------------

    /// Appends a commit to the sandbox's list. Recording a hash that is already listed is not an
    /// error: it clears its rolled-back mark and keeps its place (the same commit was re-made).
    async fn record_commit(&self, id: &SandboxId, commit: &CommitInfo) -> Result<()>;

    /// Marks these commits as rolled back past. Returns how many changed.
    async fn mark_rolled_back(&self, id: &SandboxId, hashes: &[String]) -> Result<u64>;

    /// Clears the rolled-back mark of these commits (a rollback moved forward again).
    async fn mark_restored(&self, id: &SandboxId, hashes: &[String]) -> Result<u64>;

    /// The sandbox's commits in the order they were recorded (oldest first).
    async fn commits(&self, id: &SandboxId) -> Result<Vec<StoredCommit>>;

    // ---- events -------------------------------------------------------------------------

    /// Appends an event and returns it with its `seq`: the previous one plus one, for this
    /// sandbox, in the same transaction as the insert. No gaps, no duplicates, whatever the
    /// concurrency, across restarts and pruning.
    async fn append_event(&self, id: &SandboxId, kind: EventKind, payload: Value) -> Result<Event>;

    /// Up to `limit` events with `seq > since`, in order. Pruned events are simply absent.
    async fn events_since(&self, id: &SandboxId, since: u64, limit: u32) -> Result<Vec<Event>>;

    /// Deletes events created before `older_than` (the retention cut-off). Returns how many.
    async fn prune_events(&self, older_than: OffsetDateTime) -> Result<u64>;

    // ---- port registry ------------------------------------------------------------------

    /// Leases the lowest port of `range` that nobody holds and that is not in `skip`.
    ///
    /// The database's uniqueness constraint on the port is what makes the lease safe against
    /// other tasks and other servers; whether the OS port is actually free is the caller's
    /// check. The intended loop:
    ///
    /// ```ignore
    /// let mut skip = BTreeSet::new();
    /// let port = loop {
    ///     let port = store.lease_next_port(&id, range.clone(), &skip).await?;
    ///     if os_port_is_free(port) { break port }
    ///     store.release_port(&id, port).await?;
    ///     skip.insert(port);
    /// };
    /// ```
    ///
    /// Fails with `NoFreePort` when the range is exhausted (on PostgreSQL also when 64 attempts
    /// in a row lost their port to concurrent allocators, which takes dozens of them).
    async fn lease_next_port(
        &self,
        id: &SandboxId,
        range: RangeInclusive<u16>,
        skip: &BTreeSet<u16>,
    ) -> Result<u16>;

    /// Leases exactly `port`. True if `id` holds it afterwards (also when it already did),
    /// false if another sandbox holds it. Used to re-claim a recorded port at start-up.
    async fn try_lease_port(&self, id: &SandboxId, port: u16) -> Result<bool>;

    /// Releases `port` if `id` holds it. Returns whether it did: a sandbox can never release
    /// another's lease.
    async fn release_port(&self, id: &SandboxId, port: u16) -> Result<bool>;

    /// Releases every port `id` holds. Returns how many.
    async fn release_ports(&self, id: &SandboxId) -> Result<u64>;

    /// All leases, by port.
    async fn port_leases(&self) -> Result<Vec<PortLease>>;

    /// Deletes the leases of sandboxes that no longer exist or are terminal (their processes
    /// are gone for good). Called at start-up. Leases of live sandboxes, including those of
    /// other servers sharing the database, are left alone. Returns how many were deleted.
    async fn reclaim_stale_leases(&self) -> Result<u64>;

    // ---- lifecycle ----------------------------------------------------------------------

    /// Closes the connections, waiting for queries in flight. Later calls fail.
    async fn close(&self);
}
