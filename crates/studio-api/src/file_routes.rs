//! REST handlers that read a sandbox's files: `GET /api/v1/sandboxes/{id}/files` (a directory
//! listing) and `GET /api/v1/sandboxes/{id}/files/{path}` (a file's text and git blob id). The
//! path guard, what is hidden and how links are followed are `studio-git`'s (`read.rs`); edits
//! stay with `routes::execute`.

// utoipa's `params(...)` expansion qualifies `IntoParams` types with their module path.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use studio_sandbox::{DirEntry, EntryKind, FileText};
use studio_wire::{ErrorBody, FileContent, FileEntry, FileKind, FileList};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::json::PathParam;
use crate::state::AppState;

// `parameter_in = Query`: see `routes::LogsQuery`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FilesQuery {
    /// The directory, relative to the repository root (default: the root).
    path: Option<String>,
}

/// List a directory of the sandbox's checkout: directories first, then files, each by name;
/// `.git`, `.studio/`, `node_modules/` and whatever the path guard refuses are left out.
#[utoipa::path(get, path = "/api/v1/sandboxes/{id}/files", tag = "files",
    params(("id" = String, Path, description = "sb_<hex>"), FilesQuery),
    responses(
        (status = 200, body = FileList),
        (status = 400, description = "the path guard refused the path (`path_outside_repo`, `path_in_git_dir`, `path_generated`, …)", body = ErrorBody),
        (status = 404, description = "`sandbox_not_found`, or `file_not_found`: no such directory", body = ErrorBody),
        (status = 409, description = "`sandbox_not_active`: the sandbox has no checkout (expired, finalized)", body = ErrorBody),
        (status = 422, description = "`not_a_directory`: the path names a file", body = ErrorBody),
    ))]
pub async fn list_files(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    query: Result<Query<FilesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FileList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let entries = state
        .manager
        .list_files(&id, query.path.as_deref())
        .await?
        .into_iter()
        .map(entry_view)
        .collect();
    Ok(Json(FileList { entries }))
}

/// Read a file of the sandbox's checkout as UTF-8 text, with its git blob id (`hash`, the
/// `expected_hash` of a later edit), at most 5 MiB.
#[utoipa::path(get, path = "/api/v1/sandboxes/{id}/files/{path}", tag = "files",
    params(
        ("id" = String, Path, description = "sb_<hex>"),
        ("path" = String, Path, description = "relative to the repository root; may contain `/`"),
    ),
    responses(
        (status = 200, body = FileContent),
        (status = 400, description = "the path guard refused the path (`path_outside_repo`, `path_in_git_dir`, `path_generated`, `path_symlink_escape`, …)", body = ErrorBody),
        (status = 404, description = "`sandbox_not_found`, or `file_not_found`: no such file", body = ErrorBody),
        (status = 409, description = "`sandbox_not_active`: the sandbox has no checkout (expired, finalized)", body = ErrorBody),
        (status = 422, description = "`path_is_directory`, `binary_file` (not UTF-8 text), `file_too_large` (over 5 MiB), `not_a_regular_file`", body = ErrorBody),
    ))]
pub async fn read_file(
    State(state): State<AppState>,
    PathParam((id, path)): PathParam<(String, String)>,
) -> Result<Json<FileContent>, ApiError> {
    let file = state.manager.read_file(&id, &path).await?;
    Ok(Json(content_view(file)))
}

fn entry_view(entry: DirEntry) -> FileEntry {
    FileEntry {
        name: entry.name,
        path: entry.path,
        kind: match entry.kind {
            EntryKind::File => FileKind::File,
            EntryKind::Dir => FileKind::Dir,
        },
        size: entry.size,
    }
}

fn content_view(file: FileText) -> FileContent {
    FileContent {
        path: file.path,
        content: file.content,
        hash: file.hash,
        size: file.size,
    }
}
