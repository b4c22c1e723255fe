//! Moving a running process from one unit to another: how a pre-started process becomes the
//! process of the unit that claims it, without a restart.
//!
//! [`Supervisor::transfer`] takes the instance from the source unit (which leaves the supervisor
//! without signalling anything, see `unit/handover.rs`) and gives it to a new unit registered
//! from `spec`, already `Running`:
//!
//! - **cgroup**: the processes move into a cgroup named for the new unit, with the new spec's
//!   limits, created like any spawn's; the old one is removed. From then on the new unit's
//!   limits apply and its stop kills exactly them.
//! - **socket**: the listener the instance serves on (bound by this supervisor for the source
//!   unit, the instance's fd 3) is renamed to `spec.listen_socket`. Connections keep arriving on
//!   the same socket; only its path changes, in one `rename(2)`.
//! - **output**: the files the instance writes to are renamed to the new unit's names and
//!   tailed under them, so a later re-adoption finds them where it looks.
//! - **record**: the new unit's [`AdoptionRecord`](crate::AdoptionRecord) names it, its cgroup
//!   and the instance's unchanged PID, start time and token.
//!
//! If any step fails the instance is killed (nobody would own it) and the error says which.

use crate::error::SupervisorError;
use crate::spec::UnitSpec;
use crate::supervisor::Supervisor;
use crate::unit::Unit;

impl Supervisor {
    /// Gives `from`'s running instance, whose leader must be `pid`, to a new unit described by
    /// `spec`. Returns the new unit, `Running`. `from` is gone afterwards.
    pub async fn transfer(
        &self,
        from: &Unit,
        pid: u32,
        spec: UnitSpec,
    ) -> Result<Unit, SupervisorError> {
        spec.validate()?;
        self.ensure_unregistered(&spec.name)?;
        let handover = from.release(pid).await?;
        let failed = |reason: String| SupervisorError::Transfer {
            name: spec.name.clone(),
            from: handover_name(from),
            pid,
            reason,
        };
        let mut instance = handover.instance;
        let mut socket = handover.socket;
        let moved = crate::instance_move::move_instance(
            self.cgroup_root(),
            self.log_dir(),
            &handover.from,
            &spec,
            &mut instance,
        )
        .and_then(|()| match (&mut socket, &spec.listen_socket) {
            (Some(bound), Some(path)) => bound.move_to(path),
            (None, Some(_)) => Err("it has no listening socket".into()),
            (Some(_), None) | (None, None) => Ok(()),
        })
        .map_err(failed);
        if let Err(e) = moved {
            instance.kill_now();
            if let Some(bound) = socket {
                bound.release();
            }
            return Err(e);
        }
        // With output files, a fresh buffer filled from the files' tail (what the instance
        // wrote before, under the old unit, included); with pipes, the old buffer goes along.
        let logs = match self.log_dir() {
            Some(_) => std::sync::Arc::new(crate::logs::LogBuffer::new(spec.log_limits)),
            None => handover.logs,
        };
        crate::instance_move::follow_output(self.log_dir(), &spec.name, &mut instance, &logs).await;
        tracing::info!(unit = %spec.name, from = %handover.from, pid, "took over a running process");
        self.register(spec, Some((instance, logs, socket)))
    }
}

fn handover_name(unit: &Unit) -> String {
    unit.name().to_owned()
}
