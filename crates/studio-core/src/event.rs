//! Events a sandbox publishes to its WebSocket clients (and stores for replay).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The event types of docs/api.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Status,
    Error,
    Reload,
    Commit,
    ComponentSelected,
    Expiring,
    /// A component (or one of its stories) rendered on an open page, after it had not.
    ComponentRendered,
    /// A component (or one of its stories) failed to render or to build, or failed differently.
    ComponentError,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        Self::Status,
        Self::Error,
        Self::Reload,
        Self::Commit,
        Self::ComponentSelected,
        Self::Expiring,
        Self::ComponentRendered,
        Self::ComponentError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Error => "error",
            Self::Reload => "reload",
            Self::Commit => "commit",
            Self::ComponentSelected => "component-selected",
            Self::Expiring => "expiring",
            Self::ComponentRendered => "component-rendered",
            Self::ComponentError => "component-error",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The string is not an event type Studio knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}")]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_owned()))
    }
}

/// One event on a sandbox's topic. `seq` is assigned by the store, gap-free per sandbox, so a
/// client that reconnects with `?since=<seq>` can be sent exactly what it missed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub payload: Value,
    pub seq: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_matches_the_api() {
        let ev = Event {
            kind: EventKind::ComponentSelected,
            payload: serde_json::json!({"component": "Button"}),
            seq: 7,
        };
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "component-selected", "payload": {"component": "Button"}, "seq": 7})
        );
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), k);
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
        }
    }
}
