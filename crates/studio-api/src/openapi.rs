//! The OpenAPI 3 description served at `/api/v1/openapi.json`, generated from the handlers'
//! annotations and the `ToSchema` derives of `studio_wire`'s types.
//!
//! It depends on the handler modules; no handler depends on it.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use studio_wire as wire;

use crate::{access_routes, routes, ws};

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Studio", description = "Live component-studio sandboxes for design tools."),
    paths(
        routes::create, routes::list, routes::get, routes::execute, routes::rollback, routes::finalize,
        routes::restart, routes::stop, routes::start, routes::delete, routes::logs,
        routes::healthz, routes::readyz, routes::metrics, ws::upgrade,
        access_routes::preview_link, access_routes::create_token, access_routes::list_tokens,
        access_routes::delete_token,
    ),
    components(schemas(
        wire::ErrorBody, wire::CreateSandboxRequest, wire::OneOrMany, wire::CreateSandboxResponse,
        wire::SandboxView, wire::SandboxList, wire::CommitView, wire::ExecuteCommand, wire::ExecuteRequest,
        wire::ExecuteResponse, wire::RollbackRequest, wire::RollbackResponse, wire::FinalizeRequest,
        wire::FinalizeResponse, wire::LogLineView, wire::LogsResponse, wire::PreviewLinkRequest,
        wire::PreviewLinkResponse, wire::CreateTokenRequest, wire::TokenCreated, wire::TokenView,
        wire::TokenList,
    )),
    modifiers(&BearerAuth),
    tags((name = "sandboxes"), (name = "access"), (name = "events"), (name = "service")),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as JSON text.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
