//! The lifecycle of a sandbox as the outside world sees it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Public sandbox status (see API.md). The supervisor has finer-grained unit states; the sandbox
/// manager maps them onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxStatus {
    Starting,
    Running,
    Restarting,
    Stopped,
    Failed,
    Expired,
    Finalized,
}

impl SandboxStatus {
    pub const ALL: [SandboxStatus; 7] = [
        Self::Starting,
        Self::Running,
        Self::Restarting,
        Self::Stopped,
        Self::Failed,
        Self::Expired,
        Self::Finalized,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Restarting => "restarting",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Finalized => "finalized",
        }
    }

    /// A terminal sandbox has been torn down: its checkout and port are gone for good and only its
    /// record and commits remain.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Expired | Self::Finalized)
    }

    /// Whether a renderer process is expected to exist in this status.
    pub fn has_renderer(self) -> bool {
        matches!(self, Self::Starting | Self::Running | Self::Restarting)
    }
}

impl fmt::Display for SandboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The string is not one of the statuses in API.md.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sandbox status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for SandboxStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_match_serde_and_parse() {
        for st in SandboxStatus::ALL {
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
            assert_eq!(st.as_str().parse::<SandboxStatus>().unwrap(), st);
        }
        assert!("RUNNING".parse::<SandboxStatus>().is_err());
    }
}
