//! Schema migrations, embedded from `migrations/<dialect>/` at the workspace root.
//!
//! sqlx's migrator records what it applied (with checksums) in `_sqlx_migrations`, applies each
//! pending migration in a transaction, and on PostgreSQL holds an advisory lock meanwhile, so
//! several servers starting at once migrate once. Re-running on an up-to-date database changes
//! nothing; a migration that was edited after being applied is refused (checksum mismatch)
//! rather than silently diverging.

use std::collections::BTreeSet;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnection;

use crate::error::BoxError;
pub use crate::model::{MigrationInfo, MigrationReport};

static SQLITE: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Versions already applied. The migrations table does not exist on an empty database.
const APPLIED_SQL: &str = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";

pub(crate) async fn run_sqlite(pool: &SqlitePool) -> Result<MigrationReport, BoxError> {
    let has_table: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(pool)
    .await?;
    let before = applied_sqlite(pool, has_table).await?;
    SQLITE.run(pool).await?;
    let after = applied_sqlite(pool, true).await?;
    Ok(report(&SQLITE, &before, &after))
}

pub(crate) async fn run_postgres(conn: &mut PgConnection) -> Result<MigrationReport, BoxError> {
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    let before = applied_postgres(conn, has_table).await?;
    POSTGRES.run(&mut *conn).await?;
    let after = applied_postgres(conn, true).await?;
    Ok(report(&POSTGRES, &before, &after))
}

async fn applied_sqlite(pool: &SqlitePool, has_table: bool) -> Result<BTreeSet<i64>, sqlx::Error> {
    if !has_table {
        return Ok(BTreeSet::new());
    }
    let versions: Vec<i64> = sqlx::query_scalar(APPLIED_SQL).fetch_all(pool).await?;
    Ok(versions.into_iter().collect())
}

async fn applied_postgres(
    conn: &mut PgConnection,
    has_table: bool,
) -> Result<BTreeSet<i64>, sqlx::Error> {
    if !has_table {
        return Ok(BTreeSet::new());
    }
    let versions: Vec<i64> = sqlx::query_scalar(APPLIED_SQL).fetch_all(conn).await?;
    Ok(versions.into_iter().collect())
}

/// Migrations in `after` but not in `before`: the ones this run applied (give or take another
/// server migrating at the same moment, which only changes who gets to report it).
fn report(migrator: &Migrator, before: &BTreeSet<i64>, after: &BTreeSet<i64>) -> MigrationReport {
    let applied = migrator
        .iter()
        .filter(|m| after.contains(&m.version) && !before.contains(&m.version))
        .map(|m| MigrationInfo {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect();
    MigrationReport {
        applied,
        schema_version: after.last().copied(),
    }
}
