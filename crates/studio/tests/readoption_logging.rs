//! A renderer that logs while the server is dead (SIGKILL) keeps running and is re-adopted: its
//! output goes to files under `<data-dir>/run/logs/`, not to pipes that lost their reader, and
//! the next server replays what it wrote meanwhile.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners::{renderer_pids, renderer_socket};
use support::{Api, Studio, eventually};

const WAIT: Duration = Duration::from_secs(60);
/// Created by the test in the checkout; the renderer removes it, logs, then writes [`LOGGED`].
const TRIGGER: &str = ".studio/.vite/log-now";
const LOGGED: &str = ".studio/.vite/logged";

/// A copy of `studio-template/` whose renderer, when [`TRIGGER`] appears, logs 50 lines on each
/// stream (`console.log`/`console.error`, as Vite does) and one straight to fd 2 (`writeSync`, as
/// some tools do: the template's EPIPE guard on `process.stderr` does not cover it, so into a
/// pipe without a reader it throws and ends the renderer), each naming the trigger's content,
/// and then writes that content to [`LOGGED`].
fn template_that_logs_on_trigger(into: &Path) {
    // `server.mjs` runs from `<checkout>/.studio/`.
    let hook = r#"
import { existsSync as logTestExists, readFileSync as logTestRead, unlinkSync as logTestUnlink, writeFileSync as logTestWrite, writeSync as logTestWriteSync } from "node:fs";
const logTestTrigger = new URL("./.vite/log-now", import.meta.url);
const logTestDone = new URL("./.vite/logged", import.meta.url);
setInterval(() => {
  if (!logTestExists(logTestTrigger)) return;
  const round = logTestRead(logTestTrigger, "utf8");
  logTestUnlink(logTestTrigger);
  for (let i = 0; i < 50; i++) {
    console.log(`log-test ${round} out ${i}`);
    console.error(`log-test ${round} err ${i}`);
  }
  logTestWriteSync(2, `log-test ${round} raw\n`);
  logTestWrite(logTestDone, round);
}, 50);
"#;
    support::template_with_server_hook(into, hook);
}

/// Makes the renderer log round `round` and waits until it says it has; fails at once if
/// `serving` (the renderer's processes) stops holding.
async fn make_it_log(checkout: &Path, round: &str, serving: impl Fn() -> bool) {
    let done = checkout.join(LOGGED);
    let _ = std::fs::remove_file(&done);
    // Written whole, then renamed into place: the renderer polls for the trigger and must never
    // read it half-written (an empty round would never be "logged").
    let trigger = checkout.join(TRIGGER);
    let staged = trigger.with_extension("staged");
    std::fs::write(&staged, round).unwrap();
    std::fs::rename(&staged, &trigger).unwrap();
    let logged = eventually("the renderer to log or die", WAIT, async || {
        if !serving() {
            return Ok(false);
        }
        match std::fs::read_to_string(&done) {
            Ok(text) if text == round => Ok(true),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(logged, "the renderer died logging round {round:?}");
}

/// The `(stream, line)` pairs of the sandbox's log ring, through the API.
async fn logged_lines(api: &Api, id: &str) -> Vec<(String, String)> {
    let answer = api
        .get(&format!("/api/v1/sandboxes/{id}/logs?limit=10000"))
        .await;
    let body = answer.expect(200);
    body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let text = |key: &str| l[key].as_str().unwrap_or_default().to_owned();
            (text("stream"), text("line"))
        })
        .collect()
}

/// Whether every line of `round` (both streams) is in `lines`.
fn has_round(lines: &[(String, String)], round: &str) -> Result<(), String> {
    let raw = format!("log-test {round} raw");
    if !lines.iter().any(|(s, l)| s == "stderr" && *l == raw) {
        return Err(format!("stderr lacks {raw:?}"));
    }
    for i in 0..50 {
        for (stream, name) in [("stdout", "out"), ("stderr", "err")] {
            let wanted = format!("log-test {round} {name} {i}");
            if !lines.iter().any(|(s, l)| s == stream && *l == wanted) {
                return Err(format!("{stream} lacks {wanted:?}"));
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renderer_that_logs_while_the_server_is_dead_is_readopted_with_its_lines() {
    let remote = Remote::new().await;
    let data = DataDir::new("readopt-log-");
    let template = data.path().join("template-that-logs");
    template_that_logs_on_trigger(&template);
    let config = ServerConfig::new(&data).env("COMPONENT_STUDIO_TEMPLATE_DIR", template.display());
    let first = Studio::start(&config);
    let api = first.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let checkout: PathBuf = data.path().join("sandboxes").join(&id).join("repo");
    let socket = renderer_socket(&data.path().canonicalize().unwrap(), &id);
    let serving = renderer_pids(&socket, first.pid());
    assert!(!serving.is_empty());
    let first_pid = first.pid();
    let same_renderer = || renderer_pids(&socket, first_pid) == serving;

    // Logging with a live server reaches the logs API.
    make_it_log(&checkout, "alive", same_renderer).await;
    eventually("the lines of a live server", WAIT, async || {
        has_round(&logged_lines(&api, &id).await, "alive")
    })
    .await;
    let before: Value = api.status_of(&id).await;
    assert_eq!(before["status"], "running", "{before}");
    let restarts = before["restarts"].clone();

    // --- SIGKILL the server, then make the renderer log with nobody reading ---
    first.kill();
    make_it_log(&checkout, "orphaned", same_renderer).await;
    // Once more, well after the first write into the void.
    make_it_log(&checkout, "orphaned-again", same_renderer).await;

    // --- the next server re-adopts the same processes, unrestarted, with those lines ---
    let second = Studio::start(&config);
    let api = second.api();
    let status = api.status_of(&id).await;
    assert_eq!(status["status"], "running", "{status}");
    assert_eq!(status["restarts"], restarts, "{status}");
    assert_eq!(
        renderer_pids(&socket, second.pid()),
        serving,
        "the renderer was restarted, not re-adopted"
    );
    assert!(
        second.log().contains("re-adopted"),
        "the server did not say it re-adopted the renderer:\n{}",
        second.log()
    );
    let lines = logged_lines(&api, &id).await;
    has_round(&lines, "orphaned").unwrap();
    has_round(&lines, "orphaned-again").unwrap();

    // And what it logs from now on reaches the new server.
    let second_pid = second.pid();
    make_it_log(&checkout, "adopted", || {
        renderer_pids(&socket, second_pid) == serving
    })
    .await;
    eventually("the lines logged after the adoption", WAIT, async || {
        has_round(&logged_lines(&api, &id).await, "adopted")
    })
    .await;
    let status = api.status_of(&id).await;
    assert_eq!(status["restarts"], restarts, "{status}");
    assert_eq!(renderer_pids(&socket, second.pid()), serving);
    let logs_dir = data.path().join("run").join("logs");
    assert!(
        std::fs::read_dir(&logs_dir).unwrap().count() >= 2,
        "no output files in {}",
        logs_dir.display()
    );
}
