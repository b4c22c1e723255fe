//! A unit: the cloneable [`Unit`] handle and the task that owns the unit's processes.
//!
//! The handle never touches processes or state. It sends a request over a bounded channel to the
//! unit's task and awaits the reply on a oneshot channel. The task handles requests one batch at
//! a time, so two operations on one unit never overlap, and there is no lock around the unit's
//! state to forget to take: only the task can change it.

mod actor;
mod crashes;
mod handover;
mod lifecycle;
mod replacement;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::adopt::AdoptionRecord;
use crate::error::SupervisorError;
use crate::logs::{LogBuffer, LogLine};
use crate::status::UnitStatus;
use crate::usage::{Resources, UsageMeter};

pub(crate) use actor::Actor;
pub(crate) use handover::Handover;
pub use replacement::{Replacement, ReplacementFuture, ReplacementSource};

/// Requests waiting for the unit's task; beyond this, callers wait to enqueue (backpressure).
const INBOX_CAPACITY: usize = 64;

/// What a caller asks a unit to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    Start,
    Stop,
    Restart,
    Remove,
    /// Give the running instance (whose leader must be this PID) to another unit
    /// ([`Supervisor::transfer`](crate::Supervisor::transfer)) and leave the supervisor.
    Release {
        pid: u32,
    },
}

impl Request {
    fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Remove => "remove",
            Self::Release { .. } => "release",
        }
    }
}

pub(crate) type Outcome = Result<UnitStatus, SupervisorError>;

#[derive(Debug)]
pub(crate) struct Command {
    request: Request,
    reply: oneshot::Sender<Outcome>,
    /// Where a [`Request::Release`] sends the instance it gives away.
    handover: Option<oneshot::Sender<Handover>>,
}

/// A handle to one unit. Cheap to clone; every clone talks to the same task.
///
/// `start`, `stop` and `restart` return once the unit reached the resulting steady state
/// (`Running`, `Stopped`, or `Failed` as an error saying why). Requests that arrive while an
/// operation runs are handled after it, all together, as one operation (the last request decides
/// which), and share its outcome: a burst of restarts causes at most one more restart. A `stop`
/// or `remove` interrupts a start or a restart still in progress (waiting for dependencies, the
/// port, readiness or a backoff delay) rather than waiting for it.
#[derive(Debug, Clone)]
pub struct Unit {
    name: Arc<str>,
    inbox: mpsc::Sender<Command>,
    status: watch::Receiver<UnitStatus>,
    record: watch::Receiver<Option<AdoptionRecord>>,
    /// Where the running instance's use is read; `None` while none runs, or it has no cgroup.
    usage: watch::Receiver<Option<UsageMeter>>,
    logs: Arc<LogBuffer>,
    /// Set at most once ([`Unit::set_replacement`]); read by the unit's task after a crash.
    replacement: Arc<OnceLock<Replacement>>,
}

/// The pieces the task keeps when a unit is created.
pub(crate) struct UnitChannels {
    pub inbox: mpsc::Receiver<Command>,
    pub status: watch::Sender<UnitStatus>,
    pub record: watch::Sender<Option<AdoptionRecord>>,
    pub usage: watch::Sender<Option<UsageMeter>>,
    pub replacement: Arc<OnceLock<Replacement>>,
}

impl Unit {
    pub(crate) fn new(initial: UnitStatus, logs: Arc<LogBuffer>) -> (Self, UnitChannels) {
        let (inbox_tx, inbox) = mpsc::channel(INBOX_CAPACITY);
        let name = Arc::from(initial.name.as_str());
        let (status_tx, status) = watch::channel(initial);
        let (record_tx, record) = watch::channel(None);
        let (usage_tx, usage) = watch::channel(None);
        let replacement = Arc::new(OnceLock::new());
        let unit = Self {
            name,
            inbox: inbox_tx,
            status,
            record,
            usage,
            logs,
            replacement: replacement.clone(),
        };
        (
            unit,
            UnitChannels {
                inbox,
                status: status_tx,
                record: record_tx,
                usage: usage_tx,
                replacement,
            },
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts the unit (a no-op when it runs). Resolves when it is `Running`, or fails saying why:
    /// a dependency timed out, the port is held by another process, it crashed too often (with
    /// its last output), ...
    pub async fn start(&self) -> Result<UnitStatus, SupervisorError> {
        self.request(Request::Start).await
    }

    /// Stops the unit: SIGTERM to all its processes, `stop_grace`, SIGKILL. Resolves when none of
    /// them is alive and its port is free.
    pub async fn stop(&self) -> Result<UnitStatus, SupervisorError> {
        self.request(Request::Stop).await
    }

    /// Stops the unit (if running) and starts it again. Not a crash.
    pub async fn restart(&self) -> Result<UnitStatus, SupervisorError> {
        self.request(Request::Restart).await
    }

    /// Stops the unit, releases its port and removes it from the supervisor. Later requests on
    /// any handle of it fail with [`SupervisorError::Removed`].
    pub async fn remove(&self) -> Result<UnitStatus, SupervisorError> {
        self.request(Request::Remove).await
    }

    /// The current status.
    pub fn status(&self) -> UnitStatus {
        self.status.borrow().clone()
    }

    /// The status stream: a `watch` receiver that always holds the latest status. (Every single
    /// transition is also published on [`Supervisor::events`](crate::Supervisor::events).)
    pub fn watch(&self) -> watch::Receiver<UnitStatus> {
        self.status.clone()
    }

    /// Waits until `condition` holds for the status, up to `timeout`.
    pub async fn wait_for(
        &self,
        condition: impl Fn(&UnitStatus) -> bool,
        timeout: Duration,
    ) -> Result<UnitStatus, SupervisorError> {
        let mut status = self.status.clone();
        let waited = tokio::time::timeout(timeout, status.wait_for(|s| condition(s))).await;
        match waited {
            Ok(Ok(status)) => Ok(status.clone()),
            Ok(Err(_)) => Err(SupervisorError::Removed {
                name: self.name.to_string(),
            }),
            Err(_) => Err(SupervisorError::WaitTimeout {
                name: self.name.to_string(),
                state: self.status.borrow().state,
                waited: timeout,
            }),
        }
    }

    /// The last `n` lines of the unit's output (stdout and stderr), oldest first.
    pub fn logs(&self, n: usize) -> Vec<LogLine> {
        self.logs.tail(n)
    }

    /// Every line from now on. A subscriber that falls more than 1024 lines behind gets
    /// `RecvError::Lagged` and continues with newer lines.
    pub fn subscribe_logs(&self) -> broadcast::Receiver<LogLine> {
        self.logs.subscribe()
    }

    /// What another supervisor process needs to re-adopt the running instance; `None` while no
    /// instance runs. Changes on every (re)start, so persist it whenever it changes.
    pub fn record(&self) -> Option<AdoptionRecord> {
        self.record.borrow().clone()
    }

    /// What the running instance's whole process tree uses now (memory, CPU time), read from
    /// its cgroups: a few file reads, never a request to the unit's task. `None` while no
    /// instance runs, or where this host has no controller to read one of them from (no
    /// cgroups, or on a hybrid host a unit without a memory limit: see `limits.rs`).
    pub fn resources(&self) -> Option<Resources> {
        // Cloned out so no file is read while the watch is borrowed (that would hold up the task).
        let meter = self.usage.borrow().clone()?;
        meter.read()
    }

    /// A receiver that is notified whenever [`Unit::record`] changes.
    pub fn watch_record(&self) -> watch::Receiver<Option<AdoptionRecord>> {
        self.record.clone()
    }

    /// Gives the unit a source of running processes to take over after a crash instead of
    /// spawning (see [`ReplacementSource`]). Set once; a second call is refused (`false`).
    pub fn set_replacement(&self, source: Replacement) -> bool {
        self.replacement.set(source).is_ok()
    }

    /// Takes the running instance away from this unit, which then leaves the supervisor without
    /// stopping anything: the first half of a transfer. Fails unless the unit runs with `pid` as
    /// its leader (so a caller that prepared one process never receives its replacement).
    pub(crate) async fn release(&self, pid: u32) -> Result<Handover, SupervisorError> {
        let (tx, handed) = oneshot::channel();
        self.send(Request::Release { pid }, Some(tx)).await?;
        handed.await.map_err(|_| SupervisorError::Removed {
            name: self.name.to_string(),
        })
    }

    async fn request(&self, request: Request) -> Outcome {
        self.send(request, None).await
    }

    async fn send(&self, request: Request, handover: Option<oneshot::Sender<Handover>>) -> Outcome {
        let removed = || SupervisorError::Removed {
            name: self.name.to_string(),
        };
        let (reply, answer) = oneshot::channel();
        self.inbox
            .send(Command {
                request,
                reply,
                handover,
            })
            .await
            .map_err(|_| removed())?;
        answer.await.map_err(|_| removed())?
    }
}
