//! Preview access with `STUDIO_API_TOKEN` set: previews open only with the cookie a one-time link
//! sets, the cookie opens its own sandbox only, and stop and delete revoke it.
//!
//! Rust clients connect to 127.0.0.1 and send `Host: sb-<hex>.localhost:<port>` (glibc does not
//! resolve `*.localhost`; browsers do).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::Studio;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const TOKEN: &str = "e2e-preview-api-token-6d1f0b";

/// One answer of a preview host.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The 401 page: small HTML that says how to get a link for `id`.
    fn assert_locked(&self, id: &str, what: &str) {
        assert_eq!(self.status, 401, "{what}: {}", self.text);
        assert!(
            self.header("content-type").starts_with("text/html"),
            "{what}: {:?}",
            self.headers
        );
        assert!(
            self.text
                .contains(&format!("POST /api/v1/sandboxes/{id}/preview-link")),
            "{what}: the page says how to get a link:\n{}",
            self.text
        );
    }
}

/// The preview host of one sandbox on the server under test.
#[derive(Debug, Clone)]
pub struct PreviewHost {
    pub port: u16,
    /// `sb-<hex>.localhost:<port>`
    pub host: String,
    client: reqwest::Client,
}

impl PreviewHost {
    pub fn of(id: &str, port: u16) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self {
            port,
            host: format!("{}.localhost:{port}", id.replacen('_', "-", 1)),
            client,
        }
    }

    /// `GET path_and_query` with this host's `Host` header and an optional `Cookie` header.
    pub async fn get(&self, path_and_query: &str, cookie: Option<&str>) -> Page {
        let mut request = self
            .client
            .get(format!("http://127.0.0.1:{}{path_and_query}", self.port))
            .header("host", &self.host);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path_and_query} on {}: {e}", self.host));
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap_or_default(),
        }
    }

    /// Follows a link the API handed out (its path and query, on this host).
    pub async fn open_link(&self, url: &str) -> Page {
        let rest = url
            .strip_prefix(&format!("http://{}", self.host))
            .unwrap_or_else(|| panic!("{url} is not a link of {}", self.host));
        self.get(rest, None).await
    }

    /// Vite's HMR WebSocket upgrade (the client's token read from `/@vite/client`, which needs
    /// the cookie too): `Ok` on 101, the refusal's status otherwise.
    pub async fn hmr_upgrade(&self, cookie: Option<&str>) -> Result<(), u16> {
        let ws_token = match cookie {
            Some(cookie) => {
                // Without access this is the 401 page, and the upgrade below is refused too.
                let client = self.get("/@vite/client", Some(cookie)).await;
                client
                    .text
                    .split_once("const wsToken = \"")
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .map(|(token, _)| token.to_owned())
                    .unwrap_or_default()
            }
            None => String::new(),
        };
        let url = format!("ws://{}/?token={ws_token}", self.host);
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("sec-websocket-protocol", "vite-hmr".parse().unwrap());
        if let Some(cookie) = cookie {
            headers.insert("cookie", cookie.parse().unwrap());
        }
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        match tokio_tungstenite::client_async(request, tcp).await {
            Ok(_) => Ok(()),
            Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(e) => panic!("HMR upgrade on {}: {e}", self.host),
        }
    }
}

/// `studio_preview=<value>` from a redirect's `Set-Cookie`, after checking its attributes.
pub fn preview_cookie(redirect: &Page) -> String {
    assert_eq!(
        redirect.status, 303,
        "the link answers 303: {}",
        redirect.text
    );
    assert_eq!(redirect.header("location"), "/", "one hop, to the preview");
    let set_cookie = redirect.header("set-cookie");
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    for wanted in [
        "HttpOnly",
        "Secure",
        "SameSite=None",
        "Partitioned",
        "Path=/",
    ] {
        assert!(attributes.contains(&wanted), "{wanted} in {set_cookie}");
    }
    assert!(
        !set_cookie.to_ascii_lowercase().contains("domain"),
        "host-only: {set_cookie}"
    );
    let pair = attributes[0];
    assert!(pair.starts_with("studio_preview="), "{set_cookie}");
    pair.to_owned()
}

/// Asks the API for a link (as `api`'s principal) and checks its shape.
pub async fn link_for(api: &support::Api, id: &str, preview: &PreviewHost) -> String {
    let answer = api
        .post(&format!("/api/v1/sandboxes/{id}/preview-link"), &json!({}))
        .await;
    let body = answer.expect(200);
    let url = body["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("http://{}/__preview/redeem?", preview.host)),
        "{url}"
    );
    let expires = time::OffsetDateTime::parse(
        body["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expires - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::seconds(100) && left <= time::Duration::seconds(300),
        "a link lives 120-300 s: {left}"
    );
    url
}

/// Waits (bounded) until the preview serves the renderer page with `cookie`.
async fn serves(preview: &PreviewHost, cookie: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = preview.get("/", Some(cookie)).await;
        if page.status == 200 && page.text.contains("<title>Studio renderer</title>") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the preview did not serve with its cookie: {} {}",
            page.status,
            page.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_works_once_and_its_cookie_opens_its_own_sandbox_until_revoked() {
    let remote = Remote::new().await;
    let data = DataDir::new("preview-access-");
    let studio = Studio::start(&ServerConfig::new(&data).api_token(TOKEN));
    let api = studio.api();
    let a = api.create_ok(&remote.url()).await;
    let b = api.create_ok(&remote.url()).await;
    let (a_id, b_id) = (
        a["sandbox_id"].as_str().unwrap(),
        b["sandbox_id"].as_str().unwrap(),
    );
    let (pa, pb) = (
        PreviewHost::of(a_id, studio.port),
        PreviewHost::of(b_id, studio.port),
    );

    // --- no cookie: the 401 page, for pages and the HMR socket alike ---
    pa.get("/", None).await.assert_locked(a_id, "no cookie");
    pa.get("/src/main.tsx", None)
        .await
        .assert_locked(a_id, "a module without cookie");
    assert_eq!(pa.hmr_upgrade(None).await, Err(401));

    // --- the link's request body: empty or {}; anything else is refused as JSON ---
    let path = format!("/api/v1/sandboxes/{a_id}/preview-link");
    api.raw("POST", &path, None).await.expect(200);
    api.post(&path, &json!({"ttl": 5}))
        .await
        .expect_error(422, "invalid_request");
    api.post_text(&path, "{nope")
        .await
        .expect_error(400, "invalid_json");
    api.with_token(None)
        .post(&path, &json!({}))
        .await
        .expect_error(401, "unauthorized");
    api.post(
        "/api/v1/sandboxes/sb_00000000000000ff/preview-link",
        &json!({}),
    )
    .await
    .expect_error(404, "sandbox_not_found");

    // --- the link works once: 303, cookie, Location / ---
    let link = link_for(&api, a_id, &pa).await;
    let redirect = pa.open_link(&link).await;
    let cookie = preview_cookie(&redirect);
    serves(&pa, &cookie).await;
    assert_eq!(
        pa.hmr_upgrade(Some(&cookie)).await,
        Ok(()),
        "HMR with the cookie"
    );
    pa.open_link(&link)
        .await
        .assert_locked(a_id, "a reused link");
    // A tampered link, and A's link on B's host, are refused too.
    let tampered = link.replacen("redeem?t=", "redeem?t=0", 1);
    pa.open_link(&tampered)
        .await
        .assert_locked(a_id, "a tampered link");
    let a_link_on_b = link_for(&api, a_id, &pa).await.replace(&pa.host, &pb.host);
    pb.open_link(&a_link_on_b)
        .await
        .assert_locked(b_id, "A's link on B");

    // --- A's cookie does not open B ---
    pb.get("/", Some(&cookie))
        .await
        .assert_locked(b_id, "A's cookie on B");
    assert_eq!(
        pb.hmr_upgrade(Some(&cookie)).await,
        Err(401),
        "A's cookie on B's HMR"
    );
    let b_cookie = preview_cookie(&pb.open_link(&link_for(&api, b_id, &pb).await).await);
    serves(&pb, &b_cookie).await;
    pa.get("/", Some(&b_cookie))
        .await
        .assert_locked(a_id, "B's cookie on A");

    // --- stop revokes: the old cookie stays refused after start; a new link opens it again ---
    api.control(a_id, "stop").await.expect(200);
    pa.get("/", Some(&cookie))
        .await
        .assert_locked(a_id, "a cookie of a stopped sandbox");
    api.control(a_id, "start").await.expect(200);
    pa.get("/", Some(&cookie))
        .await
        .assert_locked(a_id, "a cookie from before the stop");
    let fresh = preview_cookie(&pa.open_link(&link_for(&api, a_id, &pa).await).await);
    serves(&pa, &fresh).await;

    // --- delete revokes ---
    assert_eq!(
        api.delete(&format!("/api/v1/sandboxes/{b_id}"))
            .await
            .status,
        204
    );
    // The door looks the sandbox up before it reads any cookie: a deleted sandbox is unknown.
    let after = pb.get("/", Some(&b_cookie)).await;
    assert_eq!(
        after.status, 404,
        "a deleted sandbox's cookie opens nothing: {}",
        after.text
    );

    // --- nothing secret in the log ---
    let (_, log) = studio.terminate();
    for secret in [TOKEN, cookie.as_str(), fresh.as_str(), link.as_str()] {
        let value = secret.split_once('=').map_or(secret, |(_, v)| v);
        assert!(!log.contains(value), "{secret} in the server log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_tokens_reach_their_own_sandbox_only_and_are_stored_hashed() {
    let remote = Remote::new().await;
    let data = DataDir::new("scoped-tokens-");
    let studio = Studio::start(&ServerConfig::new(&data).api_token(TOKEN));
    let admin = studio.api();
    let a = admin.create_ok(&remote.url()).await;
    let b = admin.create_ok(&remote.url()).await;
    let (a_id, b_id) = (
        a["sandbox_id"].as_str().unwrap(),
        b["sandbox_id"].as_str().unwrap(),
    );
    let tokens_path = format!("/api/v1/sandboxes/{a_id}/tokens");

    // --- making one: admin only, a bounded lifetime ---
    for body in [
        json!({"expires_in_hours": 0}),
        json!({"expires_in_hours": 721}),
    ] {
        admin
            .post(&tokens_path, &body)
            .await
            .expect_error(422, "invalid_token_lifetime");
    }
    admin
        .post(&tokens_path, &json!({"hours": 1}))
        .await
        .expect_error(422, "invalid_request");
    admin
        .post("/api/v1/sandboxes/sb_00000000000000ff/tokens", &json!({}))
        .await
        .expect_error(404, "sandbox_not_found");
    let made = admin.raw("POST", &tokens_path, None).await;
    let made = made.expect(201).clone();
    let token = made["token"].as_str().unwrap().to_owned();
    let token_id = made["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("stk_") && token.len() > 40, "{made}");
    let expires = time::OffsetDateTime::parse(
        made["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expires - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::hours(23) && left <= time::Duration::hours(24),
        "default 24 h: {left}"
    );
    let second = admin
        .post(&tokens_path, &json!({"expires_in_hours": 2}))
        .await
        .expect(201)
        .clone();
    let second_token = second["token"].as_str().unwrap().to_owned();

    // --- what the token may call ---
    let scoped = admin.with_token(Some(&token));
    scoped.sandbox(a_id).await.expect(200);
    scoped
        .post(
            &format!("/api/v1/sandboxes/{a_id}/preview-link"),
            &json!({}),
        )
        .await
        .expect(200);
    scoped
        .write_file(
            a_id,
            "src/components/Alert.tsx",
            "export const Alert = () => null;\n",
            "Quiet",
        )
        .await
        .commit_hash();
    let a_ws = a["websocket_url"].as_str().unwrap();
    support::WsClient::connect(a_ws, Some(&token))
        .await
        .unwrap();
    support::WsClient::connect(&format!("{a_ws}?token={token}"), None)
        .await
        .unwrap();
    // Another sandbox does not exist for it; other routes are forbidden.
    for answer in [
        scoped.sandbox(b_id).await,
        scoped
            .post(
                &format!("/api/v1/sandboxes/{b_id}/preview-link"),
                &json!({}),
            )
            .await,
        scoped.delete(&format!("/api/v1/sandboxes/{b_id}")).await,
        scoped.sandbox("sb_00000000000000ff").await,
    ] {
        answer.expect_error(404, "sandbox_not_found");
    }
    let b_ws = b["websocket_url"].as_str().unwrap();
    let refused = support::WsClient::connect(b_ws, Some(&token))
        .await
        .err()
        .unwrap();
    assert_eq!(refused.status, 404, "{refused:?}");
    for answer in [
        scoped.get("/api/v1/sandboxes").await,
        scoped.create(&json!({"repository": remote.url()})).await,
        scoped.get(&tokens_path).await,
        scoped.post(&tokens_path, &json!({})).await,
        scoped.delete(&format!("{tokens_path}/{token_id}")).await,
        scoped.get("/api/v1/openapi.json").await,
    ] {
        let message = answer.expect_error(403, "forbidden");
        assert!(!message.contains(&token), "{message}");
    }
    // Wrong tokens, scoped-looking or not: 401.
    for wrong in [
        format!("stk_{}", "0".repeat(64)),
        format!("{token}x"),
        "nope".into(),
    ] {
        admin
            .with_token(Some(&wrong))
            .sandbox(a_id)
            .await
            .expect_error(401, "unauthorized");
    }

    // --- listed without the token, revoked at once ---
    let listed = admin.get(&tokens_path).await;
    let list = listed.expect(200)["tokens"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{}", listed.text);
    assert_eq!(list[0]["id"], token_id.as_str());
    for entry in &list {
        let mut keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["created_at", "expires_at", "id"]);
    }
    assert!(!listed.text.contains(&token) && !listed.text.contains(&second_token));
    assert_eq!(
        admin
            .delete(&format!("{tokens_path}/{token_id}"))
            .await
            .status,
        204
    );
    scoped.sandbox(a_id).await.expect_error(401, "unauthorized");
    admin
        .delete(&format!("{tokens_path}/{token_id}"))
        .await
        .expect_error(404, "token_not_found");
    admin
        .delete(&format!(
            "/api/v1/sandboxes/{b_id}/tokens/{}",
            second["id"].as_str().unwrap()
        ))
        .await
        .expect_error(404, "token_not_found");

    // --- stored hashed: the database holds neither token ---
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("studio.db") {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(!stored.is_empty(), "the SQLite files were read");
    let stored = String::from_utf8_lossy(&stored);
    assert!(
        !stored.contains(&second_token[4..]),
        "a token in the database"
    );
    let key_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.path().join("preview.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(key_mode & 0o777, 0o600, "the preview key is private");

    // --- deleting the sandbox deletes its tokens ---
    let with_second = admin.with_token(Some(&second_token));
    with_second.sandbox(a_id).await.expect(200);
    assert_eq!(
        admin
            .delete(&format!("/api/v1/sandboxes/{a_id}"))
            .await
            .status,
        204
    );
    with_second
        .sandbox(a_id)
        .await
        .expect_error(401, "unauthorized");

    let (_, log) = studio.terminate();
    for secret in [TOKEN, token.as_str(), second_token.as_str()] {
        assert!(!log.contains(secret), "a token in the server log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_prints_a_preview_link_and_a_token() {
    let remote = Remote::new().await;
    let data = DataDir::new("preview-cli-");
    let studio = Studio::start(&ServerConfig::new(&data).api_token(TOKEN));
    let created = studio.api().create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap();
    let studio_cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_studio"))
            .args(args)
            .env("STUDIO_URL", &studio.base)
            .env("STUDIO_API_TOKEN", TOKEN)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {stderr}");
        (stdout, stderr)
    };

    let preview = PreviewHost::of(id, studio.port);
    let (link, notice) = studio_cli(&["preview", id]);
    let link = link.trim();
    assert!(notice.contains("once"), "{notice}");
    let cookie = preview_cookie(&preview.open_link(link).await);
    serves(&preview, &cookie).await;

    let (json_out, _) = studio_cli(&["preview", id, "--json"]);
    let body: Value = serde_json::from_str(&json_out).unwrap();
    assert!(
        body["url"].as_str().unwrap().contains("/__preview/redeem?"),
        "{json_out}"
    );
    assert!(body["expires_at"].is_string());

    let (token, notice) = studio_cli(&["token", id, "--expires-in-hours", "2"]);
    let token = token.trim();
    assert!(token.starts_with("stk_"), "{token}");
    assert!(
        notice.contains("tok_") && !notice.contains(token),
        "{notice}"
    );
    let scoped = studio.api().with_token(Some(token));
    scoped.sandbox(id).await.expect(200);
    scoped
        .get("/api/v1/sandboxes")
        .await
        .expect_error(403, "forbidden");
}
