//! Configuration of a [`GitWorkspace`](crate::GitWorkspace).

use std::path::PathBuf;

use studio_core::SecretToken;

use crate::policy::SourcePolicy;

/// Default limit on the size of one written file.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;

/// The name and email recorded as author and committer of session commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

impl Default for Author {
    fn default() -> Self {
        Self {
            name: "Studio".to_owned(),
            email: "studio@localhost".to_owned(),
        }
    }
}

/// Everything a [`GitWorkspace`](crate::GitWorkspace) needs to know.
#[derive(Debug, Clone)]
pub struct GitConfig {
    /// Root of Studio's data. Mirrors live in `mirrors/`, default checkouts in
    /// `sandboxes/<sandbox id>/repo`, prepared spare checkouts in `spares/`.
    pub data_dir: PathBuf,
    pub author: Author,
    /// Largest accepted file content, in bytes.
    pub max_file_bytes: u64,
    /// Token for `https://` remotes (GitHub: `GITHUB_TOKEN`). Sent only over https, only from
    /// the credentials callback; redacted in `Debug`.
    pub token: Option<SecretToken>,
    /// Keep one checkout per mirror prepared in the background, so that the next session of the
    /// same repository starts by renaming a directory instead of writing every file. Costs one
    /// extra working tree of disk per mirror.
    pub spare_checkouts: bool,
    /// Which sources callers may use and which host gets the token. The default allows any
    /// source but the data dir and offers the token to `github.com` only.
    pub source_policy: SourcePolicy,
    /// Every edit is on disk before it is acknowledged: written files and their directories are
    /// fsync'd, and libgit2 fsyncs the objects and refs it writes (a process-wide libgit2
    /// setting, switched on by the first durable workspace and never off again). `false` only
    /// measures what durability costs (the benchmark): an edit then survives a crash of the
    /// process but not of the machine.
    pub durable: bool,
}

impl GitConfig {
    /// Defaults for everything but the data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            author: Author::default(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            token: None,
            spare_checkouts: true,
            source_policy: SourcePolicy::default(),
            durable: true,
        }
    }
}
