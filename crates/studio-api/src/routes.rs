//! REST handlers. Each one validates its input, calls the manager, and answers a wire type or an
//! [`ApiError`]. The `#[utoipa::path]` annotations are the OpenAPI description: there is no second,
//! hand-written copy to drift out of date.

// utoipa's `params(...)` expansion qualifies `IntoParams` types with their module path.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use studio_sandbox::{Execute, FileOp, RollbackTo};
use studio_wire::{
    CreateSandboxRequest, CreateSandboxResponse, ErrorBody, ExecuteCommand, ExecuteRequest,
    ExecuteResponse, FinalizeRequest, FinalizeResponse, LogRecord, LogsResponse, RollbackRequest,
    RollbackResponse, SandboxList, SandboxView,
};
use utoipa::IntoParams;

use crate::convert::{create_request, sandbox_view};
use crate::error::ApiError;
use crate::json::{JsonBody, PathParam};
use crate::state::AppState;

/// Create a sandbox; answers once its renderer serves the page.
#[utoipa::path(post, path = "/api/v1/sandboxes", tag = "sandboxes", request_body = CreateSandboxRequest,
    responses(
        (status = 201, body = CreateSandboxResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        // A scoped token reaches its own sandbox's routes only (`auth`).
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "`--max-sandboxes` reached (with `Retry-After`)", body = ErrorBody),
        (status = 502, body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateSandboxRequest>,
) -> Result<Response, ApiError> {
    let snapshot = state.manager.create(create_request(body)).await?;
    let response = CreateSandboxResponse {
        sandbox_id: snapshot.id.to_string(),
        renderer_url: snapshot.renderer_url.clone().unwrap_or_default(),
        websocket_url: snapshot.websocket_url.clone(),
        branch: snapshot.branch.clone(),
        status: snapshot.status.as_str().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// List every sandbox the server knows, oldest first.
#[utoipa::path(get, path = "/api/v1/sandboxes", tag = "sandboxes",
    // 403: a scoped token reaches its own sandbox's routes only (`auth`).
    responses((status = 200, body = SandboxList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<SandboxList>, ApiError> {
    let sandboxes = state
        .manager
        .list()
        .await?
        .into_iter()
        .map(sandbox_view)
        .collect();
    Ok(Json(SandboxList { sandboxes }))
}

/// One sandbox's status, URLs and commits.
#[utoipa::path(get, path = "/api/v1/sandboxes/{id}", tag = "sandboxes",
    params(("id" = String, Path, description = "sb_<hex>")),
    responses((status = 200, body = SandboxView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<Json<SandboxView>, ApiError> {
    Ok(Json(sandbox_view(state.manager.get(&id).await?)))
}

/// Write or delete a file; auto-commits when the sandbox has `auto_commit`.
#[utoipa::path(post, path = "/api/v1/sandboxes/{id}/execute", tag = "sandboxes",
    params(("id" = String, Path, description = "sb_<hex>")), request_body = ExecuteRequest,
    responses(
        (status = 200, body = ExecuteResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn execute(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(body): JsonBody<ExecuteRequest>,
) -> Result<Json<ExecuteResponse>, ApiError> {
    let op = match (body.command, body.content) {
        (ExecuteCommand::WriteFile, Some(content)) => FileOp::Write {
            path: body.file_path,
            content: content.into_bytes(),
        },
        (ExecuteCommand::WriteFile, None) => {
            return Err(ApiError::invalid(
                "missing_content",
                "write_file needs `content`",
            ));
        }
        (ExecuteCommand::DeleteFile, None) => FileOp::Delete {
            path: body.file_path,
        },
        (ExecuteCommand::DeleteFile, Some(_)) => {
            return Err(ApiError::invalid(
                "unexpected_content",
                "delete_file takes no `content`",
            ));
        }
    };
    let deleting = matches!(op, FileOp::Delete { .. });
    let request = Execute {
        op,
        description: body.description.unwrap_or_default(),
        expected_hash: studio_sandbox::expected_blob(body.expected_hash)?,
    };
    let commit_hash = state.manager.execute(&id, request).await?;
    let output = if deleting {
        "File deleted successfully"
    } else {
        "File written successfully"
    };
    Ok(Json(ExecuteResponse {
        output: output.to_owned(),
        commit_hash,
    }))
}

/// Move the session branch back (or forward) to one of its commits.
#[utoipa::path(post, path = "/api/v1/sandboxes/{id}/rollback", tag = "sandboxes",
    params(("id" = String, Path, description = "sb_<hex>")), request_body = RollbackRequest,
    responses(
        (status = 200, body = RollbackResponse), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn rollback(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(body): JsonBody<RollbackRequest>,
) -> Result<Json<RollbackResponse>, ApiError> {
    let target = RollbackTo::from_fields(body.commit_hash, body.steps)?;
    let current_hash = state.manager.rollback(&id, target).await?;
    Ok(Json(RollbackResponse {
        success: true,
        current_hash,
    }))
}

/// Push the session branch and open a pull request; the sandbox is then torn down.
#[utoipa::path(post, path = "/api/v1/sandboxes/{id}/finalize", tag = "sandboxes",
    params(("id" = String, Path, description = "sb_<hex>")), request_body = FinalizeRequest,
    responses(
        (status = 200, body = FinalizeResponse), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody),
    ))]
pub async fn finalize(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(body): JsonBody<FinalizeRequest>,
) -> Result<Json<FinalizeResponse>, ApiError> {
    if body.title.trim().is_empty() {
        return Err(ApiError::invalid(
            "missing_title",
            "a pull request needs a non-empty `title`",
        ));
    }
    let (pr_url, pr_number) = state
        .manager
        .finalize(&id, body.title, body.description.unwrap_or_default())
        .await?;
    Ok(Json(FinalizeResponse { pr_url, pr_number }))
}

macro_rules! control {
    ($name:ident, $method:ident, $path:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "sandboxes",
            params(("id" = String, Path, description = "sb_<hex>")),
            responses((status = 200, body = SandboxView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
        pub async fn $name(State(state): State<AppState>, PathParam(id): PathParam<String>) -> Result<Json<SandboxView>, ApiError> {
            Ok(Json(sandbox_view(state.manager.$method(&id).await?)))
        }
    };
}

control!(
    restart,
    restart,
    "/api/v1/sandboxes/{id}/restart",
    "Restart the renderer (not counted as a crash)."
);
control!(
    stop,
    stop,
    "/api/v1/sandboxes/{id}/stop",
    "Stop the renderer; the checkout and port stay."
);
control!(
    start,
    start,
    "/api/v1/sandboxes/{id}/start",
    "Start a stopped or failed renderer again."
);

/// Tear the sandbox down: processes gone, port released, checkout removed.
#[utoipa::path(delete, path = "/api/v1/sandboxes/{id}", tag = "sandboxes",
    params(("id" = String, Path, description = "sb_<hex>")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    state.manager.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// `parameter_in = Query`: without it utoipa declares the fields as required *path* parameters,
// and clients (and the fuzzer) generated from the document put them in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    /// Stream new lines as they arrive (newline-delimited JSON).
    #[serde(default)]
    follow: bool,
    /// How many recent lines (default 200, at most 10000).
    limit: Option<usize>,
}

/// The renderer's recent output; `?follow=true` streams it as newline-delimited JSON.
#[utoipa::path(get, path = "/api/v1/sandboxes/{id}/logs", tag = "sandboxes",
    params(("id" = String, Path, description = "sb_<hex>"), LogsQuery),
    responses(
        // `?follow=true` answers a stream of `LogRecord`s, one JSON object per line.
        (status = 200, content((LogsResponse = "application/json"), (LogRecord = "application/x-ndjson"))),
        (status = 404, body = ErrorBody),
        // `?follow=true` of a sandbox without a renderer (stopped, failed): `no_renderer`.
        (status = 409, body = ErrorBody),
    ))]
pub async fn logs(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    query: Result<Query<LogsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = query.limit.unwrap_or(200).min(10_000);
    if query.follow {
        return crate::logs::follow(&state, &id, limit).await;
    }
    let lines = state.manager.logs(&id, limit).await?;
    let lines = lines.into_iter().map(crate::logs::line_view).collect();
    Ok(Json(LogsResponse { lines }).into_response())
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "alive")))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers and the server is not shutting down. The body also lists the
/// renderer limits this host cannot enforce (`unenforced_limits`: no cgroup controller for them).
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses((status = 200, description = "ready"), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    state.manager.ready().await?;
    Ok(Json(serde_json::json!({
        "status": "ready",
        "unenforced_limits": state.manager.unenforced_limits(),
    })))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "service", responses((status = 200, description = "text exposition format")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.manager.metrics_text().await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
