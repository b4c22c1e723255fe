//! A small client of Studio's REST API that keeps every answer's status and raw body, so tests can
//! assert on both (and check that error bodies are exactly `{"error", "code"}`).

use std::time::Duration;

use serde_json::{Value, json};

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub text: String,
    pub body: Value,
}

impl Answer {
    /// Asserts the status and returns the JSON body.
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected answer: {} {}",
            self.status, self.text
        );
        &self.body
    }

    /// Asserts a 200 answer to a write and returns its `commit_hash`.
    pub fn commit_hash(&self) -> String {
        self.expect(200)["commit_hash"]
            .as_str()
            .unwrap_or_else(|| panic!("no commit_hash in {}", self.text))
            .to_owned()
    }

    /// Asserts an error answer: the status, exactly the keys `error` (a non-empty message) and
    /// `code`, and the code. Returns the message.
    pub fn expect_error(&self, status: u16, code: &str) -> String {
        self.check_error(status, code)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Answer::expect_error`] without the panic.
    pub fn check_error(&self, status: u16, code: &str) -> Result<String, String> {
        let wrong = |what: &str| Err(format!("{what}: {} {}", self.status, self.text));
        if self.status != status {
            return wrong(&format!("expected status {status}"));
        }
        let Some(object) = self.body.as_object() else {
            return wrong("not a JSON object");
        };
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        if keys != ["code", "error"] {
            return wrong("expected exactly `error` and `code`");
        }
        if self.body["code"] != code {
            return wrong(&format!("expected code {code}"));
        }
        match self.body["error"].as_str() {
            Some(message) if !message.trim().is_empty() => Ok(message.to_owned()),
            _ => wrong("expected a message in `error`"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Api {
    client: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Api {
    pub fn new(base: &str, token: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            // Creating a sandbox installs dependencies and starts Vite: minutes on a cold, loaded machine.
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token,
        }
    }

    pub fn with_token(&self, token: Option<&str>) -> Self {
        Self {
            token: token.map(str::to_owned),
            ..self.clone()
        }
    }

    /// Any request; `path` starts with `/`. `body` is sent as given, with `content_type`.
    pub async fn raw(&self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, text, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.raw("GET", path, None).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.raw("DELETE", path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        let bytes = serde_json::to_vec(body).unwrap();
        self.raw("POST", path, Some(("application/json", bytes)))
            .await
    }

    /// `POST` with a body that is not necessarily JSON.
    pub async fn post_text(&self, path: &str, body: &str) -> Answer {
        self.raw(
            "POST",
            path,
            Some(("application/json", body.as_bytes().to_vec())),
        )
        .await
    }

    // --- The API's operations, with the paths of API.md ---

    pub async fn create(&self, body: &Value) -> Answer {
        self.post("/api/v1/sandboxes", body).await
    }

    /// Creates a sandbox on `repository` and asserts 201; returns the answer's body.
    pub async fn create_ok(&self, repository: &str) -> Value {
        self.create(
            &json!({"type": "component-studio", "repository": repository, "branch": "main"}),
        )
        .await
        .expect(201)
        .clone()
    }

    pub async fn sandbox(&self, id: &str) -> Answer {
        self.get(&format!("/api/v1/sandboxes/{id}")).await
    }

    /// The status body of a sandbox that must exist.
    pub async fn status_of(&self, id: &str) -> Value {
        self.sandbox(id).await.expect(200).clone()
    }

    /// Asks for a one-time preview link to sandbox `id` and asserts 200; returns the link's URL.
    /// (tests/preview_access.rs checks the rest of the answer.)
    pub async fn preview_link_ok(&self, id: &str) -> String {
        self.post(&format!("/api/v1/sandboxes/{id}/preview-link"), &json!({}))
            .await
            .expect(200)["url"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn write_file(
        &self,
        id: &str,
        path: &str,
        content: &str,
        description: &str,
    ) -> Answer {
        self.execute(
            id,
            &json!({"command": "write_file", "file_path": path, "content": content, "description": description}),
        )
        .await
    }

    /// Writes a file, asserts the 200 answer and returns the commit's hash.
    pub async fn commit(&self, id: &str, path: &str, content: &str, description: &str) -> String {
        self.write_file(id, path, content, description)
            .await
            .commit_hash()
    }

    pub async fn execute(&self, id: &str, body: &Value) -> Answer {
        self.post(&format!("/api/v1/sandboxes/{id}/execute"), body)
            .await
    }

    pub async fn rollback(&self, id: &str, body: &Value) -> Answer {
        self.post(&format!("/api/v1/sandboxes/{id}/rollback"), body)
            .await
    }

    pub async fn finalize(&self, id: &str, title: &str, description: &str) -> Answer {
        self.post(
            &format!("/api/v1/sandboxes/{id}/finalize"),
            &json!({"title": title, "description": description}),
        )
        .await
    }

    /// `restart`, `stop` or `start`.
    pub async fn control(&self, id: &str, action: &str) -> Answer {
        self.post(&format!("/api/v1/sandboxes/{id}/{action}"), &json!({}))
            .await
    }
}

/// The hashes of a status body's `git_commits`, oldest first.
pub fn commit_hashes(status: &Value) -> Vec<String> {
    status["git_commits"]
        .as_array()
        .unwrap_or_else(|| panic!("no git_commits in {status}"))
        .iter()
        .map(|c| c["hash"].as_str().unwrap().to_owned())
        .collect()
}
