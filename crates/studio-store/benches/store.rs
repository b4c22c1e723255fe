//! `cargo bench -p studio-store --bench store`
//!
//! For SQLite (a temp file) and PostgreSQL (a fresh database on `STUDIO_TEST_POSTGRES_URL`, when
//! set): event appends per second from one task and from 16 concurrent tasks, the p50/p99 latency
//! of an append and of a status update, and a baseline run interleaved with them on the same
//! disk or server: a bare single-row INSERT / UPDATE on one plain sqlx connection with the same
//! settings. The ratio to the baseline is what the store's own work costs (the gap-free seq, the
//! pool, the conversions), largely independent of how busy the shared machine is.
//! Goal: SQLite append p50 <= 1 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::{Connection, Executor};
use studio_core::{EventKind, SandboxConfig, SandboxId, SandboxStatus};
use studio_store::{NewSandbox, Store};
use studio_testkit::bench::{self, Stats, ms, ratio};
use time::OffsetDateTime;

const SEQUENTIAL: usize = 3_000;
const TASKS: usize = 16;
const PER_TASK: usize = 250;
const WARMUP: usize = 200;

fn main() {
    bench::runtime(None).block_on(async {
        println!("studio-store benchmark ({SEQUENTIAL} appends and status updates from one task, {TASKS}x{PER_TASK} concurrent appends)\n");
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite_url = studio_store::default_sqlite_url(dir.path());
        let baseline_url = studio_store::sqlite_url_for_path(&dir.path().join("baseline.db"));
        let sqlite = bench_backend("sqlite", &sqlite_url, BareAt::Sqlite(baseline_url)).await;
        println!(
            "goal: SQLite event append p50 <= 1 ms: {} ({:.3} ms)\n",
            if sqlite.append_p50 <= Duration::from_millis(1) { "met" } else { "NOT MET" },
            ms(sqlite.append_p50)
        );

        match std::env::var("STUDIO_TEST_POSTGRES_URL") {
            Ok(admin) if !admin.is_empty() => {
                let name = format!("studio_bench_{}", std::process::id());
                let mut conn = sqlx::PgConnection::connect(&admin).await.expect("admin connection");
                conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create db");
                let mut url = url::Url::parse(&admin).expect("admin URL");
                url.set_path(&format!("/{name}"));
                bench_backend("postgres", url.as_str(), BareAt::Postgres(url.to_string())).await;
                conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).await.expect("drop db");
            }
            _ => println!(
                "postgres: skipped, STUDIO_TEST_POSTGRES_URL is not set (start a throwaway server with \
                 `STUDIO_TEST_RUN_DIR=/tmp/pg source tests/setup/postgres.sh`, or run tests/run.sh)"
            ),
        }
    });
}

struct Summary {
    append_p50: Duration,
}

async fn bench_backend(label: &str, url: &str, baseline: BareAt) -> Summary {
    let store = studio_store::connect(url).await.expect("connect");
    let mut bare = Bare::open(baseline).await;
    let id = new_sandbox(&*store).await;
    for i in 0..WARMUP {
        store
            .append_event(&id, EventKind::Status, json!({"warmup": i}))
            .await
            .expect("append");
        bare.insert().await;
        bare.update().await;
    }

    // One task. Each store call is followed by its baseline, so that both see the same noise
    // from the (shared, busy) machine and the ratio stays meaningful.
    let mut appends = Vec::with_capacity(SEQUENTIAL);
    let mut inserts = Vec::with_capacity(SEQUENTIAL);
    let mut updates = Vec::with_capacity(SEQUENTIAL);
    let mut raw_updates = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let payload = json!({"hash": format!("{i:040x}"), "message": "AI: bench"});
        let t = Instant::now();
        store
            .append_event(&id, EventKind::Commit, payload)
            .await
            .expect("append");
        appends.push(t.elapsed());

        let t = Instant::now();
        bare.insert().await;
        inserts.push(t.elapsed());

        let status = if i % 2 == 0 {
            SandboxStatus::Running
        } else {
            SandboxStatus::Restarting
        };
        let t = Instant::now();
        store
            .set_status(&id, status, OffsetDateTime::now_utc())
            .await
            .expect("status");
        updates.push(t.elapsed());

        let t = Instant::now();
        bare.update().await;
        raw_updates.push(t.elapsed());
    }
    let sequential_rate = SEQUENTIAL as f64 / appends.iter().sum::<Duration>().as_secs_f64();

    // Many sandboxes appending at once.
    let mut ids = Vec::new();
    for _ in 0..TASKS {
        ids.push(new_sandbox(&*store).await);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            for i in 0..PER_TASK {
                store
                    .append_event(&id, EventKind::Reload, json!({"i": i}))
                    .await
                    .expect("append");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    let concurrent_rate = (TASKS * PER_TASK) as f64 / started.elapsed().as_secs_f64();
    store.close().await;

    let append = Stats::of(&appends);
    let insert = Stats::of(&inserts);
    let update = Stats::of(&updates);
    let raw_update = Stats::of(&raw_updates);
    println!("{label}:");
    println!(
        "  event append, 1 task     {sequential_rate:>7.0} appends/s  {append}   bare INSERT {insert}   ratio {:.2}x",
        ratio(append.p50, insert.p50)
    );
    println!("  event append, {TASKS} tasks   {concurrent_rate:>7.0} appends/s");
    println!(
        "  status update                               {update}   bare UPDATE {raw_update}   ratio {:.2}x\n",
        ratio(update.p50, raw_update.p50)
    );
    Summary {
        append_p50: append.p50,
    }
}

/// The baseline: one bare connection, configured like the store's writer, running the simplest
/// statement of the same kind (a single-row INSERT, a single-row UPDATE by primary key).
enum Bare {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

/// Where to open the baseline connection.
enum BareAt {
    Sqlite(String),
    Postgres(String),
}

const BARE_INSERT: &str = "INSERT INTO bench_baseline (payload) VALUES ($1)";
const BARE_UPDATE: &str = "UPDATE bench_baseline SET payload = $1 WHERE id = 1";

impl Bare {
    async fn open(at: BareAt) -> Self {
        match at {
            BareAt::Sqlite(url) => {
                use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
                let options: SqliteConnectOptions = url.parse().expect("sqlite url");
                let options = options
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal);
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .expect("baseline db");
                conn.execute(
                    "CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)",
                )
                .await
                .expect("create");
                Self::Sqlite(conn)
            }
            BareAt::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(&url)
                    .await
                    .expect("baseline db");
                conn.execute(
                    "CREATE TABLE bench_baseline (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
                     payload TEXT NOT NULL)",
                )
                .await
                .expect("create");
                Self::Postgres(conn)
            }
        }
    }

    async fn insert(&mut self) {
        self.run(BARE_INSERT).await;
    }

    async fn update(&mut self) {
        self.run(BARE_UPDATE).await;
    }

    async fn run(&mut self, sql: &'static str) {
        let payload =
            r#"{"hash":"0000000000000000000000000000000000000007","message":"AI: bench"}"#;
        match self {
            Self::Sqlite(conn) => sqlx::query(sql).bind(payload).execute(conn).await.map(drop),
            Self::Postgres(conn) => sqlx::query(sql).bind(payload).execute(conn).await.map(drop),
        }
        .expect("baseline statement");
    }
}

async fn new_sandbox(store: &dyn Store) -> SandboxId {
    let id = SandboxId::from_random(rand::random());
    let new = NewSandbox {
        branch: id.branch(),
        id: id.clone(),
        kind: "component-studio".into(),
        config: SandboxConfig::default(),
        repository: "https://github.com/acme/ui.git".into(),
        base_branch: "main".into(),
        work_dir: format!("/tmp/studio-bench/{}", id.hex()).into(),
        status: SandboxStatus::Running,
        created_at: OffsetDateTime::now_utc(),
    };
    store.insert_sandbox(&new).await.expect("insert sandbox");
    id
}
