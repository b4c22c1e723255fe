//! Commit messages and the commit record shown in the API.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::format_description;

/// One commit of a session branch, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// 40 lowercase hex digits.
    pub hash: String,
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// The auto-commit message pattern, e.g. `AI: {description} - {timestamp}`.
///
/// `{description}` is the request's description and `{timestamp}` the commit time in UTC as
/// `YYYY-MM-DD HH:MM`. Unknown placeholders are left as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommitPattern(pub String);

impl CommitPattern {
    pub const DEFAULT: &'static str = "AI: {description} - {timestamp}";

    /// Renders the message for a commit made at `now`.
    pub fn render(&self, description: &str, now: OffsetDateTime) -> String {
        let stamp_format = format_description!("[year]-[month]-[day] [hour]:[minute]");
        let stamp = now
            .to_offset(time::UtcOffset::UTC)
            .format(&stamp_format)
            // Formatting a valid date with a fixed description cannot fail; fall back to RFC 3339
            // digits rather than panicking should the `time` crate ever disagree.
            .unwrap_or_else(|_| now.unix_timestamp().to_string());
        let description = description.trim();
        let description = if description.is_empty() {
            "update"
        } else {
            description
        };
        self.0
            .replace("{description}", description)
            .replace("{timestamp}", &stamp)
    }
}

impl Default for CommitPattern {
    fn default() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn default_pattern_renders_utc_minutes() {
        let at = datetime!(2026-11-22 14:30:59 +02:00);
        let msg = CommitPattern::default().render("Updated border-radius", at);
        assert_eq!(msg, "AI: Updated border-radius - 2026-11-22 12:30");
    }

    #[test]
    fn custom_pattern_and_empty_description() {
        let at = datetime!(2026-01-02 03:04 UTC);
        let msg = CommitPattern("studio({timestamp}): {description}".into()).render("  ", at);
        assert_eq!(msg, "studio(2026-01-02 03:04): update");
    }
}
