//! Creating a sandbox, and what the server says about one: `POST /api/v1/sandboxes`,
//! `GET /api/v1/sandboxes[/{id}]` and the process-control answers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The sandbox type a create request gets when it names none (the only one today).
pub const DEFAULT_KIND: &str = "component-studio";

/// `POST /api/v1/sandboxes`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSandboxRequest {
    /// Sandbox type; only `component-studio` exists today.
    #[serde(rename = "type", default = "default_type")]
    #[schema(default = "component-studio")]
    pub kind: String,
    /// Git URL (`https://`, `ssh://`, scp-style), `file://` URL or local path.
    pub repository: String,
    /// Base branch; default: the repository's default branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Commit every edit (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_commit: Option<bool>,
    /// Default `AI: {description} - {timestamp}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_pattern: Option<String>,
    /// Inactivity timeout in hours (decimal), default from the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_hours: Option<f64>,
    /// Crashes tolerated before the sandbox is `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_restarts: Option<u32>,
    /// Glob or globs of component files; default `src/components/**/*.{tsx,jsx}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<OneOrMany>,
    /// `owner/name` on GitHub; default derived from a GitHub repository URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_repo: Option<String>,
    /// Repository paths imported before any component.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<Vec<String>>,
    /// `path#Export` of a provider wrapping each rendered component.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<String>,
}

fn default_type() -> String {
    DEFAULT_KIND.to_owned()
}

impl CreateSandboxRequest {
    /// A request for `repository` with every optional field left to the server.
    pub fn new(repository: impl Into<String>) -> Self {
        Self {
            kind: default_type(),
            repository: repository.into(),
            branch: None,
            auto_commit: None,
            commit_pattern: None,
            timeout_hours: None,
            max_restarts: None,
            components: None,
            github_repo: None,
            setup: None,
            wrapper: None,
        }
    }
}

/// A string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateSandboxResponse {
    pub sandbox_id: String,
    pub renderer_url: String,
    pub websocket_url: String,
    pub branch: String,
    pub status: String,
}

/// One commit of the session branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CommitView {
    /// 40 hex digits.
    pub hash: String,
    pub message: String,
    /// RFC 3339.
    pub timestamp: String,
}

/// `GET /api/v1/sandboxes/{id}` (and each element of the list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
    /// What the renderer's process tree uses now, read from its cgroup; absent while no
    /// renderer runs, or where this host has no cgroup controller to read it from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesView>,
}

/// The renderer's use of memory and CPU (its whole process tree: Vite and anything it started).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResourcesView {
    /// Memory charged to the renderer's cgroup now, page cache included (cgroup v2
    /// `memory.current`, v1 `memory.usage_in_bytes`).
    pub memory_bytes: u64,
    /// CPU time the renderer's processes have used since it started, in microseconds (v2
    /// `cpu.stat` `usage_usec`, v1 `cpuacct.usage`); the difference between two readings over
    /// their interval is the CPU share.
    pub cpu_usage_usec: u64,
}

/// `GET /api/v1/sandboxes`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SandboxList {
    pub sandboxes: Vec<SandboxView>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::roundtrip::check;

    const HASH: &str = "8f3c2a1b9d4e5f60718293a4b5c6d7e8f9012345";

    fn commit() -> CommitView {
        CommitView {
            hash: HASH.into(),
            message: "AI: Updated border-radius - 2026-11-22 14:30".into(),
            timestamp: "2026-11-22T14:30:12Z".into(),
        }
    }

    fn commit_json() -> serde_json::Value {
        json!({"hash": HASH, "message": "AI: Updated border-radius - 2026-11-22 14:30", "timestamp": "2026-11-22T14:30:12Z"})
    }

    fn view() -> SandboxView {
        SandboxView {
            id: "sb_0123456789abcdef".into(),
            status: "running".into(),
            renderer_url: Some("http://127.0.0.1:5173/".into()),
            websocket_url: "ws://127.0.0.1:7700/api/v1/sandboxes/sb_0123456789abcdef/ws".into(),
            repository: "https://github.com/acme/design-system.git".into(),
            branch: "design/studio-0123456789abcdef".into(),
            base_branch: "main".into(),
            git_commits: vec![commit()],
            restarts: 1,
            created_at: "2026-11-22T14:00:00Z".into(),
            last_activity: "2026-11-22T14:30:12Z".into(),
            pr_url: None,
            pr_number: None,
            error: None,
            resources: Some(ResourcesView {
                memory_bytes: 104_857_600,
                cpu_usage_usec: 2_500_000,
            }),
        }
    }

    fn view_json() -> serde_json::Value {
        json!({
            "id": "sb_0123456789abcdef", "status": "running",
            "renderer_url": "http://127.0.0.1:5173/",
            "websocket_url": "ws://127.0.0.1:7700/api/v1/sandboxes/sb_0123456789abcdef/ws",
            "repository": "https://github.com/acme/design-system.git",
            "branch": "design/studio-0123456789abcdef", "base_branch": "main",
            "git_commits": [commit_json()], "restarts": 1,
            "created_at": "2026-11-22T14:00:00Z", "last_activity": "2026-11-22T14:30:12Z",
            "resources": {"memory_bytes": 104_857_600, "cpu_usage_usec": 2_500_000},
        })
    }

    #[test]
    fn create_request_sends_only_what_is_set() {
        check(
            &CreateSandboxRequest::new("/srv/ds"),
            json!({"type": "component-studio", "repository": "/srv/ds"}),
        );
        let full = CreateSandboxRequest {
            kind: "component-studio".into(),
            repository: "https://github.com/acme/ui.git".into(),
            branch: Some("main".into()),
            auto_commit: Some(false),
            commit_pattern: Some("AI: {description}".into()),
            timeout_hours: Some(0.5),
            max_restarts: Some(2),
            components: Some(OneOrMany::Many(vec!["src/**/*.tsx".into()])),
            github_repo: Some("acme/ui".into()),
            setup: Some(vec!["src/index.css".into()]),
            wrapper: Some("src/Theme.tsx#Theme".into()),
        };
        check(
            &full,
            json!({
                "type": "component-studio", "repository": "https://github.com/acme/ui.git",
                "branch": "main", "auto_commit": false, "commit_pattern": "AI: {description}",
                "timeout_hours": 0.5, "max_restarts": 2, "components": ["src/**/*.tsx"],
                "github_repo": "acme/ui", "setup": ["src/index.css"], "wrapper": "src/Theme.tsx#Theme",
            }),
        );
    }

    #[test]
    fn create_request_defaults_its_type_and_rejects_typos() {
        let parsed: CreateSandboxRequest =
            serde_json::from_value(json!({"repository": "/srv/ds"})).unwrap();
        assert_eq!(parsed, CreateSandboxRequest::new("/srv/ds"));
        let typo = serde_json::from_value::<CreateSandboxRequest>(
            json!({"repository": "/srv/ds", "auto_comit": true}),
        );
        assert!(typo.unwrap_err().to_string().contains("auto_comit"));
    }

    #[test]
    fn one_or_many() {
        check(&OneOrMany::One("a/*.tsx".into()), json!("a/*.tsx"));
        check(
            &OneOrMany::Many(vec!["a".into(), "b".into()]),
            json!(["a", "b"]),
        );
        assert_eq!(OneOrMany::One("a".into()).into_vec(), vec!["a".to_owned()]);
    }

    #[test]
    fn create_response() {
        let created = CreateSandboxResponse {
            sandbox_id: "sb_0123456789abcdef".into(),
            renderer_url: "http://127.0.0.1:5173/".into(),
            websocket_url: "ws://127.0.0.1:7700/api/v1/sandboxes/sb_0123456789abcdef/ws".into(),
            branch: "design/studio-0123456789abcdef".into(),
            status: "running".into(),
        };
        check(
            &created,
            json!({
                "sandbox_id": "sb_0123456789abcdef", "renderer_url": "http://127.0.0.1:5173/",
                "websocket_url": "ws://127.0.0.1:7700/api/v1/sandboxes/sb_0123456789abcdef/ws",
                "branch": "design/studio-0123456789abcdef", "status": "running",
            }),
        );
    }

    #[test]
    fn commit_view() {
        check(&commit(), commit_json());
    }

    #[test]
    fn sandbox_view_leaves_out_what_it_does_not_have() {
        check(&view(), view_json());
        let mut finalized = view();
        finalized.status = "finalized".into();
        finalized.renderer_url = None;
        finalized.pr_url = Some("https://github.com/acme/ui/pull/123".into());
        finalized.pr_number = Some(123);
        finalized.error = Some("vite exited with status 1".into());
        finalized.resources = None;
        let mut expected = view_json();
        expected
            .as_object_mut()
            .expect("an object")
            .remove("resources");
        expected["status"] = json!("finalized");
        expected["renderer_url"] = json!(null);
        expected["pr_url"] = json!("https://github.com/acme/ui/pull/123");
        expected["pr_number"] = json!(123);
        expected["error"] = json!("vite exited with status 1");
        check(&finalized, expected);
    }

    #[test]
    fn sandbox_view_accepts_fields_it_does_not_know() {
        let mut body = view_json();
        body["from_a_newer_server"] = json!(true);
        assert_eq!(serde_json::from_value::<SandboxView>(body).unwrap(), view());
    }

    #[test]
    fn sandbox_list() {
        let list = SandboxList {
            sandboxes: vec![view()],
        };
        check(&list, json!({"sandboxes": [view_json()]}));
    }
}
