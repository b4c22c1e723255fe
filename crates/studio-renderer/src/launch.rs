//! How to run a prepared renderer: the spec handed to the supervisor.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use url::Url;

/// A command line that runs one renderer (a Vite dev server) and how to tell it is up.
///
/// The environment is complete: the caller must start the process with exactly these variables
/// (`env_clear()` first), so Studio's own secrets never reach a repository's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSpec {
    /// `node`, as found on Studio's PATH.
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    /// The checkout (Vite's root).
    pub cwd: PathBuf,
    /// The port Vite listens on, on 127.0.0.1, with `strictPort`.
    pub port: u16,
    /// Answers HTTP 200 with the page once Vite serves.
    pub readiness_url: Url,
}

/// Node's heap settings and mimalloc's (Rolldown's allocator) that bring an idle Vite from about
/// 234 MB to about 159 MB resident (measured; see the benchmark).
const MEMORY_TUNING: [(&str, &str); 3] = [
    ("MIMALLOC_PURGE_DELAY", "0"),
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ("NODE_OPTIONS", "--max-semi-space-size=4"),
];

pub(crate) fn launch_spec(
    node: &Path,
    checkout: &Path,
    port: u16,
    memory_tuning: bool,
) -> LaunchSpec {
    let studio = checkout.join(crate::STUDIO_DIR);
    let args = [
        studio
            .join("node_modules/vite/bin/vite.js")
            .into_os_string(),
        "--config".into(),
        studio.join("vite.config.mjs").into_os_string(),
        // Loads the config with Node's import(): nothing is written next to it or into the store.
        "--configLoader".into(),
        "native".into(),
    ];
    // Node and Vite need a PATH (for `node` itself and tools it may spawn) and nothing else.
    let node_dir = node.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut path = node_dir.into_os_string();
    path.push(":/usr/local/bin:/usr/bin:/bin");
    let mut env = vec![
        (OsString::from("PATH"), path),
        ("NODE_ENV".into(), "development".into()),
    ];
    if memory_tuning {
        env.extend(
            MEMORY_TUNING
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        );
    }
    LaunchSpec {
        program: node.to_owned(),
        args: args.to_vec(),
        env,
        cwd: checkout.to_owned(),
        port,
        readiness_url: readiness_url(port),
    }
}

fn readiness_url(port: u16) -> Url {
    Url::parse(&format!("http://127.0.0.1:{port}/"))
        .expect("a loopback URL with a numeric port always parses")
}
