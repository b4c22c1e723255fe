//! REST handlers of preview access and scoped tokens: `preview-link` and `tokens` under
//! `/api/v1/sandboxes/{id}`. Who may call them is `auth`'s business (a scoped token reaches
//! `preview-link` of its own sandbox, never `tokens`); what the link does on the preview host is
//! `preview_auth`'s.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use studio_sandbox::TokenInfo;
use studio_wire::{
    CreateTokenRequest, ErrorBody, PreviewLinkRequest, PreviewLinkResponse, TokenCreated,
    TokenList, TokenView,
};

use crate::convert::rfc3339;
use crate::error::ApiError;
use crate::json::{PathParam, body_read_error};
use crate::preview_auth::{LINK_PARAM, REDEEM_PATH};
use crate::state::AppState;

/// A one-time link that opens the sandbox's preview in a browser (sets the preview cookie).
#[utoipa::path(post, path = "/api/v1/sandboxes/{id}/preview-link", tag = "access",
    params(("id" = String, Path, description = "sb_<hex>")),
    request_body(content = Option<PreviewLinkRequest>, description = "empty, or `{}`"),
    responses(
        (status = 200, body = PreviewLinkResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn preview_link(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    OptionalJson(_body): OptionalJson<PreviewLinkRequest>,
) -> Result<Json<PreviewLinkResponse>, ApiError> {
    let link = state.manager.preview_link(&id).await?;
    let url = format!(
        "{}{REDEEM_PATH}?{LINK_PARAM}={}",
        link.preview_url.trim_end_matches('/'),
        link.token
    );
    Ok(Json(PreviewLinkResponse {
        url,
        expires_at: rfc3339(link.expires_at),
    }))
}

/// Make a scoped token for a design tool: it may call this sandbox's endpoints and nothing else.
#[utoipa::path(post, path = "/api/v1/sandboxes/{id}/tokens", tag = "access",
    params(("id" = String, Path, description = "sb_<hex>")),
    request_body(content = Option<CreateTokenRequest>, description = "empty, `{}` or `{\"expires_in_hours\": N}`"),
    responses(
        (status = 201, body = TokenCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn create_token(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    OptionalJson(body): OptionalJson<CreateTokenRequest>,
) -> Result<Response, ApiError> {
    let made = state
        .manager
        .create_token(&id, body.expires_in_hours)
        .await?;
    let created = TokenCreated {
        id: made.info.id,
        token: made.token.expose().to_owned(),
        expires_at: rfc3339(made.info.expires_at),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// The sandbox's scoped tokens (never the tokens themselves).
#[utoipa::path(get, path = "/api/v1/sandboxes/{id}/tokens", tag = "access",
    params(("id" = String, Path, description = "sb_<hex>")),
    responses((status = 200, body = TokenList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<Json<TokenList>, ApiError> {
    let tokens = state.manager.tokens(&id).await?;
    Ok(Json(TokenList {
        tokens: tokens.into_iter().map(token_view).collect(),
    }))
}

/// Revoke one scoped token at once.
#[utoipa::path(delete, path = "/api/v1/sandboxes/{id}/tokens/{token_id}", tag = "access",
    params(("id" = String, Path, description = "sb_<hex>"), ("token_id" = String, Path, description = "tok_<hex>")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete_token(
    State(state): State<AppState>,
    PathParam((id, token_id)): PathParam<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.manager.revoke_token(&id, &token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn token_view(t: TokenInfo) -> TokenView {
    TokenView {
        id: t.id,
        created_at: rfc3339(t.created_at),
        expires_at: rfc3339(t.expires_at),
    }
}

/// A JSON body that may also be left out entirely (`T::default()` then), for requests whose
/// every field is optional. A body that is there must be JSON, like everywhere else.
#[derive(Debug, Clone, Default)]
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or_default().trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| body_read_error(&e))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "request body must be JSON with `Content-Type: application/json` (or empty)",
            ));
        }
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            if e.is_data() {
                ApiError::invalid("invalid_request", format!("request body is invalid: {e}"))
            } else {
                ApiError::bad_request(
                    "invalid_json",
                    format!("request body is not valid JSON: {e}"),
                )
            }
        })
    }
}
