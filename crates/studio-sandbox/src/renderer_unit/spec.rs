//! The renderer as the supervisor sees it: the unit's name and its [`UnitSpec`] (readiness and
//! liveness probes, startup timeout, crash policy). Every renderer unit is described here and
//! nowhere else, so what is registered and what is looked up later cannot disagree.

use std::time::Duration;

use studio_core::{SandboxConfig, SandboxId};
use studio_renderer::LaunchSpec;
use studio_supervisor::{Liveness, Probe, ResourceLimits, RunAs, UnitSpec};

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

/// The supervisor's description of a renderer. It serves on its Unix socket
/// ([`ManagerConfig::renderer_socket`]), which the supervisor binds and hands over as fd 3 and
/// keeps across crash restarts; no TCP port. Readiness and liveness are the template's health
/// endpoint over that socket, liveness checked every [`LIVENESS_PERIOD`]; its crash budget is the
/// sandbox's.
pub(super) fn unit_spec(
    config: &ManagerConfig,
    id: &SandboxId,
    launch: LaunchSpec,
    sandbox: &SandboxConfig,
) -> UnitSpec {
    let socket = config.renderer_socket(id);
    let readiness = Probe::http_unix(&socket, studio_renderer::HEALTH_PATH);
    let mut liveness = Liveness::new(readiness.clone());
    liveness.period = LIVENESS_PERIOD;
    liveness.failure_threshold = LIVENESS_FAILURES;
    UnitSpec {
        name: unit_name(id),
        program: launch.program.to_string_lossy().into_owned(),
        args: launch.args,
        cwd: launch.cwd,
        env: launch.env,
        listen_socket: Some(socket),
        readiness: Some(readiness),
        startup_timeout: config.renderer_startup_timeout,
        liveness: Some(liveness),
        restart: renderer_restart_policy(sandbox.max_restarts),
        limits: renderer_limits(config),
        run_as: run_as(&launch.run_as),
        ..UnitSpec::default()
    }
}

/// What every renderer process tree may take (`--sandbox-memory`, `--sandbox-pids`, CPU weight):
/// a sandbox's, and a pre-started one's of the pool, which becomes a sandbox's without a restart.
pub(crate) fn renderer_limits(config: &ManagerConfig) -> ResourceLimits {
    ResourceLimits {
        memory_bytes: Some(config.sandbox_memory),
        pids: Some(config.sandbox_pids),
        cpu_weight: Some(config.sandbox_cpu_weight),
    }
}

/// The jail's user, as the supervisor takes it.
pub(crate) fn run_as(identity: &Option<studio_jail::Identity>) -> Option<RunAs> {
    identity.as_ref().map(|identity| RunAs {
        uid: identity.uid,
        gid: identity.gid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renderer_serves_on_its_socket_and_is_probed_over_it() {
        let config = ManagerConfig::new("/data", "/template", "http://127.0.0.1:7700");
        let id = SandboxId::from_random([7; 8]);
        let launch = LaunchSpec {
            program: "/usr/bin/node".into(),
            args: vec!["/c/.studio/server.mjs".into()],
            env: Default::default(),
            cwd: "/c".into(),
            run_as: None,
        };
        let spec = unit_spec(&config, &id, launch, &SandboxConfig::default());
        let socket = config.renderer_socket(&id);
        assert_eq!(spec.listen_socket.as_ref(), Some(&socket));
        assert_eq!(spec.port, None, "a renderer has no TCP port");
        let probe = Probe::http_unix(&socket, studio_renderer::HEALTH_PATH);
        assert_eq!(spec.readiness, Some(probe.clone()));
        assert_eq!(spec.liveness.map(|l| l.probe), Some(probe));
        let limits = spec.limits;
        assert_eq!(limits.memory_bytes, Some(config.sandbox_memory));
        assert_eq!(limits.pids, Some(config.sandbox_pids));
        assert_eq!(limits.cpu_weight, Some(config.sandbox_cpu_weight));
    }
}
