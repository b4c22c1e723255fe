//! The renderer over a sandbox's life: dependency changes, and Studio's WebSocket.

mod support;

use std::fs;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use studio_renderer::{WriteEffect, write_effect};
use studio_testkit::browser::Browser;
use support::Vite;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use url::Url;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_package_json_change_reinstalls_restarts_and_the_page_works() {
    let checkout = support::sample_checkout("deps-change-");
    let renderer = support::shared_renderer();
    let spec = support::spec(checkout.path(), None);
    let before = support::prepare(&renderer, &spec).await;
    let vite = Vite::start(&before.launch).await;
    let mut browser = Browser::launch().await;
    browser.open("p", vite.url.as_str()).await;
    browser.wait_ready("p").await;
    let boot = browser.eval("p", "window.__studioBoot").await;

    // A design tool adds a dependency (without touching the lockfile) and a component using it.
    let manifest_path = checkout.path().join("package.json");
    let mut manifest: Value = serde_json::from_slice(&fs::read(&manifest_path).unwrap()).unwrap();
    manifest["dependencies"]["clsx"] = json!("2.1.1");
    fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    fs::write(
        checkout.path().join("src/components/Tag.tsx"),
        "import clsx from \"clsx\";\nexport function Tag() { return <span className={clsx(\"tag\", { active: true })}>tagged</span>; }\n",
    )
    .unwrap();
    assert_eq!(
        write_effect("package.json"),
        WriteEffect::ReinstallAndRestart
    );

    let after = support::prepare(&renderer, &spec).await;
    assert_ne!(
        after.report.deps.key, before.report.deps.key,
        "new manifests, new store entry"
    );
    assert!(after.report.deps_relinked && after.report.needs_restart());
    assert!(
        checkout
            .path()
            .join("node_modules/clsx/package.json")
            .is_file()
    );
    assert!(
        !before.report.deps.node_modules.join("clsx").exists(),
        "the old store entry is untouched"
    );

    assert_eq!(
        after.launch, before.launch,
        "same command line: a restart is enough"
    );
    vite.restart().await;
    // Vite's client notices the restart and reloads the page by itself.
    let class = browser
        .wait_for("p", "document.querySelector('[data-studio-component=Tag] .studio-card__stage span')?.className", WAIT)
        .await;
    assert_eq!(class, "tag active");
    assert_ne!(browser.eval("p", "window.__studioBoot").await, boot);
    assert_eq!(browser.component_names("p").await.len(), 7);
    browser.close().await;
    vite.stop().await;
}

/// One WebSocket connection as the test hub sees it.
struct Connection {
    /// Path and query of the upgrade request, e.g. `/api/v1/sandboxes/sb_…/ws?since=2`.
    target: String,
    to_page: mpsc::UnboundedSender<String>,
    from_page: mpsc::UnboundedReceiver<String>,
}

/// A stand-in for Studio's hub (issue 6): accepts connections on `listener` and hands each over.
#[allow(clippy::result_large_err)] // tungstenite's handshake callback signature, not ours
fn serve_hub(
    listener: TcpListener,
) -> (
    mpsc::UnboundedReceiver<Connection>,
    tokio::task::JoinHandle<()>,
) {
    let (connections, accepted) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let mut target = String::new();
            let callback = |request: &Request, response: Response| {
                target = request.uri().to_string();
                Ok(response)
            };
            let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                continue;
            };
            let (mut sink, mut stream) = socket.split();
            let (to_page, mut outgoing) = mpsc::unbounded_channel::<String>();
            let (incoming, from_page) = mpsc::unbounded_channel();
            tokio::spawn(async move {
                while let Some(text) = outgoing.recv().await {
                    if sink.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                // The test dropped its sender: close the socket, as a stopping server would.
                let _ = sink.close().await;
            });
            tokio::spawn(async move {
                while let Some(Ok(message)) = stream.next().await {
                    if let Message::Text(text) = message {
                        let _ = incoming.send(text.to_string());
                    }
                }
            });
            let _ = connections.send(Connection {
                target,
                to_page,
                from_page,
            });
        }
    });
    (accepted, task)
}

async fn next_connection(accepted: &mut mpsc::UnboundedReceiver<Connection>) -> Connection {
    tokio::time::timeout(WAIT, accepted.recv())
        .await
        .expect("the page did not connect")
        .expect("the hub stopped")
}

#[tokio::test]
async fn socket_events_select_reload_and_survive_a_studio_restart() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_addr = listener.local_addr().unwrap();
    let checkout = support::sample_checkout("socket-");
    let mut spec = support::spec(checkout.path(), None);
    let ws_path = format!("/api/v1/sandboxes/{}/ws", spec.sandbox_id);
    spec.socket_url = Some(Url::parse(&format!("ws://{hub_addr}{ws_path}")).unwrap());
    let prepared = support::prepare(&support::shared_renderer(), &spec).await;
    let vite = Vite::start(&prepared.launch).await;
    let (mut accepted, hub) = serve_hub(listener);
    let mut browser = Browser::launch().await;
    browser.open("p", vite.url.as_str()).await;
    browser.wait_ready("p").await;

    let mut conn = next_connection(&mut accepted).await;
    assert_eq!(conn.target, ws_path, "first connection asks for no backlog");
    browser.eval("p", "window.scrollTo(0, 0)").await;
    conn.to_page
        .send(
            json!({"type": "component-selected", "payload": {"component": "Card"}, "seq": 1})
                .to_string(),
        )
        .unwrap();
    let in_view = "(() => { const c = document.querySelector('[data-studio-component=Card][data-studio-selected]'); \
                   if (!c) return false; const r = c.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; })()";
    browser.wait_for("p", in_view, WAIT).await;
    let selected = browser.eval("p", "[...document.querySelectorAll('[data-studio-selected]')].map(e => e.dataset.studioComponent)").await;
    assert_eq!(selected, json!(["Card"]));

    // A click on a card's label tells Studio which component the designer picked.
    browser
        .eval(
            "p",
            "document.querySelector('[data-studio-component=Badge] header').click()",
        )
        .await;
    // The page also reports its tiles' states (`component-state`, see report.rs): skipped here.
    let sent = loop {
        let sent = tokio::time::timeout(WAIT, conn.from_page.recv())
            .await
            .unwrap()
            .unwrap();
        let sent: Value = serde_json::from_str(&sent).unwrap();
        if sent["type"] != "component-state" {
            break sent;
        }
    };
    assert_eq!(
        sent,
        json!({"type": "component-selected", "payload": {"component": "Badge"}})
    );

    // `reload` reloads the page, which reconnects asking only for what it has not seen.
    let boot = browser.eval("p", "window.__studioBoot").await;
    conn.to_page
        .send(json!({"type": "reload", "payload": {"commit_hash": "abc"}, "seq": 2}).to_string())
        .unwrap();
    let conn = next_connection(&mut accepted).await;
    assert_eq!(conn.target, format!("{ws_path}?since=2"));
    browser.wait_ready("p").await;
    assert_ne!(
        browser.eval("p", "window.__studioBoot").await,
        boot,
        "the page reloaded"
    );
    let boot = browser.eval("p", "window.__studioBoot").await;

    // Studio restarts: the hub goes away and comes back on the same address. The page reconnects
    // by itself, and a replayed event it has already handled does not reload it again.
    hub.abort();
    drop(accepted);
    drop(conn);
    browser
        .wait_for(
            "p",
            "document.documentElement.dataset.studioSocket === 'closed'",
            WAIT,
        )
        .await;
    let listener = TcpListener::bind(hub_addr).await.unwrap();
    let (mut accepted, _hub) = serve_hub(listener);
    let conn = next_connection(&mut accepted).await;
    assert_eq!(conn.target, format!("{ws_path}?since=2"));
    conn.to_page
        .send(json!({"type": "reload", "payload": {}, "seq": 2}).to_string())
        .unwrap();
    conn.to_page
        .send(
            json!({"type": "component-selected", "payload": {"component": "Avatar"}, "seq": 3})
                .to_string(),
        )
        .unwrap();
    browser
        .wait_for(
            "p",
            "document.querySelector('[data-studio-component=Avatar][data-studio-selected]')",
            WAIT,
        )
        .await;
    assert_eq!(
        browser.eval("p", "window.__studioBoot").await,
        boot,
        "a replayed reload must be ignored"
    );

    browser.close().await;
    vite.stop().await;
}
