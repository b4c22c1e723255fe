//! Where a crashed unit's next instance may come from instead of a spawn: a running process of
//! another unit, prepared for it by the caller (Studio's renderer pool).
//!
//! A unit given a source ([`Unit::set_replacement`]) asks it
//! after a crash, once the restart policy has allowed the restart and its delay has passed (the
//! crash is counted and the crash-loop verdict is the same as for a spawn). The source answers
//! with another unit of the same supervisor and the PID of its leader; the crashed unit takes that
//! instance over the way [`Supervisor::transfer`](crate::Supervisor::transfer) does (cgroup,
//! listening socket, output files), and is `Running` again without spawning anything. If the
//! source has nothing, or the take-over fails, the unit spawns as it always does.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::actor::Actor;
use super::{Handover, Unit};
use crate::status::UnitStatus;

/// A future the source returns: boxed, since the source is a trait object.
pub type ReplacementFuture = Pin<Box<dyn Future<Output = Option<(Unit, u32)>> + Send>>;

/// Offers running processes to a crashed unit. Implemented by the caller; called from the unit's
/// task, so it must not ask that unit anything.
pub trait ReplacementSource: Send + Sync + 'static {
    /// A unit of this supervisor and its leader's PID, whose process is ready to serve as the
    /// crashed unit's next instance; `None` to spawn as usual.
    fn replacement(&self) -> ReplacementFuture;
}

/// A [`ReplacementSource`], as [`Unit::set_replacement`] takes it.
#[derive(Clone)]
pub struct Replacement(pub Arc<dyn ReplacementSource>);

impl Replacement {
    pub fn new(source: impl ReplacementSource) -> Self {
        Self(Arc::new(source))
    }
}

impl fmt::Debug for Replacement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Replacement(..)")
    }
}

impl Actor {
    /// After a crash whose restart the policy allowed: takes over a process the source offers
    /// instead of spawning. `None` (logged) when there is no source, it has nothing, or the
    /// take-over failed; the caller then spawns.
    pub(super) async fn take_replacement(&mut self) -> Option<UnitStatus> {
        let source = self.replacement.get()?.0.clone();
        let (unit, pid) = source.replacement().await?;
        let handover = match unit.release(pid).await {
            Ok(handover) => handover,
            Err(e) => {
                tracing::warn!(unit = %self.spec.name, from = %unit.name(), "cannot take over the offered process: {e}");
                return None;
            }
        };
        let from = handover.from.clone();
        if let Err(e) = self.take_over(handover) {
            tracing::warn!(unit = %self.spec.name, from, pid, "taking over the offered process failed: {e}");
            return None;
        }
        // The instance is the unit's from here on (a stop meanwhile stops it); its output
        // follows: the files' tail (what it wrote under the other unit too), or its pipes.
        let log_dir = self.shared.log_dir.clone();
        let instance = self.instance.as_mut()?;
        crate::instance_move::follow_output(
            log_dir.as_deref(),
            &self.spec.name,
            instance,
            &self.logs,
        )
        .await;
        self.note(format!("took over PID {pid} of {from} instead of spawning"));
        Some(self.enter_running())
    }

    /// The synchronous half of the take-over: the instance into this unit's cgroup, its socket
    /// onto this unit's path, its output files renamed; then it is this unit's instance. On
    /// error the instance is killed (nobody else owns it) and this unit keeps its own socket.
    fn take_over(&mut self, handover: Handover) -> Result<(), String> {
        let Handover {
            from,
            mut instance,
            mut socket,
            ..
        } = handover;
        let moved = crate::instance_move::move_instance(
            self.shared.cgroups.as_ref(),
            self.shared.log_dir.as_deref(),
            &from,
            &self.spec,
            &mut instance,
        )
        .and_then(|()| {
            // Last: the only step that changes this unit's own state.
            match (socket.as_mut(), self.spec.listen_socket.as_ref()) {
                (Some(new), Some(path)) => match self.socket.take() {
                    Some(old) => new.take_place_of(old),
                    None => new.move_to(path),
                },
                (None, Some(_)) => Err("it has no listening socket".into()),
                (_, None) => Ok(()),
            }
        });
        if let Err(e) = moved {
            instance.kill_now();
            if let Some(bound) = socket {
                bound.release();
            }
            return Err(e);
        }
        if socket.is_some() {
            self.socket = socket;
        }
        self.set_pid(Some(instance.pid as u32));
        self.publish_instance(Some(&instance));
        self.instance = Some(instance);
        Ok(())
    }
}
