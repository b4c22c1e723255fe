//! What callers ask of the manager, validated before any work starts.
//!
//! The API layer turns JSON into these types; everything that can be checked without touching the
//! world (numbers in range, paths non-empty, `owner/name` shape) is checked here, so a bad request
//! fails in microseconds with an error naming the field, before a repository is fetched.

use std::time::Duration;

use studio_core::{CommitPattern, SandboxConfig};

use crate::error::ManagerError;

/// The only sandbox type Studio runs today.
pub const COMPONENT_STUDIO: &str = "component-studio";

/// Upper bound for `timeout_hours`: a week. Longer is almost certainly a unit mistake.
const MAX_TIMEOUT_HOURS: f64 = 24.0 * 7.0;
/// Upper bound for `max_restarts` (not its default, which the server's [`SandboxConfig`] holds).
const MAX_RESTARTS_LIMIT: u32 = 100;

/// A create request, as the API received it (all optional fields still optional).
#[derive(Debug, Clone, Default)]
pub struct CreateSandbox {
    pub kind: Option<String>,
    pub repository: String,
    pub branch: Option<String>,
    pub auto_commit: Option<bool>,
    pub commit_pattern: Option<String>,
    pub timeout_hours: Option<f64>,
    pub max_restarts: Option<u32>,
    pub components: Option<Vec<String>>,
    pub github_repo: Option<String>,
    pub setup: Option<Vec<String>>,
    pub wrapper: Option<String>,
}

/// A create request that passed validation.
#[derive(Debug, Clone)]
pub struct ValidCreate {
    pub kind: String,
    pub repository: String,
    pub branch: Option<String>,
    pub config: SandboxConfig,
}

impl CreateSandbox {
    /// Checks every field and fills in the ones left out from `defaults` (the server's defaults,
    /// see [`studio_core::defaults`]).
    pub fn validate(self, defaults: &SandboxConfig) -> Result<ValidCreate, ManagerError> {
        let kind = self.kind.unwrap_or_else(|| COMPONENT_STUDIO.to_owned());
        if kind != COMPONENT_STUDIO {
            return Err(invalid(
                "unsupported_type",
                format!("type {kind:?} is not supported; use \"{COMPONENT_STUDIO}\""),
            ));
        }
        let repository = self.repository.trim().to_owned();
        if repository.is_empty() {
            return Err(invalid(
                "invalid_repository",
                "repository must not be empty",
            ));
        }
        if repository.contains('\0') || repository.contains('\n') {
            return Err(invalid(
                "invalid_repository",
                "repository contains a control character",
            ));
        }
        let branch = match self.branch.map(|b| b.trim().to_owned()) {
            Some(b) if b.is_empty() => None,
            Some(b) if !valid_branch_name(&b) => {
                return Err(invalid(
                    "invalid_branch",
                    format!("{b:?} is not a valid branch name"),
                ));
            }
            other => other,
        };
        let timeout = match self.timeout_hours {
            None => defaults.timeout,
            Some(h) if h.is_finite() && h > 0.0 && h <= MAX_TIMEOUT_HOURS => {
                Duration::from_secs_f64(h * 3600.0)
            }
            Some(h) => {
                return Err(invalid(
                    "invalid_timeout",
                    format!(
                        "timeout_hours must be a number above 0 and at most {MAX_TIMEOUT_HOURS}, got {h}"
                    ),
                ));
            }
        };
        let max_restarts = match self.max_restarts {
            None => defaults.max_restarts,
            Some(n) if n <= MAX_RESTARTS_LIMIT => n,
            Some(n) => {
                return Err(invalid(
                    "invalid_max_restarts",
                    format!("max_restarts must be at most {MAX_RESTARTS_LIMIT}, got {n}"),
                ));
            }
        };
        let commit_pattern = match self.commit_pattern {
            None => defaults.commit_pattern.clone(),
            Some(p) if p.trim().is_empty() => {
                return Err(invalid(
                    "invalid_commit_pattern",
                    "commit_pattern must not be empty",
                ));
            }
            Some(p) => CommitPattern(p),
        };
        let components = match self.components {
            None => defaults.components.clone(),
            Some(globs) => non_empty_strings("components", globs)?,
        };
        let setup = match self.setup {
            None => Vec::new(),
            Some(paths) => non_empty_strings("setup", paths)?,
        };
        if let Some(w) = &self.wrapper {
            let valid = w
                .split_once('#')
                .is_some_and(|(p, e)| !p.trim().is_empty() && !e.trim().is_empty());
            if !valid {
                return Err(invalid(
                    "invalid_wrapper",
                    format!("wrapper must look like path#Export, got {w:?}"),
                ));
            }
        }
        if let Some(repo) = &self.github_repo {
            let valid = repo.split_once('/').is_some_and(|(o, n)| {
                !o.is_empty()
                    && !n.is_empty()
                    && !n.contains('/')
                    && [o, n].iter().all(|s| {
                        s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    })
            });
            if !valid {
                return Err(invalid(
                    "invalid_github_repo",
                    format!("github_repo must look like owner/name, got {repo:?}"),
                ));
            }
        }
        Ok(ValidCreate {
            kind,
            repository,
            branch,
            config: SandboxConfig {
                auto_commit: self.auto_commit.unwrap_or(defaults.auto_commit),
                commit_pattern,
                timeout,
                max_restarts,
                components,
                github_repo: self.github_repo,
                setup,
                wrapper: self.wrapper,
            },
        })
    }
}

/// `github_repo` must be the session repository's own GitHub name (`own`, derived from its URL)
/// unless an `--allow-github-repo` pattern (`owner/*`, `owner/name`, `*/*`) allows it: otherwise
/// any caller could push branches and open pull requests, with the server's token, on any
/// repository that token can write.
pub(crate) fn check_github_repo(
    github_repo: Option<&str>,
    own: Option<&str>,
    allowed: &[String],
) -> Result<(), ManagerError> {
    let Some(asked) = github_repo else {
        return Ok(());
    };
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    if own.is_some_and(|own| same(own, asked)) {
        return Ok(());
    }
    let (owner, name) = asked.split_once('/').unwrap_or((asked, ""));
    let matches = allowed.iter().any(|pattern| {
        pattern
            .trim()
            .split_once('/')
            .is_some_and(|(po, pn)| (po == "*" || same(po, owner)) && (pn == "*" || same(pn, name)))
    });
    if matches {
        return Ok(());
    }
    Err(invalid(
        "github_repo_not_allowed",
        format!(
            "github_repo {asked:?} is not the repository's own GitHub repository and no \
             --allow-github-repo pattern allows it"
        ),
    ))
}

fn invalid(code: &'static str, message: impl Into<String>) -> ManagerError {
    ManagerError::invalid(code, message)
}

fn non_empty_strings(field: &str, values: Vec<String>) -> Result<Vec<String>, ManagerError> {
    if values.is_empty() {
        return Err(invalid(
            "invalid_request",
            format!("{field} must not be an empty list"),
        ));
    }
    if values.iter().any(|v| v.trim().is_empty()) {
        return Err(invalid(
            "invalid_request",
            format!("{field} must not contain empty strings"),
        ));
    }
    Ok(values)
}

/// The subset of git's ref-name rules that matter for a user-supplied base branch.
fn valid_branch_name(name: &str) -> bool {
    !name.starts_with('-')
        && !name.starts_with('/')
        && !name.ends_with('/')
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && !name
            .chars()
            .any(|c| c.is_control() || " ~^:?*[\\".contains(c))
}

/// What an execute request does to one file.
#[derive(Debug, Clone)]
pub enum FileOp {
    Write { path: String, content: Vec<u8> },
    Delete { path: String },
}

impl FileOp {
    pub fn path(&self) -> &str {
        match self {
            Self::Write { path, .. } | Self::Delete { path } => path,
        }
    }
}

/// `POST …/execute`, validated.
#[derive(Debug, Clone)]
pub struct Execute {
    pub op: FileOp,
    pub description: String,
    /// The git blob id (40 lowercase hex digits, see [`expected_blob`]) the caller last read of
    /// the file: the edit happens only if the file still holds it (`409 stale_file` otherwise).
    pub expected_hash: Option<String>,
}

/// `expected_hash` of an execute request: a blob id, 40 hex digits (any case), lower-cased.
pub fn expected_blob(hash: Option<String>) -> Result<Option<String>, ManagerError> {
    let Some(hash) = hash else {
        return Ok(None);
    };
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 40 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(
            "invalid_expected_hash",
            format!(
                "{hash:?} is not a git blob id (40 hex digits, the `hash` a file read answers)"
            ),
        ));
    }
    Ok(Some(hash))
}

/// Where a rollback goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackTo {
    Steps(u32),
    Commit(String),
}

impl RollbackTo {
    /// Exactly one of `commit_hash` and `steps`.
    pub fn from_fields(
        commit_hash: Option<String>,
        steps: Option<u32>,
    ) -> Result<Self, ManagerError> {
        match (commit_hash, steps) {
            (Some(_), Some(_)) => Err(invalid(
                "invalid_rollback",
                "give either commit_hash or steps, not both",
            )),
            (None, None) => Err(invalid("invalid_rollback", "give commit_hash or steps")),
            (None, Some(0)) => Err(invalid("invalid_rollback", "steps must be at least 1")),
            (None, Some(n)) => Ok(Self::Steps(n)),
            (Some(h), None) => {
                let h = h.trim().to_ascii_lowercase();
                if h.len() < 4 || h.len() > 40 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid(
                        "invalid_commit_hash",
                        format!("{h:?} is not a commit hash (4 to 40 hex digits)"),
                    ));
                }
                Ok(Self::Commit(h))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_repo_is_the_own_repository_or_allowed() {
        let allowed = vec!["acme/*".to_owned(), "other/one".to_owned()];
        let check = |asked, own| check_github_repo(asked, own, &allowed).map_err(|e| e.code);
        assert_eq!(check(None, None), Ok(()));
        assert_eq!(check(Some("me/ui"), Some("Me/UI")), Ok(()));
        assert_eq!(check(Some("acme/anything"), None), Ok(()));
        assert_eq!(check(Some("other/one"), Some("me/ui")), Ok(()));
        for foreign in ["other/two", "victim/ui", "acmex/ui"] {
            assert_eq!(
                check(Some(foreign), Some("me/ui")),
                Err("github_repo_not_allowed"),
                "{foreign}"
            );
        }
        assert_eq!(
            check_github_repo(Some("victim/ui"), None, &[]).map_err(|e| e.code),
            Err("github_repo_not_allowed")
        );
    }

    fn defaults() -> SandboxConfig {
        SandboxConfig {
            timeout: Duration::from_secs(3600),
            ..SandboxConfig::default()
        }
    }

    fn req(repo: &str) -> CreateSandbox {
        CreateSandbox {
            repository: repo.into(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_fill_in() {
        let v = req(" /tmp/repo ").validate(&defaults()).unwrap();
        assert_eq!(v.repository, "/tmp/repo");
        assert_eq!(v.kind, COMPONENT_STUDIO);
        assert_eq!(v.config.timeout, Duration::from_secs(3600));
        assert!(v.config.auto_commit);
    }

    #[test]
    fn bad_fields_are_named() {
        let cases: Vec<(CreateSandbox, &str)> = vec![
            (req(""), "invalid_repository"),
            (
                CreateSandbox {
                    kind: Some("vm".into()),
                    ..req("r")
                },
                "unsupported_type",
            ),
            (
                CreateSandbox {
                    timeout_hours: Some(0.0),
                    ..req("r")
                },
                "invalid_timeout",
            ),
            (
                CreateSandbox {
                    timeout_hours: Some(f64::NAN),
                    ..req("r")
                },
                "invalid_timeout",
            ),
            (
                CreateSandbox {
                    max_restarts: Some(1000),
                    ..req("r")
                },
                "invalid_max_restarts",
            ),
            (
                CreateSandbox {
                    branch: Some("a..b".into()),
                    ..req("r")
                },
                "invalid_branch",
            ),
            (
                CreateSandbox {
                    wrapper: Some("Theme".into()),
                    ..req("r")
                },
                "invalid_wrapper",
            ),
            (
                CreateSandbox {
                    github_repo: Some("acme".into()),
                    ..req("r")
                },
                "invalid_github_repo",
            ),
            (
                CreateSandbox {
                    components: Some(vec![]),
                    ..req("r")
                },
                "invalid_request",
            ),
            (
                CreateSandbox {
                    commit_pattern: Some(" ".into()),
                    ..req("r")
                },
                "invalid_commit_pattern",
            ),
        ];
        for (r, code) in cases {
            let e = r.clone().validate(&defaults()).unwrap_err();
            assert_eq!(e.code, code, "{r:?}");
        }
    }

    #[test]
    fn rollback_needs_exactly_one_target() {
        assert!(RollbackTo::from_fields(None, None).is_err());
        assert!(RollbackTo::from_fields(Some("abcd".into()), Some(1)).is_err());
        assert!(RollbackTo::from_fields(None, Some(0)).is_err());
        assert!(RollbackTo::from_fields(Some("xyz!".into()), None).is_err());
        assert_eq!(
            RollbackTo::from_fields(None, Some(2)).unwrap(),
            RollbackTo::Steps(2)
        );
        assert_eq!(
            RollbackTo::from_fields(Some("ABCDEF12".into()), None).unwrap(),
            RollbackTo::Commit("abcdef12".into())
        );
    }
}
