//! Turning what octocrab reports into a decision (retry or not) and a message fit for users.

use studio_core::SecretToken;
use url::Url;

use crate::error::{ForgeError, Step};

/// GitHub messages longer than this are cut: a proxy's HTML error page is no use in an API error.
const MAX_MESSAGE_CHARS: usize = 500;

/// One failed attempt at a GitHub call.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Worth trying again: 5xx, 408, 429, timeouts, connection errors.
    Transient { status: Option<u16>, reason: String },
    /// An answer that will not change by asking again.
    Final(ForgeError),
}

impl Failure {
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// The error for the caller once retrying is over, after `attempts` attempts.
    pub(crate) fn into_error(self, step: Step, attempts: u32) -> ForgeError {
        match self {
            Self::Final(err) => err,
            Self::Transient { status, reason } => ForgeError::Unavailable {
                step,
                attempts,
                status,
                reason,
            },
        }
    }
}

/// Classifies octocrab's errors for one GitHub. Holds the token only to scrub it out of any text
/// that comes from outside (GitHub, a proxy, the OS) before it becomes part of an error.
#[derive(Clone)]
pub(crate) struct Classifier {
    pub(crate) api_base: Url,
    pub(crate) token: Option<SecretToken>,
}

impl Classifier {
    pub(crate) fn classify(&self, step: Step, err: octocrab::Error) -> Failure {
        let github = match err {
            octocrab::Error::GitHub { source, .. } => source,
            octocrab::Error::Json { .. } | octocrab::Error::Serde { .. } => {
                let message = self.scrub(error_chain(&err));
                return Failure::Final(ForgeError::InvalidResponse { step, message });
            }
            // Connection refused or reset, DNS, TLS, timeouts: GitHub may never have seen it.
            _ => {
                let reason = format!("cannot reach {}: {}", self.api_base, error_chain(&err));
                return Failure::Transient {
                    status: None,
                    reason: self.scrub(reason),
                };
            }
        };
        let status = github.status_code.as_u16();
        let message = self.scrub(github_message(&github));
        Failure::Final(match status {
            401 => ForgeError::Unauthorized { step, message },
            403 => ForgeError::Forbidden { step, message },
            404 => ForgeError::NotFound { step, message },
            422 => ForgeError::Validation { step, message },
            408 | 429 | 500..=599 => {
                let reason = format!("{status}: {message}");
                return Failure::Transient {
                    status: Some(status),
                    reason,
                };
            }
            _ => ForgeError::Rejected {
                step,
                status,
                message,
            },
        })
    }

    fn scrub(&self, text: String) -> String {
        let text = match &self.token {
            Some(token) => text.replace(token.expose(), "***"),
            None => text,
        };
        truncate(text, MAX_MESSAGE_CHARS)
    }
}

/// GitHub's `message` plus the details of `errors[]` (where a 422 says what is actually wrong).
fn github_message(err: &octocrab::GitHubError) -> String {
    let details: Vec<String> = err
        .errors
        .iter()
        .flatten()
        .filter_map(|e| match e.get("message").and_then(|m| m.as_str()) {
            Some(message) => Some(message.to_owned()),
            None => e.get("code").and_then(|c| c.as_str()).map(|code| {
                let field = e.get("field").and_then(|f| f.as_str()).unwrap_or("request");
                format!("{field}: {code}")
            }),
        })
        .collect();
    if details.is_empty() {
        err.message.clone()
    } else {
        format!("{} ({})", err.message, details.join("; "))
    }
}

/// `error: cause: cause`, the way a reader wants to see a transport failure.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn truncate(mut text: String, max_chars: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max_chars) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbing_hides_the_token_and_bounds_the_length() {
        let classifier = Classifier {
            api_base: Url::parse("https://api.github.com").unwrap(),
            token: SecretToken::new("ghp_secret"),
        };
        assert_eq!(
            classifier.scrub("Bearer ghp_secret was bad".into()),
            "Bearer *** was bad"
        );
        assert_eq!(
            classifier.scrub("é".repeat(600)).chars().count(),
            MAX_MESSAGE_CHARS + 1
        );
        assert_eq!(truncate("ééé".into(), 2), "éé…");
        assert_eq!(truncate("ab".into(), 2), "ab");
    }
}
