//! Errors of the sandbox manager, classified so the API layer can answer without knowing every
//! lower crate's error type.

use studio_core::SandboxStatus;

/// How a failure should be answered (the API maps these to HTTP statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed (400).
    BadRequest,
    /// No such sandbox (404).
    NotFound,
    /// The sandbox's state forbids the request (409).
    Conflict,
    /// Well-formed but invalid (422).
    Invalid,
    /// Too large (413).
    TooLarge,
    /// A server limit is reached; retry later (429 with `Retry-After`).
    TooMany,
    /// A peer failed: the git remote, npm, GitHub (502).
    Upstream,
    /// Studio is overloaded or shutting down (503).
    Unavailable,
    /// Our fault (500).
    Internal,
}

/// A manager failure: what kind, a stable machine code, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ManagerError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
}

impl ManagerError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }

    pub fn not_found(id: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "sandbox_not_found",
            format!("no sandbox with id {id}"),
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, "internal_error", message)
    }

    /// The sandbox is in a status that forbids `action`.
    pub fn wrong_status(action: &str, status: SandboxStatus) -> Self {
        Self::conflict(
            "sandbox_not_active",
            format!("cannot {action}: the sandbox is {status}"),
        )
    }

    /// The sandbox's actor is gone (torn down concurrently, or the server is stopping).
    pub fn actor_gone() -> Self {
        Self::new(
            ErrorKind::Unavailable,
            "sandbox_unavailable",
            "the sandbox is shutting down; retry in a moment",
        )
    }

    /// Appends the tail of a process's output (npm, Vite) so the caller sees why it failed.
    pub fn with_output(mut self, output: &str) -> Self {
        let output = output.trim();
        if !output.is_empty() {
            self.message = format!("{}\n--- last output ---\n{output}", self.message);
        }
        self
    }

    /// Prefixes the message with the step that failed ("push: …").
    pub fn during(mut self, step: &str) -> Self {
        self.message = format!("{step}: {}", self.message);
        self
    }
}

impl From<studio_store::StoreError> for ManagerError {
    fn from(e: studio_store::StoreError) -> Self {
        match e {
            studio_store::StoreError::SandboxNotFound(id) => Self::not_found(id),
            // The database did not take (or give) it: nothing was stored or announced, and the
            // same request may well succeed once the database is back.
            e @ studio_store::StoreError::Database(_) => Self::new(
                ErrorKind::Unavailable,
                "database_unavailable",
                format!("database: {e}"),
            ),
            other => Self::new(
                ErrorKind::Internal,
                "store_error",
                format!("database: {other}"),
            ),
        }
    }
}

impl From<studio_forge::ForgeError> for ManagerError {
    fn from(e: studio_forge::ForgeError) -> Self {
        Self::new(ErrorKind::Upstream, e.code(), e.to_string())
    }
}

impl From<studio_renderer::RendererError> for ManagerError {
    fn from(e: studio_renderer::RendererError) -> Self {
        // The repository's own files are at fault, not a peer: the client must fix them.
        if e.is_unsafe_manifest() {
            return Self::new(ErrorKind::Invalid, "unsafe_manifest", e.to_string());
        }
        if e.is_callers_to_fix() {
            return Self::new(ErrorKind::Invalid, "invalid_repository", e.to_string());
        }
        Self::new(
            ErrorKind::Upstream,
            "renderer_preparation_failed",
            e.to_string(),
        )
    }
}
