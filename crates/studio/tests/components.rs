//! Components as a design tool learns them, against the real server, Vite and Chromium: the
//! manifest (`GET /api/v1/sandboxes/{id}/components`: components, stories with args, props), the
//! open pages' per-component states (`component-rendered` / `component-error` events, once per
//! change however many pages are open), a broken edit named with its file and line, and every
//! state back to `pending` once no page is open.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use studio_testkit::browser::Browser;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::{Api, Studio, WsClient, eventually};

const WAIT: Duration = Duration::from_secs(30);
const CARD: &str = "src/components/Card/Card.tsx";
const ALERT: &str = "src/components/Alert.tsx";

/// The sample's tiles: its components without stories, and Button's stories (see
/// examples/design-system; `Unfinished` and `DocsOnly` are not shown).
const TILES: [(&str, Option<&str>); 10] = [
    ("Alert", None),
    ("InlineAlert", None),
    ("Avatar", None),
    ("Badge", None),
    ("Button", Some("Default")),
    ("Button", Some("LegacyTemplate")),
    ("Button", Some("LongLabel")),
    ("Button", Some("Secondary")),
    ("Button", Some("WithLoader")),
    ("Card", None),
];

type Key = (String, Option<String>);

fn key_of(payload: &Value) -> Key {
    (
        payload["component"].as_str().unwrap().to_owned(),
        payload["story"].as_str().map(str::to_owned),
    )
}

fn is_component_event(event: &Value) -> bool {
    matches!(
        event["type"].as_str(),
        Some("component-rendered" | "component-error")
    )
}

/// Component events until `done` says the collected ones suffice (panics after `limit`).
async fn component_events(
    ws: &mut WsClient,
    limit: Duration,
    mut done: impl FnMut(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match ws.next(left).await {
            Ok(event) if is_component_event(&event) => seen.push(event),
            Ok(_) => {}
            Err(ended) => panic!("component events stopped ({ended:?}); got {seen:#?}"),
        }
    }
    seen
}

async fn manifest(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/v1/sandboxes/{id}/components"))
        .await
        .expect(200)
        .clone()
}

/// Every state of the manifest, by component and story (a component with stories appears as
/// its stories only).
fn states_of(manifest: &Value) -> BTreeMap<Key, String> {
    let mut states = BTreeMap::new();
    for component in manifest["components"].as_array().unwrap() {
        let name = component["name"].as_str().unwrap().to_owned();
        let stories = component["stories"].as_array().unwrap();
        if stories.is_empty() {
            states.insert(
                (name.clone(), None),
                component["state"].as_str().unwrap().to_owned(),
            );
        }
        for story in stories {
            states.insert(
                (
                    name.clone(),
                    Some(story["export"].as_str().unwrap().to_owned()),
                ),
                story["state"].as_str().unwrap().to_owned(),
            );
        }
    }
    states
}

/// The tiles, sorted as a map of them is.
fn tiles() -> Vec<Key> {
    let mut tiles: Vec<Key> = TILES
        .iter()
        .map(|(c, s)| ((*c).to_owned(), s.map(str::to_owned)))
        .collect();
    tiles.sort();
    tiles
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_report_each_component_and_the_manifest_joins_what_they_said() {
    let remote = Remote::new().await;
    let data = DataDir::new("components-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let preview = created["renderer_url"].as_str().unwrap().to_owned();
    let mut ws = WsClient::connect(created["websocket_url"].as_str().unwrap(), None)
        .await
        .unwrap();

    // --- the manifest before any page: what exists, with stories, args and props; all pending ---
    let listed = manifest(&api, &id).await;
    let states = states_of(&listed);
    assert_eq!(
        states.keys().cloned().collect::<Vec<_>>(),
        tiles(),
        "{listed:#}"
    );
    assert!(states.values().all(|s| s == "pending"), "{listed:#}");
    let button = listed["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Button")
        .unwrap();
    assert_eq!(button["file"], "src/components/Button/Button.tsx");
    let secondary = button["stories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["export"] == "Secondary")
        .unwrap();
    assert_eq!(secondary["name"], "Secondary action");
    assert_eq!(
        secondary["args"]["children"], "Cancel order",
        "{secondary:#}"
    );
    let alert = &listed["components"][0];
    assert_eq!(
        (&alert["name"], &alert["file"]),
        (&json!("Alert"), &json!(ALERT))
    );
    let tone = alert["props"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "tone")
        .unwrap_or_else(|| panic!("Alert's props: {alert:#}"));
    assert_eq!(tone["required"], false, "{tone}");

    // --- one page: each tile rendered, announced once ---
    let mut browser = Browser::launch().await;
    browser.open("a", &preview).await;
    browser.wait_ready("a").await;
    let first = component_events(&mut ws, WAIT, |seen| seen.len() >= TILES.len()).await;
    let mut announced: Vec<Key> = first.iter().map(|e| key_of(&e["payload"])).collect();
    announced.sort();
    assert_eq!(announced, tiles(), "{first:#?}");
    assert!(
        first.iter().all(|e| e["type"] == "component-rendered"),
        "{first:#?}"
    );
    let states = states_of(&manifest(&api, &id).await);
    assert!(states.values().all(|s| s == "rendered"), "{states:?}");

    // --- a second page says the same: no event. Its selection, sent after its reports on the
    // same socket, is the sentinel that they were all taken. ---
    browser.open("b", &preview).await;
    browser.wait_ready("b").await;
    browser
        .wait_for(
            "b",
            &format!("window.__studioReportsSent >= {}", TILES.len()),
            WAIT,
        )
        .await;
    browser
        .eval(
            "b",
            "document.querySelector('[data-studio-component=Badge] .studio-card__label').click()",
        )
        .await;
    let between = ws.until("component-selected", WAIT).await;
    assert!(
        !between.iter().any(is_component_event),
        "a second page multiplied events: {between:#?}"
    );

    // --- a broken edit (a syntax error on line 12 of Card.tsx): component-error naming the file
    // and line within 2 s, while both pages are open ---
    let source = api
        .get(&format!("/api/v1/sandboxes/{id}/files/{CARD}"))
        .await
        .expect(200)["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let broken = source.replacen(
        "  const theme = useTheme();",
        "  const theme = useTheme(;",
        1,
    );
    assert_ne!(broken, source);
    let line = broken
        .lines()
        .position(|l| l.contains("useTheme(;"))
        .unwrap()
        + 1;
    let started = Instant::now();
    api.write_file(&id, CARD, &broken, "Break Card")
        .await
        .expect(200);
    let errors = component_events(&mut ws, WAIT, |seen| !seen.is_empty()).await;
    let took = started.elapsed();
    println!("edit → component-error: {} ms", took.as_millis());
    let error = &errors[0];
    assert_eq!(error["type"], "component-error", "{errors:#?}");
    assert_eq!(error["payload"]["component"], "Card");
    assert_eq!(error["payload"]["file"], CARD, "{error}");
    assert_eq!(error["payload"]["line"], line, "{error}");
    assert!(
        error["payload"]["message"].as_str().unwrap().len() > 5,
        "{error}"
    );
    assert!(
        took < Duration::from_secs(2),
        "component-error took {took:?}"
    );
    let listed = manifest(&api, &id).await;
    let card = listed["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Card")
        .unwrap();
    assert_eq!(card["state"], "error", "{card:#}");
    assert_eq!(card["error"]["file"], CARD);

    // --- the fix: component-rendered, once ---
    api.write_file(&id, CARD, &source, "Fix Card")
        .await
        .expect(200);
    let fixed = component_events(&mut ws, WAIT, |seen| !seen.is_empty()).await;
    assert_eq!(fixed[0]["type"], "component-rendered", "{fixed:#?}");
    assert_eq!(key_of(&fixed[0]["payload"]), ("Card".to_owned(), None));

    // --- a render error: the source line of the throw, through the source maps ---
    let throwing = "import type { ReactNode } from \"react\";\n\n\
                    export function Alert(_: { children?: ReactNode }): ReactNode {\n\
                    \x20 throw new Error(\"Alert has no data\");\n}\n\
                    export function InlineAlert() {\n  return <span>inline</span>;\n}\n";
    api.write_file(&id, ALERT, throwing, "Alert throws")
        .await
        .expect(200);
    let thrown = component_events(&mut ws, WAIT, |seen| {
        seen.iter()
            .any(|e| e["type"] == "component-error" && e["payload"]["component"] == "Alert")
    })
    .await;
    let alert_error = thrown
        .iter()
        .find(|e| e["type"] == "component-error")
        .unwrap();
    assert_eq!(alert_error["payload"]["file"], ALERT, "{alert_error}");
    assert_eq!(alert_error["payload"]["line"], 4, "{alert_error}");
    assert!(
        alert_error["payload"]["message"]
            .as_str()
            .unwrap()
            .contains("Alert has no data"),
        "{alert_error}"
    );

    // --- no page open: every state is pending again ---
    browser.close_page("a").await;
    browser.close_page("b").await;
    eventually("every state pending with no page open", WAIT, async || {
        let states = states_of(&manifest(&api, &id).await);
        if states.values().all(|s| s == "pending") {
            Ok(())
        } else {
            Err(format!("{states:?}"))
        }
    })
    .await;
    browser.close().await;

    // --- a stopped renderer cannot be asked ---
    api.control(&id, "stop").await.expect(200);
    api.get(&format!("/api/v1/sandboxes/{id}/components"))
        .await
        .expect_error(409, "renderer_not_running");
    api.get("/api/v1/sandboxes/sb_00000000000000ff/components")
        .await
        .expect_error(404, "sandbox_not_found");
}

/// The protocol itself, without a browser: bad reports are refused with a reason, a state sent by
/// two connections is announced once, and a change is announced again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_state_messages_are_checked_and_deduplicated() {
    let remote = Remote::new().await;
    let data = DataDir::new("components-ws-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let ws_url = created["websocket_url"].as_str().unwrap().to_owned();
    let mut one = WsClient::connect(&ws_url, None).await.unwrap();
    let mut two = WsClient::connect(&ws_url, None).await.unwrap();
    let report = |state: &str| {
        let mut entry = json!({"component": "Card", "state": state, "file": CARD});
        if state == "error" {
            entry["line"] = json!(3);
            entry["message"] = json!("SyntaxError: Unexpected token");
        }
        json!({"type": "component-state", "payload": {"states": [entry]}})
    };

    for (bad, reason) in [
        (
            json!({"type": "component-state", "payload": {}}),
            "payload.states",
        ),
        (
            json!({"type": "component-state", "payload": {"states": [{"component": "Card", "state": "pending", "file": CARD}]}}),
            "state must be",
        ),
        (
            json!({"type": "component-state", "payload": {"states": [{"component": "Card", "state": "error", "file": "/etc/passwd"}]}}),
            "repository-relative",
        ),
    ] {
        one.send(&bad).await;
        let answer = one.next_of("error", WAIT).await;
        assert_eq!(answer["payload"]["code"], "invalid_message", "{answer}");
        assert!(
            answer["payload"]["error"]
                .as_str()
                .unwrap()
                .contains(reason),
            "{answer}"
        );
    }

    one.send(&report("rendered")).await;
    let rendered = one.next_of("component-rendered", WAIT).await;
    assert_eq!(
        rendered["payload"],
        json!({"component": "Card", "file": CARD})
    );
    // The same state from another connection, then a sentinel on that connection.
    two.send(&report("rendered")).await;
    two.send(&json!({"type": "component-selected", "payload": {"component": "Card"}}))
        .await;
    let between = one.until("component-selected", WAIT).await;
    assert!(!between.iter().any(is_component_event), "{between:#?}");

    two.send(&report("error")).await;
    let error = one.next_of("component-error", WAIT).await;
    assert_eq!(
        error["payload"],
        json!({"component": "Card", "file": CARD, "line": 3, "message": "SyntaxError: Unexpected token"})
    );
    // Stored like every event: a reconnect with `since` replays it.
    let seq = error["seq"].as_u64().unwrap();
    let mut late = WsClient::connect(&format!("{ws_url}?since={}", seq - 1), None)
        .await
        .unwrap();
    assert_eq!(late.event(WAIT).await, error);
}
