//! The unit's operations: start, stop, restart, remove, and recovery from crashes.
//!
//! Every start, first or after a crash, goes through the same steps: wait for dependencies
//! (`Waiting`), wait until the port is free, spawn (`Starting`), wait for readiness (`Running`).
//! Every stop goes through `Instance::terminate` and then waits until the port is free, so the
//! next start never races the previous instance for it.

use std::time::Duration;

use tokio::time::Instant;

use super::Outcome;
use super::actor::Actor;
use super::crashes::Verdict;
use crate::checks::Dependency;
use crate::error::SupervisorError;
use crate::ports::{PortCheck, check_port};
use crate::process;
use crate::socket;
use crate::status::{ExitReason, UnitState};
use crate::token;

/// Why a single start attempt did not reach `Running`.
enum StartFailure {
    /// Counts as a crash (exited while starting, or never became ready): retried per policy.
    Crashed(ExitReason),
    /// Retrying cannot help (cannot spawn, port held by a stranger, dependency timed out).
    Fatal(SupervisorError),
}

/// Lines of output quoted in errors.
const ERROR_LOG_LINES: usize = 20;

impl Actor {
    pub(super) async fn start_requested(&mut self) -> Outcome {
        if self.instance.is_some()
            && matches!(self.state(), UnitState::Running | UnitState::Unhealthy)
        {
            return Ok(self.snapshot());
        }
        // An explicit start forgives past crashes (it is how a `Failed` unit is retried).
        self.crashes.reset();
        self.bring_up(None).await
    }

    pub(super) async fn restart_requested(&mut self) -> Outcome {
        self.publish(UnitState::Restarting, |s| {
            s.message = Some("restart requested".into())
        });
        let was_running = self.instance.is_some();
        self.stop_instance(ExitReason::Requested)
            .await
            .inspect_err(|e| self.fail(e))?;
        if was_running {
            self.count_restart();
        }
        self.crashes.reset();
        self.bring_up(None).await
    }

    pub(super) async fn stop_requested(&mut self) -> Outcome {
        let stopped = self.stop_instance(ExitReason::Requested).await;
        let status = self.publish(UnitState::Stopped, |s| {
            s.message = stopped.as_ref().err().map(ToString::to_string);
        });
        stopped.map(|()| status)
    }

    pub(super) async fn remove(&mut self) -> Outcome {
        let outcome = self.stop_requested().await;
        if let Some(port) = self.spec.port {
            self.shared.ports.release(port);
        }
        self.shared.deregister(&self.spec.name);
        outcome
    }

    /// After a crash of a running unit: stop what is left of it, then restart per policy.
    pub(super) async fn recover(&mut self, crash: ExitReason) -> Outcome {
        self.note(format!("crashed: {crash}"));
        self.publish(UnitState::Restarting, |s| s.last_exit = Some(crash.clone()));
        self.stop_instance(crash.clone())
            .await
            .inspect_err(|e| self.fail(e))?;
        self.bring_up(Some(crash)).await
    }

    /// Starts the unit, retrying crashes per the restart policy, until it runs or fails.
    async fn bring_up(&mut self, mut crash: Option<ExitReason>) -> Outcome {
        loop {
            let crashed = crash.is_some();
            if let Some(reason) = crash.take() {
                let delay = match self.crashes.record(Instant::now()) {
                    Verdict::RetryAfter(delay) => delay,
                    Verdict::GiveUp => {
                        let error = SupervisorError::CrashLoop {
                            name: self.spec.name.clone(),
                            crashes: self.crashes.count(),
                            window: self.crashes.window(),
                            last_exit: reason,
                            last_logs: self.logs.tail_text(ERROR_LOG_LINES),
                        };
                        self.fail(&error);
                        return Err(error);
                    }
                };
                let message = format!("restarting in {} ms after: {reason}", delay.as_millis());
                self.note(message.clone());
                self.publish(UnitState::Restarting, |s| {
                    s.last_exit = Some(reason);
                    s.message = Some(message);
                });
                tokio::time::sleep(delay).await;
                self.count_restart();
            }
            // A process offered by the unit's replacement source (a pre-started one) instead of
            // a spawn: counted and delayed like any crash restart.
            if crashed && let Some(status) = self.take_replacement().await {
                return Ok(status);
            }
            match self.start_once().await {
                Ok(()) => return Ok(self.enter_running()),
                Err(StartFailure::Crashed(reason)) => {
                    self.stop_instance(reason.clone())
                        .await
                        .inspect_err(|e| self.fail(e))?;
                    crash = Some(reason);
                }
                Err(StartFailure::Fatal(error)) => {
                    let _ = self.stop_instance(ExitReason::Requested).await;
                    self.fail(&error);
                    return Err(error);
                }
            }
        }
    }

    fn fail(&self, error: &SupervisorError) {
        self.note(format!("failed: {error}"));
        self.publish(UnitState::Failed, |s| s.message = Some(error.to_string()));
    }

    /// One attempt: dependencies, port, spawn, readiness.
    async fn start_once(&mut self) -> Result<(), StartFailure> {
        self.stop_instance(ExitReason::Requested)
            .await
            .map_err(StartFailure::Fatal)?;
        if !self.spec.depends_on.is_empty() {
            self.wait_for_dependencies()
                .await
                .map_err(StartFailure::Fatal)?;
        }
        if let Some(port) = self.spec.port {
            self.wait_for_free_port(port)
                .await
                .map_err(StartFailure::Fatal)?;
        }
        self.publish(UnitState::Starting, |_| {});
        self.spawn().map_err(StartFailure::Fatal)?;
        let Some(probe) = self.spec.readiness.clone() else {
            return Ok(());
        };
        let (interval, timeout) = (self.spec.readiness_interval, self.spec.probe_timeout);
        let startup_timeout = self.spec.startup_timeout;
        let Some(instance) = self.instance.as_mut() else {
            return Ok(());
        };
        let ready = async {
            loop {
                let attempt_at = Instant::now();
                if crate::probe::check(&probe, timeout).await.is_ok() {
                    return;
                }
                tokio::time::sleep_until(attempt_at + interval).await;
            }
        };
        tokio::select! {
            reason = instance.leader_exit() => Err(StartFailure::Crashed(reason)),
            result = tokio::time::timeout(startup_timeout, ready) => match result {
                Ok(()) => Ok(()),
                Err(_) => {
                    let after_ms = startup_timeout.as_millis() as u64;
                    Err(StartFailure::Crashed(ExitReason::ReadinessTimedOut { after_ms }))
                }
            },
        }
    }

    fn spawn(&mut self) -> Result<(), SupervisorError> {
        // Bound once, before the first instance; every later instance inherits the same one.
        if self.socket.is_none()
            && let Some(path) = &self.spec.listen_socket
        {
            let bound = socket::bind(path).map_err(|reason| SupervisorError::Socket {
                name: self.spec.name.clone(),
                reason,
            })?;
            self.socket = Some(bound);
        }
        let token = token::new_token();
        let cgroup = self.shared.cgroups.as_ref().and_then(|root| {
            root.create(&self.spec.name, &token, &self.spec.limits)
                .inspect_err(
                    |e| tracing::warn!(unit = %self.spec.name, "no cgroup for this start: {e}"),
                )
                .ok()
        });
        let cgroup_dirs = cgroup.as_ref().map(|c| c.dirs()).unwrap_or_default();
        let listener = self.socket.as_ref().map(socket::BoundSocket::fd);
        let log_dir = self.shared.log_dir.as_deref();
        let instance = process::spawn(&self.spec, token, cgroup, &self.logs, listener, log_dir)
            .map_err(|reason| {
                for dir in &cgroup_dirs {
                    let _ = std::fs::remove_dir(dir);
                }
                SupervisorError::Spawn {
                    name: self.spec.name.clone(),
                    program: self.spec.program.clone(),
                    reason,
                }
            })?;
        self.note(format!("spawned PID {}", instance.pid));
        self.set_pid(Some(instance.pid as u32));
        self.publish_instance(Some(&instance));
        self.instance = Some(instance);
        Ok(())
    }

    /// Once the unit has settled stopped or failed with nothing running, closes its listening
    /// socket (queued connections are refused rather than left waiting for nobody) and removes
    /// the socket file. An adopted unit's file, inherited from the previous supervisor, goes too
    /// once nobody accepts on it.
    pub(super) fn release_socket_when_idle(&mut self) {
        if self.instance.is_some()
            || !matches!(self.state(), UnitState::Stopped | UnitState::Failed)
        {
            return;
        }
        match (self.socket.take(), &self.spec.listen_socket) {
            (Some(bound), _) => bound.release(),
            (None, Some(path)) => socket::remove_if_stale(path),
            (None, None) => {}
        }
    }

    /// Stops the current instance, if any, and waits until its port is free. The instance is
    /// forgotten only once nothing of it is alive.
    pub(super) async fn stop_instance(
        &mut self,
        reason: ExitReason,
    ) -> Result<(), SupervisorError> {
        let Some(instance) = self.instance.as_mut() else {
            return Ok(());
        };
        let pid = instance.pid;
        if let Err(survivors) = instance.terminate(self.spec.stop_grace).await {
            return Err(SupervisorError::StopFailed {
                name: self.spec.name.clone(),
                survivors,
            });
        }
        let exit = instance.exit_reason();
        self.instance = None;
        self.running_since = None;
        self.set_pid(None);
        self.publish_instance(None);
        match &exit {
            Some(exit) => self.note(format!("PID {pid} ended: {exit}")),
            None => self.note(format!("PID {pid} ended")),
        }
        let last_exit = if reason == ExitReason::Requested {
            exit.unwrap_or(reason)
        } else {
            reason
        };
        self.status.send_modify(|s| s.last_exit = Some(last_exit));
        match self.spec.port {
            Some(port) => self.wait_for_free_port(port).await,
            None => Ok(()),
        }
    }

    /// Waits (bounded by `port_timeout`) until `port` is free. Never touches the holder: by now
    /// nothing of this unit is alive, so whoever holds the port is not ours to kill.
    async fn wait_for_free_port(&self, port: u16) -> Result<(), SupervisorError> {
        let deadline = Instant::now() + self.spec.port_timeout;
        let mut pause = Duration::from_millis(2);
        loop {
            let check = tokio::task::spawn_blocking(move || check_port(port))
                .await
                .unwrap_or(PortCheck::Busy { pid: None });
            let PortCheck::Busy { pid } = check else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                return Err(SupervisorError::PortBusy {
                    name: self.spec.name.clone(),
                    port,
                    pid,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Waits until every dependency is met, checking each `dependency_interval`.
    async fn wait_for_dependencies(&self) -> Result<(), SupervisorError> {
        let deadline = Instant::now() + self.spec.dependency_timeout;
        let mut last_message = None;
        loop {
            let attempt_at = Instant::now();
            let mut unmet = None;
            for dependency in &self.spec.depends_on {
                if let Err(why) = self.check_dependency(dependency).await {
                    unmet = Some((dependency, why));
                    break;
                }
            }
            let Some((dependency, why)) = unmet else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                return Err(SupervisorError::DependencyTimeout {
                    name: self.spec.name.clone(),
                    dependency: dependency.to_string(),
                    waited: self.spec.dependency_timeout,
                    last_error: why,
                });
            }
            let message = format!("waiting for {dependency}: {why}");
            if last_message.as_ref() != Some(&message) {
                self.publish(UnitState::Waiting, |s| s.message = Some(message.clone()));
                last_message = Some(message);
            }
            tokio::time::sleep_until((attempt_at + self.spec.dependency_interval).min(deadline))
                .await;
        }
    }

    async fn check_dependency(&self, dependency: &Dependency) -> Result<(), String> {
        match dependency {
            Dependency::Unit(name) => match self.shared.unit_state(name) {
                Some(UnitState::Running) => Ok(()),
                Some(state) => Err(format!("unit {name} is {state}")),
                None => Err(format!("no unit named {name}")),
            },
            other => crate::probe::check_dependency(other, self.spec.probe_timeout).await,
        }
    }
}
