//! The GitHub client: open a session's pull request, or find the one that is already open.

use octocrab::Octocrab;
use octocrab::params::State;
use studio_core::SecretToken;
use url::Url;

use crate::error::{ForgeError, Step};
use crate::failure::Classifier;
use crate::repo::{GithubRepo, RepoError, web_host_for_api};
use crate::retry::{RetryPolicy, with_retry};

/// What GitHub says (in `errors[].message`) when the head branch already has an open pull request.
const ALREADY_EXISTS: &str = "a pull request already exists";

/// A pull request on GitHub, as finalize reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// The page a reviewer opens (`html_url`).
    pub url: String,
    pub number: u64,
    /// `true` when the pull request was already open (an earlier finalize got this far) and was
    /// found instead of created.
    pub existing: bool,
}

/// A client for one GitHub (github.com or an Enterprise server), cheap to clone and share.
#[derive(Clone)]
pub struct Forge {
    client: Octocrab,
    web_host: String,
    /// Knows the API URL and the token (to scrub it from messages) for error texts.
    classifier: Classifier,
    retry: RetryPolicy,
}

impl Forge {
    /// GitHub's own REST API (the server's default, `studio_core::defaults::GITHUB_API_URL`).
    pub const DEFAULT_API_URL: &'static str = studio_core::defaults::GITHUB_API_URL;

    /// A client for the REST API at `api_base_url` (`STUDIO_GITHUB_API_URL`), authenticating with
    /// `token` (`GITHUB_TOKEN`) when given. Must be called inside a tokio runtime (octocrab spawns
    /// its connection pool's worker); outside one it is an error rather than octocrab's panic.
    ///
    /// The URL must be http(s) without credentials, query or fragment; a path is kept (GitHub
    /// Enterprise Server serves the API under `/api/v3`).
    pub fn new(api_base_url: &str, token: Option<SecretToken>) -> Result<Self, ForgeError> {
        let api_base = parse_api_url(api_base_url)?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ForgeError::OutsideRuntime);
        }
        let mut builder = Octocrab::builder()
            .base_uri(api_base.as_str())
            .map_err(|e| ForgeError::InvalidApiUrl(format!("{api_base}: {e}")))?
            .set_connect_timeout(Some(RetryPolicy::default().attempt_timeout))
            .set_read_timeout(Some(RetryPolicy::default().attempt_timeout));
        if let Some(token) = &token {
            // octocrab turns the token into an `Authorization` header and panics if that is not a
            // valid header value: check first, and say so without showing the token.
            if !token.expose().bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ForgeError::InvalidToken(
                    "it contains spaces or non-ASCII characters",
                ));
            }
            builder = builder.personal_token(token.expose().to_owned());
        }
        let client = builder
            .build()
            .map_err(|e| ForgeError::InvalidApiUrl(format!("{api_base}: {e}")))?;
        let web_host = web_host_for_api(&api_base);
        Ok(Self {
            client,
            classifier: Classifier { api_base, token },
            web_host,
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the default [`RetryPolicy`].
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn api_base_url(&self) -> &Url {
        &self.classifier.api_base
    }

    /// The host whose repositories this API serves (`github.com` for `api.github.com`).
    pub fn web_host(&self) -> &str {
        &self.web_host
    }

    /// The repository a git remote URL points to on this GitHub, see [`GithubRepo::from_remote_url`].
    pub fn repo_from_remote_url(&self, remote: &str) -> Result<GithubRepo, RepoError> {
        GithubRepo::from_remote_url(remote, &self.web_host)
    }

    /// Opens a pull request from `head_branch` into `base_branch` of `repo`, or returns the one
    /// already open for that head (GitHub answers 422 "A pull request already exists"), so calling
    /// this again after a partial failure is safe.
    ///
    /// Transient failures are retried per the [`RetryPolicy`]. A retried create whose first
    /// attempt did reach GitHub ends up in the "already exists" path and so still succeeds once.
    pub async fn open_pull_request(
        &self,
        repo: &GithubRepo,
        head_branch: &str,
        base_branch: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError> {
        let step = Step::CreatePullRequest;
        check_branch(step, "head", head_branch)?;
        check_branch(step, "base", base_branch)?;
        let title = title.trim();
        if title.is_empty() {
            return Err(ForgeError::InvalidRequest {
                step,
                problem: "the pull request title is empty".into(),
            });
        }
        tracing::info!(%repo, head = head_branch, base = base_branch, "opening pull request");
        let created = with_retry(&self.retry, step, &self.classifier, || async move {
            let pulls = self.client.pulls(repo.owner(), repo.name());
            pulls
                .create(title, head_branch, base_branch)
                .body(body)
                .send()
                .await
        })
        .await;
        let pr = match created {
            Ok(pr) => to_pull_request(step, &pr, false)?,
            Err(ForgeError::Validation { message, .. })
                if message.to_lowercase().contains(ALREADY_EXISTS) =>
            {
                tracing::info!(%repo, head = head_branch, "pull request already open; looking it up");
                self.find_open_pull_request(repo, head_branch, base_branch)
                    .await?
                    .ok_or_else(|| ForgeError::Validation {
                        step: Step::FindExistingPullRequest,
                        message: format!(
                            "GitHub said {message:?}, but lists no open pull request for it"
                        ),
                    })?
            }
            Err(err) => return Err(err),
        };
        tracing::info!(%repo, number = pr.number, url = %pr.url, existing = pr.existing, "pull request open");
        Ok(pr)
    }

    /// The open pull request from `head_branch` (of the repository's owner) into `base_branch`.
    pub async fn find_open_pull_request(
        &self,
        repo: &GithubRepo,
        head_branch: &str,
        base_branch: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let step = Step::FindExistingPullRequest;
        check_branch(step, "head", head_branch)?;
        check_branch(step, "base", base_branch)?;
        // GitHub filters `head` by `owner:branch`; there is at most one open PR per head and base.
        let head = format!("{}:{head_branch}", repo.owner());
        let page = with_retry(&self.retry, step, &self.classifier, || async {
            let pulls = self.client.pulls(repo.owner(), repo.name());
            pulls
                .list()
                .state(State::Open)
                .head(head.as_str())
                .base(base_branch)
                .per_page(10u8)
                .send()
                .await
        })
        .await?;
        page.items
            .first()
            .map(|pr| to_pull_request(step, pr, true))
            .transpose()
    }
}

impl std::fmt::Debug for Forge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forge")
            .field("api_base", &self.classifier.api_base.as_str())
            .field("web_host", &self.web_host)
            .field("token", &self.classifier.token)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

fn parse_api_url(input: &str) -> Result<Url, ForgeError> {
    let invalid = |problem: &str| ForgeError::InvalidApiUrl(problem.to_owned());
    let mut url = Url::parse(input.trim()).map_err(|e| invalid(&format!("not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Do not echo the URL: the credentials are what must not be shown.
        return Err(invalid(
            "it contains credentials; put the token in GITHUB_TOKEN instead",
        ));
    }
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(&format!("{url} is not an http(s) URL with a host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(&format!("{url} has a query or fragment")));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

fn check_branch(step: Step, which: &str, branch: &str) -> Result<(), ForgeError> {
    if branch.is_empty() || branch.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ForgeError::InvalidRequest {
            step,
            problem: format!("{which} branch {branch:?} is not a branch name"),
        });
    }
    Ok(())
}

fn to_pull_request(
    step: Step,
    pr: &octocrab::models::pulls::PullRequest,
    existing: bool,
) -> Result<PullRequest, ForgeError> {
    let url = pr
        .html_url
        .as_ref()
        .ok_or_else(|| ForgeError::InvalidResponse {
            step,
            message: format!("pull request #{} has no html_url", pr.number),
        })?;
    Ok(PullRequest {
        url: url.to_string(),
        number: pr.number,
        existing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_are_checked_and_normalised() {
        assert_eq!(
            parse_api_url("https://ghe.example.com/api/v3/")
                .unwrap()
                .as_str(),
            "https://ghe.example.com/api/v3"
        );
        assert_eq!(
            parse_api_url(" http://127.0.0.1:4010 ").unwrap().as_str(),
            "http://127.0.0.1:4010/"
        );
        for (bad, reason) in [
            ("api.github.com", "not a URL"),
            ("ftp://api.github.com", "not an http(s) URL"),
            ("https://api.github.com/?x=1", "query or fragment"),
            (
                "https://user:hunter2@api.github.com",
                "contains credentials",
            ),
        ] {
            let err = parse_api_url(bad).unwrap_err().to_string();
            assert!(err.contains(reason), "{bad}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn needs_a_runtime_and_hides_the_token() {
        let token = || SecretToken::new("ghp_hidden");
        let err = Forge::new(Forge::DEFAULT_API_URL, token()).unwrap_err();
        assert_eq!(err, ForgeError::OutsideRuntime);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let forge = runtime
            .block_on(async { Forge::new(Forge::DEFAULT_API_URL, token()) })
            .unwrap();
        assert_eq!(forge.web_host(), "github.com");
        assert!(!format!("{forge:?}").contains("ghp_hidden"));
    }
}
