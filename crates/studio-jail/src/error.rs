//! Why a jail cannot be used on this host, in words an operator can act on.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JailError {
    #[error(
        "bubblewrap (bwrap) is not installed: install it (Debian: apt-get install bubblewrap) or pass --insecure-no-jail (development only)"
    )]
    NoBubblewrap,
    #[error(
        "the sandbox user {user:?} does not exist: create it (useradd --system --no-create-home --shell /usr/sbin/nologin {user}) or name another with --sandbox-user"
    )]
    NoUser { user: String },
    #[error("cannot read {path}: {reason}")]
    Passwd { path: String, reason: String },
    #[error(
        "bubblewrap cannot build a jail on this host ({reason}); user namespaces may be disabled (sysctl user.max_user_namespaces) or blocked by a seccomp profile"
    )]
    Unusable { reason: String },
    #[error(
        "the jail's uid cannot reach {path}: every directory above it must be searchable by {user:?} (chmod o+x on the parents): {reason}"
    )]
    Unreachable {
        path: String,
        user: String,
        reason: String,
    },
    #[error("{action} {path}: {reason}")]
    Io {
        action: &'static str,
        path: String,
        reason: String,
    },
}

impl JailError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, e: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}
