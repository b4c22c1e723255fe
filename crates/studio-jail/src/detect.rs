//! Finding out, once at start, whether this host can jail renderers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::command::{JailSpec, bwrap_args};
use crate::error::JailError;
use crate::identity::Identity;

/// The operator's choices (`--sandbox-user`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JailSettings {
    /// The system user jailed processes run as when Studio runs as root.
    pub user: String,
    /// The `/etc/passwd` to look the user up in (a test can point elsewhere).
    pub passwd: PathBuf,
}

impl Default for JailSettings {
    fn default() -> Self {
        Self {
            user: crate::DEFAULT_SANDBOX_USER.to_owned(),
            passwd: PathBuf::from("/etc/passwd"),
        }
    }
}

/// A jail that was shown to work on this host. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jail {
    bwrap: PathBuf,
    /// `None` when Studio is not root: the jail keeps Studio's uid.
    run_as: Option<Identity>,
    user: String,
}

impl Jail {
    /// Checks that `bwrap` is installed, the sandbox user exists (when Studio is root), and that
    /// a jail holding `must_reach` (read-only) can be built and runs `probe --version`. Every
    /// refusal says what to do about it.
    pub fn detect(
        settings: &JailSettings,
        must_reach: &[&Path],
        probe: &Path,
    ) -> Result<Self, JailError> {
        let bwrap = find_on_path("bwrap").ok_or(JailError::NoBubblewrap)?;
        let (run_as, user) = if Identity::current().is_root() {
            (
                Some(Identity::lookup(&settings.user, &settings.passwd)?),
                settings.user.clone(),
            )
        } else {
            (None, format!("uid {}", Identity::current().uid))
        };
        let jail = Self {
            bwrap,
            run_as,
            user,
        };
        jail.probe(must_reach, probe)?;
        Ok(jail)
    }

    /// Whom jailed processes run as: drop to it before exec (`None`: stay as we are).
    pub fn run_as(&self) -> Option<Identity> {
        self.run_as
    }

    /// The host user jailed processes run as, for messages.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The program and arguments that run `program args…` in the jail `spec` describes. The
    /// caller starts it with the environment the jailed program should see (bubblewrap passes
    /// its own on) and, if [`Jail::run_as`] is set, as that identity.
    pub fn command(
        &self,
        spec: &JailSpec,
        program: &Path,
        args: &[String],
    ) -> (PathBuf, Vec<String>) {
        (self.bwrap.clone(), bwrap_args(spec, program, args))
    }

    fn probe(&self, must_reach: &[&Path], probe: &Path) -> Result<(), JailError> {
        let mut readable: Vec<PathBuf> = must_reach.iter().map(|p| p.to_path_buf()).collect();
        if !probe.starts_with("/usr") {
            readable.extend(probe.parent().map(Path::to_path_buf));
        }
        let spec = JailSpec {
            readable,
            cwd: PathBuf::from("/"),
            tmp_bytes: 1 << 20,
            die_with_parent: true,
            ..JailSpec::default()
        };
        let (program, args) = self.command(&spec, probe, &["--version".to_owned()]);
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(identity) = self.run_as {
            use std::os::unix::process::CommandExt;
            // std drops the supplementary groups too when it changes the uid of a root process.
            command.uid(identity.uid).gid(identity.gid);
        }
        let output = command
            .output()
            .map_err(|e| JailError::io("start", &self.bwrap, e))?;
        if output.status.success() {
            return Ok(());
        }
        let reason = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        let unreachable = must_reach
            .iter()
            .find(|path| reason.contains(&*path.to_string_lossy()));
        match unreachable {
            Some(path) if reason.contains("Permission denied") => Err(JailError::Unreachable {
                path: path.display().to_string(),
                user: self.user.clone(),
                reason,
            }),
            _ => Err(JailError::Unusable {
                reason: if reason.is_empty() {
                    output.status.to_string()
                } else {
                    reason
                },
            }),
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
