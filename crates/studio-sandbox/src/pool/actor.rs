//! The pool's task: owns the idle members, answers claims, refills one member at a time.

use std::collections::VecDeque;
use std::sync::Weak;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::member::Member;
use super::{PoolInbox, Request};
use crate::shared::Shared;

/// After a failed start, the next one waits this long, doubling up to [`MAX_RETRY`]: a pool that
/// cannot start (template broken, no registry for the pool app's first install) must not spin.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);

impl PoolInbox {
    /// Starts the pool's task. It holds `shared` weakly: once the manager is gone it ends.
    pub fn spawn(self, shared: Weak<Shared>) {
        tokio::spawn(run(shared, self.rx, self.target));
    }
}

/// Runs until the manager is gone or the pool is shut down.
async fn run(shared: Weak<Shared>, mut rx: mpsc::Receiver<Request>, target: usize) {
    let Some(metrics) = shared.upgrade().map(|s| s.metrics.pool().clone()) else {
        return;
    };
    metrics.set_target(target);
    let mut idle: VecDeque<Member> = VecDeque::new();
    let mut starting: Option<JoinHandle<Result<Member, String>>> = None;
    let mut retry = FIRST_RETRY;
    let mut next_start = Instant::now();
    loop {
        metrics.set_idle(idle.len());
        if starting.is_none() && idle.len() < target && Instant::now() >= next_start {
            // The start task holds the manager only while it runs.
            let Some(strong) = shared.upgrade() else {
                break;
            };
            metrics.refilled();
            starting = Some(tokio::spawn(async move { Member::start(&strong).await }));
        }
        tokio::select! {
            request = rx.recv() => match request {
                Some(Request::Claim(reply)) => {
                    let member = take_live(&mut idle).await;
                    match &member {
                        Some(_) => metrics.claimed(),
                        None => metrics.missed(),
                    }
                    if let Err(Some(member)) = reply.send(member) {
                        // The create gave up waiting: the member is still good.
                        idle.push_front(member);
                    }
                }
                Some(Request::Shutdown(reply)) => {
                    drain(&shared, &mut idle, starting.take()).await;
                    metrics.set_idle(0);
                    let _ = reply.send(());
                    return;
                }
                None => break,
            },
            done = async {
                match starting.as_mut() {
                    Some(task) => task.await,
                    None => std::future::pending().await,
                }
            } => {
                starting = None;
                match done {
                    Ok(Ok(member)) => {
                        tracing::info!(slot = %member.slot.name, pid = member.pid, "pre-started renderer ready");
                        idle.push_back(member);
                        retry = FIRST_RETRY;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(retry_in_s = retry.as_secs(), "the renderer pool could not start a renderer: {e}");
                        next_start = Instant::now() + retry;
                        retry = (retry * 2).min(MAX_RETRY);
                    }
                    Err(e) => tracing::error!("a pool start task failed: {e}"),
                }
            },
            // Only while a failed start's retry is due: then the loop starts the next one.
            () = tokio::time::sleep_until(next_start), if starting.is_none() && idle.len() < target => {}
        }
    }
    drain(&shared, &mut idle, starting).await;
}

/// The oldest idle member that still serves; dead ones met on the way are discarded.
async fn take_live(idle: &mut VecDeque<Member>) -> Option<Member> {
    while let Some(member) = idle.pop_front() {
        if member.is_alive() {
            return Some(member);
        }
        tracing::warn!(slot = %member.slot.name, "a pre-started renderer died while idle; discarding it");
        member.discard().await;
    }
    None
}

/// Stops every idle member, and the one starting without waiting for it (a start may be an npm
/// install: a shutdown must not wait for it; the supervisor's own shutdown stops its process if
/// it had one). Then removes every slot no sandbox claimed, the aborted start's included.
async fn drain(
    shared: &Weak<Shared>,
    idle: &mut VecDeque<Member>,
    starting: Option<JoinHandle<Result<Member, String>>>,
) {
    let mut members: Vec<Member> = idle.drain(..).collect();
    if let Some(task) = starting {
        task.abort();
        if let Ok(Ok(member)) = task.await {
            members.push(member);
        }
    }
    futures::future::join_all(members.into_iter().map(Member::discard)).await;
    if let Some(shared) = shared.upgrade() {
        super::member::remove_idle_slots(&shared).await;
    }
}
