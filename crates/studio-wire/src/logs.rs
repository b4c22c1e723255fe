//! A sandbox's renderer output: `GET /api/v1/sandboxes/{id}/logs`, whole or followed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One line of renderer output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogLineView {
    /// RFC 3339 with sub-second precision.
    pub timestamp: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    pub line: String,
}

/// `GET /api/v1/sandboxes/{id}/logs`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogsResponse {
    pub lines: Vec<LogLineView>,
}

/// One record of `GET …/logs?follow=true` (newline-delimited JSON): a line, or word that lines
/// were skipped.
// `ToSchema`: the OpenAPI document describes the streamed (`application/x-ndjson`) answer too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LogRecord {
    Line(LogLineView),
    /// The follower fell behind and the server skipped this many lines rather than wait.
    Skipped {
        skipped: u64,
    },
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::roundtrip::check;

    fn line() -> LogLineView {
        LogLineView {
            timestamp: "2026-11-22T14:30:05.123Z".into(),
            stream: "stderr".into(),
            line: "Error: boom".into(),
        }
    }

    fn line_json() -> serde_json::Value {
        json!({"timestamp": "2026-11-22T14:30:05.123Z", "stream": "stderr", "line": "Error: boom"})
    }

    #[test]
    fn log_line() {
        check(&line(), line_json());
    }

    #[test]
    fn logs_response() {
        let logs = LogsResponse {
            lines: vec![line()],
        };
        check(&logs, json!({"lines": [line_json()]}));
    }

    #[test]
    fn follow_records_are_lines_or_skips() {
        check(&LogRecord::Line(line()), line_json());
        check(&LogRecord::Skipped { skipped: 3 }, json!({"skipped": 3}));
        // The stream is compact JSON, one record per line.
        let text = serde_json::to_string(&LogRecord::Skipped { skipped: 3 }).unwrap();
        assert_eq!(text, r#"{"skipped":3}"#);
    }
}
