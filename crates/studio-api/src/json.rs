//! A JSON body extractor whose every rejection is an [`ApiError`].
//!
//! axum's own `Json` answers rejections with plain text. Studio promises `{"error","code"}` for every
//! failure, including a body that is not JSON, has the wrong types, misses a field, or is too large,
//! so handlers take [`JsonBody<T>`] instead.

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `JsonBody<T>`: like `axum::Json<T>`, but rejects with Studio's error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejection_to_error(rejection)),
        }
    }
}

fn rejection_to_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "invalid_json",
            format!("request body is not valid JSON: {}", source_text(&e)),
        ),
        // Well-formed JSON of the wrong shape: serde names the field and what it expected.
        JsonRejection::JsonDataError(e) => ApiError::invalid(
            "invalid_request",
            format!("request body is invalid: {}", source_text(&e)),
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "request body must be JSON with `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(e) => body_read_error(&e),
        other => ApiError::bad_request("invalid_request", other.body_text()),
    }
}

/// A body that could not be read: too large for the server's limit, or broken off. Shared with
/// every extractor that reads the raw bytes itself (such as the access routes' optional body), so a
/// body fails the same way whichever extractor reads it.
pub(crate) fn body_read_error(e: &BytesRejection) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "payload_too_large",
            "request body is larger than the server's limit",
        )
    } else {
        ApiError::bad_request(
            "unreadable_body",
            format!("request body could not be read: {e}"),
        )
    }
}

/// The innermost cause: serde's message ("missing field `repository` at line 1 column 2") is the
/// useful part; axum's wrappers only repeat "Failed to deserialize".
fn source_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
