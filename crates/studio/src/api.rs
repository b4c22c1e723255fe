//! The wire types of Studio's REST API (`shared/API.md`), as the client sees them.
//!
//! Requests carry exactly the fields the server accepts (it rejects unknown ones). Responses keep
//! every field they do not name in `extra`, so `--json` prints what the server sent even after the
//! server grows new fields, and an older client never fails on a newer server's answer.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Fields of a response this client does not know (yet).
pub type Extra = Map<String, Value>;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub code: String,
}

/// `POST /api/v1/sandboxes`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateRequest {
    #[serde(rename = "type")]
    pub kind: String,
    pub repository: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub auto_commit: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_hours: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_restarts: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_repo: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<String>,
}

/// `201` answer to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    pub sandbox_id: String,
    pub renderer_url: String,
    pub websocket_url: String,
    pub branch: String,
    pub status: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One commit of a session branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub hash: String,
    pub message: String,
    /// RFC 3339.
    pub timestamp: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The status body: `GET /api/v1/sandboxes/{id}`, each list element, and process control answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sandbox {
    pub id: String,
    pub status: String,
    /// `null` while no renderer runs.
    pub renderer_url: Option<String>,
    pub websocket_url: String,
    pub repository: String,
    pub branch: String,
    pub base_branch: String,
    #[serde(default)]
    pub git_commits: Vec<Commit>,
    #[serde(default)]
    pub restarts: u32,
    pub created_at: String,
    pub last_activity: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /api/v1/sandboxes`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxList {
    pub sandboxes: Vec<Sandbox>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `command` of an execute request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecCommand {
    WriteFile,
    DeleteFile,
}

/// `POST /api/v1/sandboxes/{id}/execute`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecRequest {
    pub command: ExecCommand,
    pub file_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Executed {
    pub output: String,
    /// `null` when nothing was committed (auto-commit off, or identical content).
    pub commit_hash: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /api/v1/sandboxes/{id}/rollback`: exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackRequest {
    CommitHash(String),
    Steps(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolledBack {
    pub success: bool,
    pub current_hash: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /api/v1/sandboxes/{id}/finalize`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FinalizeRequest {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finalized {
    pub pr_url: String,
    pub pr_number: u64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One line of renderer output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// RFC 3339.
    pub timestamp: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    pub line: String,
}

/// `GET /api/v1/sandboxes/{id}/logs`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logs {
    pub lines: Vec<LogLine>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One record of `GET …/logs?follow=true` (newline-delimited JSON).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum LogRecord {
    Line(LogLine),
    /// The follower fell behind and the server skipped this many lines rather than wait.
    Skipped {
        skipped: u64,
    },
}

/// One WebSocket message: `{"type", "payload", "seq"}`. `seq` is absent on replies that are not
/// sandbox events (an error answering the client's own message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEvent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub payload: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rollback_request_has_exactly_one_field() {
        let by_steps = serde_json::to_value(RollbackRequest::Steps(2)).unwrap();
        assert_eq!(by_steps, json!({"steps": 2}));
        let by_hash = serde_json::to_value(RollbackRequest::CommitHash("abc".into())).unwrap();
        assert_eq!(by_hash, json!({"commit_hash": "abc"}));
    }

    #[test]
    fn unknown_response_fields_survive_a_round_trip() {
        let body =
            json!({"output": "File written successfully", "commit_hash": null, "took_ms": 12});
        let parsed: Executed = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(parsed.commit_hash, None);
        assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
    }

    #[test]
    fn follow_records_are_lines_or_skips() {
        let line: LogRecord = serde_json::from_str(
            r#"{"timestamp":"2026-11-22T14:30:00Z","stream":"stdout","line":"ready"}"#,
        )
        .unwrap();
        assert!(matches!(line, LogRecord::Line(ref l) if l.line == "ready"));
        let skip: LogRecord = serde_json::from_str(r#"{"skipped":3}"#).unwrap();
        assert_eq!(skip, LogRecord::Skipped { skipped: 3 });
    }
}
