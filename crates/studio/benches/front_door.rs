//! What the front door costs a preview, measured in one run against the renderer's own socket:
//!
//! | measure | through the door | direct | goal |
//! | --- | --- | --- | --- |
//! | first render | Chromium opens `renderer_url` (a new tab) → every component painted | the same page through a plain TCP → Unix socket byte relay (Chromium cannot open a socket itself) | (reported) |
//! | edit → pixel | `POST …/execute` sent (REST call included) → the edit painted in an open page | the same edit, painted in a page open through the relay | ≤ 100 ms p50 and ≤ 1.15× direct |
//! | 5 MB module | `GET` of a 5 MB module through the door (MB/s) | the same `GET` on the socket itself | (reported) |
//!
//! Both pages of the edit → pixel rows watch the same edits, so they are measured under the same
//! load. Run: `cargo bench -p studio --bench front_door` (a release build of the server, a real
//! Vite, Debian's Chromium). Every loop is bounded; every wait has a deadline.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use studio_testkit::bench::{self, Stats};
use studio_testkit::browser::{Browser, epoch_ms, observe_text};
use studio_testkit::forward::UnixForwarder;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_http;
use studio_testkit::unix_listeners::renderer_socket;
use support::{Studio, door};

const WAIT: Duration = Duration::from_secs(60);
const BUTTON: &str = "src/components/Button/Button.tsx";
const FIRST_RENDERS: usize = 10;
const EDITS: usize = 30;
const DOWNLOADS: usize = 10;
const BIG_MODULE: &str = "src/big.js";
/// 5 MB (decimal): a file may have at most 5 MiB.
const BIG_BYTES: usize = 5_000_000;

fn main() {
    bench::runtime(Some(2)).block_on(run());
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", bench::ms(d))
}

fn row(name: &str, door: &[Duration], direct: &[Duration], goal: &str) {
    let d = Stats::of(door);
    let s = Stats::of(direct);
    println!(
        "{name:<14} {:>10} {:>10} | {:>10} {:>10} | {:>6.2}x | {goal}",
        ms(d.p50),
        ms(d.p99),
        ms(s.p50),
        ms(s.p99),
        bench::ratio(d.p50, s.p50),
    );
}

async fn run() {
    let remote = Remote::new().await;
    let data = DataDir::new("bench-door-");
    let studio = Studio::start(&ServerConfig::new(&data).env("STUDIO_LOG", "warn"));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let door_url = created["renderer_url"].as_str().unwrap().to_owned();
    let socket = renderer_socket(&data.path().canonicalize().unwrap(), &id);
    let relay = UnixForwarder::start(&socket).await;
    let direct_url = relay.url();
    let mut browser = Browser::launch().await;

    // --- first render: a new tab each time, door and relay interleaved ---
    let mut first_door = Vec::new();
    let mut first_direct = Vec::new();
    for n in 0..=FIRST_RENDERS {
        for (url, samples, tag) in [
            (&door_url, &mut first_door, "door"),
            (&direct_url, &mut first_direct, "direct"),
        ] {
            let page = format!("{tag}-{n}");
            let started = Instant::now();
            browser.open(&page, url).await;
            browser.wait_ready(&page).await;
            // Round 0 warms Vite's transform cache and Chromium.
            if n > 0 {
                samples.push(started.elapsed());
            }
            browser.close_page(&page).await;
        }
    }

    // --- edit → pixel: the same edits, watched by a page of each ---
    browser.open("door", &door_url).await;
    browser.wait_ready("door").await;
    browser.open("direct", &direct_url).await;
    browser.wait_ready("direct").await;
    let mut edit_door = Vec::new();
    let mut edit_direct = Vec::new();
    for n in 0..=EDITS {
        let label = format!("edit-{n}-painted");
        for page in ["door", "direct"] {
            browser.eval(page, &observe_text(&label)).await;
        }
        let sent = epoch_ms();
        api.write_file(
            &id,
            BUTTON,
            &format!("export function Button() {{\n  return <button>{label}</button>;\n}}\n"),
            &format!("bench {n}"),
        )
        .await
        .expect(200);
        for (page, samples) in [("door", &mut edit_door), ("direct", &mut edit_direct)] {
            let seen = browser.wait_for(page, "window.__seenAt", WAIT).await;
            if n > 0 {
                let took = (seen.as_f64().unwrap() - sent).max(0.0);
                samples.push(Duration::from_secs_f64(took / 1000.0));
            }
        }
    }

    // --- a 5 MB module, through the door and straight from the socket ---
    let big = format!("export const big = \"{}\";\n", "x".repeat(BIG_BYTES));
    api.write_file(&id, BIG_MODULE, &big, "A big module")
        .await
        .expect(200);
    let host = door::host_and_port(&door_url).0;
    let mut get_door = Vec::new();
    let mut get_direct = Vec::new();
    let mut size = 0;
    for n in 0..=DOWNLOADS {
        let started = Instant::now();
        let answer = door::get(&format!("{door_url}{BIG_MODULE}")).await.unwrap();
        let took = started.elapsed();
        assert_eq!(
            answer.status,
            200,
            "{}",
            &answer.text[..answer.text.len().min(300)]
        );
        size = answer.text.len();
        let socket = socket.clone();
        let host = host.clone();
        let (direct, took_direct) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let answer = unix_http::request(&socket, "GET", &format!("/{BIG_MODULE}"), &host);
            (answer, started.elapsed())
        })
        .await
        .unwrap();
        let direct = direct.unwrap();
        assert_eq!(direct.status, 200);
        assert_eq!(
            direct.body.len(),
            size,
            "the door and the socket served different bytes"
        );
        if n > 0 {
            get_door.push(took);
            get_direct.push(took_direct);
        }
    }
    browser.close().await;
    relay.stop();

    println!();
    println!("load average: {}", bench::load_average());
    println!(
        "{:<14} {:>10} {:>10} | {:>10} {:>10} | {:>7} | goal",
        "measure", "door p50", "door p99", "direct p50", "direct p99", "ratio"
    );
    row("first render", &first_door, &first_direct, "(reported)");
    let edit_p50 = Stats::of(&edit_door).p50;
    let ratio = bench::ratio(edit_p50, Stats::of(&edit_direct).p50);
    let verdict = if edit_p50 <= Duration::from_millis(100) && ratio <= 1.15 {
        "ok"
    } else {
        "MISSED"
    };
    row(
        "edit → pixel",
        &edit_door,
        &edit_direct,
        &format!("≤ 100 ms and ≤ 1.15x: {verdict}"),
    );
    row("5 MB module", &get_door, &get_direct, "(reported)");
    let mb_s = |samples: &[Duration]| size as f64 / 1e6 / Stats::of(samples).p50.as_secs_f64();
    println!(
        "5 MB module throughput: door {:.0} MB/s, direct {:.0} MB/s ({size} bytes, p50)",
        mb_s(&get_door),
        mb_s(&get_direct)
    );
}
