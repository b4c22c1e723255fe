//! The `git` CLI for fixtures and baselines, isolated from the machine's configuration (no user or
//! system config) and with a fixed identity, so that results do not depend on who runs the tests.

use std::path::Path;
use std::process::Command;

/// The identity of commits the fixtures make (a `-c user.name=…` in `args` overrides it).
const IDENTITY: [&str; 4] = [
    "-c",
    "user.name=Studio",
    "-c",
    "user.email=studio@localhost",
];

/// `git -C dir args…`, isolated from the user's and the system's configuration.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args(IDENTITY)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    command
}

/// Runs git in `dir` and returns its stdout; panics with its stderr when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = command(dir, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git {args:?}: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
