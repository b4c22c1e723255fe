//! Everything that can go wrong while preparing a renderer, each naming what to fix.

use std::io;
use std::path::PathBuf;

/// Why a renderer could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum RendererError {
    /// A component glob, setup path or wrapper from the request or `studio.json` is unusable.
    #[error("invalid renderer setting {field} {value:?} (from {origin}): {reason}")]
    InvalidSetting {
        field: &'static str,
        value: String,
        /// `the request` or `studio.json`.
        origin: &'static str,
        reason: String,
    },

    /// The repository's `studio.json` is not valid.
    #[error("{path} is not a valid studio.json: {reason}")]
    StudioJson { path: PathBuf, reason: String },

    /// A manifest of the repository (`package.json`, a lockfile, `studio.json`) is a symlink, not
    /// a regular file, or too large: Studio refuses it without reading it.
    #[error(
        "{path} cannot be used: {reason} (manifests must be regular files of at most 1 MiB, lockfiles 32 MiB)"
    )]
    UnsafeManifest { path: PathBuf, reason: String },

    /// The repository has no `package.json`: the renderer takes React from its dependencies.
    #[error(
        "{0} has no package.json: the renderer needs react and react-dom from the repository's dependencies"
    )]
    NoPackageJson(PathBuf),

    /// The repository's dependencies installed, but React is not among them.
    #[error("the repository's dependencies do not include {package} (add it to package.json)")]
    MissingPackage { package: &'static str },

    /// The jail could not be prepared for a renderer or an install (ownership of its paths).
    #[error("the sandbox jail: {0}")]
    Jail(#[from] studio_jail::JailError),

    /// The template directory lacks a file the renderer needs.
    #[error("renderer template {dir} is incomplete: {missing} is missing")]
    Template { dir: PathBuf, missing: &'static str },

    /// `node` or `npm` is not on the PATH.
    #[error("{0} was not found on PATH; the renderer needs Node.js 20.19+ and npm")]
    ToolNotFound(&'static str),

    /// An npm command failed; `output` is the end of what it printed.
    #[error("`{command}` failed ({status}) in {dir}:\n{output}")]
    Install {
        command: String,
        dir: PathBuf,
        status: String,
        output: String,
    },

    /// The checkout's path is not UTF-8 (Vite's configuration and the supervisor need text).
    #[error("the checkout path {0:?} is not valid UTF-8")]
    NonUtf8Path(PathBuf),

    /// A file system operation failed.
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A pre-started renderer could not be made or handed a checkout.
    #[error("pre-started renderer: {0}")]
    PoolHandOver(String),

    /// A blocking task panicked or was cancelled.
    #[error("renderer preparation task failed: {0}")]
    Task(String),
}

impl RendererError {
    /// Whether the repository's content is at fault (a 422 to the client), not Studio or a peer.
    pub fn is_unsafe_manifest(&self) -> bool {
        matches!(self, Self::UnsafeManifest { .. })
    }

    /// Whether the caller can fix this in what it sent or in its repository (a 422): a setting
    /// of the create request, or a repository without `package.json`, without React, or with an
    /// invalid `studio.json`. An install that fails is not among them: the registry may be down.
    pub fn is_callers_to_fix(&self) -> bool {
        matches!(
            self,
            Self::InvalidSetting { .. }
                | Self::StudioJson { .. }
                | Self::NoPackageJson(_)
                | Self::MissingPackage { .. }
        )
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

/// Runs blocking file work off the async runtime.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, RendererError>
where
    F: FnOnce() -> Result<T, RendererError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| RendererError::Task(e.to_string()))?
}
