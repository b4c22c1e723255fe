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
    let transport = source.transport;
    let mut tried_token = false;
    let mut tried_agent = false;
    let mut tried_username = false;
    let mut keys = ssh_key_candidates().into_iter();
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |_url, username, allowed| {
        let user = username.unwrap_or("git");
        if allowed.contains(CredentialType::USERNAME) && !tried_username {
            tried_username = true;
            return Cred::username(user);
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            // Never send a token over plain http or to an ssh server asking for a password.
            if let (Transport::Https, Some(token), false) = (transport, token, tried_token) {
                tried_token = true;
                return Cred::userpass_plaintext(TOKEN_USERNAME, token.expose());
            }
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            if !tried_agent {
                tried_agent = true;
                if let Ok(cred) = Cred::ssh_key_from_agent(user) {
                    return Ok(cred);
                }
            }
            if let Some(key) = keys.next() {
                return Cred::ssh_key(user, None, &key, None);
            }
        }
        Err(git2::Error::new(
            ErrorCode::Auth,
            ErrorClass::Callback,
            "no (more) credentials to offer: set GITHUB_TOKEN for https, or an ssh agent or key for ssh",
        ))
    });
    callbacks
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
