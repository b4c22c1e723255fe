//! The renderer as the supervisor sees it: the unit's name and its [`UnitSpec`] (readiness and
//! liveness probes, startup timeout, crash policy). Every renderer unit is described here and
//! nowhere else, so what is registered and what is looked up later cannot disagree.

use std::time::Duration;

use studio_core::{SandboxConfig, SandboxId};
use studio_renderer::LaunchSpec;
use studio_supervisor::{Liveness, Probe, UnitSpec};

use crate::config::ManagerConfig;
use crate::policy::renderer_restart_policy;

/// Between two liveness checks of a running renderer.
const LIVENESS_PERIOD: Duration = Duration::from_secs(5);

/// Consecutive failed liveness checks that count as a crash.
const LIVENESS_FAILURES: u32 = 3;

/// The supervisor's name for a sandbox's renderer: the one place it is spelled out, so the spec
/// and the log lookups can never disagree.
pub(super) fn unit_name(id: &SandboxId) -> String {
    format!("{id}-renderer")
}

/// The supervisor's description of a renderer. Its liveness probe is its readiness probe (the
/// page answers), checked every [`LIVENESS_PERIOD`]; its crash budget is the sandbox's.
pub(super) fn unit_spec(
    config: &ManagerConfig,
    id: &SandboxId,
    launch: LaunchSpec,
    sandbox: &SandboxConfig,
) -> UnitSpec {
    let readiness = Probe::http(launch.readiness_url.as_str());
    let mut liveness = Liveness::new(readiness.clone());
    liveness.period = LIVENESS_PERIOD;
    liveness.failure_threshold = LIVENESS_FAILURES;
    UnitSpec {
        name: unit_name(id),
        program: launch.program.to_string_lossy().into_owned(),
        args: launch.args,
        cwd: launch.cwd,
        env: launch.env,
        port: Some(launch.port),
        readiness: Some(readiness),
        startup_timeout: config.renderer_startup_timeout,
        liveness: Some(liveness),
        restart: renderer_restart_policy(sandbox.max_restarts),
        ..UnitSpec::default()
    }
}
