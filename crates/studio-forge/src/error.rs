//! What can go wrong on the GitHub side of finalize, in words a user can act on.
//!
//! Every error names the step that failed and, when GitHub answered, its status and message. The
//! texts are built by [`crate::Forge`] from GitHub's answer with the token scrubbed out, so they
//! are safe to log and to return to API clients.

use std::fmt;

/// The GitHub call an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    CreatePullRequest,
    FindExistingPullRequest,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CreatePullRequest => "create pull request",
            Self::FindExistingPullRequest => "find existing pull request",
        })
    }
}

/// A failure of [`crate::Forge`]. [`ForgeError::code`] gives the machine-readable code for API
/// error bodies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ForgeError {
    /// `STUDIO_GITHUB_API_URL` is unusable.
    #[error("invalid GitHub API URL: {0}")]
    InvalidApiUrl(String),
    /// `GITHUB_TOKEN` cannot be sent in an HTTP header (the token itself is never shown).
    #[error("invalid GITHUB_TOKEN: {0}")]
    InvalidToken(&'static str),
    /// [`crate::Forge::new`] was called outside a tokio runtime (a bug in the caller).
    #[error("the GitHub client must be created inside a tokio runtime")]
    OutsideRuntime,
    /// Our own input is unusable before GitHub is even asked (empty title, blank branch).
    #[error("{step}: {problem}")]
    InvalidRequest { step: Step, problem: String },
    /// 401: no token, or GitHub does not accept it.
    #[error(
        "{step}: GitHub rejected the credentials (401 Unauthorized): {message}; check GITHUB_TOKEN"
    )]
    Unauthorized { step: Step, message: String },
    /// 403: the token may not do this (scopes, SSO, a rate limit).
    #[error("{step}: GitHub refused (403 Forbidden): {message}")]
    Forbidden { step: Step, message: String },
    /// 404: the repository does not exist, or the token cannot see it.
    #[error(
        "{step}: GitHub answered 404 Not Found (no such repository, or the token cannot see it): {message}"
    )]
    NotFound { step: Step, message: String },
    /// 422: GitHub understood the request and refuses it (no commits between the branches, an
    /// unknown base branch, …).
    #[error("{step}: GitHub rejected the request (422 Unprocessable Entity): {message}")]
    Validation { step: Step, message: String },
    /// Any other 4xx.
    #[error("{step}: GitHub answered {status}: {message}")]
    Rejected {
        step: Step,
        status: u16,
        message: String,
    },
    /// 5xx, 429, timeouts or connection errors, still failing after every retry.
    #[error("{step}: GitHub is unavailable after {attempts} attempt{}: {reason}", if *.attempts == 1 { "" } else { "s" })]
    Unavailable {
        step: Step,
        attempts: u32,
        status: Option<u16>,
        reason: String,
    },
    /// GitHub answered success with something we cannot read.
    #[error("{step}: unexpected answer from GitHub: {message}")]
    InvalidResponse { step: Step, message: String },
}

impl ForgeError {
    /// The machine-readable code for API error bodies (`{"error": …, "code": …}`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidApiUrl(_) | Self::InvalidToken(_) => "github_config",
            Self::OutsideRuntime => "internal_error",
            Self::InvalidRequest { .. } => "invalid_request",
            Self::Unauthorized { .. } => "github_unauthorized",
            Self::Forbidden { .. } => "github_forbidden",
            Self::NotFound { .. } => "github_not_found",
            Self::Validation { .. } => "github_validation",
            Self::Rejected { .. } => "github_rejected",
            Self::Unavailable { .. } => "github_unavailable",
            Self::InvalidResponse { .. } => "github_invalid_response",
        }
    }

    /// The step that failed, for errors that come from a GitHub call.
    pub fn step(&self) -> Option<Step> {
        match self {
            Self::InvalidApiUrl(_) | Self::InvalidToken(_) | Self::OutsideRuntime => None,
            Self::InvalidRequest { step, .. }
            | Self::Unauthorized { step, .. }
            | Self::Forbidden { step, .. }
            | Self::NotFound { step, .. }
            | Self::Validation { step, .. }
            | Self::Rejected { step, .. }
            | Self::Unavailable { step, .. }
            | Self::InvalidResponse { step, .. } => Some(*step),
        }
    }

    /// GitHub's HTTP status, when it answered with one.
    pub fn github_status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::Validation { .. } => Some(422),
            Self::Rejected { status, .. } => Some(*status),
            Self::Unavailable { status, .. } => *status,
            _ => None,
        }
    }

    /// Whether trying again later may succeed without changing anything (GitHub was unavailable).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_step_and_githubs_answer() {
        let err = ForgeError::Validation {
            step: Step::CreatePullRequest,
            message: "No commits between main and design/studio-1".into(),
        };
        assert_eq!(
            err.to_string(),
            "create pull request: GitHub rejected the request (422 Unprocessable Entity): \
             No commits between main and design/studio-1"
        );
        assert_eq!(
            (err.code(), err.github_status()),
            ("github_validation", Some(422))
        );
        let err = ForgeError::Unavailable {
            step: Step::FindExistingPullRequest,
            attempts: 1,
            status: None,
            reason: "connection refused".into(),
        };
        assert_eq!(
            err.to_string(),
            "find existing pull request: GitHub is unavailable after 1 attempt: connection refused"
        );
        assert!(err.is_transient());
    }
}
