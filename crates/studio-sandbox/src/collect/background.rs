//! Collection in a running server: once at start, then every `collect_every`, until shutdown.

use std::sync::{Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{CollectOptions, CollectReport, Parts, collect};
use crate::shared::Shared;

/// A collection under way finishes within this at shutdown, or is left to the runtime's end.
const FINISH_AT_SHUTDOWN: Duration = Duration::from_secs(30);

/// The collecting task of a server.
#[derive(Debug)]
pub(crate) struct Background {
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Background {
    /// Starts collecting. The task holds the services weakly: it never keeps a stopped server's
    /// manager alive.
    pub(crate) fn start(shared: Weak<Shared>, every: Duration) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return,
                }
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let options = CollectOptions::from_config(&shared.config);
                match collect(&Parts::of(&shared), options).await {
                    Ok(report) => log(&report),
                    Err(e) => tracing::warn!("collection failed: {e}"),
                }
            }
        });
        Self {
            stop,
            task: Mutex::new(Some(task)),
        }
    }

    /// Ends the task: no new collection starts; one under way is given a while to finish (its
    /// removals are each complete or left for the next collection, never half-visible).
    pub(crate) async fn stop(&self) {
        self.stop.send_replace(true);
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task
            && tokio::time::timeout(FINISH_AT_SHUTDOWN, task)
                .await
                .is_err()
        {
            tracing::warn!("a collection was still running at shutdown");
        }
    }
}

fn log(report: &CollectReport) {
    for entry in &report.removed {
        tracing::info!(
            kind = entry.kind,
            path = %entry.path.display(),
            bytes = entry.bytes,
            "collected"
        );
    }
    for failure in &report.failures {
        tracing::warn!("collection could not remove {failure}");
    }
    let over = report.data_dir_bytes > report.max_bytes;
    if !report.removed.is_empty() || over {
        tracing::info!(
            removed = report.removed.len(),
            freed_bytes = report.freed_bytes,
            data_dir_bytes = report.data_dir_bytes,
            bound = report.max_bytes,
            millis = report.duration.as_millis(),
            "collection done{}",
            if over {
                " (still above the bound: what is left is in use)"
            } else {
                ""
            }
        );
    }
}
