//! Giving a running instance away: the unit's half of
//! [`Supervisor::transfer`](crate::Supervisor::transfer).
//!
//! A pre-started process (Studio's renderer pool) runs as a unit of its own until someone claims
//! it. The claim moves the very process, not a copy, into the claimant's unit: this unit's task
//! stops tailing its output, hands the instance and its listening socket over, deregisters and
//! ends, all without signalling anything. From then on the receiving unit's task owns them.

use std::ops::ControlFlow;
use std::sync::Arc;

use super::Command;
use super::Request;
use super::actor::Actor;
use crate::error::SupervisorError;
use crate::logs::LogBuffer;
use crate::process::Instance;
use crate::socket::BoundSocket;
use crate::status::UnitState;

/// A running instance on its way from one unit to another.
#[derive(Debug)]
pub(crate) struct Handover {
    pub from: String,
    pub instance: Instance,
    pub socket: Option<BoundSocket>,
    pub logs: Arc<LogBuffer>,
}

impl Actor {
    /// Handles a [`Request::Release`]: `Break` once the instance is handed over (this task then
    /// ends), `Continue` when it cannot be (the reply says why and nothing changed).
    pub(super) fn release(&mut self, command: Command) -> ControlFlow<()> {
        let Request::Release { pid } = command.request else {
            return ControlFlow::Continue(());
        };
        let running = matches!(self.state(), UnitState::Running | UnitState::Unhealthy);
        let leader = self.instance.as_ref().map(|i| i.pid as u32);
        let (Some(handover_to), true, Some(true)) = (
            command.handover,
            running,
            leader.map(|leader| leader == pid),
        ) else {
            let _ = command.reply.send(Err(SupervisorError::NotReleasable {
                name: self.spec.name.clone(),
                pid,
                state: self.state(),
            }));
            return ControlFlow::Continue(());
        };
        let Some(mut instance) = self.instance.take() else {
            return ControlFlow::Continue(());
        };
        // The receiving unit tails the output files under its own name; two tailers never read
        // the same file.
        instance.detach_output();
        let handover = Handover {
            from: self.spec.name.clone(),
            instance,
            socket: self.socket.take(),
            logs: self.logs.clone(),
        };
        self.note(format!("PID {pid} handed over to another unit"));
        let status = self.publish(UnitState::Stopped, |s| {
            s.pid = None;
            s.message = Some("handed over".into());
        });
        self.publish_instance(None);
        self.shared.deregister(&self.spec.name);
        if let Err(Handover { mut instance, .. }) = handover_to.send(handover) {
            // The claimant gave up waiting: nobody owns the process now, so it must not live on.
            tracing::warn!(unit = %self.spec.name, pid, "transfer abandoned; killing the instance");
            instance.kill_now();
        }
        let _ = command.reply.send(Ok(status));
        ControlFlow::Break(())
    }
}
