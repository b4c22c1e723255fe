//! The GitHub side of finalizing a design session: the pull request a developer reviews.
//!
//! This is the only crate that talks to GitHub (and the only one that imports `octocrab`). The
//! sandbox manager finalizes a session in two steps: studio-git pushes the session branch
//! `design/studio-<hex>`, then this crate opens the pull request:
//!
//! ```no_run
//! # async fn finalize(commits: &[studio_core::CommitInfo]) -> Result<(), Box<dyn std::error::Error>> {
//! use studio_forge::{Forge, GithubRepo, pull_request_body};
//!
//! let token = std::env::var("GITHUB_TOKEN").ok().and_then(studio_core::SecretToken::new);
//! let forge = Forge::new(Forge::DEFAULT_API_URL, token)?;
//! let repo: GithubRepo = "acme/ui".parse()?; // or forge.repo_from_remote_url(remote)?
//! let body = pull_request_body("Rounder buttons", commits);
//! let pr = forge.open_pull_request(&repo, "design/studio-0123456789abcdef", "main", "Rounder buttons", &body).await?;
//! println!("{} (#{})", pr.url, pr.number);
//! # Ok(()) }
//! ```
//!
//! Invariants:
//! - **Idempotent.** If the head branch already has an open pull request (GitHub answers 422 "A
//!   pull request already exists"), [`Forge::open_pull_request`] finds and returns it
//!   (`existing: true`). A finalize that failed after the PR was created can simply be retried.
//! - **Transient failures are retried, others are not.** 5xx, 429, timeouts and connection errors
//!   are retried with exponential backoff and jitter, bounded in attempts and total time
//!   ([`RetryPolicy`]); 401/403/404/422 fail at once. Retrying a create is safe because of the
//!   point above.
//! - **Errors are actionable.** [`ForgeError`] names the step ("create pull request", "find
//!   existing pull request"), GitHub's status and message, and has a stable [`ForgeError::code`].
//! - **The token never leaks.** It is held as a [`studio_core::SecretToken`] (redacted in
//!   `Debug`/`Display`), sent only in the `Authorization` header, never logged, and scrubbed from
//!   any text GitHub or the network echoes back before that text becomes an error message.
//!   Remote URLs with credentials are redacted in every message ([`redact_remote`]).
//! - **Nothing here touches the sandbox.** A failure leaves the caller free to keep the sandbox
//!   running and retry.

mod body;
mod error;
mod failure;
mod forge;
mod repo;
mod retry;

pub use body::pull_request_body;
pub use error::{ForgeError, Step};
pub use forge::{Forge, PullRequest};
pub use repo::{GithubRepo, RepoError, redact_remote, web_host_for_api};
pub use retry::RetryPolicy;
