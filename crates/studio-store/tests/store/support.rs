//! Fresh databases for each test, and sample records.
//!
//! SQLite: a file in a new temp dir. PostgreSQL: a new database `studio_test_<random>` on the
//! server named by `STUDIO_TEST_POSTGRES_URL` (tests/run.sh starts a throwaway cluster and sets
//! it), dropped after the test. Without that variable the PostgreSQL tests fail: they must never
//! pass by not running.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use sqlx::Connection;
use studio_core::{CommitInfo, CommitPattern, SandboxConfig, SandboxId, SandboxStatus};
use studio_store::{NewSandbox, Store};
use time::OffsetDateTime;

pub const POSTGRES_ENV: &str = "STUDIO_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL: admin URL and database name, for dropping it.
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn create(kind: Kind) -> Self {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = studio_store::default_sqlite_url(dir.path());
                Self {
                    kind,
                    url,
                    _dir: Some(dir),
                    pg: None,
                }
            }
            Kind::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("studio_test_{:016x}", rand::rng().random::<u64>());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_ENV} ({admin}): {e}"));
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                let mut url = url::Url::parse(&admin).expect("admin URL parses");
                url.set_path(&format!("/{name}"));
                Self {
                    kind,
                    url: url.to_string(),
                    _dir: None,
                    pg: Some((admin, name)),
                }
            }
        }
    }

    /// Opens (and migrates) the database, as the server does at start-up.
    pub async fn open(&self) -> Arc<dyn Store> {
        studio_store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.url))
    }

    /// Runs one statement outside the store (to tamper with the database).
    pub async fn execute_raw(&self, sql: &'static str) {
        match self.kind {
            Kind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("sqlite");
                sqlx::query(sql).execute(&mut conn).await.expect(sql);
                conn.close().await.ok();
            }
            Kind::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("postgres");
                sqlx::query(sql).execute(&mut conn).await.expect(sql);
                conn.close().await.ok();
            }
        }
    }

    /// Runs one statement outside the store; `Err` with the database's message if it fails.
    pub async fn try_execute_raw(&self, sql: &'static str) -> Result<(), String> {
        let result = match self.kind {
            Kind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("sqlite");
                let result = sqlx::query(sql).execute(&mut conn).await.map(drop);
                conn.close().await.ok();
                result
            }
            Kind::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("postgres");
                let result = sqlx::query(sql).execute(&mut conn).await.map(drop);
                conn.close().await.ok();
                result
            }
        };
        result.map_err(|e| e.to_string())
    }

    pub async fn destroy(self) {
        if let Some((admin, name)) = &self.pg {
            let mut conn = sqlx::PgConnection::connect(admin)
                .await
                .expect("admin connection");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .expect("drop test database");
            conn.close().await.ok();
        }
    }
}

pub fn postgres_admin_url() -> String {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{POSTGRES_ENV} is not set: the PostgreSQL half of the store suite needs a server. Run \
             `bash tests/run.sh` (it starts a throwaway cluster), or start one with \
             `STUDIO_TEST_RUN_DIR=/tmp/x source tests/setup/postgres.sh` and export the URL it sets \
             (e.g. postgres://postgres@127.0.0.1:PORT/postgres)."
        ),
    }
}

pub fn random_id() -> SandboxId {
    SandboxId::from_random(rand::rng().random())
}

/// A sandbox whose every field differs from the defaults, to catch columns that do not round-trip.
pub fn sample_sandbox(created_at: OffsetDateTime) -> NewSandbox {
    let id = random_id();
    NewSandbox {
        branch: id.branch(),
        kind: "component-studio".into(),
        config: SandboxConfig {
            auto_commit: false,
            commit_pattern: CommitPattern("studio({timestamp}): {description}".into()),
            timeout: Duration::from_secs_f64(7.25),
            max_restarts: 5,
            components: vec!["src/components/**/*.tsx".into(), "src/ui/*.jsx".into()],
            github_repo: Some("acme/design-system".into()),
            setup: vec!["src/styles/tokens.css".into()],
            wrapper: Some("src/Theme.tsx#ThemeProvider".into()),
        },
        repository: "https://github.com/acme/design-system.git".into(),
        base_branch: "main".into(),
        work_dir: PathBuf::from(format!("/var/lib/studio/sandboxes/{}", id.hex())),
        status: SandboxStatus::Starting,
        created_at,
        id,
    }
}

/// Inserts a sample sandbox created now and returns its id.
pub async fn insert_sandbox(store: &dyn Store) -> SandboxId {
    let new = sample_sandbox(OffsetDateTime::now_utc());
    store.insert_sandbox(&new).await.expect("insert sandbox");
    new.id
}

pub fn commit(n: u32, at: OffsetDateTime) -> CommitInfo {
    CommitInfo {
        hash: format!("{n:040x}"),
        message: format!("AI: change {n} - 2026-11-22 14:30"),
        timestamp: at,
    }
}
