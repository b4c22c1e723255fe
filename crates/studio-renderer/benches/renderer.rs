//! Renderer benchmark: `cargo bench -p studio-renderer --bench renderer`.
//!
//! Prints p50/p99 for the four numbers designers feel, each beside a baseline measured in the
//! same run (the machine is shared and noisy, so only same-run ratios mean much):
//!
//! * sandbox preparation with warm stores (checkout copy excluded) vs `npm ci` with a warm cache,
//!   and the two ways to put a store into a checkout (`cp -al` vs a symlink);
//! * renderer start → first component rendered in Chromium, vs Vite's first HTTP 200: for a new
//!   sandbox (Vite's dependency cache planted from an earlier one), a restart, and the very first
//!   sandbox of a repository (Vite bundles the dependencies itself);
//! * edit → new text painted in Chromium (a MutationObserver + animation frame timestamp in the
//!   page against the write time), vs reloading the page;
//! * idle renderer memory (RSS summed over the process group), vs Vite without memory tuning;
//! * stories: renderer start → every story tile of a 50-story repository (the sample plus 10
//!   components with 5 CSF 3 stories each, with args) rendered in Chromium, vs start → every
//!   component card of the same repository without those stories files; with the tile and card
//!   counts seen on each side (a broken story evaluator shows as a count, not only a timeout);
//! * manifest: `GET /__studio/components` of that 50-story repository (26 component and stories
//!   files, props by react-docgen) over the renderer's socket: the first answer of a new renderer
//!   (loads Babel and react-docgen, parses every file), a warm one (every file cached by blob id),
//!   and one after an edit (one file parsed again), vs `GET /__studio/health` on the same socket.
//!
//! Goals: preparation ≤ 100 ms, start → rendered ≤ 1.0 s, edit → pixel ≤ 100 ms, idle ≤ 180 MB.
//! `STUDIO_BENCH_ONLY=start,edit` runs only some sections (prepare, start, edit, memory, stories,
//! manifest).
//! The stories section is one of the default ones: it adds about 20 s (five runs of two seeded
//! sandbox starts) to a run of several minutes.
#![allow(clippy::unwrap_used, clippy::print_stderr)] // a benchmark reports by printing and panicking

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use studio_renderer::{Prepared, Renderer};
use studio_testkit::bench::{self, millis, percentile};
use studio_testkit::browser::{Browser, epoch_ms, observe_text};
use studio_testkit::paths::{self, RENDERER};
use studio_testkit::procs;
use support::Vite;

const PREPARE_RUNS: usize = 30;
const NPM_CI_RUNS: usize = 5;
const START_RUNS: usize = 10;
/// Each needs fresh stores (an npm install, untimed), so fewer.
const FIRST_SANDBOX_RUNS: usize = 3;
const EDIT_RUNS: usize = 40;
const MEMORY_RUNS: usize = 3;
/// How long a renderer sits untouched before its memory is read.
const IDLE: Duration = Duration::from_secs(4);
const STORIES_RUNS: usize = 5;
/// Components the stories section adds to the sample, each with a stories file of
/// `STORIES_PER_COMPONENT` stories: 50 stories.
const STORY_COMPONENTS: usize = 10;
const STORIES_PER_COMPONENT: usize = 5;
/// New renderers whose first manifest is timed (each parses every file).
const MANIFEST_COLD_RUNS: usize = 5;
/// Warm answers, and answers after an edit, per renderer.
const MANIFEST_WARM_RUNS: usize = 20;

fn main() {
    bench::runtime(None).block_on(run());
}

async fn run() {
    println!(
        "studio-renderer benchmark ({} CPUs)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // How busy the shared machine is right now: FACTS measured 64 ms on a quiet one.
    let mut node_start = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        assert!(
            Command::new("node")
                .args(["-e", "0"])
                .status()
                .unwrap()
                .success()
        );
        node_start.push(started.elapsed());
    }
    let node_start = percentile(&millis(&node_start), 0.5);
    println!(
        "machine load: `node -e 0` p50 {node_start:.0} ms (64 ms on a quiet machine of this size)"
    );
    let renderer = support::shared_renderer();
    // Warm the stores (and Vite's first-run costs) once.
    let warm = support::sample_checkout("bench-warm-");
    support::prepare(&renderer, &support::spec(warm.path(), None)).await;

    // `STUDIO_BENCH_ONLY=start,edit` runs a subset (prepare, start, edit, memory, stories,
    // manifest).
    let only = std::env::var("STUDIO_BENCH_ONLY").unwrap_or_default();
    let wanted = |section: &str| only.is_empty() || only.split(',').any(|s| s.trim() == section);
    if wanted("prepare") {
        preparation(&renderer).await;
    }
    let mut browser = Browser::launch().await;
    if wanted("start") {
        start_to_render(&renderer, &mut browser).await;
    }
    if wanted("edit") {
        edit_to_pixel(&renderer, &mut browser).await;
    }
    if wanted("memory") {
        idle_memory(&mut browser).await;
    }
    if wanted("stories") {
        stories_first_render(&renderer, &mut browser).await;
    }
    browser.close().await;
    if wanted("manifest") {
        manifest_answers(&renderer).await;
    }
}

async fn preparation(renderer: &Renderer) {
    let mut prepare = Vec::new();
    for _ in 0..PREPARE_RUNS {
        let checkout = support::sample_checkout("bench-prep-");
        let spec = support::spec(checkout.path(), None);
        let started = Instant::now();
        let prepared = support::prepare(renderer, &spec).await;
        prepare.push(started.elapsed());
        assert!(
            !prepared.report.deps.outcome.installed()
                && !prepared.report.template.outcome.installed()
        );
    }
    let mut npm_ci = Vec::new();
    for _ in 0..NPM_CI_RUNS {
        let checkout = support::sample_checkout("bench-npm-");
        let cache = paths::npm_cache(RENDERER);
        let started = Instant::now();
        // What the renderer's own install runs (offline-first, no scripts, quiet).
        let status = Command::new("npm")
            .args(
                "ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error"
                    .split(' '),
            )
            .arg("--cache")
            .arg(&cache)
            .current_dir(checkout.path())
            .status()
            .unwrap();
        npm_ci.push(started.elapsed());
        assert!(status.success());
    }
    let store = support::prepare(
        renderer,
        &support::spec(support::sample_checkout("bench-store-").path(), None),
    )
    .await
    .report
    .deps
    .node_modules;
    let (mut hard_links, mut symlink) = (Vec::new(), Vec::new());
    for _ in 0..PREPARE_RUNS {
        let target = support::scratch_dir("bench-link-");
        let started = Instant::now();
        assert!(
            Command::new("cp")
                .arg("-al")
                .arg(&store)
                .arg(target.path().join("node_modules"))
                .status()
                .unwrap()
                .success()
        );
        hard_links.push(started.elapsed());
        let started = Instant::now();
        std::os::unix::fs::symlink(&store, target.path().join("node_modules-link")).unwrap();
        symlink.push(started.elapsed());
    }
    let files = count_files(&store);
    report(
        "preparation, warm stores",
        "ms",
        &millis(&prepare),
        "npm ci, warm cache",
        &millis(&npm_ci),
        "≤ 100 ms",
    );
    let name = format!("link node_modules: cp -al ({files} files)");
    report(
        &name,
        "ms",
        &millis(&hard_links),
        "symlink",
        &millis(&symlink),
        "-",
    );
}

/// Starts a renderer for `prepared`, loads it in a fresh tab, and returns (spawn → Vite's first HTTP
/// 200, spawn → components on screen).
async fn time_start(
    prepared: &Prepared,
    browser: &mut Browser,
    page: &str,
) -> (Duration, Duration) {
    // The tab exists before the renderer starts, as the designer's browser does: creating a
    // browser context costs Chromium a few hundred ms that are not the renderer's.
    browser.open(page, "about:blank").await;
    let started_ms = epoch_ms();
    let vite = Vite::start(&prepared.launch).await;
    let ready_ms = epoch_ms();
    browser.open(page, vite.url.as_str()).await;
    browser.wait_ready(page).await;
    let rendered_ms = browser
        .eval(page, "window.__studioRenderedAt")
        .await
        .as_f64()
        .unwrap();
    browser.close_page(page).await;
    vite.stop().await;
    let since_start = |ms: f64| Duration::from_secs_f64((ms - started_ms).max(0.0) / 1000.0);
    (since_start(ready_ms), since_start(rendered_ms))
}

async fn start_to_render(renderer: &Renderer, browser: &mut Browser) {
    let (mut seeded, mut warm, mut http, mut unseeded) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..START_RUNS {
        let checkout = support::sample_checkout("bench-start-");
        let prepared = support::prepare(renderer, &support::spec(checkout.path(), None)).await;
        assert!(
            prepared.report.vite_cache_seeded,
            "the warm-up sandbox should have left a seed"
        );
        // First start of a new sandbox (Vite's cache planted from an earlier sandbox's), then a
        // restart (its own cache).
        let (ready, rendered) = time_start(&prepared, browser, &format!("start-{run}")).await;
        http.push(ready);
        seeded.push(rendered);
        warm.push(
            time_start(&prepared, browser, &format!("restart-{run}"))
                .await
                .1,
        );
    }
    // The very first sandbox of a repository: fresh stores (installed outside the timing), so
    // Vite bundles the dependencies itself.
    for run in 0..FIRST_SANDBOX_RUNS {
        let data = support::scratch_dir("bench-first-data-");
        let checkout = support::sample_checkout("bench-first-");
        let prepared = support::prepare(
            &support::renderer_in(data.path()),
            &support::spec(checkout.path(), None),
        )
        .await;
        assert!(!prepared.report.vite_cache_seeded);
        unseeded.push(
            time_start(&prepared, browser, &format!("first-{run}"))
                .await
                .1,
        );
    }
    let (seeded, warm, http, unseeded) = (
        millis(&seeded),
        millis(&warm),
        millis(&http),
        millis(&unseeded),
    );
    report(
        "start → rendered, new sandbox",
        "ms",
        &seeded,
        "Vite first HTTP 200",
        &http,
        "≤ 1000 ms",
    );
    report(
        "start → rendered, restart",
        "ms",
        &warm,
        "new sandbox",
        &seeded,
        "≤ 1000 ms",
    );
    report(
        "start → rendered, first sandbox of repo",
        "ms",
        &unseeded,
        "new sandbox",
        &seeded,
        "≤ 1000 ms",
    );
}

async fn edit_to_pixel(renderer: &Renderer, browser: &mut Browser) {
    let checkout = support::sample_checkout("bench-edit-");
    let prepared = support::prepare(renderer, &support::spec(checkout.path(), None)).await;
    let vite = Vite::start(&prepared.launch).await;
    browser.open("edit", vite.url.as_str()).await;
    browser.wait_ready("edit").await;
    let file = checkout.path().join("src/components/Button/Button.tsx");
    let source = std::fs::read_to_string(&file).unwrap();
    let (mut edits, mut reloads) = (Vec::new(), Vec::new());
    for run in 0..EDIT_RUNS {
        let text = format!("Edited {run}");
        browser.eval("edit", &observe_text(&text)).await;
        let written_ms = epoch_ms();
        std::fs::write(
            &file,
            source.replace("\"Click me\"", &format!("\"{text}\"")),
        )
        .unwrap();
        let seen_ms = browser
            .wait_for("edit", "window.__seenAt", Duration::from_secs(10))
            .await
            .as_f64()
            .unwrap();
        edits.push(Duration::from_secs_f64(
            (seen_ms - written_ms).max(0.0) / 1000.0,
        ));
    }
    for _ in 0..EDIT_RUNS / 4 {
        let started = Instant::now();
        browser.eval("edit", "location.reload()").await;
        browser
            .wait_for(
                "edit",
                "document.documentElement.dataset.studioReady",
                Duration::from_secs(10),
            )
            .await;
        reloads.push(started.elapsed());
    }
    report(
        "edit → pixel (hot update)",
        "ms",
        &millis(&edits),
        "page reload → rendered",
        &millis(&reloads),
        "≤ 100 ms",
    );
    browser.close_page("edit").await;
    vite.stop().await;
}

async fn idle_memory(browser: &mut Browser) {
    let data = support::shared_data_dir();
    let (mut tuned, mut untuned) = (Vec::new(), Vec::new());
    for run in 0..MEMORY_RUNS * 2 {
        let tuning = run % 2 == 0;
        let mut config = support::renderer_config(&data);
        config.memory_tuning = tuning;
        let renderer = Renderer::new(config).unwrap();
        let checkout = support::sample_checkout("bench-mem-");
        let prepared = support::prepare(&renderer, &support::spec(checkout.path(), None)).await;
        let vite = Vite::start(&prepared.launch).await;
        let page = format!("mem-{run}");
        browser.open(&page, vite.url.as_str()).await;
        browser.wait_ready(&page).await;
        tokio::time::sleep(IDLE).await; // the definition of idle, not a synchronisation
        let kib = procs::group_rss_kib(vite.pid());
        (if tuning { &mut tuned } else { &mut untuned }).push(kib as f64 / 1024.0);
        browser.close_page(&page).await;
        vite.stop().await;
    }
    report(
        "idle renderer RSS (memory tuning)",
        "MiB",
        &tuned,
        "no tuning",
        &untuned,
        "≤ 180 MB",
    );
}

/// A checkout of the sample plus `STORY_COMPONENTS` components `Bench<i>` (bare, they show
/// "Bench<i> bare"), each with a stories file of `STORIES_PER_COMPONENT` CSF 3 stories
/// `Story<j>` (shown as "Bench<i> Story<j>", from their args) when `with_stories`.
fn stories_checkout(with_stories: bool) -> tempfile::TempDir {
    let checkout = support::sample_checkout("bench-stories-");
    for i in 0..STORY_COMPONENTS {
        let name = format!("Bench{i}");
        let dir = checkout.path().join("src/components").join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{name}.tsx")),
            format!(
                r#"export interface {name}Props {{
  label?: string;
  tone?: "calm" | "loud";
  count?: number;
}}

export function {name}({{ label = "{name} bare", tone = "calm", count = 0 }}: {name}Props) {{
  return (
    <div data-tone={{tone}}>
      <strong>{{label}}</strong> <span>{{count}}</span>
    </div>
  );
}}
"#
            ),
        )
        .unwrap();
        if !with_stories {
            continue;
        }
        let mut stories = format!(
            "import {{ {name} }} from \"./{name}\";\n\nexport default {{\n  title: \"Bench/{name}\",\n  component: {name},\n  args: {{ tone: \"calm\" }},\n}};\n"
        );
        for j in 1..=STORIES_PER_COMPONENT {
            let tone = if j % 2 == 0 { "loud" } else { "calm" };
            stories.push_str(&format!(
                "\nexport const Story{j} = {{\n  args: {{ label: \"{name} Story{j}\", tone: \"{tone}\", count: {j} }},\n}};\n"
            ));
        }
        std::fs::write(dir.join(format!("{name}.stories.tsx")), stories).unwrap();
    }
    checkout
}

/// What a page shows once loaded, as the stories section reads it.
struct FirstRender {
    /// Renderer spawn → the first render of the loaded components (`__studioRenderedAt`).
    rendered: Duration,
    cards: u64,
    tiles: u64,
}

/// Starts a renderer for `prepared` in a fresh tab and waits until the page is loaded and
/// `expected_tiles` story tiles (if given) are on screen with `text` inside the card of
/// `component` (or 15 s of page life have passed: then it panics with the counts it saw).
async fn time_first_render(
    prepared: &Prepared,
    browser: &mut Browser,
    page: &str,
    expected_tiles: Option<u64>,
    component: &str,
    text: &str,
) -> FirstRender {
    browser.open(page, "about:blank").await;
    let started_ms = epoch_ms();
    let vite = Vite::start(&prepared.launch).await;
    browser.open(page, vite.url.as_str()).await;
    let expected = expected_tiles.map_or("null".to_owned(), |n| n.to_string());
    let (component_js, text_js) = (
        serde_json::to_string(component).unwrap(),
        serde_json::to_string(text).unwrap(),
    );
    // Polled on every animation frame; the tiles of one version render in one commit, so
    // `__studioRenderedAt` (set after the first loaded commit) is when they reached the screen
    // as long as that first version is still the one shown.
    let expr = format!(
        "(() => {{
          const data = document.documentElement.dataset;
          if (!data.studioReady) return false;
          const tiles = document.querySelectorAll('[data-studio-component] [data-studio-story]');
          const expected = {expected};
          const card = document.querySelector(`[data-studio-component=\"${{{component_js}}}\"]`);
          const full = (expected === null || (tiles.length === expected && data.studioStories === String(expected)))
            && !!card && card.innerText.includes({text_js});
          if (!full && performance.now() < 15000) return false;
          return {{ full, tiles: tiles.length, stories: Number(data.studioStories), cards: Number(data.studioReady),
            version: data.studioVersion, at: window.__studioRenderedAt,
            errors: document.querySelectorAll('[data-studio-error], [data-studio-broken-file]').length }};
        }})()"
    );
    let seen = browser.wait_for(page, &expr, Duration::from_secs(30)).await;
    let tiles = seen["tiles"].as_u64().unwrap();
    if seen["full"] != true || seen["errors"] != 0 {
        let body = browser.eval(page, "document.body.innerText").await;
        panic!(
            "{page}: {tiles} story tiles seen (expected {expected}), {} cards, {} errors, \"{text}\" in {component}?\npage text:\n{body}",
            seen["cards"], seen["errors"]
        );
    }
    assert_eq!(
        seen["version"], "1",
        "{page}: a later version replaced the first render; its time would not be first render"
    );
    let rendered_ms = seen["at"].as_f64().unwrap();
    browser.close_page(page).await;
    vite.stop().await;
    FirstRender {
        rendered: Duration::from_secs_f64((rendered_ms - started_ms).max(0.0) / 1000.0),
        cards: seen["cards"].as_u64().unwrap(),
        tiles,
    }
}

async fn stories_first_render(renderer: &Renderer, browser: &mut Browser) {
    let added = (STORY_COMPONENTS * STORIES_PER_COMPONENT) as u64;
    let last = format!("Bench{}", STORY_COMPONENTS - 1);
    let (mut stories, mut bare) = (Vec::new(), Vec::new());
    let (mut story_tiles, mut bare_tiles, mut cards) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..STORIES_RUNS {
        // The same repository without the new stories files first: its tiles are the sample's
        // own stories, which the repository with them shows too.
        let checkout = stories_checkout(false);
        let prepared = support::prepare(renderer, &support::spec(checkout.path(), None)).await;
        let baseline = time_first_render(
            &prepared,
            browser,
            &format!("bare-{run}"),
            None,
            &last,
            &format!("{last} bare"),
        )
        .await;
        let checkout = stories_checkout(true);
        let prepared = support::prepare(renderer, &support::spec(checkout.path(), None)).await;
        let expected = baseline.tiles + added;
        let with = time_first_render(
            &prepared,
            browser,
            &format!("stories-{run}"),
            Some(expected),
            &last,
            &format!("{last} Story{STORIES_PER_COMPONENT}"),
        )
        .await;
        assert_eq!(
            with.cards, baseline.cards,
            "stories should become tiles of their components' cards, not cards of their own"
        );
        bare.push(baseline.rendered);
        stories.push(with.rendered);
        story_tiles.push(with.tiles);
        bare_tiles.push(baseline.tiles);
        cards.push(baseline.cards);
    }
    let (stories, bare) = (millis(&stories), millis(&bare));
    report(
        &format!("start → {added} stories rendered"),
        "ms",
        &stories,
        "same repo without stories",
        &bare,
        "≤ 1000 ms",
    );
    println!(
        "{:<40} p99 {:.1} ms (baseline) | story tiles seen {story_tiles:?} (without the stories files {bare_tiles:?}), component cards {cards:?}",
        "",
        percentile(&bare, 0.99),
    );
}

/// One `GET` over the renderer's socket; its time and the answer's `parsed` count (files the
/// manifest parsed for it; absent for other paths).
async fn timed_get(socket: &Path, path: &'static str) -> (Duration, u64) {
    let socket = socket.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let answer = studio_testkit::unix_http::get(&socket, path).expect("the renderer answers");
        let took = started.elapsed();
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        let parsed = serde_json::from_str::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|body| body["parsed"].as_u64())
            .unwrap_or(0);
        (took, parsed)
    })
    .await
    .unwrap()
}

async fn manifest_answers(renderer: &Renderer) {
    const MANIFEST: &str = "/__studio/components";
    const HEALTH: &str = "/__studio/health";
    let (mut cold, mut warm, mut edited, mut health) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut cold_parsed = Vec::new();
    for run in 0..MANIFEST_COLD_RUNS {
        let checkout = stories_checkout(true);
        let prepared = support::prepare(renderer, &support::spec(checkout.path(), None)).await;
        let vite = Vite::start(&prepared.launch).await;
        let (took, parsed) = timed_get(&vite.socket, MANIFEST).await;
        cold.push(took);
        cold_parsed.push(parsed);
        for i in 0..MANIFEST_WARM_RUNS {
            health.push(timed_get(&vite.socket, HEALTH).await.0);
            let (took, parsed) = timed_get(&vite.socket, MANIFEST).await;
            assert_eq!(parsed, 0, "a warm manifest parsed {parsed} files");
            warm.push(took);
            // One component file changes (a new default): only it is parsed again.
            let file = checkout.path().join("src/components/Bench0/Bench0.tsx");
            let source = std::fs::read_to_string(&file).unwrap();
            let changed = source.replacen("count = ", &format!("count = {run}{i} + "), 1);
            std::fs::write(&file, changed).unwrap();
            let (took, parsed) = timed_get(&vite.socket, MANIFEST).await;
            assert_eq!(
                parsed, 1,
                "after one edit the manifest parsed {parsed} files"
            );
            edited.push(took);
        }
        vite.stop().await;
    }
    let (cold, warm, edited, health) = (
        millis(&cold),
        millis(&warm),
        millis(&edited),
        millis(&health),
    );
    println!("manifest: files parsed by a first answer {cold_parsed:?}");
    report(
        "manifest, first answer",
        "ms",
        &cold,
        "health",
        &health,
        "≤ 2000 ms",
    );
    report(
        "manifest, warm (cached)",
        "ms",
        &warm,
        "health",
        &health,
        "≤ 100 ms",
    );
    report(
        "manifest, after one edit",
        "ms",
        &edited,
        "health",
        &health,
        "≤ 150 ms",
    );
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            if e.file_type().unwrap().is_dir() {
                count_files(&e.path())
            } else {
                1
            }
        })
        .sum()
}

/// One line: p50/p99 of `samples` (in `unit`), the goal, and the baseline's p50 with the ratio.
fn report(
    name: &str,
    unit: &str,
    samples: &[f64],
    baseline_name: &str,
    baseline: &[f64],
    goal: &str,
) {
    let (p50, p99, b50) = (
        percentile(samples, 0.5),
        percentile(samples, 0.99),
        percentile(baseline, 0.5),
    );
    println!(
        "{name:<40} p50 {p50:>8.1} {unit}  p99 {p99:>8.1} {unit}  (n={:>2}, goal {goal:<8}) | {baseline_name}: p50 {b50:.1} {unit} ({:.2}x)",
        samples.len(),
        b50 / p50.max(0.001),
    );
}
