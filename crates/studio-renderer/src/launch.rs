//! How to run a prepared renderer: the spec handed to the supervisor.

use std::collections::BTreeMap;
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
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// The checkout (Vite's root).
    pub cwd: PathBuf,
    /// The port Vite listens on, on 127.0.0.1, with `strictPort`.
    pub port: u16,
    /// Answers HTTP 200 as soon as Vite serves (a cheap endpoint of the template: probing the
    /// page itself would transform it on every probe, competing with the first real load).
    pub readiness_url: Url,
    /// The renderer page designers open (`renderer_url` in the API).
    pub page_url: Url,
}

/// Node's heap settings and mimalloc's (Rolldown's allocator) that bring an idle Vite from about
/// 234 MB to about 159 MB resident (measured; see the benchmark).
const MEMORY_TUNING: [(&str, &str); 3] = [
    ("MIMALLOC_PURGE_DELAY", "0"),
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ("NODE_OPTIONS", "--max-semi-space-size=4"),
];

/// `checkout` and `node` must be UTF-8 (checked by the caller): the supervisor takes strings.
pub(crate) fn launch_spec(
    node: &Path,
    checkout: &str,
    port: u16,
    memory_tuning: bool,
) -> LaunchSpec {
    let studio = format!("{checkout}/{}", crate::STUDIO_DIR);
    let args = vec![
        format!("{studio}/node_modules/vite/bin/vite.js"),
        "--config".to_owned(),
        format!("{studio}/vite.config.mjs"),
        // Loads the config with Node's import(): nothing is written next to it or into the store.
        "--configLoader".to_owned(),
        "native".to_owned(),
    ];
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
        port,
        readiness_url: loopback_url(port, "/__studio/health"),
        page_url: loopback_url(port, "/"),
    }
}

fn loopback_url(port: u16, path: &str) -> Url {
    Url::parse(&format!("http://127.0.0.1:{port}{path}"))
        .expect("a loopback URL with a numeric port always parses")
}
