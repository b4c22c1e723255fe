//! The body of every error response, and of the `error` WebSocket message's payload.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A sentence for people: what went wrong and, where possible, what to do.
    pub error: String,
    /// A stable identifier for programs, e.g. `sandbox_not_found`.
    pub code: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::roundtrip::check;

    #[test]
    fn error_body() {
        let body = ErrorBody {
            error: "no sandbox with id \"sb_0123456789abcdef\"".into(),
            code: "sandbox_not_found".into(),
        };
        check(
            &body,
            json!({"error": "no sandbox with id \"sb_0123456789abcdef\"", "code": "sandbox_not_found"}),
        );
    }
}
