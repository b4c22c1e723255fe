//! `cargo bench -p studio-store --bench store`
//!
//! For SQLite (a temp file) and PostgreSQL (a fresh database on `STUDIO_TEST_POSTGRES_URL`, when
//! set): event appends per second from one task and from 16 concurrent tasks, the p50/p99 latency
//! of an append and of a status update, and, as a baseline measured in the same run on the same
//! disk or server, a bare single-row INSERT through sqlx with the same settings. The ratio to the
//! baseline is what the store's own work costs (the gap-free seq, the conversions), independent
//! of how busy the machine is. Goal: SQLite append p50 <= 1 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::{Connection, Executor};
use studio_core::{EventKind, SandboxConfig, SandboxId, SandboxStatus};
use studio_store::{NewSandbox, Store};
use time::OffsetDateTime;

const SEQUENTIAL: usize = 3_000;
const TASKS: usize = 16;
const PER_TASK: usize = 250;
const STATUS_UPDATES: usize = 2_000;
const WARMUP: usize = 200;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        println!("studio-store benchmark ({SEQUENTIAL} sequential appends, {TASKS}x{PER_TASK} concurrent, {STATUS_UPDATES} status updates)\n");
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite_url = studio_store::default_sqlite_url(dir.path());
        let baseline_url = studio_store::sqlite_url_for_path(&dir.path().join("baseline.db"));
        let sqlite = bench_backend("sqlite", &sqlite_url, Baseline::Sqlite(baseline_url)).await;
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
                bench_backend("postgres", url.as_str(), Baseline::Postgres(url.to_string())).await;
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

enum Baseline {
    Sqlite(String),
    Postgres(String),
}

async fn bench_backend(label: &str, url: &str, baseline: Baseline) -> Summary {
    let store = studio_store::connect(url).await.expect("connect");
    let id = new_sandbox(&*store).await;
    for i in 0..WARMUP {
        store
            .append_event(&id, EventKind::Status, json!({"warmup": i}))
            .await
            .expect("append");
    }

    // One appender: latency and throughput.
    let started = Instant::now();
    let mut appends = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let t = Instant::now();
        store
            .append_event(
                &id,
                EventKind::Commit,
                json!({"hash": format!("{i:040x}"), "message": "AI: bench"}),
            )
            .await
            .expect("append");
        appends.push(t.elapsed());
    }
    let sequential_rate = SEQUENTIAL as f64 / started.elapsed().as_secs_f64();

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

    let mut updates = Vec::with_capacity(STATUS_UPDATES);
    for i in 0..STATUS_UPDATES {
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
    }
    store.close().await;

    let raw = baseline_inserts(&baseline).await;
    let (append_p50, append_p99) = (percentile(&mut appends, 50), percentile(&mut appends, 99));
    let (status_p50, status_p99) = (percentile(&mut updates, 50), percentile(&mut updates, 99));
    let (raw_p50, raw_p99) = {
        let mut raw = raw;
        (percentile(&mut raw, 50), percentile(&mut raw, 99))
    };
    println!("{label}:");
    println!(
        "  event append, 1 task        {sequential_rate:>9.0} appends/s   p50 {:.3} ms   p99 {:.3} ms",
        ms(append_p50),
        ms(append_p99)
    );
    println!("  event append, {TASKS} tasks      {concurrent_rate:>9.0} appends/s");
    println!(
        "  status update                                  p50 {:.3} ms   p99 {:.3} ms",
        ms(status_p50),
        ms(status_p99)
    );
    println!(
        "  baseline: bare INSERT                          p50 {:.3} ms   p99 {:.3} ms",
        ms(raw_p50),
        ms(raw_p99)
    );
    println!(
        "  ratio to baseline (p50)     append {:.2}x   status update {:.2}x\n",
        ratio(append_p50, raw_p50),
        ratio(status_p50, raw_p50)
    );
    Summary { append_p50 }
}

/// A single-row autocommit INSERT on one bare connection configured like the store's writer.
async fn baseline_inserts(baseline: &Baseline) -> Vec<Duration> {
    const CREATE: &str =
        "CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)";
    const INSERT: &str = "INSERT INTO bench_baseline (payload) VALUES ($1)";
    let payload = json!({"hash": format!("{:040x}", 7), "message": "AI: bench"}).to_string();
    let mut times = Vec::with_capacity(SEQUENTIAL);
    match baseline {
        Baseline::Sqlite(url) => {
            use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
            let options: SqliteConnectOptions = url.parse().expect("sqlite url");
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .expect("baseline db");
            conn.execute(CREATE).await.expect("create");
            for i in 0..WARMUP + SEQUENTIAL {
                let t = Instant::now();
                sqlx::query(INSERT)
                    .bind(&payload)
                    .execute(&mut conn)
                    .await
                    .expect("insert");
                if i >= WARMUP {
                    times.push(t.elapsed());
                }
            }
        }
        Baseline::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("baseline db");
            conn.execute(
                "CREATE TABLE bench_baseline (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
                 payload TEXT NOT NULL)",
            )
            .await
            .expect("create");
            for i in 0..WARMUP + SEQUENTIAL {
                let t = Instant::now();
                sqlx::query(INSERT)
                    .bind(&payload)
                    .execute(&mut conn)
                    .await
                    .expect("insert");
                if i >= WARMUP {
                    times.push(t.elapsed());
                }
            }
        }
    }
    times
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

fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort_unstable();
    let rank = (samples.len() * p).div_ceil(100).saturating_sub(1);
    samples.get(rank).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}
