//! The front door: every preview is served through Studio's one listener, on a host of its own
//! (`sb-<hex>.<preview domain>`), in a real Chromium, with Vite's hot updates passed through; the
//! API answers only on its own hosts, every other host gets 421; Studio's internal renderer paths
//! stay inside; a preview's share of the door is bounded; `/metrics` counts what went through.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use studio_testkit::browser::{Browser, observe_text};
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners;
use support::{Studio, door, eventually};

const BUTTON: &str = "src/components/Button/Button.tsx";
/// The components of examples/design-system, in the page's (file) order.
const SAMPLE_COMPONENTS: [&str; 6] = ["Alert", "InlineAlert", "Avatar", "Badge", "Button", "Card"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_renders_at_its_front_door_url_and_hot_updates_without_a_reload() {
    let remote = Remote::new().await;
    let data = DataDir::new("door-browser-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap();
    let hex = id.strip_prefix("sb_").unwrap();
    let url = created["renderer_url"].as_str().unwrap();
    assert_eq!(
        url,
        format!("http://sb-{hex}.localhost:{}/", studio.port),
        "renderer_url is the front door's URL of the sandbox"
    );
    assert_eq!(api.status_of(id).await["renderer_url"], url);

    // Chromium resolves *.localhost to loopback by itself: the URL works as handed out.
    let mut browser = Browser::launch().await;
    browser.open("p", url).await;
    assert_eq!(browser.wait_ready("p").await, 6);
    assert_eq!(browser.component_names("p").await, SAMPLE_COMPONENTS);
    assert_eq!(
        browser
            .eval(
                "p",
                "document.querySelectorAll('[data-studio-error], [data-studio-broken-file]').length"
            )
            .await,
        0
    );
    let boot = browser.eval("p", "window.__studioBoot").await;
    let version = browser
        .eval(
            "p",
            "Number(document.documentElement.dataset.studioVersion)",
        )
        .await;

    // An edit through the API reaches the open page by hot update through the door's tunnel.
    browser.eval("p", &observe_text("Through the door")).await;
    api.write_file(
        id,
        BUTTON,
        "export function Button() {\n  return <button>Through the door</button>;\n}\n",
        "Edit through the door",
    )
    .await
    .expect(200);
    browser
        .wait_for("p", "window.__seenAt > 0", Duration::from_secs(30))
        .await;
    assert_eq!(
        browser.eval("p", "window.__studioBoot").await,
        boot,
        "the page was reloaded instead of hot-updated"
    );
    let after = browser
        .eval(
            "p",
            "Number(document.documentElement.dataset.studioVersion)",
        )
        .await;
    assert!(
        after.as_f64().unwrap() > version.as_f64().unwrap(),
        "{version} -> {after}"
    );
    let metrics = api.get("/metrics").await.text;
    assert!(
        counter(&metrics, "studio_preview_upgrades_total") >= 1.0,
        "{metrics}"
    );
    assert!(
        counter(&metrics, "studio_preview_requests_total") >= 10.0,
        "{metrics}"
    );
    assert!(
        counter(
            &metrics,
            "studio_preview_bytes_total{direction=\"to_client\"}"
        ) > 100_000.0,
        "{metrics}"
    );
    browser.close().await;
}

/// A server behind an ingress: previews under `preview.example.test`, URLs on
/// `http://studio.example.test:8080`. Clients connect to the real port and name the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_door_serves_its_own_hosts_only_and_bounds_each_preview() {
    let remote = Remote::new().await;
    let data = DataDir::new("door-hosts-");
    let config = ServerConfig::new(&data)
        .env("STUDIO_PREVIEW_DOMAIN", "Preview.Example.test")
        .env("STUDIO_PUBLIC_URL", "http://studio.example.test:8080")
        .env("STUDIO_PREVIEW_MAX_WEBSOCKETS", 2);
    let studio = Studio::start(&config);
    let api = studio.api();
    let port = studio.port;
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let hex = id.strip_prefix("sb_").unwrap();
    let preview_host = format!("sb-{hex}.preview.example.test");
    let url = created["renderer_url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("http://{preview_host}:8080/"));
    assert_eq!(
        created["websocket_url"],
        format!("ws://studio.example.test:8080/api/v1/sandboxes/{id}/ws")
    );

    // --- the API answers on its hosts, on any port ---
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "LOCALHOST".to_owned(),
        format!("[::1]:{port}"),
        "studio.example.test:8080".to_owned(),
    ] {
        let answer = door::request_with_host(port, &host, "GET", "/api/v1/sandboxes")
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{host}: {}", answer.text);
        assert!(answer.text.contains(&id), "{host}: {}", answer.text);
    }

    // --- every other host gets 421, whatever the path (DNS rebinding finds nothing) ---
    for host in [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        format!("sb-{hex}.localhost:{port}"),
        format!("sb-{hex}.preview.example.test.evil.example"),
        "nothing.preview.example.test".to_owned(),
        "192.168.0.1".to_owned(),
    ] {
        for path in ["/api/v1/sandboxes", "/healthz", "/"] {
            let answer = door::request_with_host(port, &host, "GET", path)
                .await
                .unwrap();
            assert_eq!(answer.status, 421, "{host}{path}: {}", answer.text);
            assert!(answer.content_type.starts_with("text/plain"), "{host}");
            assert!(!answer.text.contains(&id));
        }
    }

    // --- the preview answers on its host (any letter case, the public port or the real one) ---
    for host in [
        format!("{preview_host}:8080"),
        preview_host.to_uppercase(),
        format!("{preview_host}:{port}"),
    ] {
        let page = door::request_with_host(port, &host, "GET", "/")
            .await
            .unwrap();
        assert_eq!(page.status, 200, "{host}: {}", page.text);
        assert!(
            page.text.contains("<title>Studio renderer</title>"),
            "{host}"
        );
        assert!(
            !page.headers.contains_key("access-control-allow-origin"),
            "the door adds no CORS headers"
        );
    }
    // Studio's own renderer endpoints stay inside, however the path is spelt.
    for (method, path) in [
        ("GET", "/__studio/health"),
        ("POST", "/__studio/refresh"),
        ("POST", "/%5F%5Fstudio/refresh"),
        ("POST", "/src/../__studio/refresh"),
    ] {
        let answer = door::request_with_host(port, &preview_host, method, path)
            .await
            .unwrap();
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.text);
        assert!(answer.text.contains("__studio"), "{}", answer.text);
    }
    let unknown =
        door::request_with_host(port, "sb-00000000000000ff.preview.example.test", "GET", "/")
            .await
            .unwrap();
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert!(
        unknown.text.contains("sb_00000000000000ff"),
        "{}",
        unknown.text
    );

    // --- WebSockets (Vite's HMR) per preview: two allowed here, the third waits for a place ---
    // (The ingress's port 8080 is not ours: connect to the real one.)
    let url = format!("http://{preview_host}:{port}/");
    let token = door::hmr_token(&url).await.unwrap();
    let mut first = door::hmr_connect(&url, &token).await.unwrap();
    let second = door::hmr_connect(&url, &token).await.unwrap();
    door::hmr_ping(&mut first).await.unwrap();
    let (status, body) = door::hmr_connect(&url, &token).await.err().unwrap();
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("WebSockets"), "{body}");
    drop(second);
    let mut third = eventually(
        "a closed tunnel to give its place back",
        Duration::from_secs(10),
        async || {
            door::hmr_connect(&url, &token)
                .await
                .map_err(|e| format!("{e:?}"))
        },
    )
    .await;
    door::hmr_ping(&mut third).await.unwrap();

    // --- stopped: 503 naming the status; started: served again at the same URL ---
    api.control(&id, "stop").await.expect(200);
    let stopped = door::request_with_host(port, &preview_host, "GET", "/")
        .await
        .unwrap();
    assert_eq!(stopped.status, 503, "{}", stopped.text);
    assert!(stopped.text.contains("stopped"), "{}", stopped.text);
    let started = api.control(&id, "start").await;
    assert_eq!(
        started.expect(200)["renderer_url"],
        format!("http://{preview_host}:8080/")
    );
    let page = door::request_with_host(port, &preview_host, "GET", "/")
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.text);

    // --- deleted: the door answers 404 and the renderer's socket is gone ---
    let socket = unix_listeners::renderer_socket(&data.path().canonicalize().unwrap(), &id);
    api.delete(&format!("/api/v1/sandboxes/{id}"))
        .await
        .expect(204);
    let gone = door::request_with_host(port, &preview_host, "GET", "/")
        .await
        .unwrap();
    assert_eq!(gone.status, 404, "{}", gone.text);
    assert!(!socket.exists(), "{} survived the delete", socket.display());
    assert!(unix_listeners::socket_owners(&socket).is_empty());

    let metrics = api.get("/metrics").await.text;
    for (series, at_least) in [
        (
            "studio_preview_refusals_total{reason=\"misdirected\"}",
            18.0,
        ),
        (
            "studio_preview_refusals_total{reason=\"internal_path\"}",
            4.0,
        ),
        (
            "studio_preview_refusals_total{reason=\"unknown_sandbox\"}",
            2.0,
        ),
        (
            "studio_preview_refusals_total{reason=\"too_many_websockets\"}",
            1.0,
        ),
        ("studio_preview_refusals_total{reason=\"not_running\"}", 1.0),
        ("studio_preview_upgrades_total", 3.0),
        ("studio_preview_bytes_total{direction=\"to_renderer\"}", 1.0),
    ] {
        assert!(
            counter(&metrics, series) >= at_least,
            "{series}:\n{metrics}"
        );
    }
    drop((first, third));
}

/// The value of one series of the Prometheus text (0 when absent).
fn counter(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}
