//! Every tile's state in a real Chromium: rendered, or an error at its source file and line (render
//! errors, files that fail to build at load, a broken save while the page is open), on the page
//! and over Studio's WebSocket (`component-state`).

mod support;

use std::fs;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use studio_testkit::browser::Browser;
use support::Vite;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

const WAIT: Duration = Duration::from_secs(15);
/// The sample's tiles: its bare components, and Button's stories.
const BARE_TILES: [&str; 5] = ["Alert", "InlineAlert", "Avatar", "Badge", "Card"];
const BUTTON_STORIES: [&str; 5] = [
    "Default",
    "LegacyTemplate",
    "LongLabel",
    "Secondary",
    "WithLoader",
];

/// Throws on line 6; its served module has neither the type lines nor the JSX of the source (and
/// imports of its own), so only the source map gives that line.
const BOOM: &str = r#"import type { ReactNode } from "react";
type Props = { children?: ReactNode };
type Data = string | null;
export function Boom(_props: Props): ReactNode {
  const data: Data = null;
  if (!data) throw new Error("kaboom: no data");
  return <p>{data}</p>;
}
"#;
const BOOM_LINE: u64 = 6;
/// A syntax error on line 3.
const TYPO: &str = "// Fails to build.\nexport function Typo() {\n  const label = ;\n  return <p>{label}</p>;\n}\n";

/// A story whose loader fails (on line 7 of its stories file) beside one that renders.
const GAUGE: &str = "export function Gauge({ value = 0 }: { value?: number }) { return <meter value={value} />; }\n";
const GAUGE_STORIES: &str = r#"import { Gauge } from "./Gauge";
export default { component: Gauge };
export const Full = { args: { value: 1 } };
export const Offline = {
  loaders: [
    async () => {
      throw new Error("no connection");
    },
  ],
};
"#;

/// The state marks of every tile: `[component, story, state, error file, error line]`.
const DOM_STATES: &str = "[...document.querySelectorAll('[data-studio-state]')].map(t => [
    t.dataset.studioBrokenFile ? t.dataset.studioBrokenFile.split('/').pop().replace(/\\.[^.]+$/, '').replace(/\\.stories$/, '')
      : t.closest('[data-studio-component]').dataset.studioComponent,
    t.dataset.studioStory ?? null, t.dataset.studioState, t.dataset.studioErrorFile ?? null,
    t.dataset.studioErrorLine ? Number(t.dataset.studioErrorLine) : null]).sort()";
/// The same, from `window.__studioStates`.
const REPORTED_STATES: &str =
    "(window.__studioStates ?? []).map(s => [s.component, s.story ?? null, s.state,
    s.state === 'error' ? s.file : null, s.line ?? null]).sort()";

fn tile(component: &str, story: Option<&str>) -> String {
    match story {
        Some(story) => format!(
            "document.querySelector('[data-studio-component={component}] [data-studio-story={story}]')"
        ),
        None => format!("document.querySelector('[data-studio-component={component}]')"),
    }
}

/// The sample's tiles, each `[component, story]`.
fn sample_tiles() -> Vec<(&'static str, Option<&'static str>)> {
    BARE_TILES
        .iter()
        .map(|&name| (name, None))
        .chain(BUTTON_STORIES.iter().map(|&story| ("Button", Some(story))))
        .collect()
}

async fn assert_dom_matches_report(browser: &mut Browser) {
    let dom = browser.eval("p", DOM_STATES).await;
    let reported = browser.eval("p", REPORTED_STATES).await;
    assert_eq!(dom, reported, "the DOM and window.__studioStates disagree");
}

#[tokio::test]
async fn tiles_report_rendered_and_errors_at_their_source_lines() {
    let checkout = support::sample_checkout("report-");
    let components = checkout.path().join("src/components");
    fs::write(components.join("Boom.tsx"), BOOM).unwrap();
    fs::write(components.join("Typo.tsx"), TYPO).unwrap();
    fs::create_dir_all(components.join("Gauge")).unwrap();
    fs::write(components.join("Gauge/Gauge.tsx"), GAUGE).unwrap();
    fs::write(components.join("Gauge/Gauge.stories.tsx"), GAUGE_STORIES).unwrap();
    let prepared = support::prepare(
        &support::shared_renderer(),
        &support::spec(checkout.path(), None),
    )
    .await;
    let vite = Vite::start(&prepared.launch).await;
    let mut browser = Browser::launch().await;
    browser.open("p", vite.url.as_str()).await;
    browser.wait_ready("p").await;

    // (1) Every sample tile, each of Button's stories too, committed.
    for (component, story) in sample_tiles() {
        let expr = format!(
            "{}?.dataset.studioState === 'rendered'",
            tile(component, story)
        );
        browser.wait_for("p", &expr, WAIT).await;
    }

    // (2) A render error: at the source line, though the served module's line differs.
    let boom = browser
        .wait_for(
            "p",
            "(() => { const t = document.querySelector('[data-studio-component=Boom][data-studio-state=error]');
              return t && [t.dataset.studioErrorFile, Number(t.dataset.studioErrorLine)]; })()",
            WAIT,
        )
        .await;
    assert_eq!(boom, json!(["src/components/Boom.tsx", BOOM_LINE]));
    let served_line = browser
        .eval(
            "p",
            "fetch('/src/components/Boom.tsx').then(r => r.text()).then(t => t.split('\\n').findIndex(l => l.includes('kaboom')) + 1)",
        )
        .await;
    assert_ne!(
        served_line,
        json!(BOOM_LINE),
        "the test proves nothing if the lines agree"
    );

    // A story's failed loader: the stories file's line; its sibling story renders.
    let gauge = browser
        .wait_for(
            "p",
            "(() => { const [full, offline] = ['Full', 'Offline'].map(s => document.querySelector(`[data-studio-story=${s}]`));
              return offline?.dataset.studioState === 'error' && full?.dataset.studioState
                && [full.dataset.studioState, offline.dataset.studioErrorFile, Number(offline.dataset.studioErrorLine)]; })()",
            WAIT,
        )
        .await;
    assert_eq!(
        gauge,
        json!(["rendered", "src/components/Gauge/Gauge.stories.tsx", 7])
    );

    // (3) A file that fails to build at load: its build error's file and line (the renderer's
    // diagnosis), reported under the name its component would have.
    let typo = browser
        .wait_for(
            "p",
            "(() => { const t = document.querySelector('[data-studio-broken-file=\"src/components/Typo.tsx\"][data-studio-state=error]');
              return t && [t.dataset.studioErrorFile, Number(t.dataset.studioErrorLine)]; })()",
            WAIT,
        )
        .await;
    assert_eq!(typo, json!(["src/components/Typo.tsx", 3]));
    // The diagnosis itself: a file that builds, and paths it refuses.
    let answers = browser
        .eval(
            "p",
            "Promise.all(['src/components/Boom.tsx', '/etc/passwd', '../outside.tsx', 'src/../../outside.tsx']
               .map(p => fetch('/@studio/diagnose?path=' + encodeURIComponent(p)).then(async r => [r.status, (await r.json()).ok ?? null])))",
        )
        .await;
    assert_eq!(
        answers,
        json!([[200, true], [400, null], [400, null], [400, null]])
    );
    let reported = browser
        .eval("p", "window.__studioStates.filter(s => s.state === 'error').map(s => [s.component, s.message.length > 0, s.message.length <= 1000]).sort()")
        .await;
    assert_eq!(
        reported,
        json!([
            ["Boom", true, true],
            ["Gauge", true, true],
            ["Typo", true, true]
        ])
    );
    let boom_message = browser
        .eval(
            "p",
            "window.__studioStates.find(s => s.component === 'Boom').message",
        )
        .await;
    assert_eq!(boom_message, "Error: kaboom: no data");
    // (5)
    assert_dom_matches_report(&mut browser).await;

    // (4) A broken save into a component on screen: its tiles (Button's stories) turn to the
    // build error's file and line, quickly; the page keeps the last good version.
    let button = components.join("Button/Button.tsx");
    let source = fs::read_to_string(&button).unwrap();
    let broken_line = source
        .lines()
        .position(|line| line.contains("const classes ="))
        .unwrap()
        + 1;
    let saved = Instant::now();
    fs::write(
        &button,
        source.replace("const classes =", "const classes = ="),
    )
    .unwrap();
    let all_broken = format!(
        "(() => {{ const tiles = [...document.querySelectorAll('[data-studio-component=Button] [data-studio-story]')];
           return tiles.length === 5 && tiles.every(t => t.dataset.studioState === 'error'
             && t.dataset.studioErrorFile === 'src/components/Button/Button.tsx'
             && t.dataset.studioErrorLine === '{broken_line}'); }})()"
    );
    browser.wait_for("p", &all_broken, WAIT).await;
    let elapsed = saved.elapsed();
    println!("a broken save turned Button's tiles to error in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    let kept = browser
        .eval(
            "p",
            "[...document.querySelectorAll('[data-studio-component=Button] [data-studio-story]')].every(t => t.querySelector('button'))
             && !document.querySelector('[data-studio-broken-file^=\"src/components/Button/\"]')",
        )
        .await;
    assert_eq!(
        kept, true,
        "the last good version of Button stays on the page"
    );
    let message = browser
        .eval(
            "p",
            "window.__studioStates.find(s => s.story === 'Default').message",
        )
        .await;
    assert!(
        message.as_str().unwrap().contains("Unexpected token"),
        "{message}"
    );
    assert_dom_matches_report(&mut browser).await;

    // The fix brings them back.
    fs::write(&button, &source).unwrap();
    for story in BUTTON_STORIES {
        let expr = format!(
            "{}?.dataset.studioState === 'rendered'",
            tile("Button", Some(story))
        );
        browser.wait_for("p", &expr, WAIT).await;
    }
    assert_dom_matches_report(&mut browser).await;

    browser.close().await;
    vite.stop().await;
}

/// A `component-state` message as the test hub received it.
struct Received {
    states: Vec<Value>,
}

/// A stand-in for Studio's hub: each connection's `component-state` messages arrive on the
/// returned channel; dropping a connection's `close` sender closes it from the hub's side.
fn serve_hub(
    listener: TcpListener,
) -> mpsc::UnboundedReceiver<(
    mpsc::UnboundedReceiver<Received>,
    tokio::sync::oneshot::Sender<()>,
)> {
    let (connections, accepted) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
                continue;
            };
            let (states, received) = mpsc::unbounded_channel();
            let (close, closed) = tokio::sync::oneshot::channel::<()>();
            let _ = connections.send((received, close));
            tokio::spawn(async move {
                let (mut sink, mut stream) = socket.split();
                tokio::pin!(closed);
                loop {
                    tokio::select! {
                        _ = &mut closed => break,
                        message = stream.next() => {
                            let Some(Ok(Message::Text(text))) = message else { break };
                            let message: Value = serde_json::from_str(&text).expect("the page sends JSON");
                            if message["type"] == "component-state" {
                                let batch = message["payload"]["states"].as_array().expect("states are a list").clone();
                                let _ = states.send(Received { states: batch });
                            }
                        }
                    }
                }
                let _ = sink.close().await;
            });
        }
    });
    accepted
}

async fn next<T>(channel: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(WAIT, channel.recv())
        .await
        .expect("nothing arrived in time")
        .expect("the channel closed")
}

/// Receives messages until `count` distinct states (by component and story) arrived; returns them
/// by key, and panics if a key arrived twice.
async fn receive_states(
    channel: &mut mpsc::UnboundedReceiver<Received>,
    count: usize,
) -> (std::collections::BTreeMap<String, Value>, Vec<Received>) {
    let mut states = std::collections::BTreeMap::new();
    let mut messages = Vec::new();
    while states.len() < count {
        let message = next(channel).await;
        assert!(
            message.states.len() <= 100,
            "{} states in one message",
            message.states.len()
        );
        for state in &message.states {
            let key = format!(
                "{}/{}",
                state["component"].as_str().expect("a component name"),
                state["story"].as_str().unwrap_or("")
            );
            assert!(
                states.insert(key.clone(), state.clone()).is_none(),
                "{key} sent twice: {state}"
            );
        }
        messages.push(message);
    }
    (states, messages)
}

/// Many components in one file: more states than one message may carry.
fn many_components(count: usize) -> String {
    (0..count)
        .map(|i| format!("export const Many{i:03} = () => <i>{i}</i>;\n"))
        .collect()
}

#[tokio::test]
async fn states_reach_studio_in_batches_of_changes_and_again_after_a_reconnect() {
    const MANY: usize = 120;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_addr = listener.local_addr().unwrap();
    let mut accepted = serve_hub(listener);
    let checkout = support::sample_checkout("report-socket-");
    let components = checkout.path().join("src/components");
    fs::write(components.join("Many.tsx"), many_components(MANY)).unwrap();
    let mut spec = support::spec(checkout.path(), None);
    spec.socket_url = Some(Url::parse(&format!("ws://{hub_addr}/ws")).unwrap());
    let prepared = support::prepare(&support::shared_renderer(), &spec).await;
    let vite = Vite::start(&prepared.launch).await;
    let mut browser = Browser::launch().await;
    browser.open("p", vite.url.as_str()).await;
    browser.wait_ready("p").await;

    // Every tile once, rendered, in messages of at most 100 states. (The page spaces them 100 ms
    // apart; when they arrive here says little of that on a loaded machine, so it is not checked.)
    let tiles = BARE_TILES.len() + BUTTON_STORIES.len() + MANY;
    let (mut connection, close) = next(&mut accepted).await;
    let (states, messages) = receive_states(&mut connection, tiles).await;
    assert!(
        messages.len() >= 2,
        "{MANY} components fit no single message"
    );
    assert_eq!(
        states["Button/Secondary"],
        json!({"component": "Button", "story": "Secondary", "state": "rendered", "file": "src/components/Button/Button.stories.tsx"})
    );
    assert_eq!(
        states["Badge/"],
        json!({"component": "Badge", "state": "rendered", "file": "src/components/Badge/index.tsx"})
    );
    assert!(
        states.values().all(|state| state["state"] == "rendered"),
        "{states:?}"
    );

    // A new component that throws: only its state is sent (the others remounted unchanged).
    fs::write(components.join("Boom.tsx"), BOOM).unwrap();
    let message = next(&mut connection).await;
    assert_eq!(
        message.states,
        [
            json!({"component": "Boom", "state": "error", "file": "src/components/Boom.tsx", "line": BOOM_LINE, "message": "Error: kaboom: no data"})
        ]
    );

    // Studio goes away and the page reconnects: every current state, once.
    drop(close);
    let (mut connection, _close) = next(&mut accepted).await;
    let (states, _) = receive_states(&mut connection, tiles + 1).await;
    assert_eq!(states["Boom/"]["state"], "error");
    let quiet = tokio::time::timeout(Duration::from_millis(500), connection.recv()).await;
    assert!(quiet.is_err(), "nothing changed, yet more was sent");

    browser.close().await;
    vite.stop().await;
}
