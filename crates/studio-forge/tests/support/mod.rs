//! Test helpers of studio-forge: a scripted server for faults Prism cannot produce, and the
//! session the pull requests are about. The GitHub peer (Prism) and the plain HTTP client are
//! in `studio_testkit`.

pub mod fake_github;

use studio_core::{CommitInfo, SecretToken};
use time::OffsetDateTime;

/// A token shaped like GitHub's, distinctive enough to grep for in every error text.
pub const TOKEN: &str = "ghp_studioTestToken0123456789abcdefABCD";

pub fn token() -> Option<SecretToken> {
    SecretToken::new(TOKEN)
}

/// `n` commits like a design session's auto-commits, oldest first.
pub fn session_commits(n: usize) -> Vec<CommitInfo> {
    (0..n)
        .map(|i| CommitInfo {
            hash: format!("{:040x}", 0xabc0_0000_u64 + i as u64),
            message: format!(
                "AI: Updated <Button> radius step {i} - 2026-11-22 14:{:02}",
                i % 60
            ),
            timestamp: OffsetDateTime::UNIX_EPOCH,
        })
        .collect()
}
