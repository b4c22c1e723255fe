//! Repository sources: what a caller may pass as "the repository", and how it maps to a mirror.
//!
//! Accepted: `https://` and `http://` URLs, `ssh://` URLs, scp-style `user@host:path`, `file://`
//! URLs and plain local paths (absolute or relative to the working directory). Local sources are
//! canonicalized so that `file:///r`, `/r` and `../r` share one mirror.
//!
//! Which of these a caller may use is decided by the server's [`SourcePolicy`] (see `policy.rs`),
//! checked (see `admit.rs`) before a local path is looked at or a host is contacted.
//!
//! Credentials never live in a source: a URL with a password (`https://user:token@host/...`) is
//! refused, because it would end up in the mirror's config file, in directory names and in error
//! messages. Tokens come from `GITHUB_TOKEN` (see `GitConfig::token`) and are handed to libgit2
//! only inside the credentials callback.

use std::path::{Path, PathBuf};

use crate::error::GitError;
use crate::policy::SourcePolicy;

/// How libgit2 will talk to the remote; decides which credentials we offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Https,
    /// Plain http: allowed for local test servers, but a token is never sent over it.
    Http,
    Ssh,
    Local,
}

/// A parsed repository source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoSource {
    /// What libgit2 is given (a URL, or an absolute path for local repositories).
    pub url: String,
    pub transport: Transport,
    /// Directory name of the mirror under `<data_dir>/mirrors/`: readable slug plus a hash of
    /// `url`, so two URLs never share a mirror and a name is always a valid path component.
    pub mirror_name: String,
    /// Whether the GitHub token may be offered: https to the configured GitHub host only.
    pub offer_token: bool,
}

impl RepoSource {
    pub fn parse(input: &str) -> Result<Self, GitError> {
        let unsupported = |reason| GitError::UnsupportedSource {
            repository: redact(input),
            reason,
        };
        let input = input.trim();
        if input.is_empty() {
            return Err(unsupported("the repository is empty"));
        }
        if input.contains(['\0', '\n', '\r']) {
            return Err(unsupported("the repository contains control characters"));
        }
        let (url, transport) = if input.starts_with("file://") {
            let parsed =
                url::Url::parse(input).map_err(|_| unsupported("malformed file:// URL"))?;
            let path = parsed
                .to_file_path()
                .map_err(|()| unsupported("file:// URL must name a local absolute path"))?;
            (local_path(input, &path)?, Transport::Local)
        } else if input.contains("://") {
            let parsed = url::Url::parse(input).map_err(|_| unsupported("malformed URL"))?;
            if parsed.password().is_some() {
                return Err(unsupported(
                    "credentials in the URL are not accepted; set GITHUB_TOKEN instead",
                ));
            }
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(unsupported("the URL has no host"));
            }
            let transport = match parsed.scheme() {
                "https" => Transport::Https,
                "http" => Transport::Http,
                "ssh" | "git+ssh" | "ssh+git" => Transport::Ssh,
                _ => return Err(unsupported("scheme must be https, http, ssh or file")),
            };
            (input.to_owned(), transport)
        } else if is_scp_like(input) {
            (input.to_owned(), Transport::Ssh)
        } else {
            (local_path(input, Path::new(input))?, Transport::Local)
        };
        let mirror_name = mirror_name(&url);
        Ok(Self {
            url,
            transport,
            mirror_name,
            offer_token: false,
        })
    }

    /// Parses `input` after `policy` allowed it. Local sources are refused before they are
    /// looked at (same answer for existing and missing paths), then again after
    /// canonicalisation; remote hosts may be resolved (blocking).
    pub(crate) fn parse_allowed(
        input: &str,
        policy: &SourcePolicy,
        data_dir: &Path,
    ) -> Result<Self, GitError> {
        let trimmed = input.trim();
        let local = if trimmed.starts_with("file://") {
            Some(
                url::Url::parse(trimmed)
                    .ok()
                    .and_then(|u| u.to_file_path().ok())
                    .unwrap_or_else(|| PathBuf::from(trimmed)),
            )
        } else if trimmed.contains("://") || is_scp_like(trimmed) {
            None
        } else {
            Some(PathBuf::from(trimmed))
        };
        match &local {
            Some(path) => policy.check_local_lexically(path, data_dir)?,
            None if !trimmed.is_empty() => policy.check_remote(trimmed)?,
            None => {}
        }
        let source = Self::parse(input)?;
        if source.transport == Transport::Local {
            policy.check_local_canonical(Path::new(&source.url), data_dir)?;
        }
        Ok(source.with_token_decision(policy))
    }

    /// Decides whether the GitHub token may be offered: https to the policy's GitHub host only.
    pub(crate) fn with_token_decision(mut self, policy: &SourcePolicy) -> Self {
        let url = url::Url::parse(&self.url).ok();
        self.offer_token = self.transport == Transport::Https
            && policy.token_host(url.as_ref().and_then(url::Url::host_str));
        self
    }

    /// The source as it may appear in logs and errors.
    pub fn display(&self) -> String {
        redact(&self.url)
    }
}

/// `git@github.com:owner/repo.git`: a `:` before any `/`, and a host part that is not a
/// Windows drive letter or a relative path.
fn is_scp_like(input: &str) -> bool {
    let Some((host, _path)) = input.split_once(':') else {
        return false;
    };
    !host.is_empty() && !host.contains('/') && host.len() > 1 && !input.starts_with('.')
}

fn local_path(input: &str, path: &Path) -> Result<String, GitError> {
    let canonical: PathBuf = std::fs::canonicalize(path).map_err(|e| GitError::Unreachable {
        url: redact(input),
        message: format!("no repository at {}: {e}", path.display()),
    })?;
    canonical
        .into_os_string()
        .into_string()
        .map_err(|_| GitError::UnsupportedSource {
            repository: redact(input),
            reason: "local paths must be valid UTF-8",
        })
}

/// `<slug>-<12 hex of sha1(url)>.git`. The slug is the last path segment, for humans browsing
/// the data directory; the hash makes the name unique.
fn mirror_name(url: &str) -> String {
    let last = url
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or_default()
        .trim_end_matches(".git");
    let slug: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let slug = if slug.is_empty() {
        "repo".to_owned()
    } else {
        slug
    };
    let hash = git2::Oid::hash_object(git2::ObjectType::Blob, url.as_bytes())
        .map(|oid| oid.to_string())
        .unwrap_or_default();
    format!("{slug}-{}.git", &hash[..hash.len().min(12)])
}

/// Removes any userinfo password from something that looks like a URL, for messages.
pub(crate) fn redact(input: &str) -> String {
    match url::Url::parse(input) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => input.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_remote_urls() {
        let https = RepoSource::parse("https://github.com/acme/ui.git").unwrap();
        assert_eq!(https.transport, Transport::Https);
        assert!(
            https.mirror_name.starts_with("ui-"),
            "{}",
            https.mirror_name
        );
        let ssh = RepoSource::parse("ssh://git@github.com/acme/ui.git").unwrap();
        assert_eq!(ssh.transport, Transport::Ssh);
        let scp = RepoSource::parse("git@github.com:acme/ui.git").unwrap();
        assert_eq!(scp.transport, Transport::Ssh);
        assert_ne!(scp.mirror_name, ssh.mirror_name);
    }

    #[test]
    fn local_paths_and_file_urls_share_a_mirror() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap().to_owned();
        let plain = RepoSource::parse(&path).unwrap();
        let url = RepoSource::parse(&format!("file://{path}")).unwrap();
        let dotted = RepoSource::parse(&format!("{path}/./")).unwrap();
        assert_eq!(plain.transport, Transport::Local);
        assert_eq!(plain, url);
        assert_eq!(plain, dotted);
    }

    #[test]
    fn refuses_credentials_in_urls_without_echoing_them() {
        let err = RepoSource::parse("https://me:ghp_secret@github.com/acme/ui.git").unwrap_err();
        assert_eq!(err.code(), "unsupported_repository");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("ghp_secret"), "{shown}");
    }

    #[test]
    fn refuses_nonsense() {
        for bad in ["", "ftp://host/x", "https://", "/definitely/not/here/x.git"] {
            assert!(RepoSource::parse(bad).is_err(), "{bad:?} accepted");
        }
        let missing = RepoSource::parse("/definitely/not/here").unwrap_err();
        assert_eq!(missing.code(), "repository_unreachable");
    }
}
