//! Pre-started renderers: a process with Node and Vite loaded and exercised, waiting to be told
//! which checkout it serves.
//!
//! A cold renderer start pays for `node`, Vite's import and a first dev server before it serves
//! anything. A *pool slot* pays for all of that ahead of time, on a tiny app of Studio's own
//! (`pool-app/`, prepared like any checkout, so its `.studio/` is a real renderer app), and then
//! waits on a control socket (`STUDIO_POOL_CONTROL`, see `studio-template/server.mjs`). Claiming it
//! ([`PoolSlot::hand_over`]) takes two steps:
//!
//! 1. **The checkout appears in its jail.** The slot's jail binds `<slot>/sb`, a shared mount
//!    (`studio_jail::prepare_drop_point`), at `<data>/sandboxes`: empty until the claim, when the
//!    sandbox's checkout is bind-mounted below it on the host (`studio_jail::drop_in`, `.git`
//!    covered) and reaches the jail by mount propagation, at the very path Vite's settings name.
//!    Each slot has its own drop point, so a pooled renderer sees only the checkout it serves.
//!    Without a jail (`--insecure-no-jail`) the checkout is visible anyway and nothing is mounted.
//! 2. **The process switches.** One JSON line on the control socket names the checkout's
//!    `.studio/vite.config.mjs`; the process closes its throwaway Vite, changes into the checkout
//!    and starts the sandbox's Vite on the listening socket it already serves on. The supervisor
//!    renames that socket to the sandbox's and moves the process into the sandbox's cgroup
//!    (`Supervisor::transfer`): Node cannot receive a listening descriptor over a Unix socket,
//!    so the descriptor stays and its path moves.
//!
//! A slot's directory is `<data>/pool/<name>/`: `app/` (the pool app), `ctl/` (the control
//! socket, the one directory the jail's user may write besides the app's Vite cache), `sb/` (the
//! drop point) and, once claimed, `claimed-by` (the sandbox it serves, so that a server restart
//! knows which slots are still in use).

use std::path::{Path, PathBuf};
use std::time::Duration;

use studio_core::SandboxId;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::error::{RendererError, blocking};
use crate::launch::LaunchSpec;
use crate::prepare::{Renderer, SandboxSpec};
use crate::settings::RendererOverrides;

/// The environment variable naming a pooled renderer's control socket.
pub const POOL_CONTROL_VAR: &str = "STUDIO_POOL_CONTROL";
/// The pool app's files. Its manifests are the sample repository's, so the pool shares the
/// sample's dependency store entry (React) instead of installing one of its own.
const POOL_APP: [(&str, &str); 4] = [
    ("package.json", include_str!("../pool-app/package.json")),
    (
        "package-lock.json",
        include_str!("../pool-app/package-lock.json"),
    ),
    ("studio.json", include_str!("../pool-app/studio.json")),
    ("src/Warm.tsx", include_str!("../pool-app/src/Warm.tsx")),
];
/// Records, in a slot's directory, the sandbox a claimed slot serves.
const CLAIMED_BY: &str = "claimed-by";
/// The repository name the pool app's Vite seed is kept under.
const POOL_REPOSITORY: &str = "studio:pool";

/// One pre-started renderer's directory and how to run it.
#[derive(Debug, Clone)]
pub struct PoolSlot {
    /// Short and unique: the slot's directory and (prefixed) its supervisor unit.
    pub name: String,
    /// `<data>/pool/<name>`.
    pub dir: PathBuf,
    /// How to run it: the pool app's renderer with its control socket (jailed if renderers are).
    pub launch: LaunchSpec,
    control: PathBuf,
    /// `(<slot>/sb, <data>/sandboxes)`: the drop point and the directory it stands for inside
    /// the jail (canonical). `None` without a jail.
    drop_point: Option<(PathBuf, PathBuf)>,
}

/// `<data>/pool`, the directory of every slot.
pub fn pool_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("pool")
}

/// The slot directories below `<data>/pool`, claimed or not.
pub fn pool_slot_dirs(data_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(pool_dir(data_dir)) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// The sandbox a slot was handed to, if it was.
pub fn pool_slot_claimed_by(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(CLAIMED_BY)).ok()?;
    Some(text.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Removes a slot's directory: unmounts the checkout it was handed (if any) and its drop point,
/// then deletes what is left. Its process must be gone (or about to be: a jail still running
/// keeps its own view until it ends).
pub async fn remove_pool_slot(dir: PathBuf) -> Result<(), RendererError> {
    blocking(move || studio_jail::remove_drop_point(&dir).map_err(RendererError::from)).await
}

impl Renderer {
    /// Why pre-started renderers cannot work here, if they cannot: in a jail, handing over a
    /// checkout is a mount, which needs Studio to run as root.
    pub fn pool_unsupported(&self) -> Option<&'static str> {
        (self.jail().is_some() && !studio_jail::drop_points_supported()).then_some(
            "handing a checkout to a pre-started renderer mounts it into the renderer's jail, \
             which needs Studio to run as root with CAP_SYS_ADMIN (not in a container that drops it)",
        )
    }

    /// Makes slot `name`: its directory, the pool app prepared inside it, the drop point, and
    /// the command that starts it. The slot's process is the caller's to start.
    pub async fn prepare_pool_slot(&self, name: &str) -> Result<PoolSlot, RendererError> {
        if let Some(reason) = self.pool_unsupported() {
            return Err(RendererError::PoolHandOver(reason.to_owned()));
        }
        let data_dir = self.data_dir().to_owned();
        let dir = pool_dir(&data_dir).join(name);
        let app = dir.join("app");
        let ctl = dir.join("ctl");
        {
            let (app, ctl) = (app.clone(), ctl.clone());
            let jail = self.jail().cloned();
            blocking(move || {
                for (file, content) in POOL_APP {
                    let path = app.join(file);
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(RendererError::io("create", parent))?;
                    }
                    std::fs::write(&path, content).map_err(RendererError::io("write", &path))?;
                }
                std::fs::create_dir_all(&ctl).map_err(RendererError::io("create", &ctl))?;
                if let Some(jail) = &jail {
                    jail.hand_over(&ctl)?;
                }
                Ok(())
            })
            .await?;
        }
        let spec = SandboxSpec {
            checkout: app.clone(),
            repository: POOL_REPOSITORY.to_owned(),
            sandbox_id: SandboxId::from_random(rand::random()),
            socket_url: None,
            preview_host: "pool.localhost".to_owned(),
            overrides: RendererOverrides::default(),
        };
        let prepared = self.prepare(&spec).await?;
        // The canonical app directory (a jailed launch keeps the checkout as its cwd).
        let app = prepared.launch.cwd;
        let template_store = prepared.report.template.node_modules;
        let app_str = app
            .to_str()
            .ok_or_else(|| RendererError::NonUtf8Path(app.clone()))?;
        let control = ctl.join("s");
        let mut launch = crate::launch::launch_spec(self.node(), app_str, self.memory_tuning());
        launch.env.insert(
            POOL_CONTROL_VAR.to_owned(),
            control.to_string_lossy().into_owned(),
        );
        let mut drop_point = None;
        if let Some(jail) = self.jail() {
            let sandboxes = data_dir.join("sandboxes");
            let (sb, sandboxes) = {
                let sb = dir.join("sb");
                blocking(move || {
                    std::fs::create_dir_all(&sandboxes)
                        .map_err(RendererError::io("create", &sandboxes))?;
                    let sandboxes = sandboxes
                        .canonicalize()
                        .map_err(RendererError::io("open", &sandboxes))?;
                    studio_jail::prepare_drop_point(&sb)?;
                    Ok((sb, sandboxes))
                })
                .await?
            };
            let mut spec = crate::jail::renderer_spec(&app, &template_store, self.node());
            // The pool app is Studio's own: no `.git` to cover.
            spec.hidden.clear();
            spec.writable.push(
                ctl.canonicalize()
                    .map_err(RendererError::io("open", &ctl))?,
            );
            spec.drop_points.push((sb.clone(), sandboxes.clone()));
            launch = launch.jailed(jail, &spec);
            drop_point = Some((sb, sandboxes));
        }
        Ok(PoolSlot {
            name: name.to_owned(),
            dir,
            launch,
            control,
            drop_point,
        })
    }
}

impl PoolSlot {
    /// Hands `checkout` (prepared, its `.studio/` generated) to this slot's waiting process, for
    /// `sandbox`: makes the checkout visible in its jail, tells it to switch and waits (at most
    /// `timeout`) for its answer. On error the process is of no further use: remove it.
    pub async fn hand_over(
        &self,
        sandbox: &SandboxId,
        checkout: &Path,
        timeout: Duration,
    ) -> Result<(), RendererError> {
        let checkout = {
            let checkout = checkout.to_owned();
            blocking(move || {
                checkout
                    .canonicalize()
                    .map_err(RendererError::io("open the checkout", &checkout))
            })
            .await?
        };
        let record = self.dir.join(CLAIMED_BY);
        std::fs::write(&record, sandbox.to_string())
            .map_err(RendererError::io("write", &record))?;
        if let Some((sb, sandboxes)) = self.drop_point.clone() {
            let source = checkout.clone();
            blocking(move || {
                let relative = source.strip_prefix(&sandboxes).map_err(|_| {
                    RendererError::PoolHandOver(format!(
                        "the checkout {} is not below {}",
                        source.display(),
                        sandboxes.display()
                    ))
                })?;
                studio_jail::drop_in(&sb, relative, &source, &[Path::new(".git")])
                    .map_err(RendererError::from)
            })
            .await?;
        }
        let config = checkout.join(crate::STUDIO_DIR).join("vite.config.mjs");
        let request = serde_json::json!({ "config": config, "cwd": checkout });
        tokio::time::timeout(timeout, self.switch(request))
            .await
            .map_err(|_| {
                RendererError::PoolHandOver(format!(
                    "the pre-started renderer did not answer within {timeout:?}"
                ))
            })?
    }

    /// One request line on the control socket, one answer line back.
    async fn switch(&self, request: serde_json::Value) -> Result<(), RendererError> {
        let failed = |what: &str, e: std::io::Error| {
            RendererError::PoolHandOver(format!("{what} {}: {e}", self.control.display()))
        };
        let mut stream = tokio::net::UnixStream::connect(&self.control)
            .await
            .map_err(|e| failed("cannot connect to", e))?;
        let mut line = request.to_string();
        line.push('\n');
        stream
            .write_all(line.as_bytes())
            .await
            .map_err(|e| failed("cannot write to", e))?;
        let mut answer = String::new();
        BufReader::new(stream)
            .read_line(&mut answer)
            .await
            .map_err(|e| failed("cannot read from", e))?;
        let answer: serde_json::Value = serde_json::from_str(&answer).map_err(|_| {
            RendererError::PoolHandOver(format!(
                "the pre-started renderer answered {answer:?} (it may have exited)"
            ))
        })?;
        if answer["ok"] == serde_json::Value::Bool(true) {
            return Ok(());
        }
        Err(RendererError::PoolHandOver(format!(
            "the pre-started renderer refused the checkout: {}",
            answer["error"].as_str().unwrap_or("no reason given")
        )))
    }
}

#[cfg(test)]
mod tests {
    /// The pool app shares the sample repository's dependency store entry (no install of its
    /// own where the sample is used, as in the tests and the benchmark) only while its manifests
    /// are the sample's.
    #[test]
    fn the_pool_apps_manifests_are_the_samples() {
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/design-system/");
        for (file, content) in &super::POOL_APP[..2] {
            let theirs = std::fs::read_to_string(format!("{sample}{file}")).unwrap();
            assert_eq!(
                *content, theirs,
                "pool-app/{file} differs from the sample's"
            );
        }
    }
}
