//! Running npm with an environment built from scratch.
//!
//! npm gets only what it needs to reach the registry the way the operator configured it (PATH,
//! HOME for `~/.npmrc`, `npm_config_*`, proxy and CA settings). Studio's own variables, such as
//! `GITHUB_TOKEN` or `STUDIO_API_TOKEN`, never reach it or the install scripts of a repository.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::error::RendererError;

/// An install that takes longer than this is stuck (a registry that never answers).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// Lines of npm's output kept in an error.
const OUTPUT_TAIL_LINES: usize = 30;

#[derive(Debug, Clone)]
pub(crate) struct Npm {
    program: PathBuf,
    env: Vec<(OsString, OsString)>,
}

impl Npm {
    pub fn from_path() -> Result<Self, RendererError> {
        let program =
            crate::fs_util::find_on_path("npm").ok_or(RendererError::ToolNotFound("npm"))?;
        Ok(Self {
            program,
            env: npm_env(),
        })
    }

    /// Runs `npm <args>` in `dir`; on failure the error carries the end of its output.
    pub async fn run(&self, dir: &Path, args: &[&str]) -> Result<(), RendererError> {
        let command_line = format!("npm {}", args.join(" "));
        tracing::info!(dir = %dir.display(), "running {command_line}");
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .current_dir(dir)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command
            .spawn()
            .map_err(RendererError::io("start", &self.program))?;
        let output = tokio::time::timeout(INSTALL_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| RendererError::Install {
                command: command_line.clone(),
                dir: dir.to_owned(),
                status: format!("no result after {}s", INSTALL_TIMEOUT.as_secs()),
                output: String::new(),
            })?
            .map_err(RendererError::io("wait for", &self.program))?;
        if output.status.success() {
            return Ok(());
        }
        let text =
            String::from_utf8_lossy(&output.stderr) + String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("Unknown user config"))
            .collect();
        let tail = lines[lines.len().saturating_sub(OUTPUT_TAIL_LINES)..].join("\n");
        Err(RendererError::Install {
            command: command_line,
            dir: dir.to_owned(),
            status: output.status.to_string(),
            output: tail,
        })
    }
}

/// The variables npm may see: how to find programs, the operator's npm configuration, proxies and
/// certificates. Everything else is dropped.
fn npm_env() -> Vec<(OsString, OsString)> {
    const PASSED: [&str; 10] = [
        "PATH",
        "HOME",
        "LANG",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "NODE_EXTRA_CA_CERTS",
    ];
    std::env::vars_os()
        .filter(|(key, _)| {
            let key = key.to_string_lossy();
            PASSED.contains(&key.as_ref())
                || key.starts_with("npm_config_")
                || key.starts_with("NPM_CONFIG_")
                || key == "SSL_CERT_FILE"
        })
        .chain([
            (OsString::from("NO_UPDATE_NOTIFIER"), OsString::from("1")),
            (OsString::from("npm_config_fund"), OsString::from("false")),
            (OsString::from("npm_config_audit"), OsString::from("false")),
        ])
        .collect()
}
