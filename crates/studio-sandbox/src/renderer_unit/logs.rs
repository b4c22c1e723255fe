//! The renderer's output as the API shows it: the last lines, and a live feed of new ones.

use studio_core::SandboxId;
use studio_supervisor::{LogLine, LogStream};
use time::OffsetDateTime;
use tokio::sync::broadcast;

use super::spec::unit_name;
use crate::shared::Shared;

/// One line of renderer output, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub timestamp: OffsetDateTime,
    /// `stdout` or `stderr`.
    pub stream: &'static str,
    pub line: String,
}

impl From<LogLine> for LogEntry {
    fn from(l: LogLine) -> Self {
        let stream = match l.stream {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        };
        Self {
            timestamp: l.at,
            stream,
            line: l.text,
        }
    }
}

/// Logs of a sandbox's renderer, if it has one registered.
pub(crate) fn logs(shared: &Shared, id: &SandboxId, limit: usize) -> Vec<LogEntry> {
    match shared.supervisor.unit(&unit_name(id)) {
        Some(unit) => unit.logs(limit).into_iter().map(LogEntry::from).collect(),
        None => Vec::new(),
    }
}

/// The last `limit` lines and a live feed of the lines after them; `None` without a renderer.
pub(crate) fn follow_logs(
    shared: &Shared,
    id: &SandboxId,
    limit: usize,
) -> Option<(Vec<LogEntry>, broadcast::Receiver<LogEntry>)> {
    let unit = shared.supervisor.unit(&unit_name(id))?;
    // Subscribe before reading the backlog so no line falls between the two.
    let mut live = unit.subscribe_logs();
    let backlog: Vec<LogEntry> = unit.logs(limit).into_iter().map(LogEntry::from).collect();
    let (tx, rx) = broadcast::channel(1024);
    let last_seen = backlog.last().map(|l| l.timestamp);
    tokio::spawn(async move {
        loop {
            match live.recv().await {
                Ok(line) => {
                    if last_seen.is_some_and(|t| line.at <= t) {
                        continue;
                    }
                    if tx.send(LogEntry::from(line)).is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    Some((backlog, rx))
}
