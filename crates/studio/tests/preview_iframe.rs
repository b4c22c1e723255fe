//! A design tool on another origin embeds a sandbox's preview with a token set, in real Chromium:
//! its page (served here from 127.0.0.1, another site than `*.localhost`) holds an iframe whose
//! src is the one-time link. The link's partitioned cookie must be set inside that cross-site
//! iframe and sent with everything the preview loads afterwards, the HMR WebSocket included: the
//! components render, and an edit arrives by hot update. The same preview opened top-level in a
//! browser without the cookie shows the 401 page.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use studio_testkit::browser::Browser;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::Studio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "e2e-iframe-api-token-91ac47";
const SAMPLE_COMPONENTS: &[&str] = &["Alert", "Avatar", "Badge", "Button", "Card"];

/// A one-page web server on 127.0.0.1 (the design tool's origin): every request gets `html`.
/// The task ends with the test's runtime.
async fn serve_page(html: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                // Read the request head (bounded); the answer does not depend on it.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    url
}

async fn frame_wait(browser: &mut Browser, frame_url: &str, expr: &str) -> Value {
    let command = json!({"cmd": "frameWaitFor", "page": "tool", "frameUrl": frame_url,
                         "expr": expr, "timeoutMs": 30_000});
    match browser.call(command).await {
        Ok(value) => value,
        Err(e) => {
            let logs = browser
                .call(json!({"cmd": "logs", "page": "tool"}))
                .await
                .unwrap_or_default();
            let text = browser
                .call(
                    json!({"cmd": "frameEval", "page": "tool", "frameUrl": frame_url,
                             "expr": "document.body.innerText"}),
                )
                .await
                .unwrap_or_default();
            panic!("in the iframe, `{expr}` failed: {e}\nframe text:\n{text}\nconsole:\n{logs:#}")
        }
    }
}

async fn frame_eval(browser: &mut Browser, frame_url: &str, expr: &str) -> Value {
    browser
        .call(json!({"cmd": "frameEval", "page": "tool", "frameUrl": frame_url, "expr": expr}))
        .await
        .unwrap_or_else(|e| panic!("evaluating `{expr}` in the iframe failed: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iframe_on_another_origin_shows_the_live_preview_with_a_link() {
    let remote = Remote::new().await;
    let data = DataDir::new("preview-iframe-");
    let studio = Studio::start(&ServerConfig::new(&data).api_token(TOKEN));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap();
    let preview_url = created["renderer_url"].as_str().unwrap().to_owned();
    let link = api.preview_link_ok(id).await;
    assert!(link.starts_with(&preview_url), "{link} is on {preview_url}");

    let tool = serve_page(format!(
        "<!doctype html><html><head><title>Design tool</title></head><body>\
         <iframe id=\"preview\" src=\"{link}\" style=\"width: 100%; height: 90vh\"></iframe>\
         </body></html>"
    ))
    .await;
    assert!(
        tool.starts_with("http://127.0.0.1:"),
        "another site than *.localhost"
    );

    let mut browser = Browser::launch().await;
    browser.open("tool", &tool).await;
    let ready = frame_wait(
        &mut browser,
        &preview_url,
        "document.documentElement.dataset.studioReady",
    )
    .await;
    assert!(ready.as_str().is_some_and(|n| n != "0"), "{ready}");
    let names: Vec<String> = serde_json::from_value(
        frame_eval(
            &mut browser,
            &preview_url,
            "[...document.querySelectorAll('[data-studio-component]')].map(e => e.dataset.studioComponent)",
        )
        .await,
    )
    .unwrap();
    for component in SAMPLE_COMPONENTS {
        assert!(
            names.iter().any(|n| n == component),
            "{component} in {names:?}"
        );
    }
    assert_eq!(
        frame_eval(&mut browser, &preview_url, "location.pathname").await,
        "/",
        "the link redirected to the preview"
    );

    // --- an edit arrives by hot update through the HMR WebSocket (no reload) ---
    frame_eval(&mut browser, &preview_url, "window.__beforeEdit = true").await;
    let text = "Saved through the front door";
    api.commit(
        id,
        "src/components/Alert.tsx",
        &format!("export function Alert() {{ return <div role=\"alert\">{text}</div>; }}\n"),
        "Hot update through the door",
    )
    .await;
    frame_wait(
        &mut browser,
        &preview_url,
        &format!("document.body.innerText.includes({text:?})"),
    )
    .await;
    assert_eq!(
        frame_eval(&mut browser, &preview_url, "window.__beforeEdit === true").await,
        true,
        "the page was not reloaded"
    );

    // --- a renderer restart: the embedded page finds the new renderer by itself ---
    // Vite's client waits for a restarted server with a ping from a SharedWorker, which never
    // reaches the server from a cross-site iframe: without the template's own watch the page
    // stayed disconnected for good and no later edit arrived.
    let restarted = api.control(id, "restart").await;
    assert_eq!(restarted.expect(200)["status"], "running");
    let after_restart = "Edited after a renderer restart";
    api.commit(
        id,
        "src/components/Alert.tsx",
        &format!(
            "export function Alert() {{ return <div role=\"alert\">{after_restart}</div>; }}\n"
        ),
        "After the restart",
    )
    .await;
    frame_wait(
        &mut browser,
        &preview_url,
        &format!("document.body.innerText.includes({after_restart:?})"),
    )
    .await;

    // --- top-level, in a browser context without the cookie: the 401 page ---
    browser.open("stranger", &preview_url).await;
    let page = browser.eval("stranger", "document.body.innerText").await;
    let page = page.as_str().unwrap_or_default();
    assert!(page.contains("needs a link"), "{page}");
    assert!(
        page.contains(&format!("POST /api/v1/sandboxes/{id}/preview-link")),
        "{page}"
    );

    browser.close().await;
}
