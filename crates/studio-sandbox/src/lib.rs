//! The sandbox manager: the product's core loop.
//!
//! A [`Manager`] owns one actor per sandbox (the `actor` module). Each actor runs its sandbox's
//! lifecycle:
//!
//! * **setup**: fetch the mirror, check out the session branch, prepare `.studio/`, start the
//!   renderer under the supervisor on its Unix socket (`<data-dir>/run/<hex>.sock`, no TCP
//!   port), wait until it serves;
//! * **monitor**: follow the renderer's status (crash restarts, restart budget), and the
//!   inactivity clock (`expiring` warning, then `expired`);
//! * **execute**: file writes and deletes with auto-commit, rollback, finalize;
//! * **teardown**: stop the renderer (its socket file goes too), remove the checkout; the record
//!   and the commits stay.
//!
//! Invariants:
//! * every status change is written to the store before it is announced (event, reply, log);
//! * a sandbox's mutable state lives in its actor only; requests are serialized through its
//!   mailbox, one after the other (two restarts are two restarts: duplicates are not merged);
//! * reads come from the store, so a busy actor never delays a status request.
//!
//! Modules, callers first: `manager` (the facade) and `shared` (services and the registry) reach
//! actors through `handle` only; `actor` owns the state and its run loop; `policy` holds the
//! inactivity and crash rules; `renderer_unit` is the one door into the supervisor, and
//! `service_config` turns [`ManagerConfig`] into the lower crates' settings.

mod access;
mod actor;
mod announce;
mod collect;
mod components;
mod config;
mod density;
mod error;
mod handle;
mod isolation;
mod leftovers;
mod manager;
mod metrics;
mod policy;
mod pool;
mod preview;
mod refresh;
mod renderer_http;
mod renderer_unit;
mod replay;
mod request;
mod service_config;
mod shared;
mod slots;
mod snapshot;
mod socket_auth;

pub use access::{
    COOKIE_LIFETIME, DEFAULT_TOKEN_HOURS, LINK_LIFETIME, MAX_TOKEN_HOURS, NewToken, PreviewCookie,
    PreviewLink, PreviewRefusal, TOKEN_PREFIX, TokenInfo,
};
pub use collect::{Bounds, CollectOptions, CollectReport, Collected, Collector};
pub use config::{ManagerConfig, PublicUrls};
pub use density::DensityCheck;
pub use error::{ErrorKind, ManagerError};
pub use isolation::JailMode;
pub use manager::Manager;
pub use metrics::PreviewMetrics;
pub use preview::{PreviewTarget, PreviewUnavailable};
pub use renderer_unit::LogEntry;
pub use request::{CreateSandbox, Execute, FileOp, RollbackTo, expected_blob};
pub use snapshot::{RendererResources, SandboxSnapshot};
pub use socket_auth::socket_token;
pub use studio_git::{DirEntry, EntryKind, FileText};
pub use studio_jail::{DEFAULT_SANDBOX_USER, JailSettings};

/// Every git failure, classified for the API. 404 stays reserved for unknown sandboxes: a
/// missing file or commit inside a sandbox is a 422 naming what was missing.
pub(crate) fn git_error(e: studio_git::GitError) -> ManagerError {
    use studio_git::GitError as G;
    let kind = match &e {
        G::PathRefused { .. } => ErrorKind::BadRequest,
        G::TooLarge { .. } => ErrorKind::TooLarge,
        G::UnsupportedSource { .. }
        | G::SourceNotAllowed { .. }
        | G::Unreachable { .. }
        | G::EmptyRepository { .. }
        | G::BranchNotFound { .. }
        | G::FileNotFound { .. }
        | G::NotADirectory { .. }
        | G::NotRegularFile { .. }
        | G::BinaryFile { .. }
        | G::FileTooLarge { .. }
        | G::UnknownCommit { .. }
        | G::NotInSession { .. }
        | G::RollbackOutOfRange { .. } => ErrorKind::Invalid,
        G::AuthenticationFailed { .. } | G::PushRejected { .. } => ErrorKind::Upstream,
        G::PushConflict { .. } | G::SessionExists { .. } => ErrorKind::Conflict,
        _ => ErrorKind::Internal,
    };
    ManagerError::new(kind, e.code(), e.to_string())
}

/// A git failure of a file read (`GET …/files`): like [`git_error`], but the path the caller
/// asked for is the resource, so a missing one is `404 file_not_found`, and a directory given
/// to the read of a file is `422` like a file given to a listing.
pub(crate) fn read_error(e: studio_git::GitError) -> ManagerError {
    use studio_git::GitError as G;
    match &e {
        G::FileNotFound { .. } => ManagerError::new(ErrorKind::NotFound, e.code(), e.to_string()),
        G::PathRefused {
            reason: studio_git::PathRefusal::IsDirectory,
            ..
        } => ManagerError::new(ErrorKind::Invalid, e.code(), e.to_string()),
        _ => git_error(e),
    }
}
