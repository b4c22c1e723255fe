//! The renderer on its Unix socket: no TCP listener anywhere in its process tree, the HMR
//! WebSocket on the same socket, and Vite's host and CORS checks as the front door relies on them.

mod support;

use std::time::Duration;

use futures::StreamExt;
use studio_renderer::HEALTH_PATH;
use studio_testkit::browser::Browser;
use studio_testkit::listeners::{process_tree, tcp_listeners_of};
use studio_testkit::unix_http;
use support::Vite;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn no_renderer_process_listens_on_tcp_and_hmr_shares_the_unix_socket() {
    let checkout = support::sample_checkout("socket-only-");
    let mut spec = support::spec(checkout.path(), None);
    // A preview domain other than `localhost`, whose names Vite would accept anyway.
    spec.preview_host = format!("{}.preview.example.com", spec.sandbox_id.preview_label());
    let prepared = support::prepare(&support::shared_renderer(), &spec).await;
    let vite = Vite::start(&prepared.launch).await;
    let mut browser = Browser::launch().await;
    browser.open("p", vite.url.as_str()).await;
    assert_eq!(browser.wait_ready("p").await, 6);

    // With the page loaded (module graph built, HMR client connected), the whole tree of the
    // renderer holds no TCP listening socket: Vite's HMR server did not open a port of its own.
    let tree = process_tree(vite.pid());
    assert_eq!(
        tcp_listeners_of(&tree),
        vec![],
        "a renderer process listens on TCP"
    );

    // Vite's HMR WebSocket answers on the same socket (as the front door will pass it through).
    let stream = tokio::net::UnixStream::connect(&vite.socket).await.unwrap();
    let mut request = "ws://localhost/".into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "vite-hmr".parse().unwrap());
    let (mut hmr, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .expect("Vite's HMR WebSocket on the Unix socket");
    let first = tokio::time::timeout(Duration::from_secs(10), hmr.next())
        .await
        .expect("a first HMR message")
        .expect("an open socket")
        .unwrap();
    assert!(
        matches!(&first, Message::Text(text) if text.contains("\"connected\"")),
        "{first:?}"
    );

    // Hosts: the sandbox's own preview host and `localhost` (Studio's own calls) pass; any other
    // name is refused by Vite itself, whatever the front door does.
    let socket = vite.socket.clone();
    let checks = tokio::task::spawn_blocking(move || {
        let status =
            |host: &str| unix_http::request(&socket, "GET", HEALTH_PATH, host).map(|a| a.status);
        let cross_origin = unix_http::request_with(
            &socket,
            "GET",
            "/",
            &[
                ("Host", "localhost"),
                ("Origin", "http://sb-other.localhost:7700"),
            ],
        );
        (
            status(&spec.preview_host),
            status("localhost"),
            status("evil.example.com"),
            cross_origin,
        )
    })
    .await
    .unwrap();
    assert_eq!(checks.0, Some(200), "the sandbox's preview host");
    assert_eq!(checks.1, Some(200), "localhost");
    assert_eq!(checks.2, Some(403), "a foreign host");
    let page = checks.3.expect("the page answers");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("access-control-allow-origin"),
        None,
        "CORS is off: another preview's origin may not read this one"
    );

    browser.close().await;
    vite.stop().await; // also checks that the socket file is gone
}
