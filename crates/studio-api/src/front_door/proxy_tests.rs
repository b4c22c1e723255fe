//! The proxy against a real upstream on a Unix socket (an axum app standing in for a renderer):
//! streaming both ways, hop-by-hop and forwarded headers, upgrades, and an absent socket.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use studio_sandbox::PreviewMetrics;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};

use super::proxy;
use crate::state::PreviewLimits;

/// The stand-in renderer: `/headers` answers the headers it got (one `name: value` a line),
/// `/echo` streams the request body back, `/big` sends `n` bytes in 64 KiB chunks, `/upgrade`
/// switches to a raw byte echo.
fn renderer_app() -> Router {
    Router::new()
        .route(
            "/headers",
            get(|headers: HeaderMap| async move {
                let mut lines: Vec<String> = headers
                    .iter()
                    .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap_or("?")))
                    .collect();
                lines.sort();
                (
                    [
                        ("connection", "keep-alive, x-secret-hop"),
                        ("x-secret-hop", "1"),
                    ],
                    lines.join("\n"),
                )
            }),
        )
        .route(
            "/echo",
            any(|request: Request| async move {
                Body::from_stream(request.into_body().into_data_stream())
            }),
        )
        .route(
            "/big/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<usize>| async move {
                    let chunks = futures::stream::iter((0..n.div_ceil(65536)).map(move |i| {
                        let len = 65536.min(n - i * 65536);
                        Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; len]))
                    }));
                    Body::from_stream(chunks)
                },
            ),
        )
        .route("/upgrade", get(upgrade_echo))
}

async fn upgrade_echo(mut request: Request) -> Response {
    let on = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let upgraded = on.await.unwrap();
        let mut io = hyper_util::rt::TokioIo::new(upgraded);
        let mut buf = [0u8; 1024];
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if io.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [("connection", "upgrade"), ("upgrade", "echo")],
    )
        .into_response()
}

/// A renderer on a socket in a fresh directory; the directory lives as long as the guard.
async fn renderer() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("r.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    tokio::spawn(async move { axum::serve(listener, renderer_app()).await });
    (dir, socket)
}

/// A door that proxies everything to `socket` (no routing by host: that is `host.rs`'s), on a
/// TCP port of its own, so that clients' upgrades are real.
async fn door(socket: PathBuf, metrics: PreviewMetrics) -> SocketAddr {
    let app = Router::new().fallback(move |request: Request| {
        let socket = socket.clone();
        let metrics = metrics.clone();
        async move {
            proxy::forward(request, &socket, &PreviewLimits::default(), &metrics, ())
                .await
                .unwrap_or_else(|refusal| refusal.answer(&metrics))
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    addr
}

fn client() -> reqwest_free::Client {
    reqwest_free::Client
}

/// A tiny HTTP/1.1 client over TCP (no client library in this crate's dependencies).
mod reqwest_free {
    use super::*;

    pub(super) struct Client;

    impl Client {
        /// Sends `head` (without the final blank line) and `body`; answers status, head, body.
        pub(super) async fn send(
            &self,
            addr: SocketAddr,
            head: &str,
            body: &[u8],
        ) -> (u16, String, Vec<u8>) {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let request = format!("{head}\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            stream.write_all(body).await.unwrap();
            let mut raw = Vec::new();
            tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
                .await
                .unwrap()
                .unwrap();
            let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            let head = String::from_utf8_lossy(&raw[..split]).into_owned();
            let status = head.split(' ').nth(1).unwrap().parse().unwrap();
            let mut body = raw[split + 4..].to_vec();
            if head
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked")
            {
                body = dechunk(&body);
            }
            (status, head, body)
        }
    }

    fn dechunk(mut raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            raw = &raw[line_end + 2..];
            if size == 0 {
                return out;
            }
            out.extend_from_slice(&raw[..size]);
            raw = &raw[size + 2..];
        }
    }
}

#[tokio::test]
async fn hop_by_hop_headers_stay_behind_and_forwarded_headers_are_set() {
    let (_dir, socket) = renderer().await;
    let addr = door(socket, PreviewMetrics::default()).await;
    let (status, head, body) = client()
        .send(
            addr,
            "GET /headers HTTP/1.1\r\nHost: SB-0123456789ABCDEF.Localhost:7700\r\n\
             X-Forwarded-For: 10.0.0.1\r\nKeep-Alive: timeout=5\r\nX-Drop-Me: 1\r\n\
             Connection: keep-alive, x-drop-me\r\nTE: trailers\r\nX-Kept: yes",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{head}");
    let got = String::from_utf8(body).unwrap();
    // The renderer sees the preview host (Vite checks it), the client, and nothing hop-by-hop.
    assert!(
        got.contains("host: sb-0123456789abcdef.localhost:7700"),
        "{got}"
    );
    assert!(
        got.contains("x-forwarded-for: 10.0.0.1, 127.0.0.1"),
        "{got}"
    );
    assert!(
        got.contains("x-forwarded-host: sb-0123456789abcdef.localhost:7700"),
        "{got}"
    );
    assert!(got.contains("x-forwarded-proto: http"), "{got}");
    assert!(got.contains("x-kept: yes"), "{got}");
    for hop in ["keep-alive:", "x-drop-me", "te:", "connection: keep-alive"] {
        assert!(!got.contains(hop), "{hop} was forwarded:\n{got}");
    }
    // Nor does the client see the renderer's.
    let head = head.to_ascii_lowercase();
    assert!(!head.contains("x-secret-hop"), "{head}");
    assert!(!head.contains("access-control-"), "{head}");
}

#[tokio::test]
async fn bodies_stream_both_ways_and_are_counted() {
    let (_dir, socket) = renderer().await;
    let metrics = PreviewMetrics::default();
    let addr = door(socket, metrics.clone()).await;
    let upload = vec![b'u'; 3 * 1024 * 1024 + 17];
    let (status, _, body) = client()
        .send(
            addr,
            &format!(
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}",
                upload.len()
            ),
            &upload,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, upload);
    let n = 5 * 1024 * 1024;
    let (status, _, body) = client()
        .send(addr, &format!("GET /big/{n} HTTP/1.1\r\nHost: x"), b"")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body.len(), n);

    let text = metrics_text(&metrics);
    assert!(text.contains("studio_preview_requests_total 2"), "{text}");
    assert!(
        text.contains(&format!("direction=\"to_renderer\"}} {}", upload.len())),
        "{text}"
    );
    assert!(
        text.contains(&format!("direction=\"to_client\"}} {}", upload.len() + n)),
        "{text}"
    );
}

#[tokio::test]
async fn an_upgrade_becomes_a_tunnel_both_ways() {
    let (_dir, socket) = renderer().await;
    let metrics = PreviewMetrics::default();
    let addr = door(socket, metrics.clone()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: echo"), "{head}");
    for round in 0..3 {
        let message = format!("hello {round}");
        stream.write_all(message.as_bytes()).await.unwrap();
        let mut back = vec![0u8; message.len()];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut back))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, message.as_bytes());
    }
    let text = metrics_text(&metrics);
    assert!(text.contains("studio_preview_upgrades_total 1"), "{text}");
}

#[tokio::test]
async fn a_missing_socket_is_a_502_page() {
    let dir = tempfile::tempdir().unwrap();
    let addr = door(dir.path().join("gone.sock"), PreviewMetrics::default()).await;
    let (status, head, body) = client().send(addr, "GET / HTTP/1.1\r\nHost: x", b"").await;
    assert_eq!(status, 502, "{head}");
    assert!(head.to_ascii_lowercase().contains("text/plain"), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("not answering"));
}

/// The counters of `metrics` in the text format.
fn metrics_text(metrics: &PreviewMetrics) -> String {
    metrics.text()
}
