//! Credentials for remotes, and the translation of transport errors into [`GitError`]s.
//!
//! libgit2 calls the credentials callback again every time the server refuses what it got, so a
//! callback that always answers would loop forever on a bad token. Each callback here offers every
//! credential at most once and then gives up, which turns "wrong token" into a prompt, clear error.
//!
//! SSH host keys are deliberately *not* checked here: with no `certificate_check` callback,
//! libgit2 accepts a host only if `~/.ssh/known_hosts` has its key, and refuses unknown hosts.

use std::path::PathBuf;

use git2::{Cred, CredentialType, ErrorClass, ErrorCode, RemoteCallbacks};
use studio_core::SecretToken;

use crate::error::GitError;
use crate::source::{RepoSource, Transport};

/// The username GitHub expects together with a token used as the password.
const TOKEN_USERNAME: &str = "x-access-token";

/// Builds fresh callbacks for one connection. Cheap; build one per `connect`/`push` call.
pub(crate) fn callbacks<'a>(
    source: &RepoSource,
    token: Option<&'a SecretToken>,
) -> RemoteCallbacks<'a> {
    let mut answers = Credentials::new(source, token);
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |url, username, allowed| answers.answer(url, username, allowed));
    callbacks
}

/// The state of one connection's credentials callback: what was offered already.
struct Credentials<'a> {
    transport: Transport,
    /// The token, if this source may be offered it (https to the configured GitHub host only).
    token: Option<&'a SecretToken>,
    /// The source's host: after a redirect libgit2 asks on behalf of another URL, which gets no
    /// token.
    host: Option<String>,
    tried_token: bool,
    tried_agent: bool,
    tried_username: bool,
    keys: std::vec::IntoIter<PathBuf>,
}

impl<'a> Credentials<'a> {
    fn new(source: &RepoSource, token: Option<&'a SecretToken>) -> Self {
        Self {
            transport: source.transport,
            // A caller chooses the URL; the token is the server's: only GitHub ever sees it.
            token: token.filter(|_| source.offer_token),
            host: host_of(&source.url),
            tried_token: false,
            tried_agent: false,
            tried_username: false,
            keys: ssh_key_candidates().into_iter(),
        }
    }

    fn answer(
        &mut self,
        url: &str,
        username: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        let user = username.unwrap_or("git");
        if allowed.contains(CredentialType::USERNAME) && !self.tried_username {
            self.tried_username = true;
            return Cred::username(user);
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            // Never send a token over plain http or to an ssh server asking for a password.
            let same_host = self.host.is_some() && host_of(url) == self.host;
            if let (Transport::Https, Some(token), false, true) =
                (self.transport, self.token, self.tried_token, same_host)
            {
                self.tried_token = true;
                return Cred::userpass_plaintext(TOKEN_USERNAME, token.expose());
            }
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            if !self.tried_agent {
                self.tried_agent = true;
                if let Ok(cred) = Cred::ssh_key_from_agent(user) {
                    return Ok(cred);
                }
            }
            if let Some(key) = self.keys.next() {
                return Cred::ssh_key(user, None, &key, None);
            }
        }
        Err(git2::Error::new(
            ErrorCode::Auth,
            ErrorClass::Callback,
            "no (more) credentials to offer: set GITHUB_TOKEN for https, or an ssh agent or key for ssh",
        ))
    }
}

/// The lower-case host of a URL, if it is one.
fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

/// Private keys in `~/.ssh` that exist, in the order OpenSSH tries them.
fn ssh_key_candidates() -> Vec<PathBuf> {
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
        return Vec::new();
    };
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|name| home.join(".ssh").join(name))
        .filter(|path| path.is_file())
        .collect()
}

/// Turns an error from connecting, fetching or pushing into the variant that names the problem.
pub(crate) fn transport_error(source: &RepoSource, error: &git2::Error) -> GitError {
    let url = source.display();
    let message = error.message().to_owned();
    match error.code() {
        ErrorCode::Auth => GitError::AuthenticationFailed { url, message },
        ErrorCode::Certificate => GitError::Unreachable {
            url,
            message: format!("{message} (add the host's key to ~/.ssh/known_hosts)"),
        },
        _ if error.class() == ErrorClass::Http && message.contains("401") => {
            GitError::AuthenticationFailed { url, message }
        }
        _ => GitError::Unreachable { url, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SourcePolicy;

    fn answers_with_token(url: &str, github_host: &str) -> bool {
        let policy = SourcePolicy::new(Vec::new(), false, github_host);
        let source = RepoSource::parse(url).unwrap().with_token_decision(&policy);
        let token = SecretToken::new("ghp_secret").unwrap();
        let mut answers = Credentials::new(&source, Some(&token));
        answers
            .answer(url, None, CredentialType::USER_PASS_PLAINTEXT)
            .is_ok()
    }

    /// A github.com source allowed by the default policy, and a token for it: the setup of the
    /// tests that follow what `Credentials` answers across repeated and redirected asks.
    fn github_source_and_token() -> (RepoSource, SecretToken) {
        let source = RepoSource::parse_allowed(
            "https://github.com/a/b.git",
            &SourcePolicy::default(),
            std::path::Path::new("/nonexistent-data"),
        )
        .unwrap();
        (source, SecretToken::new("ghp_secret").unwrap())
    }

    #[test]
    fn the_token_is_offered_to_the_github_host_only() {
        assert!(answers_with_token(
            "https://github.com/a/b.git",
            "github.com"
        ));
        assert!(answers_with_token(
            "https://ghe.example.com/a/b.git",
            "ghe.example.com"
        ));
        assert!(!answers_with_token(
            "https://attacker.example/x.git",
            "github.com"
        ));
        assert!(!answers_with_token(
            "https://github.com/a/b.git",
            "ghe.example.com"
        ));
        assert!(!answers_with_token(
            "http://github.com/a/b.git",
            "github.com"
        ));
    }

    #[test]
    fn the_token_is_offered_once() {
        let (source, token) = github_source_and_token();
        let url = "https://github.com/a/b.git";
        let mut answers = Credentials::new(&source, Some(&token));
        assert!(
            answers
                .answer(url, None, CredentialType::USER_PASS_PLAINTEXT)
                .is_ok()
        );
        assert!(
            answers
                .answer(url, None, CredentialType::USER_PASS_PLAINTEXT)
                .is_err()
        );
    }

    #[test]
    fn a_redirect_to_another_host_gets_no_token() {
        let (source, token) = github_source_and_token();
        let mut answers = Credentials::new(&source, Some(&token));
        let asked = answers.answer(
            "https://attacker.example/a/b.git/info/refs",
            None,
            CredentialType::USER_PASS_PLAINTEXT,
        );
        assert!(asked.is_err());
    }
}
