//! Credentials: a refused login is a prompt, clear error, and the token never leaks.
//!
//! The peer is a minimal HTTP server that answers every request with `401` (there is no real
//! git HTTP server on the test machine, and refusing credentials is exactly the fault to inject).
//! It records what it received, so the test can check what was (not) sent.

mod support;

use std::sync::{Arc, Mutex};

use studio_core::SecretToken;
use studio_git::GitWorkspace;
use support::sandbox;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "ghp_studio_test_token_do_not_leak";

/// Serves up to `max` connections with `401 Basic`, recording each request head.
async fn refusing_server(max: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        for _ in 0..max {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            record
                .lock()
                .expect("record")
                .push(String::from_utf8_lossy(&head).into_owned());
            let response = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\n\
                            Content-Length: 0\r\nConnection: close\r\n\r\n";
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (format!("http://{address}/acme/ui.git"), seen)
}

#[tokio::test]
async fn a_refused_login_fails_fast_and_never_sends_the_token_over_plain_http() {
    let (url, seen) = refusing_server(16).await;
    let data = tempfile::tempdir().unwrap();
    let mut config = support::config(data.path());
    config.token = SecretToken::new(TOKEN);
    let ws = GitWorkspace::new(config);

    let err = ws.open_session(&url, None, &sandbox(1)).await.unwrap_err();

    assert_eq!(err.code(), "authentication_failed", "{err}");
    let shown = format!("{err} {err:?} {ws:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    let requests = seen.lock().unwrap().clone();
    assert!(!requests.is_empty(), "the server was asked");
    assert!(requests.len() < 16, "credentials are not retried forever");
    for request in &requests {
        assert!(
            !request.to_ascii_lowercase().contains("authorization:"),
            "{request}"
        );
        assert!(!request.contains(TOKEN), "{request}");
    }
    assert!(!ws.default_checkout(&sandbox(1)).exists());
}
