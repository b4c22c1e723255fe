//! A typed client for Studio's REST API. Every failure is a [`ClientError`] that keeps the server's
//! own `{"error", "code"}` when there is one.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use studio_core::{SandboxId, SecretToken};
use url::Url;

use studio_wire::{
    CreateSandboxRequest, CreateSandboxResponse, CreateTokenRequest, ErrorBody, ExecuteRequest,
    ExecuteResponse, FinalizeRequest, FinalizeResponse, LogsResponse, PreviewLinkRequest,
    PreviewLinkResponse, RollbackRequest, RollbackResponse, SandboxList, SandboxView, TokenCreated,
};

/// How long to wait for a TCP connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request limit for calls that should be quick. Create and finalize have none: the server
/// answers create once the renderer is healthy (dependency installs can take minutes) and
/// finalize after pushing to the remote, and it enforces its own limits on both.
const QUICK_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a call to the server failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status.
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// No connection could be made.
    #[error("cannot reach the Studio server at {server}: {reason}")]
    Unreachable { server: String, reason: String },
    #[error("the Studio server at {server} did not answer in time")]
    TimedOut { server: String },
    /// The connection broke after it was made.
    #[error("lost the connection to the Studio server: {reason}")]
    ConnectionLost { reason: String },
    /// The server answered something that is not the API's JSON.
    #[error("unexpected answer from the Studio server ({what}): {reason}")]
    BadResponse { what: String, reason: String },
}

impl ClientError {
    /// A stable machine-readable code: the server's own for API errors.
    pub fn code(&self) -> &str {
        match self {
            Self::Api { code, .. } => code,
            Self::Unreachable { .. } => "connection_failed",
            Self::TimedOut { .. } => "timeout",
            Self::ConnectionLost { .. } => "connection_lost",
            Self::BadResponse { .. } => "invalid_response",
        }
    }

    /// Builds the error for a non-success answer. The body is the API's `{"error", "code"}`, or,
    /// from something in front of the server (a proxy's HTML page), whatever it is.
    pub fn from_error_response(status: u16, body: &[u8]) -> Self {
        if let Ok(ErrorBody { error, code }) = serde_json::from_slice(body) {
            return Self::Api {
                status,
                code,
                message: error,
            };
        }
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error");
        let text = String::from_utf8_lossy(body);
        let first_line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        let snippet: String = first_line.chars().take(200).collect();
        let message = if snippet.is_empty() {
            format!("HTTP {status} {reason}")
        } else {
            format!("HTTP {status} {reason}: {snippet}")
        };
        Self::Api {
            status,
            code: format!("http_{status}"),
            message,
        }
    }

    /// Classifies a transport failure of a request to `server`.
    pub(crate) fn from_reqwest(err: &reqwest::Error, server: &Url) -> Self {
        let server = display_url(server);
        if err.is_timeout() {
            return Self::TimedOut { server };
        }
        if err.is_connect() {
            return Self::Unreachable {
                server,
                reason: root_cause(err),
            };
        }
        if err.is_decode() {
            return Self::BadResponse {
                what: "body".into(),
                reason: root_cause(err),
            };
        }
        Self::ConnectionLost {
            reason: root_cause(err),
        }
    }

    /// The error for a connection-level I/O failure (e.g. the WebSocket handshake's TCP connect).
    pub(crate) fn unreachable(server: &Url, err: &std::io::Error) -> Self {
        Self::Unreachable {
            server: display_url(server),
            reason: describe_io(err),
        }
    }
}

/// The innermost cause, in words a person can act on.
pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    match cause.downcast_ref::<std::io::Error>() {
        Some(io) => describe_io(io),
        None => cause.to_string(),
    }
}

fn describe_io(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::ConnectionRefused => {
            "connection refused (is `studio serve` running there?)".into()
        }
        ErrorKind::ConnectionReset => "connection reset by the server".into(),
        ErrorKind::TimedOut => "timed out".into(),
        _ => err.to_string(),
    }
}

/// The URL without any user name or password, for messages.
pub fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Both only fail for URLs that cannot have credentials, which then have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// One server, one optional token.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    server: Url,
    token: Option<SecretToken>,
}

impl Client {
    pub fn new(server: Url, token: Option<SecretToken>) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("studio-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Unreachable {
                server: display_url(&server),
                reason: format!("cannot set up the HTTP client: {}", root_cause(&e)),
            })?;
        Ok(Self {
            http,
            server,
            token,
        })
    }

    pub fn server(&self) -> &Url {
        &self.server
    }

    pub(crate) fn token(&self) -> Option<&SecretToken> {
        self.token.as_ref()
    }

    /// `<server>/<segments…>`, each segment percent-encoded, keeping any path prefix of the
    /// server URL (a Studio behind a reverse proxy at `/studio/`).
    pub fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.server.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn sandbox_endpoint(&self, id: &SandboxId, action: Option<&str>) -> Url {
        let id = id.to_string();
        let mut segments = vec!["api", "v1", "sandboxes", id.as_str()];
        segments.extend(action);
        self.endpoint(&segments)
    }

    /// The WebSocket URL of a sandbox's event stream.
    pub fn websocket_url(&self, id: &SandboxId, since: Option<u64>) -> Url {
        let mut url = self.sandbox_endpoint(id, Some("ws"));
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        // http(s) -> ws(s) is always allowed: all four are "special" schemes.
        let _ = url.set_scheme(scheme);
        if let Some(since) = since {
            url.query_pairs_mut()
                .append_pair("since", &since.to_string());
        }
        url
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let request = self.http.request(method, url);
        match &self.token {
            Some(token) => request.bearer_auth(token.expose()),
            None => request,
        }
    }

    /// Sends, and returns the response if its status is a success.
    async fn send_raw(&self, request: RequestBuilder) -> Result<Response, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::from_reqwest(&e, &self.server))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        Err(ClientError::from_error_response(status, &body))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        what: &str,
    ) -> Result<T, ClientError> {
        let response = self.send_raw(request).await?;
        let body = response
            .bytes()
            .await
            .map_err(|e| ClientError::from_reqwest(&e, &self.server))?;
        serde_json::from_slice(&body).map_err(|e| ClientError::BadResponse {
            what: what.to_owned(),
            reason: e.to_string(),
        })
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        url: Url,
        body: &B,
        timeout: Option<Duration>,
        what: &str,
    ) -> Result<T, ClientError> {
        let mut request = self.request(Method::POST, url).json(body);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        self.send(request, what).await
    }

    pub async fn create(
        &self,
        request: &CreateSandboxRequest,
    ) -> Result<CreateSandboxResponse, ClientError> {
        let url = self.endpoint(&["api", "v1", "sandboxes"]);
        self.post(url, request, None, "create").await
    }

    pub async fn list(&self) -> Result<SandboxList, ClientError> {
        let url = self.endpoint(&["api", "v1", "sandboxes"]);
        let request = self.request(Method::GET, url).timeout(QUICK_TIMEOUT);
        self.send(request, "sandbox list").await
    }

    pub async fn get(&self, id: &SandboxId) -> Result<SandboxView, ClientError> {
        let request = self
            .request(Method::GET, self.sandbox_endpoint(id, None))
            .timeout(QUICK_TIMEOUT);
        self.send(request, "sandbox status").await
    }

    pub async fn execute(
        &self,
        id: &SandboxId,
        request: &ExecuteRequest,
    ) -> Result<ExecuteResponse, ClientError> {
        let url = self.sandbox_endpoint(id, Some("execute"));
        self.post(url, request, Some(QUICK_TIMEOUT), "execute")
            .await
    }

    pub async fn rollback(
        &self,
        id: &SandboxId,
        request: &RollbackRequest,
    ) -> Result<RollbackResponse, ClientError> {
        let url = self.sandbox_endpoint(id, Some("rollback"));
        self.post(url, request, Some(QUICK_TIMEOUT), "rollback")
            .await
    }

    pub async fn finalize(
        &self,
        id: &SandboxId,
        request: &FinalizeRequest,
    ) -> Result<FinalizeResponse, ClientError> {
        let url = self.sandbox_endpoint(id, Some("finalize"));
        self.post(url, request, None, "finalize").await
    }

    /// `restart`, `stop` or `start`; answers with the sandbox's status body.
    pub async fn control(
        &self,
        id: &SandboxId,
        action: Control,
    ) -> Result<SandboxView, ClientError> {
        let url = self.sandbox_endpoint(id, Some(action.as_str()));
        self.post(
            url,
            &serde_json::json!({}),
            Some(QUICK_TIMEOUT),
            action.as_str(),
        )
        .await
    }

    pub async fn delete(&self, id: &SandboxId) -> Result<(), ClientError> {
        let request = self
            .request(Method::DELETE, self.sandbox_endpoint(id, None))
            .timeout(QUICK_TIMEOUT);
        self.send_raw(request).await.map(drop)
    }

    pub async fn logs(
        &self,
        id: &SandboxId,
        lines: Option<usize>,
    ) -> Result<LogsResponse, ClientError> {
        let mut url = self.sandbox_endpoint(id, Some("logs"));
        if let Some(lines) = lines {
            url.query_pairs_mut()
                .append_pair("limit", &lines.to_string());
        }
        let request = self.request(Method::GET, url).timeout(QUICK_TIMEOUT);
        self.send(request, "logs").await
    }

    /// A one-time link that opens the sandbox's preview in a browser.
    pub async fn preview_link(&self, id: &SandboxId) -> Result<PreviewLinkResponse, ClientError> {
        let url = self.sandbox_endpoint(id, Some("preview-link"));
        let body = PreviewLinkRequest::default();
        self.post(url, &body, Some(QUICK_TIMEOUT), "preview link")
            .await
    }

    /// A scoped token for the sandbox (shown once).
    pub async fn create_token(
        &self,
        id: &SandboxId,
        expires_in_hours: Option<u32>,
    ) -> Result<TokenCreated, ClientError> {
        let url = self.sandbox_endpoint(id, Some("tokens"));
        let body = CreateTokenRequest { expires_in_hours };
        self.post(url, &body, Some(QUICK_TIMEOUT), "token").await
    }

    /// `logs?follow=true`: the streaming response, newline-delimited JSON, read by the caller.
    pub async fn follow_logs(
        &self,
        id: &SandboxId,
        lines: Option<usize>,
    ) -> Result<Response, ClientError> {
        let mut url = self.sandbox_endpoint(id, Some("logs"));
        url.query_pairs_mut().append_pair("follow", "true");
        if let Some(lines) = lines {
            url.query_pairs_mut()
                .append_pair("limit", &lines.to_string());
        }
        self.send_raw(self.request(Method::GET, url)).await
    }
}

/// Process-control actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Restart,
    Stop,
    Start,
}

impl Control {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restart => "restart",
            Self::Stop => "stop",
            Self::Start => "start",
        }
    }
}
