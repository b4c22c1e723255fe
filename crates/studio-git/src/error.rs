//! The one error type of this crate.
//!
//! Every variant names the problem in words a person can act on, and [`GitError::code`] gives a
//! stable machine-readable code so the API layer can choose an HTTP status without parsing text.
//! No variant ever carries a token: URLs are shown in their redacted form (see `source.rs`) and
//! credentials never enter a message.

use std::io;
use std::path::PathBuf;

use crate::path_guard::PathRefusal;

/// Everything that can go wrong in a git workspace or session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// The repository string is not something we can clone (bad scheme, credentials in the URL...).
    #[error("unsupported repository {repository:?}: {reason}")]
    UnsupportedSource {
        repository: String,
        reason: &'static str,
    },

    /// The server's source policy refuses the repository. The reason never names a local path,
    /// and is the same whether such a path exists.
    #[error("repository not allowed on this server: {reason}")]
    SourceNotAllowed { reason: &'static str },

    /// The remote could not be reached (no such path, DNS, refused connection, unknown SSH host).
    #[error("repository {url} is unreachable: {message}")]
    Unreachable { url: String, message: String },

    /// The remote was reached but refused every credential we had.
    #[error("authentication to {url} failed: {message}")]
    AuthenticationFailed { url: String, message: String },

    /// The remote has no branches at all, so there is nothing to base a session on.
    #[error("repository {url} has no branches")]
    EmptyRepository { url: String },

    /// The requested base branch does not exist on the remote.
    #[error("branch {branch:?} does not exist on the remote (available: {})", available.join(", "))]
    BranchNotFound {
        branch: String,
        /// Some of the branches that do exist, to help the caller correct the request.
        available: Vec<String>,
    },

    /// A file path was refused by the path guard; nothing was written.
    #[error("path {path:?} refused: {reason}")]
    PathRefused { path: String, reason: PathRefusal },

    /// The content is larger than the configured limit; nothing was written.
    #[error("content for {path:?} is {size} bytes, above the limit of {limit} bytes")]
    TooLarge { path: String, size: u64, limit: u64 },

    /// `delete_file` of a path that is neither in the checkout nor in the branch.
    #[error("file {path:?} does not exist")]
    FileNotFound { path: String },

    /// A read of a path that names a file, not a directory (a listing).
    #[error("{path:?} is a file, not a directory")]
    NotADirectory { path: String },

    /// A read of something that is neither a file nor a directory (a socket, FIFO, device).
    #[error("{path:?} is not a regular file")]
    NotRegularFile { path: String },

    /// A read of a file that is not UTF-8 text (or holds NUL bytes).
    #[error("{path:?} is not UTF-8 text (a binary file)")]
    BinaryFile { path: String },

    /// A read of a file larger than the configured limit.
    #[error("{path:?} is {size} bytes, above the limit of {limit} bytes for reading a file")]
    FileTooLarge { path: String, size: u64, limit: u64 },

    /// A commit id that is malformed or names no commit in the repository.
    #[error("unknown commit {commit:?}")]
    UnknownCommit { commit: String },

    /// A real commit, but not one of this session (it belongs to the base history or elsewhere).
    #[error("commit {commit} is not part of this session's branch")]
    NotInSession { commit: String },

    /// A rollback by steps that asks for zero steps or more steps than the session has commits.
    #[error("cannot roll back {requested} step(s): the session has {available} commit(s) to undo")]
    RollbackOutOfRange { requested: u32, available: u32 },

    /// A session for this sandbox already exists (branch, worktree or checkout directory).
    #[error("a session for {sandbox_id} already exists ({what})")]
    SessionExists { sandbox_id: String, what: String },

    /// No session for this sandbox at the given checkout (for reopen and remove).
    #[error("no session for {sandbox_id} at {}: {reason}", path.display())]
    SessionNotFound {
        sandbox_id: String,
        path: PathBuf,
        reason: String,
    },

    /// Someone else moved the remote branch since our last push: we refuse to overwrite it.
    #[error(
        "remote branch {branch} moved since our last push (expected {expected}, found {found}); not overwriting it"
    )]
    PushConflict {
        branch: String,
        expected: String,
        found: String,
    },

    /// The remote refused the push (hook, protection rule, non-bare target...).
    #[error("push rejected: {message}")]
    PushRejected { message: String },

    /// A filesystem operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// libgit2 failed in a way that is not the caller's fault.
    #[error("git: {context}: {message}")]
    Git {
        context: &'static str,
        message: String,
    },

    /// A background task panicked or was cancelled.
    #[error("internal error: {0}")]
    Internal(String),
}

impl GitError {
    /// A stable, machine-readable code for this error (snake_case, never changes meaning).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedSource { .. } => "unsupported_repository",
            Self::SourceNotAllowed { .. } => "source_not_allowed",
            Self::Unreachable { .. } => "repository_unreachable",
            Self::AuthenticationFailed { .. } => "authentication_failed",
            Self::EmptyRepository { .. } => "repository_empty",
            Self::BranchNotFound { .. } => "branch_not_found",
            Self::PathRefused { reason, .. } => reason.code(),
            Self::TooLarge { .. } => "content_too_large",
            Self::FileNotFound { .. } => "file_not_found",
            Self::NotADirectory { .. } => "not_a_directory",
            Self::NotRegularFile { .. } => "not_a_regular_file",
            Self::BinaryFile { .. } => "binary_file",
            Self::FileTooLarge { .. } => "file_too_large",
            Self::UnknownCommit { .. } => "unknown_commit",
            Self::NotInSession { .. } => "commit_not_in_session",
            Self::RollbackOutOfRange { .. } => "rollback_out_of_range",
            Self::SessionExists { .. } => "session_exists",
            Self::SessionNotFound { .. } => "session_not_found",
            Self::PushConflict { .. } => "push_conflict",
            Self::PushRejected { .. } => "push_rejected",
            Self::Io { .. } => "io_error",
            Self::Git { .. } => "git_error",
            Self::Internal(_) => "internal_error",
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn refused(path: &str, reason: PathRefusal) -> Self {
        Self::PathRefused {
            path: path.to_owned(),
            reason,
        }
    }
}

/// Adds a short "what were we doing" context to libgit2 errors.
pub(crate) trait GitContext<T> {
    fn context(self, context: &'static str) -> Result<T, GitError>;
}

impl<T> GitContext<T> for Result<T, git2::Error> {
    fn context(self, context: &'static str) -> Result<T, GitError> {
        self.map_err(|e| GitError::Git {
            context,
            message: e.message().to_owned(),
        })
    }
}

pub type Result<T, E = GitError> = std::result::Result<T, E>;
