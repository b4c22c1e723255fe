//! Per-sandbox configuration, as chosen at creation time.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::commit::CommitPattern;
use crate::defaults;

/// Components rendered when neither the request nor `studio.json` names any: another name for
/// [`defaults::COMPONENT_GLOB`], kept for the crates that use it under this name.
pub const DEFAULT_COMPONENT_GLOB: &str = defaults::COMPONENT_GLOB;

/// Everything about a sandbox that the create request (or the server's defaults) decides and that
/// must survive a server restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxConfig {
    pub auto_commit: bool,
    pub commit_pattern: CommitPattern,
    /// Inactivity timeout.
    #[serde(with = "duration_secs")]
    pub timeout: Duration,
    /// Crashes tolerated inside the restart window before the sandbox is `failed`.
    pub max_restarts: u32,
    /// Globs of component files, relative to the repository root.
    pub components: Vec<String>,
    /// `owner/name` on GitHub, for pull requests.
    pub github_repo: Option<String>,
    /// Repository paths imported before any component (design tokens, global CSS).
    pub setup: Vec<String>,
    /// `path#Export` of a provider that wraps each rendered component.
    pub wrapper: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            auto_commit: true,
            commit_pattern: CommitPattern::default(),
            timeout: defaults::TIMEOUT,
            max_restarts: defaults::MAX_RESTARTS,
            components: vec![defaults::COMPONENT_GLOB.to_owned()],
            github_repo: None,
            setup: Vec::new(),
            wrapper: None,
        }
    }
}

/// Durations are stored as fractional seconds so that `timeout_hours: 0.002` survives a round trip.
mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_json() {
        let cfg = SandboxConfig {
            timeout: Duration::from_secs_f64(7.2),
            github_repo: Some("acme/ui".into()),
            ..SandboxConfig::default()
        };
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<SandboxConfig>(&json).unwrap(), cfg);
    }
}
