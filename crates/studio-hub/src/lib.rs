//! Studio's event hub: one topic per sandbox, fanned out to every connected client without
//! letting any client slow down the publisher or the other clients.
//!
//! The hub knows nothing about WebSockets or HTTP. The API layer attaches each connection as a
//! [`Subscription`] and forwards what [`Subscription::recv`] yields; the sandbox manager calls
//! [`Hub::publish`] after it has stored an event (and so knows its `seq`).
//!
//! # Design
//!
//! ```text
//!  publish(id, event) ──► topic(id) ──┬─► client queue (bounded) ──► Subscription::recv ──► socket
//!   (never awaits)                    ├─► client queue (bounded) ──► …
//!                                     └─► client queue FULL ──► client dropped: "too slow" (1008)
//! ```
//!
//! * **One topic per sandbox**, created by the first subscriber and removed when the last one
//!   leaves, so idle sandboxes cost nothing. [`Hub::close_topic`] (sandbox deleted) and
//!   [`Hub::close_all`] (server shutdown) end every client of a topic with a [`CloseReason`].
//! * **Publishing is synchronous.** [`Hub::publish`] wraps the event once in a [`SharedEvent`]
//!   (an `Arc`: no per-client copy, JSON rendered at most once) and pushes a handle onto each
//!   client's queue. It takes a per-topic lock and never awaits, so a publisher cannot be held up
//!   by a client, and topics never contend with each other.
//! * **Bounded queues, drop the laggard.** Each client has its own queue of
//!   [`HubConfig::queue_capacity`] events. A push onto a full queue drops that client on the spot:
//!   its queue is emptied (the memory is freed now, not when the client wakes up) and its next
//!   `recv` returns [`CloseReason::TooSlow`]. The client reconnects with `?since=<last seq>` and
//!   loses nothing, because every event is in the store.
//! * **Replay without a seam.** [`Hub::subscribe_since`] registers the live queue *first*, then
//!   reads the missed events from the store through [`EventSource`]. Events are stored before they
//!   are published (the manager's "persist, then announce" rule), so every event is either in the
//!   store at replay time or arrives on the live queue afterwards, and some may be in both. The
//!   subscription delivers the replayed events and then only live events whose `seq` is greater than
//!   the last one delivered: no gap and no duplicate.
//!
//! # Invariants
//!
//! * Events reach each client in the order they were published to the topic, with strictly
//!   increasing `seq` (a repeated or older `seq` is skipped, never delivered twice).
//! * Lock order is always *topic map, then one topic, then one client queue*; no lock is held across
//!   an `.await`.
//! * A client is counted in [`HubStats::clients`] exactly while it sits in its topic's client map.
//!
//! # Subscribing to a sandbox that is being deleted
//!
//! Topics appear on demand, so a subscription made just after [`Hub::close_topic`] would open a
//! fresh, silent topic. Callers should subscribe first and then check that the sandbox still
//! exists (replaying from the store does this naturally); a deletion after that point ends the
//! subscription with [`CloseReason::TopicClosed`].

mod config;
mod event;
mod hub;
mod queue;
mod replay;
mod subscription;
mod topics;

pub use config::HubConfig;
pub use event::SharedEvent;
pub use hub::{Hub, HubStats};
pub use queue::CloseReason;
pub use replay::{EventSource, ReplayError};
pub use subscription::Subscription;
