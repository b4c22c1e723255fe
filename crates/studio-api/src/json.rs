//! A JSON body extractor and a path extractor whose every rejection is an [`ApiError`].
//!
//! axum's own `Json` answers rejections with plain text. Studio promises `{"error","code"}` for every
//! failure, including a body that is not JSON, has the wrong types, misses a field, or is too large,
//! so handlers take [`JsonBody<T>`] instead. The same holds for path segments: axum's `Path`
//! answers a segment that is not UTF-8 (`/api/v1/sandboxes/%FF`) with a plain-text 400, so
//! handlers take [`PathParam<T>`].

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
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

/// `PathParam<T>`: like `axum::extract::Path<T>`, but rejects with Studio's error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct PathParam<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParam<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_rejection_to_error(&rejection)),
        }
    }
}

fn path_rejection_to_error(rejection: &PathRejection) -> ApiError {
    // A route whose handler asks for parameters its path does not have is our bug (axum: 500);
    // anything else is a segment the client sent that does not decode (400).
    if rejection.status().is_server_error() {
        ApiError::internal(rejection.body_text())
    } else {
        ApiError::bad_request("invalid_path", rejection.body_text())
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

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::PathParam;

    async fn echo(PathParam(id): PathParam<String>) -> String {
        id
    }

    /// axum's own `Path` answers this with a plain-text 400; the API promises JSON errors only.
    #[tokio::test]
    async fn a_path_segment_that_is_not_utf8_is_a_json_400() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/x/{id}", get(echo));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /x/%FF HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{answer}"
        );
        assert!(answer.contains(r#""code":"invalid_path""#), "{answer}");
    }
}
