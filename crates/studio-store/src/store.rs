//! The `Store` trait: everything Studio persists, behind one interface for both databases.

use std::fmt;

use async_trait::async_trait;
use serde_json::Value;
use studio_core::{CommitInfo, Event, EventKind, SandboxId, SandboxStatus};
use time::OffsetDateTime;

use crate::error::Result;
use crate::model::{
    NewSandbox, PullRequest, RuntimeState, SandboxFilter, SandboxRecord, StoredCommit,
};
use crate::model::{NewSandboxToken, PreviewGate, SandboxToken};
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

    /// Removes a sandbox with its commits and events. Returns whether it existed.
    async fn delete_sandbox(&self, id: &SandboxId) -> Result<bool>;

    /// Records a status change. Entering a terminal status also stamps `finished_at` (once).
    async fn set_status(
        &self,
        id: &SandboxId,
        status: SandboxStatus,
        at: OffsetDateTime,
    ) -> Result<()>;

    /// Records a status change and appends its `status` event (with `payload`) in one
    /// transaction, returning the event with its `seq`. Either both are stored or neither is:
    /// after a crash the store never holds a status nobody was told of, nor an event announcing
    /// a status it does not hold. Terminal statuses stamp `finished_at` as [`Store::set_status`].
    async fn set_status_with_event(
        &self,
        id: &SandboxId,
        status: SandboxStatus,
        at: OffsetDateTime,
        payload: Value,
    ) -> Result<Event>;

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

    // ---- preview access and scoped tokens --------------------------------------------------

    /// The sandbox's preview epoch (carried by its preview cookies), `None` if there is no sandbox.
    async fn preview_epoch(&self, id: &SandboxId) -> Result<Option<u64>>;

    /// The sandbox's status and preview epoch in one read (the front door asks on every preview
    /// request), `None` if there is no sandbox.
    async fn preview_gate(&self, id: &SandboxId) -> Result<Option<PreviewGate>>;

    /// Increments the preview epoch, revoking every preview cookie issued before; returns the new
    /// one. Fails with `SandboxNotFound` when there is no sandbox.
    async fn bump_preview_epoch(&self, id: &SandboxId) -> Result<u64>;

    /// Records the nonce of a redeemed one-time preview link. True the first time, false when it
    /// was redeemed before (whoever tries second, on whichever server). Nonces whose link expired
    /// before `now` are forgotten on the way (a link past its expiry is refused by its signature
    /// anyway). Fails with `SandboxNotFound` when there is no sandbox.
    async fn use_preview_nonce(
        &self,
        id: &SandboxId,
        nonce: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool>;

    /// Stores a scoped token (its hash). Fails with `SandboxNotFound` when there is no sandbox.
    async fn insert_token(&self, token: &NewSandboxToken) -> Result<()>;

    /// The sandbox's scoped tokens, oldest first, expired ones included.
    async fn tokens(&self, id: &SandboxId) -> Result<Vec<SandboxToken>>;

    /// The token whose SHA-256 is `token_hash`, expired or not.
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<SandboxToken>>;

    /// Revokes one token of the sandbox. Returns whether it existed: a sandbox's id never
    /// revokes another's token.
    async fn delete_token(&self, id: &SandboxId, token_id: &str) -> Result<bool>;

    /// Deletes tokens that expired before `now`. Returns how many.
    async fn prune_expired_tokens(&self, now: OffsetDateTime) -> Result<u64>;

    // ---- lifecycle ----------------------------------------------------------------------

    /// Closes the connections, waiting for queries in flight. Later calls fail.
    async fn close(&self);
}
