//! How a server under test is started: its data directory and its environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{paths, procs};

/// A data directory (database, mirrors, checkouts) that outlives server restarts. Dropping it kills
/// whatever still runs from it and removes it.
#[derive(Debug)]
pub struct DataDir {
    dir: tempfile::TempDir,
}

impl DataDir {
    /// A new directory in the black-box tests' scratch space.
    pub fn new(prefix: &str) -> Self {
        Self {
            dir: paths::scratch_dir(paths::E2E, prefix),
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for DataDir {
    #[allow(clippy::print_stderr)] // nowhere else to say it from a drop
    fn drop(&mut self) {
        procs::kill_processes_under(self.dir.path());
        // Pool slots mount checkouts below the data dir (a server killed by a test never
        // unmounted them): unmounted first, or the removal would reach through them.
        if !studio_jail::mounts_below(self.dir.path()).is_empty()
            && let Err(e) = studio_jail::remove_drop_point(self.dir.path())
        {
            eprintln!("cannot unmount below {}: {e}", self.dir.path().display());
        }
    }
}

/// How to start a server: environment on top of the test defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The server's `--data-dir` (its SQLite file lives there unless `DATABASE_URL` is set).
    pub data_dir: PathBuf,
    /// Environment on top of the server's (the developer's Studio settings are removed).
    pub env: BTreeMap<String, String>,
    /// The token the test's client sends (normally the same as `STUDIO_API_TOKEN`).
    pub client_token: Option<String>,
    /// A command the server is started through (`prlimit …`), if any.
    pub launcher: Vec<String>,
}

impl ServerConfig {
    /// Defaults for tests: the shared npm cache, quiet HTTP tracing, local sources allowed. (Renderers serve on Unix
    /// sockets under the data dir: servers of parallel tests never share one.)
    pub fn new(data: &DataDir) -> Self {
        let mut env = BTreeMap::new();
        env.insert(
            "STUDIO_NPM_CACHE".into(),
            paths::npm_cache(paths::E2E).display().to_string(),
        );
        env.insert("STUDIO_LOG".into(), "info,tower_http=warn,sqlx=warn".into());
        // The suite's repositories are local bare remotes; a production server refuses them.
        env.insert("STUDIO_ALLOW_LOCAL_SOURCES".into(), "1".into());
        // Pre-started renderers cost a core for seconds each: only the tests of the pool ask
        // for them (`.env("STUDIO_RENDERER_POOL", n)`).
        env.insert("STUDIO_RENDERER_POOL".into(), "0".into());
        Self {
            data_dir: data.path().to_path_buf(),
            env,
            client_token: None,
            launcher: Vec::new(),
        }
    }

    /// Sets one environment variable of the server.
    pub fn env(mut self, key: &str, value: impl ToString) -> Self {
        self.env.insert(key.into(), value.to_string());
        self
    }

    /// Removes one environment variable of the test defaults (e.g. `STUDIO_ALLOW_LOCAL_SOURCES`,
    /// for a server with the production source policy).
    pub fn without_env(mut self, key: &str) -> Self {
        self.env.remove(key);
        self
    }

    /// Sets `STUDIO_API_TOKEN` and makes the test's client send it.
    pub fn api_token(mut self, token: &str) -> Self {
        self.client_token = Some(token.into());
        self.env("STUDIO_API_TOKEN", token)
    }
}
