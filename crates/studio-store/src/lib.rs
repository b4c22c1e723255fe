//! Studio's durable state: sandboxes, their commits and their event log, on
//! an embedded SQLite file (one machine, the default) or on PostgreSQL (several Studio servers
//! sharing state). This is the only crate that talks SQL.
//!
//! ```no_run
//! # async fn demo() -> Result<(), studio_store::StoreError> {
//! let url = studio_store::default_sqlite_url(std::path::Path::new("./.studio"));
//! let store = studio_store::connect(&url).await?; // opens and migrates
//! let live = store.list_sandboxes(&studio_store::SandboxFilter::live()).await?;
//! # Ok(()) }
//! ```
//!
//! # Invariants
//! - **Written before acknowledged.** Every [`Store`] write is committed when its future
//!   resolves; callers answer or publish only after that, so a crash never forgets an answer.
//!   (SQLite: WAL with `synchronous=NORMAL`, durable against process crashes; see [`sqlite`].)
//! - **Gap-free event sequences.** An event's `seq` is taken from a counter on its sandbox's
//!   row in the same transaction as the insert, never from an autoincrement: concurrent
//!   appenders get 1, 2, 3... with no gap or duplicate, and the counter survives restarts and
//!   pruning, so WebSocket clients can resume with `?since=`.
//! - **No "database is locked".** SQLite writes queue for a single write connection instead of
//!   fighting over the file lock; reads use their own pool (WAL lets them run alongside).
//! - **Failing loudly at start-up.** A database that cannot be opened or migrated is an
//!   [`StoreError::Open`] / [`StoreError::Migrate`] naming the URL (password redacted with
//!   [`redact_url`]) and the reason.
//!
//! # Layout
//! [`store`] defines the trait; [`sqlite`] and [`postgres`] implement it with the same
//! statements where the dialects agree; `rows` converts rows of either into the domain types of
//! [`model`]; `migrations` embeds the SQL of `migrations/<dialect>/` at the workspace root.
//! Preview access (a sandbox's preview epoch, redeemed link nonces, scoped tokens stored as
//! SHA-256 only) lives in `sqlite/access.rs` and `postgres/access.rs`, its rows in `access_rows`.

use std::sync::Arc;

mod access_rows;
pub mod error;
mod lost;
mod migrations;
pub mod model;
pub mod postgres;
mod rows;
pub mod sqlite;
pub mod store;
pub mod url;

pub use error::{DatabaseError, Result, StoreError};
pub use model::{
    MigrationInfo, MigrationReport, NewSandbox, PullRequest, RuntimeState, SandboxFilter,
    SandboxRecord, StoredCommit,
};
pub use model::{NewSandboxToken, PreviewGate, SandboxToken};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use store::Store;
pub use url::{Backend, default_sqlite_url, redact_url, sqlite_url_for_path};

/// Opens the database at `url` (`sqlite://…` or `postgres://…`), applying any pending
/// migrations, and returns it as a shared [`Store`].
///
/// Errors name the URL with its password redacted, and the reason.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    let (store, report) = open(url).await?;
    if !report.applied.is_empty() {
        tracing::info!(
            url = %redact_url(url),
            applied = ?report.applied.iter().map(|m| m.version).collect::<Vec<_>>(),
            "database schema migrated"
        );
    }
    Ok(store)
}

/// Applies pending migrations to the database at `url` and closes it (`studio migrate`).
/// Running it on an up-to-date database changes nothing and reports nothing applied.
pub async fn migrate(url: &str) -> Result<MigrationReport> {
    let (store, report) = open(url).await?;
    store.close().await;
    Ok(report)
}

async fn open(url: &str) -> Result<(Arc<dyn Store>, MigrationReport)> {
    Ok(match Backend::from_url(url)? {
        Backend::Sqlite => {
            let (store, report) = SqliteStore::open(url).await?;
            (Arc::new(store), report)
        }
        Backend::Postgres => {
            let (store, report) = PgStore::open(url).await?;
            (Arc::new(store), report)
        }
    })
}
