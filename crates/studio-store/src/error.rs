//! The one error type of the store.
//!
//! Callers match on the variants that mean something to them (`SandboxNotFound`,
//! `SandboxExists`, `Open`/`Migrate` at start-up); everything else is a `Database`
//! error they report as a server fault. sqlx's error type stays wrapped in [`DatabaseError`] so
//! that no other crate ever has to name (or import) sqlx.

use std::error::Error as StdError;
use std::fmt;

use studio_core::SandboxId;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Boxed cause of a failure to open a database.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no database Studio supports. `url` is redacted.
    #[error(
        "unsupported database URL {url}: expected sqlite://<path> or postgres://<user>@<host>/<db>"
    )]
    UnsupportedUrl { url: String },

    /// The database could not be opened (bad path, server down, wrong password...). `url` is
    /// redacted; the server stops with this message at start-up.
    #[error("cannot open database {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: BoxError,
    },

    /// The schema could not be brought up to date. `url` is redacted.
    #[error("cannot migrate database {url}: {source}")]
    Migrate {
        url: String,
        #[source]
        source: BoxError,
    },

    #[error("sandbox {0} not found")]
    SandboxNotFound(SandboxId),

    /// Another sandbox already has this id or branch.
    #[error("sandbox {0} already exists")]
    SandboxExists(SandboxId),

    /// A value the caller passed cannot be stored (e.g. a work dir that is not UTF-8).
    #[error("invalid {what}: {reason}")]
    InvalidInput { what: &'static str, reason: String },

    /// A stored row cannot be read back into domain types: the database was edited by hand or
    /// written by a newer Studio.
    #[error("stored {what} is invalid: {reason}")]
    Corrupt { what: &'static str, reason: String },

    /// Any other failure of the database (connection lost, disk full, pool timeout...).
    #[error("database error: {0}")]
    Database(#[from] DatabaseError),
}

/// An error reported by the database driver. Opaque on purpose: the store is the only crate
/// that knows which database library it uses.
#[derive(Debug)]
pub struct DatabaseError(pub(crate) sqlx::Error);

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl StdError for DatabaseError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        crate::lost::note(&e);
        Self::Database(DatabaseError(e))
    }
}

/// What a failed write meant, for the few constraint violations callers care about.
pub(crate) fn constraint_violation(e: &sqlx::Error) -> Option<sqlx::error::ErrorKind> {
    e.as_database_error().map(|db| db.kind())
}

/// Maps an insert/update error on a sandbox-owned row: a foreign-key violation means the
/// sandbox does not exist.
pub(crate) fn for_sandbox(e: sqlx::Error, id: &SandboxId) -> StoreError {
    match constraint_violation(&e) {
        Some(sqlx::error::ErrorKind::ForeignKeyViolation) => {
            StoreError::SandboxNotFound(id.clone())
        }
        _ => e.into(),
    }
}

pub(crate) fn corrupt(what: &'static str, reason: impl fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        reason: reason.to_string(),
    }
}

pub(crate) fn invalid(what: &'static str, reason: impl fmt::Display) -> StoreError {
    StoreError::InvalidInput {
        what,
        reason: reason.to_string(),
    }
}
