//! Preview access and scoped tokens: `POST /api/v1/sandboxes/{id}/preview-link` and
//! `POST|GET /api/v1/sandboxes/{id}/tokens`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/sandboxes/{id}/preview-link`: an empty body, or `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewLinkRequest {}

/// A one-time link that opens the sandbox's preview: it sets the preview cookie and redirects to
/// the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PreviewLinkResponse {
    /// `http://sb-<hex>.localhost:7700/__preview/redeem?t=…`; works once.
    pub url: String,
    /// RFC 3339; the link is refused after it (a few minutes).
    pub expires_at: String,
}

/// `POST /api/v1/sandboxes/{id}/tokens`: an empty body, `{}` or `{"expires_in_hours": N}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// 1 to 720 (30 days); default 24.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 720)]
    pub expires_in_hours: Option<u32>,
}

/// `201` answer: the token, shown this once (the server keeps only its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenCreated {
    /// `tok_<hex>`: how the token is listed and revoked.
    pub id: String,
    /// `stk_<hex>`, sent as `Authorization: Bearer <token>`.
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// One scoped token of a sandbox, as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// `GET /api/v1/sandboxes/{id}/tokens`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::roundtrip::check;

    #[test]
    fn preview_link_bodies() {
        check(&PreviewLinkRequest {}, json!({}));
        assert!(serde_json::from_value::<PreviewLinkRequest>(json!({"ttl": 5})).is_err());
        check(
            &PreviewLinkResponse {
                url: "http://sb-0123456789abcdef.localhost:7700/__preview/redeem?t=abc".into(),
                expires_at: "2026-11-22T14:33:00Z".into(),
            },
            json!({"url": "http://sb-0123456789abcdef.localhost:7700/__preview/redeem?t=abc",
                   "expires_at": "2026-11-22T14:33:00Z"}),
        );
    }

    #[test]
    fn token_bodies() {
        check(&CreateTokenRequest::default(), json!({}));
        check(
            &CreateTokenRequest {
                expires_in_hours: Some(48),
            },
            json!({"expires_in_hours": 48}),
        );
        assert!(serde_json::from_value::<CreateTokenRequest>(json!({"hours": 1})).is_err());
        assert!(
            serde_json::from_value::<CreateTokenRequest>(json!({"expires_in_hours": -1})).is_err()
        );
        check(
            &TokenCreated {
                id: "tok_0123456789abcdef".into(),
                token: "stk_00ff".into(),
                expires_at: "2026-11-23T14:30:00Z".into(),
            },
            json!({"id": "tok_0123456789abcdef", "token": "stk_00ff", "expires_at": "2026-11-23T14:30:00Z"}),
        );
        let view = TokenView {
            id: "tok_0123456789abcdef".into(),
            created_at: "2026-11-22T14:30:00Z".into(),
            expires_at: "2026-11-23T14:30:00Z".into(),
        };
        check(
            &TokenList { tokens: vec![view] },
            json!({"tokens": [{"id": "tok_0123456789abcdef", "created_at": "2026-11-22T14:30:00Z",
                               "expires_at": "2026-11-23T14:30:00Z"}]}),
        );
    }
}
