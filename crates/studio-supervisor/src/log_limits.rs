//! Bounds of a unit's log ring buffer ([`LogLimits`]), shared by the spec and the buffer.

use serde::{Deserialize, Serialize};

/// Bounds of a unit's log ring buffer: the oldest lines go first when either is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogLimits {
    pub max_lines: usize,
    pub max_bytes: usize,
    /// Longer lines are split into pieces of at most this many bytes.
    pub max_line_bytes: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        Self {
            max_lines: 5_000,
            max_bytes: 1 << 20,
            max_line_bytes: 16 << 10,
        }
    }
}
