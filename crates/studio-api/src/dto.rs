//! Request and response bodies of the REST API, exactly as `shared/API.md` names them.
//!
//! These are wire types: they derive `ToSchema` so that `/api/v1/openapi.json` is generated from the
//! same definitions the handlers use. Requests reject unknown fields, so a typo such as
//! `"comit_hash"` is an error that names the field instead of a silently ignored key.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/sandboxes`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSandboxRequest {
    /// Sandbox type; only `component-studio` exists today.
    #[serde(rename = "type", default = "default_type")]
    #[schema(default = "component-studio")]
    pub kind: String,
    /// Git URL (`https://`, `ssh://`, scp-style), `file://` URL or local path.
    pub repository: String,
    /// Base branch; default: the repository's default branch.
    pub branch: Option<String>,
    /// Commit every edit (default true).
    pub auto_commit: Option<bool>,
    /// Default `AI: {description} - {timestamp}`.
    pub commit_pattern: Option<String>,
    /// Inactivity timeout in hours (decimal), default from the server.
    pub timeout_hours: Option<f64>,
    /// Crashes tolerated before the sandbox is `failed`.
    pub max_restarts: Option<u32>,
    /// Glob or globs of component files; default `src/components/**/*.{tsx,jsx}`.
    pub components: Option<OneOrMany>,
    /// `owner/name` on GitHub; default derived from a GitHub repository URL.
    pub github_repo: Option<String>,
    /// Repository paths imported before any component.
    pub setup: Option<Vec<String>>,
    /// `path#Export` of a provider wrapping each rendered component.
    pub wrapper: Option<String>,
}

fn default_type() -> String {
    "component-studio".to_owned()
}

/// A string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

/// `201` answer to create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateSandboxResponse {
    pub sandbox_id: String,
    pub renderer_url: String,
    pub websocket_url: String,
    pub branch: String,
    pub status: String,
}

/// One commit of the session branch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommitView {
    /// 40 hex digits.
    pub hash: String,
    pub message: String,
    /// RFC 3339.
    pub timestamp: String,
}

/// `GET /api/v1/sandboxes/{id}` (and each element of the list).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SandboxView {
    pub id: String,
    /// One of `starting`, `running`, `restarting`, `stopped`, `failed`, `expired`, `finalized`.
    pub status: String,
    pub renderer_url: Option<String>,
    pub websocket_url: String,
    pub repository: String,
    pub branch: String,
    pub base_branch: String,
    /// The session's commits on its branch, oldest first.
    pub git_commits: Vec<CommitView>,
    pub restarts: u32,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub last_activity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr_number: Option<u64>,
    /// Why the sandbox failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /api/v1/sandboxes`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SandboxList {
    pub sandboxes: Vec<SandboxView>,
}

/// `command` of an execute request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecuteCommand {
    WriteFile,
    DeleteFile,
}

/// `POST /api/v1/sandboxes/{id}/execute`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    pub command: ExecuteCommand,
    /// Relative to the repository root; must stay inside it.
    pub file_path: String,
    /// Required for `write_file`, refused for `delete_file`.
    pub content: Option<String>,
    /// Goes into the commit message.
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExecuteResponse {
    pub output: String,
    /// `null` when `auto_commit` is off or the content was identical.
    pub commit_hash: Option<String>,
}

/// `POST /api/v1/sandboxes/{id}/rollback`: exactly one of the two fields.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    pub commit_hash: Option<String>,
    pub steps: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RollbackResponse {
    pub success: bool,
    pub current_hash: String,
}

/// `POST /api/v1/sandboxes/{id}/finalize`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinalizeRequest {
    pub title: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FinalizeResponse {
    pub pr_url: String,
    pub pr_number: u64,
}

/// One line of renderer output.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogLineView {
    /// RFC 3339 with sub-second precision.
    pub timestamp: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    pub line: String,
}

/// `GET /api/v1/sandboxes/{id}/logs`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogsResponse {
    pub lines: Vec<LogLineView>,
}
