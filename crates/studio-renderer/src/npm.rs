//! Running npm with an environment built from scratch, in its jail.
//!
//! npm gets only what it needs to reach the registry the way the operator configured it (PATH,
//! `npm_config_*`, CA settings). Studio's own variables, such as `GITHUB_TOKEN` or
//! `STUDIO_API_TOKEN`, never reach it. Jailed (the default), it runs as the sandbox user in a
//! network namespace of its own, with a private `HOME` (the operator's `~/.npmrc` is not read:
//! configure npm with `npm_config_*` variables), and reaches only the registry, through the
//! registry proxy (`registry_proxy`) and the bridge script that carries its connections there.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::error::RendererError;
use crate::jail::NpmJail;

/// An install that takes longer than this is stuck (a registry that never answers).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// Lines of npm's output kept in an error.
const OUTPUT_TAIL_LINES: usize = 30;

#[derive(Debug, Clone)]
pub(crate) struct Npm {
    program: PathBuf,
    env: Vec<(OsString, OsString)>,
    jail: Option<NpmJail>,
}

impl Npm {
    pub fn from_path(jail: Option<NpmJail>) -> Result<Self, RendererError> {
        let program =
            crate::fs_util::find_on_path("npm").ok_or(RendererError::ToolNotFound("npm"))?;
        let env = match jail {
            Some(_) => jailed_env(),
            None => npm_env(),
        };
        Ok(Self { program, env, jail })
    }

    /// The command that runs `npm <args>` in `dir`: in its jail, as the jail's user, when
    /// there is one.
    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let Some(npm_jail) = &self.jail else {
            let mut command = Command::new(&self.program);
            command.args(args).current_dir(dir);
            return command;
        };
        let spec = crate::jail::npm_spec(
            dir,
            &npm_jail.cache,
            &npm_jail.proxy_socket,
            &npm_jail.bridge,
            &npm_jail.node,
        );
        let bridged: Vec<String> = [
            npm_jail.bridge.to_string_lossy().into_owned(),
            npm_jail.proxy_socket.to_string_lossy().into_owned(),
            self.program.to_string_lossy().into_owned(),
        ]
        .into_iter()
        .chain(args.iter().map(|a| (*a).to_owned()))
        .collect();
        let (program, jail_args) = npm_jail.jail.command(&spec, &npm_jail.node, &bridged);
        let mut command = Command::new(program);
        command.args(jail_args).current_dir(dir);
        if let Some(identity) = npm_jail.jail.run_as() {
            // std drops the supplementary groups too when a root process changes its uid.
            command.uid(identity.uid).gid(identity.gid);
        }
        command
    }

    /// Runs `npm <args>` in `dir`; on failure the error carries the end of its output.
    pub async fn run(&self, dir: &Path, args: &[&str]) -> Result<(), RendererError> {
        let command_line = format!("npm {}", args.join(" "));
        tracing::info!(dir = %dir.display(), "running {command_line}");
        if let Some(npm_jail) = &self.jail {
            npm_jail.jail.hand_over(dir).map_err(RendererError::Jail)?;
        }
        let result = self.run_in(dir, args, command_line).await;
        if let Some(npm_jail) = &self.jail {
            // Before anything is published: the installed files must be Studio's, so that no
            // jailed process can change them later.
            npm_jail.jail.take_back(dir).map_err(RendererError::Jail)?;
        }
        result
    }

    async fn run_in(
        &self,
        dir: &Path,
        args: &[&str],
        command_line: String,
    ) -> Result<(), RendererError> {
        let mut command = self.command(dir, args);
        command
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
    operator_npm_env(&[
        "HOME",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    ])
}

/// In the jail: a private `HOME`, and no proxy variables (the bridge sets npm's proxy to the
/// registry proxy, which itself uses the operator's `HTTPS_PROXY`).
fn jailed_env() -> Vec<(OsString, OsString)> {
    let mut env = operator_npm_env(&[]);
    env.retain(|(key, _)| {
        let key = key.to_string_lossy().to_ascii_lowercase();
        !key.contains("proxy") && key != "npm_config_registry_proxy"
    });
    env.push((
        OsString::from("HOME"),
        OsString::from(studio_jail::JAIL_HOME),
    ));
    env.push((OsString::from("TMPDIR"), OsString::from("/tmp")));
    env
}

/// The operator's npm configuration and the variables every npm needs, plus `extra`.
fn operator_npm_env(extra: &[&str]) -> Vec<(OsString, OsString)> {
    const PASSED: [&str; 3] = ["PATH", "LANG", "NODE_EXTRA_CA_CERTS"];
    std::env::vars_os()
        .filter(|(key, _)| {
            let key = key.to_string_lossy();
            PASSED.contains(&key.as_ref())
                || extra.contains(&key.as_ref())
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
