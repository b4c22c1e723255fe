//! The task that owns one unit: its request loop, its monitor, and how it publishes status.
//!
//! The loop alternates between two things. Idle, it waits for either a request or an event from
//! the running instance (the leader exited, a liveness probe is due, the unit has been healthy
//! long enough to forget its crashes). Busy, it runs one operation; a `stop` or `remove` that
//! arrives meanwhile interrupts a start or restart (see [`until_stopped`]), anything else waits
//! for the next batch. The operations themselves are in `lifecycle.rs`.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::crashes::CrashTracker;
use super::{Command, Outcome, Request};
use crate::adopt::AdoptionRecord;
use crate::error::SupervisorError;
use crate::logs::LogBuffer;
use crate::process::Instance;
use crate::socket::BoundSocket;
use crate::spec::UnitSpec;
use crate::status::{ExitReason, UnitState, UnitStatus};
use crate::supervisor::Shared;
use crate::usage::UsageMeter;

pub(crate) struct Actor {
    pub(super) spec: UnitSpec,
    pub(super) shared: Arc<Shared>,
    pub(super) logs: Arc<LogBuffer>,
    pub(super) status: watch::Sender<UnitStatus>,
    record: watch::Sender<Option<AdoptionRecord>>,
    /// Where [`Unit::resources`](super::Unit::resources) reads the instance's use.
    usage: watch::Sender<Option<UsageMeter>>,
    /// The processes of the unit, while any may be alive. Set the moment a spawn succeeds and
    /// cleared only once a stop completed, so an interrupted operation never loses track of them.
    pub(super) instance: Option<Instance>,
    /// The unit's listening socket ([`UnitSpec::listen_socket`]), bound before the first spawn
    /// and kept until the unit is stopped, failed or removed: instances come and go, the
    /// listener (and the connections queued on it) stays.
    pub(super) socket: Option<BoundSocket>,
    pub(super) crashes: CrashTracker,
    pub(super) running_since: Option<Instant>,
    liveness_failures: u32,
    next_liveness: Instant,
    /// Where an instance after a crash may come from instead of a spawn (`replacement.rs`).
    pub(super) replacement: Arc<std::sync::OnceLock<super::Replacement>>,
}

/// Something the running instance did.
enum Event {
    LeaderExited(ExitReason),
    Liveness(Result<(), String>),
    Healthy,
}

impl Actor {
    pub(crate) fn new(
        spec: UnitSpec,
        shared: Arc<Shared>,
        logs: Arc<LogBuffer>,
        status: watch::Sender<UnitStatus>,
        record: watch::Sender<Option<AdoptionRecord>>,
        usage: watch::Sender<Option<UsageMeter>>,
    ) -> Self {
        let crashes = CrashTracker::new(spec.restart.clone());
        Self {
            spec,
            shared,
            logs,
            status,
            record,
            usage,
            instance: None,
            socket: None,
            crashes,
            running_since: None,
            liveness_failures: 0,
            next_liveness: Instant::now(),
            replacement: Arc::default(),
        }
    }

    pub(crate) fn with_replacement(
        mut self,
        replacement: Arc<std::sync::OnceLock<super::Replacement>>,
    ) -> Self {
        self.replacement = replacement;
        self
    }

    /// Starts supervising an instance that is already running: adopted from a previous
    /// supervisor, or transferred from another unit (then with the listener it serves on).
    pub(crate) fn with_adopted(mut self, instance: Instance, socket: Option<BoundSocket>) -> Self {
        self.socket = socket;
        let pid = instance.pid as u32;
        self.publish_instance(Some(&instance));
        self.instance = Some(instance);
        self.set_pid(Some(pid));
        self.enter_running();
        self
    }

    pub(crate) async fn run(mut self, mut inbox: mpsc::Receiver<Command>) {
        let mut deferred = VecDeque::new();
        loop {
            if deferred.is_empty() {
                tokio::select! {
                    command = inbox.recv() => match command {
                        Some(command) => deferred.push_back(command),
                        // Every handle is gone: leave the processes running (re-adoptable).
                        None => return,
                    },
                    event = self.monitor() => {
                        self.on_event(event, &mut inbox, &mut deferred).await;
                        continue;
                    }
                }
            }
            while let Ok(command) = inbox.try_recv() {
                deferred.push_back(command);
            }
            let batch: Vec<Command> = deferred.drain(..).collect();
            if self
                .handle_batch(batch, &mut inbox, &mut deferred)
                .await
                .is_break()
            {
                return;
            }
        }
    }

    /// Runs the batch as one operation; every request in it gets the same outcome.
    async fn handle_batch(
        &mut self,
        batch: Vec<Command>,
        inbox: &mut mpsc::Receiver<Command>,
        deferred: &mut VecDeque<Command>,
    ) -> ControlFlow<()> {
        let mut batch = batch;
        if let Some(at) = batch
            .iter()
            .position(|c| matches!(c.request, Request::Release { .. }))
            && !batch
                .iter()
                .any(|c| matches!(c.request, Request::Stop | Request::Remove))
        {
            let command = batch.remove(at);
            if self.release(command).is_break() {
                // Whatever else was asked of this unit meets a unit that is no longer here.
                let gone = SupervisorError::Removed {
                    name: self.spec.name.clone(),
                };
                for command in batch {
                    let _ = command.reply.send(Err(gone.clone())); // the caller may be gone
                }
                return ControlFlow::Break(());
            }
            if batch.is_empty() {
                return ControlFlow::Continue(());
            }
        }
        let intent = coalesce(batch.iter().map(|c| c.request));
        let outcome = match intent {
            Request::Start => {
                let start = self.start_requested();
                until_stopped(start, inbox, deferred)
                    .await
                    .unwrap_or_else(|by| self.interrupted("start", by))
            }
            Request::Restart => {
                let restart = self.restart_requested();
                until_stopped(restart, inbox, deferred)
                    .await
                    .unwrap_or_else(|by| self.interrupted("restart", by))
            }
            Request::Stop => self.stop_requested().await,
            Request::Remove => self.remove().await,
            // `coalesce` never picks a release (handled above or lost to a stop).
            Request::Release { .. } => Ok(self.snapshot()),
        };
        // Before replying: once a stop has returned, the socket path is gone too.
        self.release_socket_when_idle();
        for command in batch {
            let _ = command.reply.send(outcome.clone()); // the caller may have given up waiting
        }
        if intent == Request::Remove {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn interrupted(&self, interrupted: &'static str, by: Request) -> Outcome {
        Err(SupervisorError::Interrupted {
            name: self.spec.name.clone(),
            interrupted,
            by: by.as_str(),
        })
    }

    /// Waits for the next thing the running instance does. Never resolves while nothing runs.
    async fn monitor(&mut self) -> Event {
        let running = matches!(self.state(), UnitState::Running | UnitState::Unhealthy);
        let healthy_at = self
            .running_since
            .and_then(|since| self.crashes.healthy_at(since));
        let (liveness, next_liveness) = (self.spec.liveness.clone(), self.next_liveness);
        let probe_timeout = self.spec.probe_timeout;
        let Some(instance) = self.instance.as_mut().filter(|_| running) else {
            return std::future::pending().await;
        };
        tokio::select! {
            reason = instance.leader_exit() => Event::LeaderExited(reason),
            result = async {
                tokio::time::sleep_until(next_liveness).await;
                match &liveness {
                    Some(l) => crate::probe::check(&l.probe, probe_timeout).await,
                    None => Ok(()),
                }
            }, if liveness.is_some() => Event::Liveness(result),
            _ = tokio::time::sleep_until(healthy_at.unwrap_or(next_liveness)), if healthy_at.is_some() => Event::Healthy,
        }
    }

    async fn on_event(
        &mut self,
        event: Event,
        inbox: &mut mpsc::Receiver<Command>,
        deferred: &mut VecDeque<Command>,
    ) {
        let crash = match event {
            Event::LeaderExited(reason) => reason,
            Event::Healthy => {
                self.crashes.reset();
                self.status.send_modify(|s| s.crashes = 0);
                return;
            }
            Event::Liveness(result) => {
                let Some(liveness) = &self.spec.liveness else {
                    return;
                };
                self.next_liveness = Instant::now() + liveness.period;
                match result {
                    Ok(()) => {
                        self.liveness_failures = 0;
                        if self.state() == UnitState::Unhealthy {
                            self.publish(UnitState::Running, |_| {});
                        }
                        return;
                    }
                    Err(why) => {
                        self.liveness_failures += 1;
                        if self.liveness_failures < liveness.failure_threshold {
                            let message = format!("liveness probe failed: {why}");
                            self.publish(UnitState::Unhealthy, |s| s.message = Some(message));
                            return;
                        }
                        ExitReason::LivenessFailed {
                            failures: self.liveness_failures,
                        }
                    }
                }
            }
        };
        // A crash: nobody asked for this, so no reply is owed; a stop may still interrupt it.
        let recovery = self.recover(crash);
        if let Err(by) = until_stopped(recovery, inbox, deferred).await {
            tracing::debug!(unit = %self.spec.name, "crash recovery interrupted by {}", by.as_str());
        }
        self.release_socket_when_idle();
    }

    pub(super) fn state(&self) -> UnitState {
        self.status.borrow().state
    }

    pub(super) fn snapshot(&self) -> UnitStatus {
        self.status.borrow().clone()
    }

    /// Enters `state` and announces it to the `watch` receivers and on the supervisor's events.
    pub(super) fn publish(
        &self,
        state: UnitState,
        update: impl FnOnce(&mut UnitStatus),
    ) -> UnitStatus {
        self.status.send_modify(|s| {
            s.state = state;
            s.since = OffsetDateTime::now_utc();
            s.message = None;
            s.crashes = self.crashes.count();
            update(s);
        });
        let status = self.snapshot();
        tracing::debug!(unit = %status.name, state = %status.state, message = ?status.message, "unit state");
        let _ = self.shared.events.send(status.clone()); // no subscriber is fine
        status
    }

    pub(super) fn set_pid(&self, pid: Option<u32>) {
        self.status.send_modify(|s| s.pid = pid);
    }

    /// Publishes what the handles know of the running instance (or that none runs): its
    /// re-adoption record and where its resource use is read.
    pub(super) fn publish_instance(&self, instance: Option<&Instance>) {
        self.record
            .send_replace(instance.map(|i| AdoptionRecord::of(&self.spec.name, self.spec.port, i)));
        self.usage
            .send_replace(instance.and_then(|i| i.cgroup.as_ref()).map(|c| c.meter()));
    }

    pub(super) fn count_restart(&self) {
        self.status.send_modify(|s| s.restarts += 1);
    }

    /// Marks the unit ready: liveness checks start one period from now.
    pub(super) fn enter_running(&mut self) -> UnitStatus {
        self.running_since = Some(Instant::now());
        self.liveness_failures = 0;
        if let Some(liveness) = &self.spec.liveness {
            self.next_liveness = Instant::now() + liveness.period;
        }
        self.publish(UnitState::Running, |_| {})
    }

    /// What the supervisor did to the unit, for its operator (the unit's own log buffer holds
    /// only the unit's output).
    pub(super) fn note(&self, text: String) {
        tracing::info!(unit = %self.spec.name, "{text}");
    }
}

/// One operation for a batch of requests: the last request decides, except that a start after a
/// stop or restart in the same batch still needs a fresh instance, and a removal always wins.
fn coalesce(requests: impl Iterator<Item = Request>) -> Request {
    // A release that is still in the batch lost to a stop or removal: it is answered with the
    // outcome of that (the instance stays, or goes, with this unit).
    let requests: Vec<Request> = requests
        .filter(|r| !matches!(r, Request::Release { .. }))
        .collect();
    if requests.contains(&Request::Remove) {
        return Request::Remove;
    }
    match requests.last() {
        Some(Request::Start)
            if requests
                .iter()
                .any(|r| matches!(r, Request::Stop | Request::Restart)) =>
        {
            Request::Restart
        }
        Some(&last) => last,
        None => Request::Start,
    }
}

/// Drives `operation` while watching the inbox: a stop or remove interrupts it (the operation is
/// dropped; the instance it may have spawned is still in `Actor::instance`) and is queued to run
/// next; other requests are queued for the next batch.
async fn until_stopped<F: Future>(
    operation: F,
    inbox: &mut mpsc::Receiver<Command>,
    deferred: &mut VecDeque<Command>,
) -> Result<F::Output, Request> {
    tokio::pin!(operation);
    let mut inbox_open = true;
    loop {
        tokio::select! {
            output = &mut operation => return Ok(output),
            command = inbox.recv(), if inbox_open => match command {
                Some(command) => {
                    let request = command.request;
                    deferred.push_back(command);
                    if matches!(request, Request::Stop | Request::Remove) {
                        return Err(request);
                    }
                }
                None => inbox_open = false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Request::*;

    #[test]
    fn batches_coalesce_into_one_operation() {
        assert_eq!(coalesce([Restart; 99].into_iter()), Restart);
        assert_eq!(coalesce([Start, Start].into_iter()), Start);
        assert_eq!(coalesce([Stop, Start].into_iter()), Restart);
        assert_eq!(coalesce([Restart, Stop].into_iter()), Stop);
        assert_eq!(coalesce([Start, Remove, Start].into_iter()), Remove);
    }
}
