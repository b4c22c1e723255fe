//! `--cors-origin` / `STUDIO_CORS_ORIGINS` on the real server: a listed origin's preflight is
//! answered without a token and its answers carry its own origin (never `*`, never credentials);
//! any other origin, and every preview host, gets no CORS headers; a value that is not an origin
//! stops the server at start, naming it.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName};
use studio_testkit::server::{DataDir, ServerConfig};
use support::Studio;

const TOKEN: &str = "e2e-cors-api-token-5d21c9";
const TOOL: &str = "http://tool.test:5173";
const OTHER_TOOL: &str = "https://design.example.com";

const ACAO: &str = "access-control-allow-origin";
const ACAC: &str = "access-control-allow-credentials";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// Every value of a (possibly repeated, comma-separated) header, lower case.
fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(HeaderName::from_bytes(name.as_bytes()).unwrap())
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect()
}

/// No CORS header at all: the browser keeps the answer from the calling page.
fn assert_no_cors(headers: &HeaderMap, what: &str) {
    let cors: Vec<&str> = headers
        .keys()
        .map(HeaderName::as_str)
        .filter(|name| name.starts_with("access-control-"))
        .collect();
    assert!(
        cors.is_empty(),
        "{what}: CORS headers {cors:?} in {headers:?}"
    );
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_origins_get_their_own_origin_back_and_nobody_else_gets_cors_headers() {
    let data = DataDir::new("cors-");
    let studio = Studio::start(
        &ServerConfig::new(&data)
            .api_token(TOKEN)
            .env("STUDIO_CORS_ORIGINS", format!("{TOOL},{OTHER_TOOL}")),
    );
    let sandboxes = format!("{}/api/v1/sandboxes", studio.base);
    let http = client();

    // --- the preflight: answered before the token check, the origin echoed exactly ---
    for origin in [TOOL, OTHER_TOOL] {
        let preflight = http
            .request(reqwest::Method::OPTIONS, &sandboxes)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap();
        let headers = preflight.headers();
        assert!(
            preflight.status().is_success(),
            "preflight from {origin}: {} {headers:?}",
            preflight.status()
        );
        assert_eq!(header(headers, ACAO), Some(origin), "{headers:?}");
        assert_eq!(
            header(headers, ACAC),
            None,
            "never credentials: {headers:?}"
        );
        let methods = values(headers, "access-control-allow-methods");
        for method in ["get", "post", "delete"] {
            assert!(methods.contains(&method.to_owned()), "{methods:?}");
        }
        let allowed = values(headers, "access-control-allow-headers");
        for name in ["authorization", "content-type"] {
            assert!(allowed.contains(&name.to_owned()), "{allowed:?}");
        }
        assert!(
            header(headers, "access-control-max-age").is_some(),
            "{headers:?}"
        );
        assert!(
            values(headers, "vary").contains(&"origin".to_owned()),
            "{headers:?}"
        );
    }

    // --- the actual request, with the token, from a listed origin ---
    let listed = http
        .get(&sandboxes)
        .bearer_auth(TOKEN)
        .header("origin", TOOL)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let headers = listed.headers().clone();
    assert_eq!(header(&headers, ACAO), Some(TOOL), "{headers:?}");
    assert_eq!(header(&headers, ACAC), None, "{headers:?}");
    assert!(
        values(&headers, "vary").contains(&"origin".to_owned()),
        "{headers:?}"
    );
    assert!(
        values(&headers, "access-control-expose-headers").contains(&"retry-after".to_owned()),
        "429's Retry-After must be readable: {headers:?}"
    );
    let body: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(body["sandboxes"], serde_json::json!([]));

    // A refused token still reaches the page as the API's error, so it can show it.
    let refused = http
        .get(&sandboxes)
        .bearer_auth("not-the-token")
        .header("origin", TOOL)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(header(refused.headers(), ACAO), Some(TOOL));
    // Without the token, the preflight was the only thing that passed: the request is refused.
    let no_token = http
        .get(&sandboxes)
        .header("origin", TOOL)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);

    // --- an origin not in the list: no CORS headers, for the request and the preflight ---
    for origin in ["http://evil.test:5173", "http://tool.test:5174", "null"] {
        let answer = http
            .get(&sandboxes)
            .bearer_auth(TOKEN)
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{origin}");
        assert_no_cors(answer.headers(), origin);
        let preflight = http
            .request(reqwest::Method::OPTIONS, &sandboxes)
            .header("origin", origin)
            .header("access-control-request-method", "DELETE")
            .send()
            .await
            .unwrap();
        assert!(
            !preflight.status().is_success(),
            "a preflight of {origin} was answered: {}",
            preflight.status()
        );
        assert_no_cors(preflight.headers(), &format!("preflight of {origin}"));
    }
    // No Origin at all (curl, the CLI): nothing changes.
    let plain = http
        .get(&sandboxes)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert_no_cors(plain.headers(), "no Origin");

    // --- a preview host: an origin of its own, never CORS, even for a listed origin ---
    let preview_host = format!("sb-0123456789abcdef.localhost:{}", studio.port);
    for (method, path) in [("GET", "/"), ("GET", "/api/v1/sandboxes"), ("OPTIONS", "/")] {
        let answer = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", studio.base),
            )
            .header("host", &preview_host)
            .header("origin", TOOL)
            .header("access-control-request-method", "GET")
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_no_cors(
            answer.headers(),
            &format!("{method} {path} on a preview host"),
        );
        assert!(
            answer.status().is_client_error(),
            "{method} {path} on an unknown preview: {}",
            answer.status()
        );
    }
}

/// Runs `studio serve` as given and waits (bounded) for it to exit; its code and stderr. A
/// server that starts instead is killed and the test fails.
fn serve_refused(data: &DataDir, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_studio"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(args)
        .env_remove("STUDIO_CORS_ORIGINS")
        .env_remove("STUDIO_API_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("studio serve {args:?} {env:?} started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

#[test]
fn a_value_that_is_not_an_origin_stops_the_server_at_start_and_is_named() {
    let data = DataDir::new("cors-refused-");
    let (code, stderr) = serve_refused(
        &data,
        &[],
        &[(
            "STUDIO_CORS_ORIGINS",
            "http://tool.test:5173,https://*.example.com",
        )],
    );
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains("\"https://*.example.com\""), "{stderr}");
    assert!(stderr.contains("scheme://host[:port]"), "{stderr}");
    for bad in ["*", "https://tool.test/app", "tool.test:5173"] {
        let (code, stderr) = serve_refused(&data, &["--cors-origin", bad], &[]);
        assert_ne!(code, Some(0), "{bad}: {stderr}");
        assert!(stderr.contains(&format!("{bad:?}")), "{bad}: {stderr}");
    }
}
