//! Sandbox identifiers: `sb_<hex>` outside, `design/studio-<hex>` as the git branch.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Number of hex digits in a sandbox id (64 random bits).
const HEX_LEN: usize = 16;
const PREFIX: &str = "sb_";
const BRANCH_PREFIX: &str = "design/studio-";
const PREVIEW_PREFIX: &str = "sb-";

/// A sandbox's identity. The hex part is shared by the public id (`sb_<hex>`), the session branch
/// (`design/studio-<hex>`) and the refs that keep undone commits alive.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SandboxId {
    hex: String,
}

/// Why a string is not a sandbox id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("sandbox id must look like sb_<16 hex digits>, got {0:?}")]
    Malformed(String),
}

impl SandboxId {
    /// Builds an id from 8 random bytes supplied by the caller (the core has no randomness).
    pub fn from_random(bytes: [u8; 8]) -> Self {
        let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self { hex }
    }

    /// The bare hex part, as used in branch and ref names.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The session branch: `design/studio-<hex>`.
    pub fn branch(&self) -> String {
        format!("{BRANCH_PREFIX}{}", self.hex)
    }

    /// The DNS label of the sandbox's preview host: the id with `_` written as `-` (`sb-<hex>`),
    /// since a host name cannot hold `_`.
    pub fn preview_label(&self) -> String {
        format!("{PREVIEW_PREFIX}{}", self.hex)
    }

    /// The sandbox a preview host's first label names (`sb-<hex>`, any letter case, as browsers
    /// may send it), or `None`.
    pub fn from_preview_label(label: &str) -> Option<Self> {
        let hex = label
            .get(..PREVIEW_PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(PREVIEW_PREFIX))
            .and_then(|_| label.get(PREVIEW_PREFIX.len()..))?
            .to_ascii_lowercase();
        format!("{PREFIX}{hex}").parse().ok()
    }
}

impl FromStr for SandboxId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s
            .strip_prefix(PREFIX)
            .filter(|h| {
                h.len() == HEX_LEN && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })
            .ok_or_else(|| IdError::Malformed(s.to_owned()))?;
        Ok(Self {
            hex: hex.to_owned(),
        })
    }
}

impl TryFrom<String> for SandboxId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<SandboxId> for String {
    fn from(id: SandboxId) -> Self {
        id.to_string()
    }
}

impl fmt::Display for SandboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", self.hex)
    }
}

impl fmt::Debug for SandboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SandboxId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_label_is_the_id_with_a_dash_and_parses_back() {
        let id = SandboxId::from_random([0xab, 1, 2, 3, 4, 5, 6, 0xff]);
        assert_eq!(id.preview_label(), "sb-ab010203040506ff");
        assert_eq!(
            SandboxId::from_preview_label(&id.preview_label()),
            Some(id.clone())
        );
        assert_eq!(
            SandboxId::from_preview_label("SB-AB010203040506FF"),
            Some(id)
        );
        for bad in [
            "sb_ab010203040506ff",
            "sb-ab01",
            "xx-ab010203040506ff",
            "sb-",
            "",
            "sb-ab010203040506fg",
        ] {
            assert_eq!(SandboxId::from_preview_label(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_through_display_and_parse() {
        let id = SandboxId::from_random([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 0xff]);
        assert_eq!(id.to_string(), "sb_deadbeef000102ff");
        assert_eq!(id.branch(), "design/studio-deadbeef000102ff");
        assert_eq!("sb_deadbeef000102ff".parse::<SandboxId>().unwrap(), id);
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "sb_",
            "deadbeef000102ff",
            "sb_DEADBEEF000102FF",
            "sb_deadbeef",
            "sb_../../etc/passwd0",
            "sb_deadbeef000102ffaa",
        ] {
            assert!(bad.parse::<SandboxId>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn serde_uses_the_public_form() {
        let id = SandboxId::from_random([1; 8]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"sb_0101010101010101\"");
        assert!(serde_json::from_str::<SandboxId>("\"nope\"").is_err());
    }
}
