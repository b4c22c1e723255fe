//! Conversions between the manager's domain types and the wire types of `studio_wire`, and from
//! the manager's errors to [`ApiError`].

use axum::http::StatusCode;
use studio_sandbox::{ErrorKind, ManagerError, SandboxSnapshot};
use time::format_description::well_known::Rfc3339;

use studio_wire::{CommitView, CreateSandboxRequest, ResourcesView, SandboxView};

use crate::error::ApiError;

pub fn rfc3339(t: time::OffsetDateTime) -> String {
    // RFC 3339 formatting of a UTC timestamp only fails for years outside 0..=9999.
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

impl From<ManagerError> for ApiError {
    fn from(e: ManagerError) -> Self {
        let status = match e.kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::TooMany => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.code, e.message)
    }
}

pub fn sandbox_view(s: SandboxSnapshot) -> SandboxView {
    SandboxView {
        id: s.id.to_string(),
        status: s.status.as_str().to_owned(),
        renderer_url: s.renderer_url,
        websocket_url: s.websocket_url,
        repository: s.repository,
        branch: s.branch,
        base_branch: s.base_branch,
        git_commits: s
            .commits
            .into_iter()
            .map(|c| CommitView {
                hash: c.hash,
                message: c.message,
                timestamp: rfc3339(c.timestamp),
            })
            .collect(),
        restarts: s.restarts,
        created_at: rfc3339(s.created_at),
        last_activity: rfc3339(s.last_activity),
        pr_url: s.pull_request.as_ref().map(|(url, _)| url.clone()),
        pr_number: s.pull_request.map(|(_, n)| n),
        error: None,
        resources: s.resources.map(|r| ResourcesView {
            memory_bytes: r.memory_bytes,
            cpu_usage_usec: r.cpu_usage_usec,
        }),
    }
}

pub fn create_request(r: CreateSandboxRequest) -> studio_sandbox::CreateSandbox {
    studio_sandbox::CreateSandbox {
        kind: Some(r.kind),
        repository: r.repository,
        branch: r.branch,
        auto_commit: r.auto_commit,
        commit_pattern: r.commit_pattern,
        timeout_hours: r.timeout_hours,
        max_restarts: r.max_restarts,
        components: r.components.map(|c| c.into_vec()),
        github_repo: r.github_repo,
        setup: r.setup,
        wrapper: r.wrapper,
    }
}
