//! The crash policy of a sandbox's renderer: how the sandbox's `max_restarts` becomes the
//! supervisor's [`RestartPolicy`]. More crashes than that inside [`CRASH_WINDOW`] and the
//! supervisor gives up on the renderer (the unit is `Failed`, and so is the sandbox).

use std::time::Duration;

use studio_supervisor::RestartPolicy;

/// Crashes further apart than this are not counted together.
const CRASH_WINDOW: Duration = Duration::from_secs(60);

/// The supervisor's restart policy for a renderer allowed `max_restarts` crash restarts; backoff
/// and recovery are the supervisor's defaults.
pub(crate) fn renderer_restart_policy(max_restarts: u32) -> RestartPolicy {
    RestartPolicy {
        max_crashes: max_restarts,
        window: CRASH_WINDOW,
        ..RestartPolicy::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_budget_becomes_the_supervisor_crash_limit() {
        let policy = renderer_restart_policy(5);
        assert_eq!(policy.max_crashes, 5);
        assert_eq!(policy.window, Duration::from_secs(60));
        // Everything else is what the supervisor does by default.
        assert_eq!(
            policy,
            RestartPolicy {
                max_crashes: 5,
                ..RestartPolicy::default()
            }
        );
        assert_eq!(renderer_restart_policy(0).max_crashes, 0);
    }
}
