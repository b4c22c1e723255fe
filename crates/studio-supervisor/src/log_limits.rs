//! Bounds of a unit's log ring buffer and of its output files ([`LogLimits`]), shared by the
//! spec, the buffer and the file tailer.

use serde::{Deserialize, Serialize};

/// Bounds of a unit's log ring buffer: the oldest lines go first when either is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogLimits {
    pub max_lines: usize,
    pub max_bytes: usize,
    /// Longer lines are split into pieces of at most this many bytes.
    pub max_line_bytes: usize,
    /// When the supervisor writes output to files
    /// ([`SupervisorConfig::log_dir`](crate::SupervisorConfig::log_dir)): once a file has grown
    /// past this many bytes and everything in it was read, its content is copied to `<file>.1`
    /// (replacing the previous generation) and the file is truncated.
    pub max_file_bytes: u64,
}

impl Default for LogLimits {
    fn default() -> Self {
        Self {
            max_lines: 5_000,
            max_bytes: 1 << 20,
            max_line_bytes: 16 << 10,
            max_file_bytes: 8 << 20,
        }
    }
}
