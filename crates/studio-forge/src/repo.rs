//! Which GitHub repository a sandbox's pull request goes to.
//!
//! A sandbox names its repository either explicitly (`github_repo: "owner/name"`) or implicitly,
//! through the git remote it was cloned from. Both forms are parsed here, strictly enough that a
//! typo fails at creation time with a clear message instead of as a 404 at finalize time.
//!
//! Remote URLs may carry credentials (`https://x-access-token:ghp_…@github.com/o/r.git`): no error
//! message ever repeats them, see [`redact_remote`].

use std::fmt;
use std::str::FromStr;

use url::Url;

/// Longest owner or repository name GitHub accepts.
const MAX_NAME_LEN: usize = 100;

/// A repository on GitHub (or GitHub Enterprise): `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GithubRepo {
    owner: String,
    name: String,
}

/// Why a string does not name a GitHub repository.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// An `owner/name` string that is not one.
    #[error("github_repo must look like owner/name, got {input}: {problem}")]
    InvalidName { input: String, problem: String },
    /// A git remote from which no repository on the configured GitHub host can be derived.
    #[error(
        "cannot derive a GitHub repository from remote {remote}: {problem}; pass github_repo explicitly"
    )]
    NotGithubRemote { remote: String, problem: String },
}

impl GithubRepo {
    /// Checks both parts against GitHub's naming rules.
    ///
    /// Owners are letters, digits, `-` (and `_`, which GitHub Enterprise allows for users synced
    /// from LDAP/SAML); repository names also allow `.`. A trailing `.git` on the name is dropped,
    /// because GitHub drops it too (`github.com/o/r.git` is `o/r`).
    pub fn new(owner: &str, name: &str) -> Result<Self, String> {
        let name = name.strip_suffix(".git").unwrap_or(name);
        check_part("owner", owner, |c| {
            c.is_ascii_alphanumeric() || c == '-' || c == '_'
        })?;
        check_part("repository name", name, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
        })?;
        if owner.starts_with('-') {
            return Err(format!("owner {owner:?} starts with '-'"));
        }
        if name == "." || name == ".." {
            return Err(format!("repository name {name:?} is reserved"));
        }
        Ok(Self {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Derives the repository from a git remote URL, if that remote is on `web_host`.
    ///
    /// Accepted forms (a trailing `.git` and `/` are optional; a port is ignored):
    /// - `https://[credentials@]HOST/owner/name` (and `http://`, `git://`)
    /// - `ssh://[user@]HOST[:port]/owner/name`
    /// - `[user@]HOST:owner/name` (scp-like, what GitHub's "Clone with SSH" shows)
    ///
    /// `web_host` is the host that serves the repositories of the GitHub the API talks to, see
    /// [`web_host_for_api`]. A remote on another host (a `file://` URL, a local path, GitLab, a
    /// different GitHub Enterprise) is an error: its pull request could not be opened there.
    pub fn from_remote_url(remote: &str, web_host: &str) -> Result<Self, RepoError> {
        let remote = remote.trim();
        let fail = |problem: String| RepoError::NotGithubRemote {
            remote: redact_remote(remote),
            problem,
        };
        let (host, path) = split_remote(remote).map_err(|p| fail(p.to_owned()))?;
        if !host.eq_ignore_ascii_case(web_host) {
            return Err(fail(format!(
                "host {host} is not the GitHub host {web_host}"
            )));
        }
        let path = path.trim_matches('/');
        let path = path.strip_suffix(".git").unwrap_or(path);
        match path.split('/').collect::<Vec<_>>()[..] {
            [owner, name] => Self::new(owner, name).map_err(fail),
            _ => Err(fail(format!("path {path:?} is not owner/name"))),
        }
    }
}

impl fmt::Display for GithubRepo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl FromStr for GithubRepo {
    type Err = RepoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let input = s.trim();
        let fail = |problem: String| RepoError::InvalidName {
            input: redact_remote(input),
            problem,
        };
        if input.contains("://") || input.contains('@') {
            return Err(fail("that is a URL; give only owner/name".to_owned()));
        }
        match input.split('/').collect::<Vec<_>>()[..] {
            [owner, name] => Self::new(owner, name).map_err(fail),
            [_] => Err(fail("missing '/' between owner and name".to_owned())),
            _ => Err(fail("more than one '/'".to_owned())),
        }
    }
}

fn check_part(what: &str, part: &str, allowed: impl Fn(char) -> bool) -> Result<(), String> {
    if part.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if part.len() > MAX_NAME_LEN {
        return Err(format!("{what} is longer than {MAX_NAME_LEN} characters"));
    }
    match part.chars().find(|&c| !allowed(c)) {
        Some(c) => Err(format!("{what} {part:?} contains {c:?}")),
        None => Ok(()),
    }
}

/// Splits a remote into (host, path) for the URL and scp-like forms, or says why it cannot.
fn split_remote(remote: &str) -> Result<(String, String), &'static str> {
    if remote.contains("://") {
        let url = Url::parse(remote).map_err(|_| "not a valid URL")?;
        if !matches!(
            url.scheme(),
            "https" | "http" | "ssh" | "git" | "git+ssh" | "ssh+git"
        ) {
            return Err("only https, http, ssh and git URLs can point to GitHub");
        }
        let host = url.host_str().ok_or("the URL has no host")?;
        return Ok((host.to_owned(), url.path().to_owned()));
    }
    // scp-like `[user@]host:path`. A local path has no ':' before its first '/'.
    let (before, path) = remote.split_once(':').ok_or("not a URL (a local path?)")?;
    if before.contains('/') || before.is_empty() {
        return Err("not a URL (a local path?)");
    }
    let host = before.rsplit_once('@').map_or(before, |(_, host)| host);
    Ok((host.to_owned(), path.to_owned()))
}

/// A remote URL fit for messages: any credentials of `scheme://user:pass@host/…` become `***`.
/// The user of an scp-like or ssh remote (`git@`) is not a secret and stays.
pub fn redact_remote(remote: &str) -> String {
    let Some((scheme, rest)) = remote.split_once("://") else {
        return remote.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if scheme != "ssh" || rest[..at].contains(':') => {
            format!("{scheme}://***@{}", &rest[at + 1..])
        }
        _ => remote.to_owned(),
    }
}

/// The host that serves the repositories of the GitHub whose REST API is at `api`.
///
/// The rule: the API's host with a leading `api.` removed. So `https://api.github.com` → `github.com`,
/// GitHub Enterprise Cloud with data residency `https://api.acme.ghe.com` → `acme.ghe.com`, and
/// GitHub Enterprise Server `https://ghe.example.com/api/v3` → `ghe.example.com` (unchanged).
pub fn web_host_for_api(api: &Url) -> String {
    let host = api.host_str().unwrap_or_default().to_ascii_lowercase();
    match host.strip_prefix("api.") {
        Some(web) if !web.is_empty() => web.to_owned(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(s: &str) -> GithubRepo {
        s.parse().unwrap()
    }

    #[test]
    fn parses_owner_slash_name() {
        let r = repo(" acme-inc/ui.kit_2 ");
        assert_eq!((r.owner(), r.name()), ("acme-inc", "ui.kit_2"));
        assert_eq!(r.to_string(), "acme-inc/ui.kit_2");
        assert_eq!(repo("acme/ui.git"), repo("acme/ui"));
    }

    #[test]
    fn rejects_malformed_names_with_the_reason() {
        for (bad, reason) in [
            ("", "missing '/'"),
            ("acme", "missing '/'"),
            ("acme/ui/x", "more than one '/'"),
            ("/ui", "owner is empty"),
            ("acme/", "repository name is empty"),
            ("ac me/ui", "contains ' '"),
            ("acme/u;i", "contains ';'"),
            ("-acme/ui", "starts with '-'"),
            ("acme/..", "reserved"),
            ("https://github.com/acme/ui", "that is a URL"),
        ] {
            let err = bad.parse::<GithubRepo>().unwrap_err().to_string();
            assert!(err.contains(reason), "{bad:?}: {err}");
        }
        let long = format!("acme/{}", "x".repeat(101));
        assert!(
            long.parse::<GithubRepo>()
                .unwrap_err()
                .to_string()
                .contains("longer than 100")
        );
    }

    #[test]
    fn derives_from_https_and_ssh_remotes() {
        let expected = repo("octo-org/hello");
        for remote in [
            "https://github.com/octo-org/hello",
            "https://github.com/octo-org/hello.git",
            "https://github.com/octo-org/hello/",
            "https://GitHub.com/octo-org/hello.git",
            "https://x-access-token:ghp_secret@github.com/octo-org/hello.git",
            "https://ghp_secret@github.com:443/octo-org/hello",
            "git@github.com:octo-org/hello.git",
            "github.com:octo-org/hello",
            "ssh://git@github.com/octo-org/hello.git",
            "ssh://git@github.com:22/octo-org/hello",
        ] {
            assert_eq!(
                GithubRepo::from_remote_url(remote, "github.com").unwrap(),
                expected,
                "{remote}"
            );
        }
    }

    #[test]
    fn enterprise_remotes_need_the_enterprise_host() {
        let api = Url::parse("https://ghe.example.com/api/v3").unwrap();
        let host = web_host_for_api(&api);
        assert_eq!(host, "ghe.example.com");
        let r = GithubRepo::from_remote_url("git@ghe.example.com:team/app.git", &host).unwrap();
        assert_eq!(r, repo("team/app"));
        let err = GithubRepo::from_remote_url("https://github.com/team/app", &host).unwrap_err();
        assert!(
            err.to_string()
                .contains("host github.com is not the GitHub host ghe.example.com"),
            "{err}"
        );
        assert_eq!(
            web_host_for_api(&Url::parse("https://api.github.com").unwrap()),
            "github.com"
        );
        assert_eq!(
            web_host_for_api(&Url::parse("https://api.acme.ghe.com/").unwrap()),
            "acme.ghe.com"
        );
    }

    #[test]
    fn non_github_remotes_are_clear_errors_that_never_echo_credentials() {
        for (remote, reason) in [
            ("file:///srv/repos/ui.git", "only https, http, ssh and git"),
            ("/srv/repos/ui", "local path"),
            ("./ui", "local path"),
            ("https://gitlab.com/acme/ui.git", "host gitlab.com is not"),
            ("https://github.com/acme", "is not owner/name"),
            ("https://github.com/acme/ui/tree/main", "is not owner/name"),
            (
                "https://user:hunter2@gitlab.com/acme/ui.git",
                "host gitlab.com",
            ),
            ("https://hunter2@github.com/acme/u%20i", "contains '%'"),
        ] {
            let err = GithubRepo::from_remote_url(remote, "github.com").unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(reason), "{remote}: {shown}");
            assert!(!shown.contains("hunter2"), "{remote}: {shown}");
        }
    }

    #[test]
    fn redaction_keeps_the_host_and_path() {
        assert_eq!(
            redact_remote("https://tok@github.com/a/b.git"),
            "https://***@github.com/a/b.git"
        );
        assert_eq!(redact_remote("https://u:p@h/a@b"), "https://***@h/a@b");
        assert_eq!(
            redact_remote("ssh://git@github.com/a/b"),
            "ssh://git@github.com/a/b"
        );
        assert_eq!(
            redact_remote("ssh://git:pw@github.com/a/b"),
            "ssh://***@github.com/a/b"
        );
        assert_eq!(redact_remote("git@github.com:a/b"), "git@github.com:a/b");
        assert_eq!(
            redact_remote("https://github.com/a/b"),
            "https://github.com/a/b"
        );
    }
}
