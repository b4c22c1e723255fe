//! Studio's domain core: the vocabulary every other crate speaks.
//!
//! This crate does no I/O (no files, sockets, clocks or randomness). Callers pass in what the
//! outside world knows (the current time, random bytes) so that every rule here is a pure
//! function that is trivial to test.

pub mod bytes;
pub mod commit;
pub mod component;
pub mod config;
pub mod defaults;
pub mod event;
pub mod id;
pub mod manifest;
pub mod secret;
pub mod status;

pub use commit::{CommitInfo, CommitPattern};
pub use config::{DEFAULT_COMPONENT_GLOB, SandboxConfig};
pub use event::{Event, EventKind};
pub use id::{IdError, SandboxId};
pub use secret::SecretToken;
pub use status::SandboxStatus;
