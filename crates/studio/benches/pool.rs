//! The renderer pool (issue 15), measured end to end on a real `studio serve` (release build), each
//! figure beside its baseline in the same run:
//!
//! | row | what is timed | baselines |
//! | --- | --- | --- |
//! | `create` | `POST /sandboxes` → 201; the same create → every sample component visible in Chromium (the renderer page's `data-studio-ready`, opened at `renderer_url` through the front door) | pool off; `npm run dev` of the same app (below) from spawn to the same page ready |
//! | `crash` | SIGKILL of the renderer's listening `node` → the preview answers 200 through the front door; 8 crashes 3–5 s apart per sandbox, a fresh sandbox's first crash (first in its window) reported apart | pool off; PM2 keeping the same app alive, if `pm2` is on PATH |
//! | `density` | N sandboxes of the sample created one by one (in pool mode each timed create waits until the pool is full again), all serving, then deleted: PSS (`/proc/<pid>/smaps_rollup`) per renderer and in total, server RSS, create time at 1 / N/2 / N live, what is left after the deletes and after the server stops | pool off |
//!
//! The sample repository has no `dev` script and no Vite: the `npm run dev` baseline serves a copy
//! of a sandbox's own generated app (checkout + `.studio/`, nothing installed) with a `dev` script
//! `vite --config .studio/vite.config.mjs` (see `pool_support/dev_app.rs`); node_modules are in
//! place before anything is timed.
//!
//! The pooled rows run only when `studio serve --help` knows `--renderer-pool`; then the pool-off
//! server gets `STUDIO_RENDERER_POOL=0` and the pooled one `STUDIO_RENDERER_POOL=$STUDIO_BENCH_POOL`
//! (default 2), and every timed create or first crash waits until `/metrics` shows
//! `studio_renderer_pool_idle` equal to `studio_renderer_pool_target`. The goals of the issue are
//! printed beside the measured values, never asserted.
//!
//! Run: `cargo bench -p studio --bench pool`. Settings (environment):
//! - `STUDIO_BENCH_ROWS`: comma-separated subset of `create,crash,density` (default: all);
//! - `STUDIO_BENCH_SANDBOXES`: N of the density row (default 100);
//! - `STUDIO_BENCH_CREATES`: timed creates per mode in the create row (default 10);
//! - `STUDIO_BENCH_CRASH_SANDBOXES`: sandboxes crashed 8 times each per mode (default 3);
//! - `STUDIO_BENCH_POOL`: the pooled server's pool size (default 2);
//! - `STUDIO_BENCH_MODES`: `off`, `pool` or `off,pool` (default: both when the flag exists).
//!
//! Every loop is bounded; every wait has a deadline.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "pool_support/mod.rs"]
mod pool_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pool_support::dev_app::{self, DevApp, Pm2};
use pool_support::{Pauses, RendererProcs};
use serde_json::{Value, json};
use studio_testkit::bench::{self, Stats};
use studio_testkit::browser::Browser;
use studio_testkit::ports::free_port;
use studio_testkit::procs;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners::renderer_socket;
use support::{Api, Studio};

/// Every wait of the benchmark is bounded by this (a create may install on a cold machine).
const WAIT: Duration = Duration::from_secs(300);
/// A renderer page must be ready within this after it is opened.
const READY: Duration = Duration::from_secs(60);
/// A crashed renderer must serve again within this.
const RECOVERY: Duration = Duration::from_secs(120);
/// Crashes per sandbox in the crash row, and the pause between two of them.
const CRASHES: usize = 8;
const PAUSE_MIN: Duration = Duration::from_secs(3);
const PAUSE_MAX: Duration = Duration::from_secs(5);
/// Crash restarts a sandbox of the crash row may take (the default budget is 3 per minute).
const CRASH_BUDGET: u32 = 50;
/// Creates timed at 1 live sandbox (created and deleted with nothing else live), and the width of
/// the window of creates averaged at N/2 and N live.
const AT_ONE: usize = 5;
const WINDOW: usize = 5;
const MIB: f64 = 1024.0 * 1024.0;

fn main() {
    bench::runtime(Some(2)).block_on(run());
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    Off,
    Pool(usize),
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Off => "pool off",
            Mode::Pool(_) => "pool",
        }
    }
}

struct Settings {
    rows: BTreeSet<String>,
    modes: Vec<Mode>,
    /// Whether the server knows `--renderer-pool`.
    pool_flag: bool,
    sandboxes: usize,
    creates: usize,
    crash_sandboxes: usize,
}

fn env_number(key: &str, default: usize) -> usize {
    match std::env::var(key) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{key}={value}: {e}")),
        Err(_) => default,
    }
}

fn env_list(key: &str, default: &str) -> BTreeSet<String> {
    std::env::var(key)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Settings {
    fn from_env() -> Self {
        let rows = env_list("STUDIO_BENCH_ROWS", "create,crash,density");
        for row in &rows {
            assert!(
                ["create", "crash", "density"].contains(&row.as_str()),
                "STUDIO_BENCH_ROWS: unknown row {row} (create, crash, density)"
            );
        }
        let help = Command::new(env!("CARGO_BIN_EXE_studio"))
            .args(["serve", "--help"])
            .output()
            .expect("run studio serve --help");
        let pool_flag = String::from_utf8_lossy(&help.stdout).contains("--renderer-pool");
        let pool = env_number("STUDIO_BENCH_POOL", 2);
        let default_modes = if pool_flag && pool > 0 {
            "off,pool"
        } else {
            "off"
        };
        let mut modes = Vec::new();
        for mode in env_list("STUDIO_BENCH_MODES", default_modes) {
            match mode.as_str() {
                "off" => modes.push(Mode::Off),
                "pool" if pool_flag && pool > 0 => modes.push(Mode::Pool(pool)),
                "pool" => println!(
                    "pooled rows skipped: {}",
                    if pool_flag {
                        "STUDIO_BENCH_POOL=0"
                    } else {
                        "`studio serve` has no --renderer-pool yet"
                    }
                ),
                other => panic!("STUDIO_BENCH_MODES: unknown mode {other} (off, pool)"),
            }
        }
        modes.sort();
        Self {
            rows,
            modes,
            pool_flag,
            sandboxes: env_number("STUDIO_BENCH_SANDBOXES", 100).max(1),
            creates: env_number("STUDIO_BENCH_CREATES", 10).max(1),
            crash_sandboxes: env_number("STUDIO_BENCH_CRASH_SANDBOXES", 3).max(1),
        }
    }

    fn has(&self, row: &str) -> bool {
        self.rows.contains(row)
    }
}

/// Every sample series of the run, by name (`create → 201 | pool off`, …).
#[derive(Default)]
struct Samples(BTreeMap<String, Vec<Duration>>);

impl Samples {
    fn key(measure: &str, source: &str) -> String {
        format!("{measure} | {source}")
    }

    fn put(&mut self, measure: &str, source: &str, samples: Vec<Duration>) {
        if !samples.is_empty() {
            self.0.insert(Self::key(measure, source), samples);
        }
    }

    fn get(&self, measure: &str, source: &str) -> Option<&[Duration]> {
        self.0.get(&Self::key(measure, source)).map(Vec::as_slice)
    }

    fn p50(&self, measure: &str, source: &str) -> Option<Duration> {
        self.get(measure, source).map(|s| Stats::of(s).p50)
    }
}

const CREATE_201: &str = "create → 201";
const CREATE_VISIBLE: &str = "create → visible";
const CRASH_ALL: &str = "crash → serving";
const CRASH_FIRST: &str = "crash → serving, 1st";
const DEV: &str = "npm run dev";
const PM2_NPM: &str = "pm2 (npm run dev)";
const PM2_VITE: &str = "pm2 (vite)";

/// What the density row found in one mode.
struct Density {
    requested: usize,
    live: usize,
    serving: usize,
    at_one: Vec<Duration>,
    creates: Vec<Duration>,
    pss: Vec<u64>,
    all_pss: u64,
    server_rss_before: u64,
    server_rss_live: u64,
    deletes: Vec<Duration>,
    left_processes: usize,
    left_cgroups: usize,
    left_after_stop: Option<usize>,
}

impl Density {
    /// The creates that made the live count `k - WINDOW + 1 ..= k`.
    fn at(&self, k: usize) -> Option<Duration> {
        let window: Vec<Duration> = self
            .creates
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < k && i + WINDOW >= k)
            .map(|(_, d)| *d)
            .collect();
        (!window.is_empty()).then(|| Stats::of(&window).p50)
    }
}

struct Results {
    samples: Samples,
    density: BTreeMap<Mode, Density>,
    pm2_note: Option<String>,
    dev_note: Option<String>,
    components: u64,
}

async fn run() {
    let settings = Settings::from_env();
    let remote = Remote::new().await;
    let data = DataDir::new("bench-pool-");
    let mut browser = if settings.has("create") {
        Some(Browser::launch().await)
    } else {
        None
    };
    let mut results = Results {
        samples: Samples::default(),
        density: BTreeMap::new(),
        pm2_note: None,
        dev_note: None,
        components: 0,
    };
    println!(
        "pool flag: {}; modes: {:?}; rows: {:?}; load average: {}",
        if settings.pool_flag {
            "present"
        } else {
            "absent (pooled rows skipped)"
        },
        settings.modes,
        settings.rows,
        bench::load_average()
    );
    for &mode in &settings.modes {
        let studio = start(&data, &settings, mode);
        let api = studio.api();
        let request = json!({"repository": remote.url(), "branch": "main"});
        // The first sandbox of a data dir installs the dependencies into its stores.
        let warm = api.create(&request).await.expect(201).clone();
        let warm_id = warm["sandbox_id"].as_str().unwrap().to_owned();
        println!("[{}] server up, warm sandbox {warm_id}", mode.label());

        if let Some(browser) = browser.as_mut() {
            let url = warm["renderer_url"].as_str().unwrap();
            browser.open("warm", url).await;
            results.components = browser.wait_ready("warm").await;
            browser.close_page("warm").await;
            assert!(results.components > 0, "the sample page shows no component");
            bench_create(&api, browser, &request, mode, &settings, &mut results).await;
            if mode == Mode::Off {
                let checkout = data.path().join("sandboxes").join(&warm_id).join("repo");
                bench_dev(&checkout, browser, &settings, &mut results).await;
            }
        }
        if settings.has("crash") {
            bench_crash(&studio, &api, &remote, mode, &settings, &mut results).await;
            if mode == Mode::Off {
                let checkout = data.path().join("sandboxes").join(&warm_id).join("repo");
                bench_pm2(&checkout, &mut results).await;
            }
        }
        api.delete(&format!("/api/v1/sandboxes/{warm_id}"))
            .await
            .expect(204);
        let density = if settings.has("density") {
            Some(bench_density(&studio, &api, &request, mode, &settings, &data).await)
        } else {
            None
        };
        let (status, log) = studio.terminate();
        assert!(
            status.success(),
            "studio serve exited with {status}:\n{log}"
        );
        if let Some(mut density) = density {
            // After a clean stop nothing may run from the data dir (pool processes included).
            tokio::time::sleep(Duration::from_millis(500)).await;
            density.left_after_stop = Some(pool_support::processes_under(data.path()).len());
            results.density.insert(mode, density);
        }
    }
    if let Some(browser) = browser {
        browser.close().await;
    }
    print_results(&settings, &results);
}

fn start(data: &DataDir, settings: &Settings, mode: Mode) -> Studio {
    let mut config = ServerConfig::new(data)
        .env("STUDIO_LOG", "warn")
        // The density row's sandboxes, the warm one and the crash row's, with room to spare.
        .env(
            "STUDIO_MAX_SANDBOXES",
            settings.sandboxes + settings.crash_sandboxes + 10,
        );
    if settings.pool_flag {
        let size = match mode {
            Mode::Off => 0,
            Mode::Pool(n) => n,
        };
        config = config.env("STUDIO_RENDERER_POOL", size);
    }
    Studio::start(&config)
}

/// In pool mode, waits until the pool is full again.
async fn settle(api: &Api, mode: Mode) {
    if let Mode::Pool(_) = mode {
        pool_support::wait_pool_full(api, WAIT).await;
    }
}

fn id_of(created: &Value) -> String {
    created["sandbox_id"].as_str().unwrap().to_owned()
}

async fn bench_create(
    api: &Api,
    browser: &mut Browser,
    request: &Value,
    mode: Mode,
    settings: &Settings,
    results: &mut Results,
) {
    let mut to_201 = Vec::new();
    let mut to_visible = Vec::new();
    // Round 0 warms what the first create after a start pays for (not recorded).
    for n in 0..=settings.creates {
        settle(api, mode).await;
        let started = Instant::now();
        let created = api.create(request).await.expect(201).clone();
        let created_at = started.elapsed();
        let page = format!("create-{n}");
        browser
            .open(&page, created["renderer_url"].as_str().unwrap())
            .await;
        let shown = browser.wait_ready(&page).await;
        let visible_at = started.elapsed();
        browser.close_page(&page).await;
        assert_eq!(
            shown, results.components,
            "not every sample component was shown"
        );
        api.delete(&format!("/api/v1/sandboxes/{}", id_of(&created)))
            .await
            .expect(204);
        if n > 0 {
            to_201.push(created_at);
            to_visible.push(visible_at);
        }
    }
    println!(
        "[{}] create → 201 {}; → visible {}",
        mode.label(),
        Stats::of(&to_201),
        Stats::of(&to_visible)
    );
    results.samples.put(CREATE_201, mode.label(), to_201);
    results
        .samples
        .put(CREATE_VISIBLE, mode.label(), to_visible);
}

/// `npm run dev` of the same app: spawn → every component visible in the same browser.
async fn bench_dev(
    checkout: &Path,
    browser: &mut Browser,
    settings: &Settings,
    results: &mut Results,
) {
    let app = match DevApp::from_checkout(checkout) {
        Ok(app) => app,
        Err(e) => {
            results.dev_note = Some(format!("npm run dev baseline not measured: {e}"));
            return;
        }
    };
    let mut samples = Vec::new();
    // Round 0 lets Vite optimize the dependencies into the copy's cache (as a developer's first
    // `npm run dev` would): not recorded.
    for n in 0..=settings.creates {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/");
        let started = Instant::now();
        let server = app.npm_run_dev(port);
        dev_app::wait_serving(&url, READY).await;
        let page = format!("dev-{n}");
        browser.open(&page, &url).await;
        let shown = browser.wait_ready(&page).await;
        let took = started.elapsed();
        browser.close_page(&page).await;
        server.stop();
        assert_eq!(
            shown, results.components,
            "npm run dev did not show every sample component"
        );
        if n > 0 {
            samples.push(took);
        }
    }
    println!("[npm run dev] spawn → visible {}", Stats::of(&samples));
    results.samples.put(CREATE_VISIBLE, DEV, samples);
    results.dev_note = Some(format!(
        "npm run dev: the sample has no dev script or Vite; its sandbox's generated app \
         (checkout + .studio/) was copied and given \"dev\": \"{}\"",
        dev_app::DEV_SCRIPT
    ));
}

/// One crash: SIGKILL of the listening process, timed until the preview answers 200 again
/// through the front door.
async fn crash_once(socket: &Path, server: u32, url: &str) -> Duration {
    let (killed_at, pids) = pool_support::kill_listener(socket, server).await;
    pool_support::wait_gone(&pids, Duration::from_secs(10)).await;
    let deadline = killed_at + RECOVERY;
    loop {
        if support::renderer_serves(url).await.is_ok() {
            return killed_at.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "the preview did not serve within {RECOVERY:?} of a crash"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn bench_crash(
    studio: &Studio,
    api: &Api,
    remote: &Remote,
    mode: Mode,
    settings: &Settings,
    results: &mut Results,
) {
    let request =
        json!({"repository": remote.url(), "branch": "main", "max_restarts": CRASH_BUDGET});
    let data_dir = studio.config.data_dir.canonicalize().unwrap();
    let mut pauses = Pauses::new(0x5eed_1500);
    let mut all = Vec::new();
    let mut first = Vec::new();
    for _ in 0..settings.crash_sandboxes {
        let created = api.create(&request).await.expect(201).clone();
        let id = id_of(&created);
        let url = created["renderer_url"].as_str().unwrap().to_owned();
        let socket = renderer_socket(&data_dir, &id);
        support::eventually("the preview serves", WAIT, async || {
            support::renderer_serves(&url).await
        })
        .await;
        for n in 0..CRASHES {
            tokio::time::sleep(pauses.next(PAUSE_MIN, PAUSE_MAX)).await;
            if n == 0 {
                settle(api, mode).await;
            }
            let took = crash_once(&socket, studio.pid(), &url).await;
            if n == 0 {
                first.push(took);
            }
            all.push(took);
        }
        let restarts = api.status_of(&id).await["restarts"].clone();
        println!(
            "[{}] {id}: {CRASHES} crashes, restarts {restarts}",
            mode.label()
        );
        api.delete(&format!("/api/v1/sandboxes/{id}"))
            .await
            .expect(204);
    }
    println!(
        "[{}] crash → serving {}; first in window {}",
        mode.label(),
        Stats::of(&all),
        Stats::of(&first)
    );
    results.samples.put(CRASH_ALL, mode.label(), all);
    results.samples.put(CRASH_FIRST, mode.label(), first);
}

/// PM2 on the same app (if installed): 8 crashes 3–5 s apart of the process listening on its
/// port, for `npm run dev` and for Vite's own binary.
async fn bench_pm2(checkout: &Path, results: &mut Results) {
    let app = match DevApp::from_checkout(checkout) {
        Ok(app) => app,
        Err(e) => {
            results.pm2_note = Some(format!("pm2 row not measured: {e}"));
            return;
        }
    };
    let Some(pm2) = Pm2::find(&app) else {
        println!("pm2 not installed, row skipped");
        results.pm2_note = Some("pm2 not installed, row skipped".to_owned());
        return;
    };
    let mut pauses = Pauses::new(0x0002_2000);
    for (name, via_npm) in [(PM2_NPM, true), (PM2_VITE, false)] {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/");
        let app_name = format!("studio-bench-{port}");
        if let Err(e) = pm2.start(&app_name, port, via_npm) {
            results.pm2_note = Some(format!("{name}: {e}"));
            continue;
        }
        dev_app::wait_serving(&url, READY).await;
        let mut samples = Vec::new();
        for _ in 0..CRASHES {
            tokio::time::sleep(pauses.next(PAUSE_MIN, PAUSE_MAX)).await;
            let pids = procs::listening_pids(port);
            assert!(!pids.is_empty(), "nothing listens on {port} under pm2");
            let killed_at = Instant::now();
            for &pid in &pids {
                procs::signal(pid, procs::Signal::KILL);
            }
            pool_support::wait_gone(&pids, Duration::from_secs(10)).await;
            dev_app::wait_serving(&url, RECOVERY).await;
            samples.push(killed_at.elapsed());
        }
        let _ = pm2.delete(&app_name);
        println!("[{name}] crash → serving {}", Stats::of(&samples));
        results.samples.put(CRASH_ALL, name, samples);
    }
}

async fn bench_density(
    studio: &Studio,
    api: &Api,
    request: &Value,
    mode: Mode,
    settings: &Settings,
    data: &DataDir,
) -> Density {
    let server = studio.pid();
    let data_dir = data.path().canonicalize().unwrap();
    let server_rss_before = pool_support::rss_bytes(server);

    // Create time at 1 live sandbox: created and deleted with nothing else live.
    let mut at_one = Vec::new();
    for _ in 0..AT_ONE {
        settle(api, mode).await;
        let started = Instant::now();
        let created = api.create(request).await.expect(201).clone();
        at_one.push(started.elapsed());
        api.delete(&format!("/api/v1/sandboxes/{}", id_of(&created)))
            .await
            .expect(204);
    }

    let mut ids = Vec::new();
    let mut urls = Vec::new();
    let mut creates = Vec::new();
    for n in 0..settings.sandboxes {
        settle(api, mode).await;
        let started = Instant::now();
        let created = api.create(request).await;
        if created.status != 201 {
            println!(
                "[{}] create {} of {} failed: {} {}",
                mode.label(),
                n + 1,
                settings.sandboxes,
                created.status,
                created.text
            );
            break;
        }
        creates.push(started.elapsed());
        ids.push(id_of(&created.body));
        urls.push(created.body["renderer_url"].as_str().unwrap().to_owned());
        if (n + 1) % 10 == 0 || n + 1 == settings.sandboxes {
            println!(
                "[{}] {} live; last create {:.0} ms; server RSS {:.0} MiB",
                mode.label(),
                n + 1,
                bench::ms(*creates.last().unwrap()),
                pool_support::rss_bytes(server) as f64 / MIB
            );
        }
    }

    // All serving: every preview answers 200 through the front door.
    let mut serving = 0;
    for url in &urls {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if support::renderer_serves(url).await.is_ok() {
                serving += 1;
                break;
            }
            if Instant::now() > deadline {
                println!("[{}] {url} does not serve", mode.label());
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Memory: each renderer's processes (its unit cgroups' members), and everything that runs
    // from the data dir (pool processes included).
    let renderers: Vec<RendererProcs> = ids
        .iter()
        .map(|id| RendererProcs::of(&renderer_socket(&data_dir, id), server))
        .collect();
    let pss: Vec<u64> = renderers.iter().map(RendererProcs::pss_bytes).collect();
    let mut everything: BTreeSet<u32> = pool_support::processes_under(&data_dir);
    everything.extend(renderers.iter().flat_map(|r| r.pids.iter().copied()));
    everything.remove(&server);
    let all_pss = everything.iter().map(|&p| pool_support::pss_bytes(p)).sum();
    let server_rss_live = pool_support::rss_bytes(server);
    let unit_dirs = pool_support::unit_cgroup_dirs(server);

    let mut deletes = Vec::new();
    for id in &ids {
        let started = Instant::now();
        api.delete(&format!("/api/v1/sandboxes/{id}"))
            .await
            .expect(204);
        deletes.push(started.elapsed());
    }
    let known_cgroups: BTreeSet<PathBuf> = renderers
        .iter()
        .flat_map(|r| r.cgroups.iter().cloned())
        .collect();
    let mut left_pids: BTreeSet<u32> = renderers
        .iter()
        .flat_map(|r| r.pids.iter().copied())
        .filter(|&p| procs::alive(p))
        .collect();
    for id in &ids {
        left_pids.extend(pool_support::listeners(
            &renderer_socket(&data_dir, id),
            server,
        ));
    }
    let left_cgroups = pool_support::leftover_cgroups(&unit_dirs, &ids, &known_cgroups);
    for cgroup in &left_cgroups {
        left_pids.extend(procs::cgroup_members(cgroup));
    }
    if !left_pids.is_empty() || !left_cgroups.is_empty() {
        println!(
            "[{}] left after the deletes: processes {left_pids:?}, cgroups {left_cgroups:?}",
            mode.label()
        );
    }
    Density {
        requested: settings.sandboxes,
        live: ids.len(),
        serving,
        at_one,
        creates,
        pss,
        all_pss,
        server_rss_before,
        server_rss_live,
        deletes,
        left_processes: left_pids.len(),
        left_cgroups: left_cgroups.len(),
        left_after_stop: None,
    }
}

// --- the report ---

fn ms(d: Duration) -> String {
    format!("{:.1} ms", bench::ms(d))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT MET" }
}

fn print_results(settings: &Settings, results: &Results) {
    let samples = &results.samples;
    println!();
    println!("load average: {}", bench::load_average());
    println!(
        "{:<24} {:<18} {:>4} {:>11} {:>11} {:>11} {:>11}",
        "measure", "source", "n", "p50", "p99", "min", "max"
    );
    for (key, series) in &samples.0 {
        let (measure, source) = key.split_once(" | ").unwrap();
        let stats = Stats::of(series);
        let min = series.iter().min().copied().unwrap_or_default();
        let max = series.iter().max().copied().unwrap_or_default();
        println!(
            "{measure:<24} {source:<18} {:>4} {:>11} {:>11} {:>11} {:>11}",
            stats.n,
            ms(stats.p50),
            ms(stats.p99),
            ms(min),
            ms(max)
        );
    }

    println!();
    println!(
        "{:<24} {:<10} {:>11} | {:<18} {:>11} {:>8}",
        "beside its baseline", "source", "p50", "baseline", "p50", "ratio"
    );
    let pairs = [
        (CREATE_201, "pool", "pool off"),
        (CREATE_VISIBLE, "pool", "pool off"),
        (CREATE_VISIBLE, "pool", DEV),
        (CREATE_VISIBLE, "pool off", DEV),
        (CRASH_ALL, "pool", "pool off"),
        (CRASH_FIRST, "pool", "pool off"),
        (CRASH_ALL, "pool", PM2_NPM),
        (CRASH_ALL, "pool", PM2_VITE),
        (CRASH_ALL, "pool off", PM2_NPM),
        (CRASH_ALL, "pool off", PM2_VITE),
    ];
    for (measure, source, baseline) in pairs {
        if let (Some(a), Some(b)) = (samples.p50(measure, source), samples.p50(measure, baseline)) {
            println!(
                "{measure:<24} {source:<10} {:>11} | {baseline:<18} {:>11} {:>7.2}x",
                ms(a),
                ms(b),
                bench::ratio(a, b)
            );
        }
    }
    for note in [&results.dev_note, &results.pm2_note].into_iter().flatten() {
        println!("note: {note}");
    }

    for (mode, d) in &results.density {
        println!();
        let half = (d.requested / 2).max(1);
        println!(
            "density ({}): {} of {} sandboxes live, {} serving",
            mode.label(),
            d.live,
            d.requested,
            d.serving
        );
        if !d.pss.is_empty() {
            let total: u64 = d.pss.iter().sum();
            println!(
                "  PSS per renderer: p50 {}, max {}; renderers total {}; everything from the data dir {}",
                mib(bench::percentile(&d.pss, 0.5)),
                mib(d.pss.iter().copied().max().unwrap_or(0)),
                mib(total),
                mib(d.all_pss)
            );
        }
        println!(
            "  server RSS: {} before, {} with {} live",
            mib(d.server_rss_before),
            mib(d.server_rss_live),
            d.live
        );
        let at = |k: usize| d.at(k).map(ms).unwrap_or_else(|| "-".to_owned());
        println!(
            "  create → 201: at 1 live {} (p50 of {}), at {half} live {}, at {} live {} (p50 of the last {WINDOW} creates up to it)",
            ms(Stats::of(&d.at_one).p50),
            d.at_one.len(),
            at(half),
            d.requested,
            at(d.requested)
        );
        if !d.deletes.is_empty() {
            println!("  delete: {}", Stats::of(&d.deletes));
        }
        println!(
            "  after the deletes: {} renderer processes, {} unit cgroups; after the server stopped: {} processes from the data dir",
            d.left_processes,
            d.left_cgroups,
            d.left_after_stop
                .map(|n| n.to_string())
                .unwrap_or_else(|| "?".to_owned())
        );
    }
    if let Ok(limits) = inotify_limits() {
        println!("  inotify: {limits}");
    }

    print_goals(settings, results);
}

fn inotify_limits() -> std::io::Result<String> {
    let read = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/fs/inotify/{name}")).map(|s| s.trim().to_owned())
    };
    Ok(format!(
        "max_user_instances {}, max_user_watches {}",
        read("max_user_instances")?,
        read("max_user_watches")?
    ))
}

fn print_goals(settings: &Settings, results: &Results) {
    let samples = &results.samples;
    println!();
    println!("goals (issue 15; printed, not asserted):");
    let goal = |text: &str, value: String, state: &str| {
        println!("  {text:<62} {value:<40} {state}");
    };
    let not_measured = |why: &str| ("-".to_owned(), format!("not measured ({why})"));
    let no_pool = if settings.pool_flag {
        "pool mode not run"
    } else {
        "no --renderer-pool yet"
    };
    let p50_goal = |measure: &str, source: &str, limit: Duration| match samples.p50(measure, source)
    {
        Some(p50) => (format!("p50 {}", ms(p50)), verdict(p50 <= limit).to_owned()),
        None => not_measured(if source == "pool" {
            no_pool
        } else {
            "row not run"
        }),
    };
    let (v, s) = p50_goal(CREATE_201, "pool", Duration::from_millis(250));
    goal(
        "create → 201 with the renderer serving ≤ 250 ms p50 (pool)",
        v,
        &s,
    );
    let (v, s) = p50_goal(CREATE_VISIBLE, "pool", Duration::from_millis(500));
    goal(
        "create → every component visible ≤ 500 ms p50 (pool)",
        v,
        &s,
    );
    let (v, s) = p50_goal(CREATE_VISIBLE, "pool off", Duration::from_millis(1000));
    goal(
        "create → every component visible ≤ 1.0 s p50 (pool off)",
        v,
        &s,
    );
    let (v, s) = p50_goal(CRASH_FIRST, "pool", Duration::from_millis(150));
    goal(
        "crash → serving, first in window ≤ 150 ms p50 (pool)",
        v,
        &s,
    );
    let (v, s) = match (
        samples.p50(CRASH_FIRST, "pool"),
        samples.p50(CRASH_FIRST, "pool off"),
    ) {
        (Some(pool), Some(off)) => {
            let speedup = bench::ratio(off, pool);
            (
                format!("{speedup:.2}x (pool off {})", ms(off)),
                verdict(speedup >= 3.0).to_owned(),
            )
        }
        _ => not_measured(no_pool),
    };
    goal(
        "crash → serving, first in window ≥ 3x faster than pool off",
        v,
        &s,
    );

    // Density goals from the pooled run when there is one.
    let density = results
        .density
        .iter()
        .next_back()
        .map(|(mode, d)| (*mode, d));
    match density {
        Some((mode, d)) => {
            let tag = format!("({}, N = {})", mode.label(), d.requested);
            let all_up = d.live == d.requested && d.serving == d.live;
            let state = if d.requested < 100 {
                format!(
                    "not measured at 100 (STUDIO_BENCH_SANDBOXES={})",
                    d.requested
                )
            } else {
                verdict(all_up).to_owned()
            };
            goal(
                "100 live sandboxes on the 2-core / 24 GB machine",
                format!("{} live, {} serving {tag}", d.live, d.serving),
                &state,
            );
            match d.pss.iter().copied().max() {
                Some(max) => goal(
                    "each sandbox ≤ 120 MiB PSS",
                    format!(
                        "max {}, p50 {}",
                        mib(max),
                        mib(bench::percentile(&d.pss, 0.5))
                    ),
                    verdict(max as f64 <= 120.0 * MIB),
                ),
                None => goal("each sandbox ≤ 120 MiB PSS", "-".to_owned(), "no sandbox"),
            }
            let one = Stats::of(&d.at_one).p50;
            match d.at(d.requested) {
                Some(full) => {
                    let ratio = bench::ratio(full, one);
                    goal(
                        "create time at 100 live ≤ 2x create time at 1",
                        format!(
                            "{ratio:.2}x ({} at {}, {} at 1)",
                            ms(full),
                            d.requested,
                            ms(one)
                        ),
                        if d.requested < 100 {
                            "(at N, not 100)"
                        } else {
                            verdict(ratio <= 2.0)
                        },
                    );
                }
                None => goal(
                    "create time at 100 live ≤ 2x create time at 1",
                    "-".to_owned(),
                    "not measured",
                ),
            }
            let after_stop = d.left_after_stop.unwrap_or(usize::MAX);
            goal(
                "after deleting them 0 processes and 0 cgroups remain",
                format!(
                    "{} processes, {} cgroups; {} after stop",
                    d.left_processes,
                    d.left_cgroups,
                    d.left_after_stop
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "?".to_owned())
                ),
                verdict(d.left_processes == 0 && d.left_cgroups == 0 && after_stop == 0),
            );
        }
        None => {
            let (v, s) = not_measured("density row not run");
            goal(
                "100 live sandboxes, each ≤ 120 MiB PSS, 2x create time, 0 left",
                v,
                &s,
            );
        }
    }
    goal(
        "studio gc returns the data dir to ≤ the configured bound",
        "-".to_owned(),
        "not measured by this benchmark (GC tests)",
    );
}
