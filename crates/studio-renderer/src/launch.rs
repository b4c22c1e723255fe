//! How to run a prepared renderer: the spec handed to the supervisor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The renderer's readiness and liveness endpoint (`studio-template/vite.config.mjs`): answers
/// 200 once Vite serves and its watcher has its baseline, without transforming anything
/// (probing the page itself would transform it on every probe, competing with the first load).
pub const HEALTH_PATH: &str = "/__studio/health";

/// A command line that runs one renderer (the template's `server.mjs`: Vite in middleware mode).
///
/// The renderer opens no port: it serves on the listening Unix socket the supervisor binds and
/// passes as fd 3 (`UnitSpec::listen_socket`, `STUDIO_LISTEN_FD=3`), probed at [`HEALTH_PATH`].
///
/// The environment is complete: the caller must start the process with exactly these variables
/// (`env_clear()` first), so Studio's own secrets never reach a repository's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSpec {
    /// `node`, as found on Studio's PATH.
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// The checkout (Vite's root).
    pub cwd: PathBuf,
    /// The host user to run as (the jail's), if not the server's own.
    pub run_as: Option<studio_jail::Identity>,
}

impl LaunchSpec {
    /// The same command inside `jail`: `bwrap … -- node …`, with a private `HOME` and `/tmp`.
    pub(crate) fn jailed(self, jail: &studio_jail::Jail, spec: &studio_jail::JailSpec) -> Self {
        let (program, args) = jail.command(spec, &self.program, &self.args);
        let mut env = self.env;
        env.insert("HOME".to_owned(), studio_jail::JAIL_HOME.to_owned());
        env.insert("TMPDIR".to_owned(), "/tmp".to_owned());
        Self {
            program,
            args,
            env,
            cwd: self.cwd,
            run_as: jail.run_as(),
        }
    }
}

/// Node's heap settings and mimalloc's (Rolldown's allocator) that bring an idle Vite from about
/// 234 MB to about 159 MB resident (measured; see the benchmark).
const MEMORY_TUNING: [(&str, &str); 3] = [
    ("MIMALLOC_PURGE_DELAY", "0"),
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ("NODE_OPTIONS", "--max-semi-space-size=4"),
];

/// `checkout` and `node` must be UTF-8 (checked by the caller): the supervisor takes strings.
pub(crate) fn launch_spec(node: &Path, checkout: &str, memory_tuning: bool) -> LaunchSpec {
    let studio = format!("{checkout}/{}", crate::STUDIO_DIR);
    let args = vec![format!("{studio}/server.mjs")];
    // Node and Vite need a PATH (for `node` itself and tools it may spawn) and nothing else.
    let node_dir = node
        .parent()
        .map(|dir| dir.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut env = BTreeMap::from([
        (
            "PATH".to_owned(),
            format!("{node_dir}:/usr/local/bin:/usr/bin:/bin"),
        ),
        ("NODE_ENV".to_owned(), "development".to_owned()),
    ]);
    if memory_tuning {
        env.extend(
            MEMORY_TUNING
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
    }
    LaunchSpec {
        program: node.to_owned(),
        args,
        env,
        cwd: PathBuf::from(checkout),
        run_as: None,
    }
}
