//! Changing a sandbox's files and branch: execute, rollback and finalize.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `command` of an execute request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecuteCommand {
    WriteFile,
    DeleteFile,
}

/// `POST /api/v1/sandboxes/{id}/execute`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    pub command: ExecuteCommand,
    /// Relative to the repository root; must stay inside it.
    pub file_path: String,
    /// Required for `write_file`, refused for `delete_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Goes into the commit message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The git blob id (40 hex digits, the `hash` of a file read) the file must still have:
    /// otherwise `409 stale_file` and nothing is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExecuteResponse {
    pub output: String,
    /// `null` when `auto_commit` is off or the content was identical.
    pub commit_hash: Option<String>,
}

/// `POST /api/v1/sandboxes/{id}/rollback`: exactly one of the two fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<u32>,
}

impl RollbackRequest {
    /// Back (or forward) to the commit `hash`.
    pub fn to_commit(hash: impl Into<String>) -> Self {
        Self {
            commit_hash: Some(hash.into()),
            steps: None,
        }
    }

    /// Back `steps` commits.
    pub fn by_steps(steps: u32) -> Self {
        Self {
            commit_hash: None,
            steps: Some(steps),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RollbackResponse {
    pub success: bool,
    pub current_hash: String,
}

/// `POST /api/v1/sandboxes/{id}/finalize`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinalizeRequest {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FinalizeResponse {
    pub pr_url: String,
    pub pr_number: u64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::roundtrip::check;

    const HASH: &str = "8f3c2a1b9d4e5f60718293a4b5c6d7e8f9012345";

    #[test]
    fn execute_command_spelling() {
        check(&ExecuteCommand::WriteFile, json!("write_file"));
        check(&ExecuteCommand::DeleteFile, json!("delete_file"));
    }

    #[test]
    fn execute_request() {
        let write = ExecuteRequest {
            command: ExecuteCommand::WriteFile,
            file_path: "src/components/Button/Button.tsx".into(),
            content: Some("export {}".into()),
            description: Some("Updated border-radius".into()),
            expected_hash: Some(HASH.into()),
        };
        check(
            &write,
            json!({"command": "write_file", "file_path": "src/components/Button/Button.tsx",
                   "content": "export {}", "description": "Updated border-radius",
                   "expected_hash": HASH}),
        );
        let delete = ExecuteRequest {
            command: ExecuteCommand::DeleteFile,
            file_path: "old.tsx".into(),
            content: None,
            description: None,
            expected_hash: None,
        };
        check(
            &delete,
            json!({"command": "delete_file", "file_path": "old.tsx"}),
        );
        let typo = serde_json::from_value::<ExecuteRequest>(
            json!({"command": "delete_file", "file_path": "a", "comit_hash": "x"}),
        );
        assert!(typo.unwrap_err().to_string().contains("comit_hash"));
    }

    #[test]
    fn execute_response_always_has_commit_hash() {
        let committed = ExecuteResponse {
            output: "File written successfully".into(),
            commit_hash: Some(HASH.into()),
        };
        check(
            &committed,
            json!({"output": "File written successfully", "commit_hash": HASH}),
        );
        let uncommitted = ExecuteResponse {
            output: "File written successfully".into(),
            commit_hash: None,
        };
        check(
            &uncommitted,
            json!({"output": "File written successfully", "commit_hash": null}),
        );
    }

    #[test]
    fn rollback_request_has_exactly_one_field() {
        check(&RollbackRequest::by_steps(2), json!({"steps": 2}));
        check(
            &RollbackRequest::to_commit("abc"),
            json!({"commit_hash": "abc"}),
        );
    }

    #[test]
    fn rollback_response() {
        let rolled = RollbackResponse {
            success: true,
            current_hash: HASH.into(),
        };
        check(&rolled, json!({"success": true, "current_hash": HASH}));
    }

    #[test]
    fn finalize_request() {
        let request = FinalizeRequest {
            title: "New buttons".into(),
            description: Some("Rounder.".into()),
        };
        check(
            &request,
            json!({"title": "New buttons", "description": "Rounder."}),
        );
        let bare = FinalizeRequest {
            title: "New buttons".into(),
            description: None,
        };
        check(&bare, json!({"title": "New buttons"}));
    }

    #[test]
    fn finalize_response() {
        let pr = FinalizeResponse {
            pr_url: "https://github.com/acme/ui/pull/123".into(),
            pr_number: 123,
        };
        check(
            &pr,
            json!({"pr_url": "https://github.com/acme/ui/pull/123", "pr_number": 123}),
        );
    }
}
