//! `STUDIO_API_TOKEN`: every `/api/` request (REST and the WebSocket upgrade) needs the token;
//! the service endpoints stay open; the token never comes back in a body or the server's log.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners;
use support::{Studio, WsClient, door};

const TOKEN: &str = "e2e-api-token-3f9c1d7a5b";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_token_guards_rest_and_websocket_but_not_the_service_endpoints() {
    let remote = Remote::new().await;
    let data = DataDir::new("auth-");
    let studio = Studio::start(&ServerConfig::new(&data).api_token(TOKEN));
    let authorized = studio.api();
    let anonymous = authorized.with_token(None);
    let wrong = authorized.with_token(Some("e2e-api-token-3f9c1d7a5c"));
    let mut bodies = Vec::new();

    // --- REST: 401 with the error shape, without or with a wrong token; nothing happens ---
    let create = json!({"repository": remote.url()});
    for (client, code_of) in [(&anonymous, "no token"), (&wrong, "wrong token")] {
        for answer in [
            client.get("/api/v1/sandboxes").await,
            client.create(&create).await,
            client.get("/api/v1/sandboxes/sb_0123456789abcdef").await,
            client.delete("/api/v1/sandboxes/sb_0123456789abcdef").await,
            client.get("/api/v1/openapi.json").await,
        ] {
            let message = answer.expect_error(401, "unauthorized");
            assert!(!message.contains(TOKEN), "{code_of}: {message}");
            bodies.push(answer.text);
        }
    }
    // Other schemes and an empty bearer are refused too.
    for header in ["Basic ZTJlOnRva2Vu", "Bearer", "Bearer ", TOKEN] {
        let answer = reqwest::Client::new()
            .get(format!("{}/api/v1/sandboxes", studio.base))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401, "Authorization: {header}");
    }
    // `?token=` is for WebSocket upgrades only.
    let answer = anonymous
        .get(&format!("/api/v1/sandboxes?token={TOKEN}"))
        .await;
    answer.expect_error(401, "unauthorized");
    let listed = authorized.get("/api/v1/sandboxes").await;
    assert_eq!(
        listed.expect(200)["sandboxes"],
        json!([]),
        "a refused create created nothing"
    );

    // --- the service endpoints stay open ---
    for path in ["/healthz", "/readyz", "/metrics"] {
        let answer = anonymous.get(path).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        bodies.push(answer.text);
    }

    // --- with the token: the API works ---
    let created = authorized.create(&create).await;
    let body = created.expect(201).clone();
    bodies.push(created.text);
    let id = body["sandbox_id"].as_str().unwrap();
    let ws_url = body["websocket_url"].as_str().unwrap();
    assert!(
        !ws_url.contains(TOKEN),
        "the token is not handed out in URLs: {ws_url}"
    );

    // --- WebSocket: refused without or with a wrong token, accepted with the header or ?token= ---
    for url in [ws_url.to_owned(), format!("{ws_url}?token=nope")] {
        let refused = WsClient::connect(&url, None).await.err().unwrap();
        assert_eq!(refused.status, 401, "{url}: {refused:?}");
        let error: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
        assert_eq!(error["code"], "unauthorized", "{}", refused.body);
        assert!(error["error"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let refused = WsClient::connect(ws_url, Some("nope")).await.err().unwrap();
    assert_eq!(refused.status, 401, "{refused:?}");
    let mut by_header = WsClient::connect(ws_url, Some(TOKEN)).await.unwrap();
    let mut by_query = WsClient::connect(&format!("{ws_url}?token={TOKEN}"), None)
        .await
        .unwrap();

    // --- the renderer page gets a token that opens its own sandbox's stream, and nothing else ---
    // With a token set, the preview itself needs the cookie of a one-time link
    // (tests/preview_access.rs has the details).
    let renderer_url = body["renderer_url"].as_str().unwrap();
    let link = authorized.preview_link_ok(id).await;
    let redirect = door::get(&link).await.unwrap();
    assert_eq!(redirect.status, 303, "{}", redirect.text);
    let cookie = redirect.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (host, port) = door::host_and_port(renderer_url);
    let generated = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/.studio/src/generated.js"))
        .header("host", format!("{host}:{port}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    bodies.push(generated.clone());
    let socket_url = generated
        .split_once("socketUrl: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(url, _)| url.to_owned())
        .unwrap_or_else(|| panic!("no socketUrl in the page's module:\n{generated}"));
    let page_token = socket_url
        .strip_prefix(&format!("{ws_url}?token="))
        .unwrap_or_else(|| panic!("the page's socket URL {socket_url} has no token"))
        .to_owned();
    let mut page = WsClient::connect(&socket_url, None).await.unwrap();
    let with_page_token = anonymous.with_token(Some(&page_token));
    with_page_token
        .get("/api/v1/sandboxes")
        .await
        .expect_error(401, "unauthorized");
    with_page_token
        .sandbox(id)
        .await
        .expect_error(401, "unauthorized");
    let elsewhere = socket_url.replace(id, "sb_00000000000000ff");
    let refused = WsClient::connect(&elsewhere, None).await.err().unwrap();
    assert_eq!(refused.status, 401, "another sandbox's stream: {refused:?}");
    // Both are real subscriptions: an edit reaches them.
    let edit = authorized
        .write_file(
            id,
            "src/components/Alert.tsx",
            "export const Alert = () => null;\n",
            "Quiet alert",
        )
        .await;
    let hash = edit.commit_hash();
    for client in [&mut by_header, &mut by_query, &mut page] {
        let commit = client
            .next_of("commit", std::time::Duration::from_secs(30))
            .await;
        assert_eq!(commit["payload"]["hash"], hash.as_str());
    }
    bodies.push(authorized.status_of(id).await.to_string());

    // --- the token is never echoed: not in any body, not to the renderer, not in the log ---
    let socket = unix_listeners::renderer_socket(data.path(), id);
    let renderer_pids = unix_listeners::renderer_pids(&socket, studio.pid());
    assert!(!renderer_pids.is_empty());
    for pid in renderer_pids {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        assert!(
            !String::from_utf8_lossy(&environ).contains(TOKEN),
            "the renderer (PID {pid}) was given the API token in its environment"
        );
    }
    for body in &bodies {
        assert!(!body.contains(TOKEN), "token in a response: {body}");
    }
    let (_, log) = studio.terminate();
    assert!(!log.contains(TOKEN), "token in the server log:\n{log}");
}
