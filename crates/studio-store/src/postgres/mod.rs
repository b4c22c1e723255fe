//! The shared backend: a PostgreSQL database that several Studio servers may use at once.
//!
//! Every write is one statement or one transaction committed with PostgreSQL's default
//! `synchronous_commit = on`: when a call returns, the server has flushed it to its WAL. The
//! statements mirror the SQLite backend's; where PostgreSQL differs it is said at the spot
//! (arrays instead of JSON lists, a data-modifying CTE for event sequences, optimistic port
//! allocation arbitrated by the primary key, since several servers may allocate at once).

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use crate::error::{BoxError, Result, StoreError};
use crate::migrations::{self, MigrationReport};
use crate::url::redact_url;

const MAX_CONNECTIONS: u32 = 16;
/// How long a call waits for a pooled connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(5);

/// The PostgreSQL [`Store`](crate::Store). Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database at `url` and applies pending migrations.
    pub async fn open(url: &str) -> Result<(Self, MigrationReport)> {
        let open_err = |source: BoxError| StoreError::Open {
            url: redact_url(url),
            source,
        };
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| open_err(e.into()))?
            .application_name("studio");
        // One plain connection first: a pool retries an unreachable server until its acquire
        // timeout and then only says "pool timed out"; a single attempt says why it failed.
        let mut conn = PgConnection::connect_with(&options)
            .await
            .map_err(|e| open_err(e.into()))?;
        let report = migrations::run_postgres(&mut conn)
            .await
            .map_err(|source| StoreError::Migrate {
                url: redact_url(url),
                source,
            })?;
        conn.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // Ping a pooled connection before use only if it sat idle for a while (the server may
            // have restarted meanwhile); pinging every time would double the round trips of a
            // busy server.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_IF_IDLE_FOR
                        || crate::lost::idle_since_a_loss(meta.idle_for)
                    {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options);
        Ok((Self { pool }, report))
    }
}

mod access;
mod queries;
mod status;
