//! Which repository sources a caller may use on this server.
//!
//! A server is reachable by callers who must not be able to make it clone arbitrary local
//! repositories (another sandbox's mirror, any git directory the server can read) or make it
//! connect to hosts on its own network (a port scanner), so every source passes
//! [`SourcePolicy`] before anything touches the disk or the network.
//!
//! # Pattern syntax
//!
//! `scheme://host[:port][/path-glob]`, for example `https://github.com/*`,
//! `https://ghe.example.com/team/*`, `ssh://git.example.com:2222/*`, `https://*.example.com/*`,
//! `http://localhost:*/*`.
//!
//! - `scheme` is `https`, `http` or `ssh` (scp-like `git@host:owner/repo` sources are matched as
//!   `ssh://host/owner/repo`).
//! - `host` is a name or IP literal compared case-insensitively, `*.suffix` (any subdomain of
//!   `suffix`) or `*` (any host).
//! - Without a port the pattern matches only the scheme's default port (443, 80, 22); `:*`
//!   matches any port.
//! - The path glob is matched against the URL's path; `*` matches any run of characters,
//!   including `/`. No path means `/*`.
//!
//! A source whose host matches a pattern with a wildcard host is additionally resolved, and
//! refused if any address is loopback, link-local, private or otherwise internal. A pattern
//! that names the host exactly is the operator's explicit choice and skips that check (a GitHub
//! Enterprise host on the company network resolves to a private address).
//!
//! Local paths and `file://` URLs are refused unless `allow_local` is set; Studio's own data dir
//! (and anything under it, after canonicalisation) is refused even then. Every refusal of a local
//! source has the same text whether or not the path exists, and never echoes it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::path::{Component, Path, PathBuf};

use crate::error::GitError;

/// The text of every refused local source: identical for existing and missing paths.
const LOCAL_REFUSED: &str = "local paths and file:// URLs are not allowed on this server";

/// One `--allow-source` pattern, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePattern {
    scheme: String,
    host: HostPattern,
    /// `None`: any port (`:*`).
    port: Option<u16>,
    path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Suffix(String),
    Exact(String),
}

/// Why a pattern string is not a valid `--allow-source` pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid source pattern {pattern:?}: {reason} (expected scheme://host[:port][/path-glob])")]
pub struct PatternError {
    pattern: String,
    reason: &'static str,
}

impl SourcePattern {
    /// Parses `scheme://host[:port][/path-glob]`, see the module docs.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let fail = |reason| PatternError {
            pattern: pattern.to_owned(),
            reason,
        };
        let (scheme, rest) = pattern.trim().split_once("://").ok_or(fail("no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port =
            default_port(&scheme).ok_or(fail("scheme must be https, http or ssh"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/*"),
        };
        if authority.contains('@') {
            return Err(fail("a pattern has no user part"));
        }
        // `[v6]:port` keeps its brackets' colons out of the port split.
        let split_at = match authority.rfind(']') {
            Some(end) => authority[end..].find(':').map(|i| end + i),
            None => authority.rfind(':'),
        };
        let (host, port) = match split_at {
            Some(i) if &authority[i + 1..] == "*" => (&authority[..i], None),
            Some(i) => {
                let port = authority[i + 1..]
                    .parse()
                    .map_err(|_| fail("the port is not a number"))?;
                (&authority[..i], Some(port))
            }
            None => (authority, Some(default_port)),
        };
        let host = host.to_ascii_lowercase();
        let host = match host.as_str() {
            "" => return Err(fail("no host")),
            "*" => HostPattern::Any,
            h => match h.strip_prefix("*.") {
                Some(suffix) if !suffix.is_empty() && !suffix.contains('*') => {
                    HostPattern::Suffix(suffix.to_owned())
                }
                _ if h.contains('*') => {
                    return Err(fail("'*' in a host must be all of it or a leading '*.'"));
                }
                _ => HostPattern::Exact(h.trim_start_matches('[').trim_end_matches(']').to_owned()),
            },
        };
        Ok(Self {
            scheme,
            host,
            port,
            path: path.to_owned(),
        })
    }

    /// `Some(true)` if the source matches and the pattern names its host exactly, `Some(false)` if
    /// it matches through a wildcard host, `None` if it does not match.
    fn matches(&self, target: &Remote) -> Option<bool> {
        if self.scheme != target.scheme
            || self.port.is_some_and(|p| p != target.port)
            || !glob(&self.path, &target.path)
        {
            return None;
        }
        match &self.host {
            HostPattern::Any => Some(false),
            HostPattern::Suffix(s) => target
                .host
                .strip_suffix(s.as_str())
                .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1)
                .then_some(false),
            HostPattern::Exact(h) => (*h == target.host).then_some(true),
        }
    }
}

/// What the server allows; built from `--allow-source`, `--allow-local-sources` and
/// `--github-api-url` by `studio serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePolicy {
    /// `None`: any remote URL (the library default, for embedding and tests).
    patterns: Option<Vec<SourcePattern>>,
    allow_local: bool,
    /// The host the GitHub token is offered to (`github.com`, or the Enterprise host).
    github_host: String,
}

impl Default for SourcePolicy {
    /// Any remote and local sources (but never the data dir); the token only for `github.com`.
    /// A server always builds an explicit policy with [`SourcePolicy::new`].
    fn default() -> Self {
        Self {
            patterns: None,
            allow_local: true,
            github_host: "github.com".to_owned(),
        }
    }
}

impl SourcePolicy {
    /// Only sources matching `patterns` (plus local ones if `allow_local`); `github_host` is the
    /// GitHub web host, the only host the token is offered to.
    pub fn new(patterns: Vec<SourcePattern>, allow_local: bool, github_host: &str) -> Self {
        Self {
            patterns: Some(patterns),
            allow_local,
            github_host: github_host.to_ascii_lowercase(),
        }
    }

    /// The patterns a server allows when none are configured: `https://<github_host>/*` (with
    /// `github.com` always included).
    pub fn default_patterns(github_host: &str) -> Vec<SourcePattern> {
        let mut hosts = vec!["github.com".to_owned()];
        let host = github_host.to_ascii_lowercase();
        if !hosts.contains(&host) && !host.is_empty() {
            hosts.push(host);
        }
        hosts
            .iter()
            .filter_map(|h| SourcePattern::parse(&format!("https://{h}/*")).ok())
            .collect()
    }

    /// Whether the GitHub token may be offered to `host` (https only; checked by the caller).
    pub(crate) fn token_host(&self, host: Option<&str>) -> bool {
        host.is_some_and(|h| h.eq_ignore_ascii_case(&self.github_host))
    }

    /// Refuses a local path the policy does not allow, before the path is looked at, so the answer
    /// is the same whether it exists. `path` is as given (absolute or relative).
    pub(crate) fn check_local_lexically(
        &self,
        path: &Path,
        data_dir: &Path,
    ) -> Result<(), GitError> {
        if !self.allow_local || inside(&absolute(path), &absolute(data_dir)) {
            return Err(refused(LOCAL_REFUSED));
        }
        Ok(())
    }

    /// The same after canonicalisation (symlinks and `..` resolved).
    pub(crate) fn check_local_canonical(
        &self,
        canonical: &Path,
        data_dir: &Path,
    ) -> Result<(), GitError> {
        let data = std::fs::canonicalize(data_dir).unwrap_or_else(|_| absolute(data_dir));
        if inside(canonical, &data) {
            return Err(refused(LOCAL_REFUSED));
        }
        Ok(())
    }

    /// Checks a remote URL (or scp-like `user@host:path`). Blocking: may resolve the host.
    pub(crate) fn check_remote(&self, url: &str) -> Result<(), GitError> {
        let remote = Remote::parse(url)?;
        let Some(patterns) = &self.patterns else {
            return Ok(());
        };
        let explicit = patterns
            .iter()
            .filter_map(|p| p.matches(&remote))
            .reduce(|a, b| a || b)
            .ok_or_else(|| refused("the repository does not match any --allow-source pattern"))?;
        if !explicit && resolves_internally(&remote.host, remote.port) {
            return Err(refused(
                "the host does not resolve, or resolves to a loopback, link-local or private address",
            ));
        }
        Ok(())
    }
}

fn refused(reason: &'static str) -> GitError {
    GitError::SourceNotAllowed { reason }
}

/// A remote source taken apart for matching.
struct Remote {
    scheme: String,
    host: String,
    port: u16,
    path: String,
}

impl Remote {
    fn parse(input: &str) -> Result<Self, GitError> {
        if let Some((_, _)) = input.split_once("://") {
            let url = url::Url::parse(input).map_err(|_| refused("malformed URL"))?;
            let scheme = match url.scheme() {
                "git+ssh" | "ssh+git" => "ssh",
                s => s,
            }
            .to_owned();
            // A user name in an https URL is a credential (`https://token@host/`); ssh needs one.
            if scheme != "ssh" && (!url.username().is_empty() || url.password().is_some()) {
                return Err(refused("credentials in the URL are not accepted"));
            }
            let port = url
                .port()
                .or_else(|| default_port(&scheme))
                .ok_or_else(|| refused("unsupported scheme"))?;
            let host = match url.host() {
                Some(url::Host::Ipv6(ip)) => ip.to_string(),
                Some(h) => h.to_string().to_ascii_lowercase(),
                None => return Err(refused("the URL has no host")),
            };
            return Ok(Self {
                scheme,
                host,
                port,
                path: url.path().to_owned(),
            });
        }
        // scp-like `[user@]host:path`
        let (before, path) = input
            .split_once(':')
            .ok_or_else(|| refused("malformed source"))?;
        let host = before.rsplit_once('@').map_or(before, |(_, h)| h);
        Ok(Self {
            scheme: "ssh".to_owned(),
            host: host.to_ascii_lowercase(),
            port: 22,
            path: format!("/{}", path.trim_start_matches('/')),
        })
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" => Some(443),
        "http" => Some(80),
        "ssh" => Some(22),
        _ => None,
    }
}

/// `*` matches any run of characters (including `/`); everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut text) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return text.is_empty();
    };
    for part in middle {
        match text.find(part) {
            Some(i) => text = &text[i + part.len()..],
            None => return false,
        }
    }
    text.ends_with(last)
}

/// True if the name resolves to any internal address, or cannot be resolved at all (refusing
/// is safer than letting libgit2 resolve it differently a moment later).
fn resolves_internally(host: &str, port: u16) -> bool {
    match (host, port).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            addrs.is_empty() || addrs.iter().any(|a| is_internal(a.ip()))
        }
        Err(_) => true,
    }
}

/// Loopback, unspecified, private (RFC 1918, unique-local), link-local, carrier-grade NAT and
/// broadcast addresses: none of them is a public git host.
pub(crate) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(v6),
        },
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

/// The path made absolute against the working directory, `.` and `..` resolved lexically.
fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn inside(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir)
}

#[cfg(test)]
mod tests;
