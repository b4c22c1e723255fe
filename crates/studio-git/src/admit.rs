//! Admitting a caller's repository: the source policy applied where sessions start.
//!
//! Kept apart from `source.rs` (pure parsing and policy checks) so that the parser does not depend
//! on the workspace that uses it.

use crate::error::GitError;
use crate::source::RepoSource;
use crate::state::Shared;
use crate::workspace::GitWorkspace;

impl GitWorkspace {
    /// Whether the server's source policy admits `repository`, without fetching anything: for the
    /// caller to refuse a request before it records or starts anything. Resolves the host on the
    /// blocking pool. [`open_session`](crate::GitWorkspace::open_session) checks again.
    pub async fn check_source(&self, repository: &str) -> Result<(), GitError> {
        let config = self.config();
        let (policy, data_dir) = (config.source_policy.clone(), config.data_dir.clone());
        let repository = repository.to_owned();
        tokio::task::spawn_blocking(move || {
            RepoSource::parse_allowed(&repository, &policy, &data_dir).map(drop)
        })
        .await
        .map_err(|e| GitError::Internal(format!("source check failed: {e}")))?
    }
}

impl Shared {
    /// A source a caller asked for, checked against the configured policy.
    pub(crate) fn source(&self, repository: &str) -> Result<RepoSource, GitError> {
        RepoSource::parse_allowed(
            repository,
            &self.config.source_policy,
            &self.config.data_dir,
        )
    }

    /// A source of a session created earlier (already admitted): parsed, with the token decision
    /// of the current policy, but not refused again, so a stricter policy never strands a session.
    pub(crate) fn known_source(&self, repository: &str) -> Result<RepoSource, GitError> {
        Ok(RepoSource::parse(repository)?.with_token_decision(&self.config.source_policy))
    }
}
