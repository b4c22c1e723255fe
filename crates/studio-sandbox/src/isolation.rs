//! Whether renderers may start: in a jail that works on this host, or outside any jail because
//! the operator said so (`--insecure-no-jail`), or not at all.
//!
//! Decided once at start. A host that cannot jail (no bubblewrap, no sandbox user, user
//! namespaces blocked, the data dir unreachable for the jail's uid, cgroup controllers missing
//! for the renderer limits) keeps serving its API, but every create and recovery is refused with
//! the reason, and `/readyz` answers 503 with it.

use std::path::Path;

use studio_jail::{Jail, JailSettings};
use studio_supervisor::Supervisor;

use crate::error::{ErrorKind, ManagerError};

/// How renderers are isolated on this server (`ManagerConfig::jail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JailMode {
    /// Every renderer and install in a jail; refuse them where none can be built.
    Required(JailSettings),
    /// `--insecure-no-jail`: renderers run as the server's user with its view of the host.
    /// Development only: a repository's code can then read the server's secrets and data.
    Insecure,
}

impl Default for JailMode {
    fn default() -> Self {
        Self::Required(JailSettings::default())
    }
}

/// What [`JailMode`] came to on this host.
#[derive(Debug, Clone)]
pub(crate) enum Isolation {
    Jailed(Jail),
    Insecure,
    /// Renderers are refused, for this reason.
    Refused(String),
}

impl Isolation {
    pub fn decide(mode: &JailMode, data_dir: &Path, node: &Path, supervisor: &Supervisor) -> Self {
        let settings = match mode {
            JailMode::Insecure => {
                tracing::warn!(
                    "--insecure-no-jail: renderers run repository code as Studio's own user, \
                     with Studio's view of the host (its data, database and secrets). \
                     Development only"
                );
                return Self::Insecure;
            }
            JailMode::Required(settings) => settings,
        };
        let unenforced = supervisor.unenforced_limits();
        if !unenforced.is_empty() {
            return Self::refused(format!(
                "this host cannot enforce the renderer limits {} (no cgroup controller for \
                 them); pass --insecure-no-jail (development only) to run renderers anyway",
                unenforced.join(", ")
            ));
        }
        match Jail::detect(settings, &[data_dir], node) {
            Ok(jail) => {
                tracing::info!(user = jail.user(), "renderers and installs run jailed");
                Self::Jailed(jail)
            }
            Err(e) => Self::refused(format!(
                "{e}; until then no renderer can start (--insecure-no-jail runs them \
                 unjailed, development only)"
            )),
        }
    }

    fn refused(reason: String) -> Self {
        tracing::error!("renderers cannot start: {reason}");
        Self::Refused(reason)
    }

    pub fn jail(&self) -> Option<&Jail> {
        match self {
            Self::Jailed(jail) => Some(jail),
            _ => None,
        }
    }

    /// Why renderers are refused, if they are.
    pub fn problem(&self) -> Option<&str> {
        match self {
            Self::Refused(reason) => Some(reason),
            _ => None,
        }
    }

    /// `Err` (503) when renderers are refused.
    pub fn require(&self) -> Result<(), ManagerError> {
        match self.problem() {
            Some(reason) => Err(ManagerError::new(
                ErrorKind::Unavailable,
                "jail_unavailable",
                format!("renderers cannot start on this server: {reason}"),
            )),
            None => Ok(()),
        }
    }
}
