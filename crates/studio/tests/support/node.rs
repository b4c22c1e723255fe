//! Runs JavaScript test files with Node's own test runner (`node --test`) against a server this
//! Rust test started: the TypeScript client's tests and the dashboard's Chromium tests are
//! written in JavaScript, next to the code they test, and reach the server through the
//! environment (`STUDIO_URL`, `STUDIO_API_TOKEN`, ...).
//!
//! Node's runner prints TAP-like lines; its exit status is the verdict. The output is returned so
//! a failing Rust test shows which JavaScript assertion failed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// What a `node --test` run printed, and whether every test passed.
#[derive(Debug)]
pub struct NodeRun {
    pub success: bool,
    pub output: String,
}

impl NodeRun {
    /// Panics with the runner's output unless every test passed. The output is printed either way
    /// (shown with `--no-capture`): the JavaScript tests report what they measured in it.
    pub fn assert_passed(&self) {
        println!("{}", self.output);
        assert!(self.success, "node --test failed:\n{}", self.output);
    }
}

/// The workspace root (test files are given relative to it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `node [node_flags] --test --test-concurrency=1 <files>` in the workspace root, with `env`
/// added to this process's environment. Killed, and reported as a failure, after `limit`.
pub async fn run_node_tests(
    node_flags: &[&str],
    files: &[&str],
    env: &[(&str, String)],
    limit: Duration,
) -> NodeRun {
    let root = workspace_root();
    let mut command = Command::new("node");
    command
        .args(node_flags)
        // One file after the other: each drives a real server and browser, and the files' tests
        // are ordered stories, not independent units.
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .args(files.iter().map(|file| root.join(file)))
        .current_dir(&root)
        .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("start node --test");
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(out)) => NodeRun {
            success: out.status.success(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        },
        Ok(Err(e)) => panic!("waiting for node --test: {e}"),
        // The future owned the child: dropping it killed node (kill_on_drop).
        Err(_) => NodeRun {
            success: false,
            output: format!("node --test did not finish within {limit:?}"),
        },
    }
}
