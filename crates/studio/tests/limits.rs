//! Server limits against the real binary: `--max-sandboxes` (429 with `Retry-After`, concurrent
//! creates never overshoot, a deleted sandbox frees its slot), `--max-timeout-hours` (422, and a
//! server whose own default exceeds it does not start), and the WebSocket limits (a message over
//! 64 KiB is closed with 1009; a flooding client gets `rate_limited` and is disconnected, its
//! selections are coalesced before they are stored, and other clients keep receiving events),
//! and the renderer's memory limit (`--sandbox-memory`: a renderer over it is killed and the
//! sandbox's `error` event says it ran out of memory; `/readyz` lists limits it cannot enforce),
//! and the machine's limits for `--max-sandboxes` renderers, logged at start.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::ws::Ended;
use support::{Studio, WsClient};

const WAIT: Duration = Duration::from_secs(30);
const BUTTON: &str = "src/components/Button/Button.tsx";

fn create_body(repository: &str) -> Value {
    json!({"type": "component-studio", "repository": repository, "branch": "main"})
}

/// `POST /api/v1/sandboxes` with the status, the `Retry-After` header and the body.
async fn create_raw(base: &str, repository: &str) -> (u16, Option<String>, Value) {
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
        .post(format!("{base}/api/v1/sandboxes"))
        .json(&create_body(repository))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_cap_answers_429_never_overshoots_and_frees_a_slot_on_delete() {
    let remote = Remote::new().await;
    let data = DataDir::new("lim-");
    let studio = Studio::start(
        &ServerConfig::new(&data)
            .env("STUDIO_MAX_SANDBOXES", 2)
            .env("STUDIO_MAX_TIMEOUT_HOURS", 2)
            // The server's own default must fit under the cap.
            .env("COMPONENT_STUDIO_TIMEOUT_HOURS", 1),
    );
    let api = studio.api();

    // --- a timeout above --max-timeout-hours is refused before anything is fetched ---
    let mut over = create_body(&remote.url());
    over["timeout_hours"] = json!(3);
    let message = api.create(&over).await.expect_error(422, "invalid_timeout");
    assert!(message.contains("--max-timeout-hours"), "{message}");
    assert!(message.contains("at most 2"), "{message}");

    // --- three creates at once with room for two: exactly one is refused, with Retry-After ---
    let url = remote.url();
    let answers = futures::future::join_all((0..3).map(|_| create_raw(&api.base, &url))).await;
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(s, _, _)| *s == 201)
        .map(|(_, _, b)| b)
        .collect();
    let refused: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 429).collect();
    assert_eq!(created.len(), 2, "{answers:#?}");
    assert_eq!(refused.len(), 1, "{answers:#?}");
    let (_, retry_after, body) = refused[0];
    assert_eq!(body["code"], "too_many_sandboxes", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("--max-sandboxes"),
        "{body}"
    );
    let seconds: u64 = retry_after
        .as_deref()
        .expect("a 429 carries Retry-After")
        .parse()
        .unwrap();
    assert!(seconds > 0);
    let listed = api.get("/api/v1/sandboxes").await.expect(200).clone();
    assert_eq!(
        listed["sandboxes"].as_array().unwrap().len(),
        2,
        "the refused create left no record: {listed}"
    );

    // --- still full; a deleted sandbox frees its slot ---
    let (status, _, body) = create_raw(&api.base, &url).await;
    assert_eq!(status, 429, "{body}");
    let first = created[0]["sandbox_id"].as_str().unwrap();
    api.delete(&format!("/api/v1/sandboxes/{first}"))
        .await
        .expect(204);
    let (status, _, body) = create_raw(&api.base, &url).await;
    assert_eq!(status, 201, "{body}");
}

#[test]
fn a_default_timeout_above_the_cap_stops_the_server_from_starting() {
    let data = DataDir::new("limt-");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_studio"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(["--timeout-hours", "30", "--max-timeout-hours", "24"])
        .env_remove("STUDIO_API_TOKEN")
        .env_remove("COMPONENT_STUDIO_TIMEOUT_HOURS")
        .env_remove("STUDIO_MAX_TIMEOUT_HOURS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started with a default timeout above --max-timeout-hours");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("above STUDIO_MAX_TIMEOUT_HOURS (24)"),
        "{stderr}"
    );
}

#[test]
fn a_server_says_at_start_which_machine_limits_are_too_low_for_its_sandboxes() {
    let data = DataDir::new("limd-");
    // A hard limit of 256 open files, which the server cannot raise, for 100 sandboxes.
    let mut config = ServerConfig::new(&data).env("STUDIO_MAX_SANDBOXES", 100);
    config.launcher = ["prlimit", "--nofile=256:256", "--"]
        .map(String::from)
        .to_vec();
    let (_, log) = Studio::start(&config).terminate();
    assert!(
        log.contains("limits for the sandboxes this server may hold"),
        "{log}"
    );
    assert!(
        log.contains("the open files limit (RLIMIT_NOFILE) is 256")
            && log.contains("100 sandboxes need about 2656"),
        "{log}"
    );
}

fn selected(component: &str) -> String {
    json!({"type": "component-selected", "payload": {"component": component}}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_flooding_websocket_clients_are_refused_and_others_are_not_affected() {
    let remote = Remote::new().await;
    let data = DataDir::new("limw-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let ws_url = created["websocket_url"].as_str().unwrap().to_owned();

    // --- a message over 64 KiB: close 1009, nothing stored ---
    let (mut sender, mut reader) = WsClient::connect(&ws_url, None).await.unwrap().split();
    let big = selected(&"x".repeat(70 * 1024));
    assert!(sender.try_send_text(big).await);
    let ended = loop {
        match reader.next(WAIT).await {
            Ok(event) => assert_ne!(event["type"], "component-selected", "{event}"),
            Err(ended) => break ended,
        }
    };
    assert_eq!(ended, Ended::Closed(Some(1009)));
    // Exactly 64 KiB is still a message (refused by the manager for its long name, not closed).
    let (mut sender, mut reader) = WsClient::connect(&ws_url, None).await.unwrap().split();
    let padding = 64 * 1024 - selected("").len();
    assert!(sender.try_send_text(selected(&"y".repeat(padding))).await);
    let reply = reader.next_of("error", WAIT).await;
    assert_eq!(reply["payload"]["code"], "invalid_message", "{reply}");

    // --- one client floods 1,000 selections while another watches ---
    let mut watcher = WsClient::connect(&ws_url, None).await.unwrap();
    let (mut flooder, mut flood_reader) = WsClient::connect(&ws_url, None).await.unwrap().split();
    let reading = tokio::spawn(async move {
        let mut seen = Vec::new();
        let ended = loop {
            match flood_reader.next(WAIT).await {
                Ok(event) => seen.push(event),
                Err(ended) => break ended,
            }
        };
        (seen, ended)
    });
    let mut sent = 0;
    for n in 0..1000 {
        if !flooder.try_send_text(selected(&format!("c{n:04}"))).await {
            break;
        }
        sent += 1;
    }
    let (seen, ended) = reading.await.unwrap();
    assert!(sent > 40, "the flood was cut before the burst: {sent}");
    let refusals: Vec<&Value> = seen
        .iter()
        .filter(|e| e["type"] == "error" && e["payload"]["code"] == "rate_limited")
        .collect();
    assert_eq!(
        refusals.len(),
        1,
        "one rate_limited reply per run of refusals: {seen:#?}"
    );
    assert_eq!(ended, Ended::Closed(Some(1008)), "{seen:#?}");

    // --- the watcher still gets events: a commit made after the flood ---
    let source = "export const Button = () => <button>after</button>;\n";
    let hash = api.commit(&id, BUTTON, source, "after the flood").await;
    let watched = watcher.until("commit", WAIT).await;
    assert_eq!(watched.last().unwrap()["payload"]["hash"], hash.as_str());

    // --- far fewer selections were stored than sent; the first is stored at once ---
    let mut replay = WsClient::connect(&format!("{ws_url}?since=0"), None)
        .await
        .unwrap();
    let history = replay.until("commit", WAIT).await;
    let stored: Vec<&str> = history
        .iter()
        .filter(|e| e["type"] == "component-selected")
        .map(|e| e["payload"]["component"].as_str().unwrap())
        .collect();
    assert!(!stored.is_empty(), "{history:#?}");
    assert_eq!(stored[0], "c0000", "{stored:?}");
    assert!(
        stored.len() <= 10,
        "{} selections stored for {sent} sent: {stored:?}",
        stored.len()
    );
    // The watcher saw the stored (coalesced) selections, not the flood.
    let relayed = watched
        .iter()
        .filter(|e| e["type"] == "component-selected")
        .count();
    assert_eq!(relayed, stored.len(), "{watched:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renderer_over_its_memory_limit_fails_with_an_error_event_that_names_memory() {
    let remote = Remote::new().await;
    let data = DataDir::new("mem-");
    // Far below what Node needs to start: every start of the renderer is killed by the kernel.
    let studio = Studio::start(
        &ServerConfig::new(&data)
            .env("STUDIO_SANDBOX_MEMORY", "24MiB")
            .env("COMPONENT_STUDIO_MAX_RESTARTS", 1),
    );
    let api = studio.api();
    // CI hosts (root, cgroup v1 or v2 controllers) enforce every limit: fail, never skip.
    let ready = api.get("/readyz").await;
    assert_eq!(
        ready.expect(200)["unenforced_limits"],
        json!([]),
        "{}",
        ready.text
    );

    let refused = api.create(&create_body(&remote.url())).await;
    assert!(refused.status >= 500, "{}", refused.text);
    let message = refused.body["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("ran out of memory (limit 24 MiB)"),
        "the refusal says why: {message}"
    );

    // The failed sandbox keeps its record, and its `error` event says the same.
    let list = api.get("/api/v1/sandboxes").await;
    let sandboxes = list.expect(200)["sandboxes"].as_array().unwrap().clone();
    assert_eq!(sandboxes.len(), 1, "{}", list.text);
    assert_eq!(sandboxes[0]["status"], "failed", "{}", list.text);
    let ws_url = sandboxes[0]["websocket_url"].as_str().unwrap().to_owned();
    let mut events = WsClient::connect(&format!("{ws_url}?since=0"), None)
        .await
        .unwrap();
    let error = events.next_of("error", WAIT).await;
    let text = error["payload"]["error"].as_str().unwrap();
    assert!(text.contains("ran out of memory (limit 24 MiB)"), "{error}");
}

/// Where the renderer of the template below looks for its trigger: in its checkout's Vite cache
/// directory, the one place a jailed renderer can see and remove a file the test writes.
const TRIGGER: &str = ".studio/.vite/allocate-now";

/// A copy of `studio-template/` whose server allocates without bound (16 MiB at a time, 1 GiB at
/// most) once [`TRIGGER`] exists in its checkout, removing it first: one out-of-memory kill per
/// trigger.
fn template_that_allocates_on_trigger(into: &std::path::Path) {
    // `server.mjs` runs from `<checkout>/.studio/`.
    let hook = r#"
import { existsSync as studioTestExists, unlinkSync as studioTestUnlink } from "node:fs";
const studioTestTrigger = new URL("./.vite/allocate-now", import.meta.url);
const studioTestHeld = [];
setInterval(() => {
  if (!studioTestExists(studioTestTrigger)) return;
  studioTestUnlink(studioTestTrigger);
  for (let i = 0; i < 64; i++) studioTestHeld.push(Buffer.alloc(16 << 20, 1));
}, 50);
"#;
    support::template_with_server_hook(into, hook);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_renderer_killed_for_memory_is_an_error_event_then_restarts() {
    let remote = Remote::new().await;
    let data = DataDir::new("oom-");
    let template = data.path().join("template-that-allocates");
    template_that_allocates_on_trigger(&template);
    let studio = Studio::start(
        &ServerConfig::new(&data)
            .env("STUDIO_SANDBOX_MEMORY", "384MiB")
            .env("COMPONENT_STUDIO_TEMPLATE_DIR", template.display()),
    );
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let ws_url = created["websocket_url"].as_str().unwrap().to_owned();
    let mut events = WsClient::connect(&ws_url, None).await.unwrap();

    let trigger = data
        .path()
        .join("sandboxes")
        .join(&id)
        .join("repo")
        .join(TRIGGER);
    assert!(
        trigger.parent().unwrap().is_dir(),
        "no Vite cache directory at {}",
        trigger.display()
    );
    std::fs::write(&trigger, "").unwrap();
    let error = events.next_of("error", WAIT).await;
    let text = error["payload"]["error"].as_str().unwrap();
    assert_eq!(
        text, "the renderer ran out of memory (limit 384 MiB) and was restarted",
        "{error}"
    );
    // Then the normal crash restart: running again, one restart counted.
    let deadline = Instant::now() + WAIT;
    loop {
        let status = api.status_of(&id).await;
        if status["status"] == "running" && status["restarts"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "not running again: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!trigger.exists(), "the renderer consumed the trigger");
}

/// `--max-installs 1`: a first create installs the template's and the repository's dependencies,
/// which would run at once; with one slot the second waits, says so, and both complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_beyond_the_cap_wait_for_a_slot_and_then_run() {
    let remote = Remote::new().await;
    let data = DataDir::new("installs-");
    let studio = Studio::start(&ServerConfig::new(&data).env("STUDIO_MAX_INSTALLS", 1));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    assert_eq!(created["status"], "running", "{created}");
    let log = studio.log();
    assert!(
        log.matches("running npm ").count() >= 2,
        "both stores were installed: {log}"
    );
    assert!(
        log.contains("install waits for one of the 1 install slots"),
        "the second install waited: {log}"
    );
}
