//! The OpenAPI 3 description served at `/api/v1/openapi.json`, generated from the handlers'
//! annotations and the `ToSchema` derives of `studio_wire`'s types.
//!
//! It depends on the handler modules; no handler depends on it.

use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Required, Response, Schema};

use studio_wire as wire;

use crate::{access_routes, component_routes, file_routes, routes, ws};

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Studio", description = "Live component-studio sandboxes for design tools."),
    paths(
        routes::create, routes::list, routes::get, routes::execute, routes::rollback, routes::finalize,
        routes::restart, routes::stop, routes::start, routes::delete, routes::logs,
        routes::healthz, routes::readyz, routes::metrics, ws::upgrade,
        access_routes::preview_link, access_routes::create_token, access_routes::list_tokens,
        access_routes::delete_token, file_routes::list_files, file_routes::read_file,
        component_routes::components,
    ),
    components(schemas(
        wire::ErrorBody, wire::CreateSandboxRequest, wire::OneOrMany, wire::CreateSandboxResponse,
        wire::SandboxView, wire::ResourcesView, wire::SandboxList, wire::CommitView,
        wire::ExecuteCommand, wire::ExecuteRequest, wire::ExecuteResponse, wire::RollbackRequest, wire::RollbackResponse, wire::FinalizeRequest,
        wire::FinalizeResponse, wire::LogLineView, wire::LogsResponse, wire::LogRecord, wire::PreviewLinkRequest,
        wire::PreviewLinkResponse, wire::CreateTokenRequest, wire::TokenCreated, wire::TokenView,
        wire::TokenList, wire::FileKind, wire::FileEntry, wire::FileList, wire::FileContent,
        wire::ComponentList, wire::ComponentView, wire::StoryView, wire::PropView, wire::RenderStateView,
        wire::ComponentErrorView, wire::ManifestProblemView,
    )),
    modifiers(&BearerAuth, &QueryParams, &OptionalBodies, &SharedErrors),
    tags((name = "sandboxes"), (name = "access"), (name = "files"), (name = "components"), (name = "events"), (name = "service")),
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

/// Moves parameters that utoipa declared `in: path` but that the path template does not name into
/// the query, optional when their schema admits `null` (an `Option` field).
///
/// An `IntoParams` struct without `#[into_params(parameter_in = Query)]` comes out as required
/// path parameters: `ws::WsQuery` (`?since=`, `?token=`) did, so the document described a route
/// no client can call as written, and the fuzzer sent its values in the path. The attribute on the
/// struct is the real fix (`routes::LogsQuery` has it); this keeps the document right for any
/// struct that still lacks it.
struct QueryParams;

impl utoipa::Modify for QueryParams {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for param in operation.parameters.iter_mut().flatten() {
                    let in_template = path.contains(&format!("{{{}}}", param.name));
                    if param.parameter_in == ParameterIn::Path && !in_template {
                        param.parameter_in = ParameterIn::Query;
                        param.required = if admits_null(param.schema.as_ref()) {
                            Required::False
                        } else {
                            Required::True
                        };
                    }
                }
            }
        }
    }
}

fn admits_null(schema: Option<&RefOr<Schema>>) -> bool {
    let Some(RefOr::T(Schema::Object(object))) = schema else {
        return false;
    };
    match &object.schema_type {
        SchemaType::Type(t) => *t == Type::Null,
        SchemaType::Array(types) => types.contains(&Type::Null),
        SchemaType::AnyValue => true,
    }
}

/// An optional body (`request_body(content = Option<T>)`) is one that may be left out, not the
/// JSON `null`: `OptionalJson` answers an absent or blank body with the defaults and `null` with
/// `422`. utoipa renders `Option<T>` as `oneOf: [null, T]` (already `required: false`), which
/// promised that `null` is accepted; the fuzzer sent it and got `422`. This keeps `T` only.
struct OptionalBodies;

impl utoipa::Modify for OptionalBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let Some(body) = operation.request_body.as_mut() else {
                    continue;
                };
                if body.required == Some(Required::True) {
                    continue;
                }
                for content in body.content.values_mut() {
                    let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else {
                        continue;
                    };
                    let mut not_null = one_of.items.iter().filter(|item| !is_null(item));
                    if let (Some(only), None) = (not_null.next(), not_null.next()) {
                        content.schema = Some(only.clone());
                    }
                }
            }
        }
    }
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
}

/// The error answers that come from layers every route shares rather than from its handler, added
/// here once so that no annotation can forget them (schemathesis' `status_code_conformance`, run by
/// `tests/fuzz/run.sh`, found 415s and 400s the annotations did not list):
///
/// * every `/api/` operation sits behind the token guard (`auth`): `401`, and it declares the
///   `bearer` scheme so clients and fuzzers know a token is needed;
/// * every operation with a JSON body reads it through `JsonBody`/`OptionalJson` (`json`,
///   `access_routes`): `400` (not JSON, unreadable), `413` (over `--max-body-bytes`), `415` (no
///   JSON content type) and `422` (JSON of the wrong shape);
/// * every operation with query parameters rejects a malformed query with `400` `invalid_query`
///   (the WebSocket upgrade also answers `400` to a plain GET without the upgrade headers), and
///   every one with path parameters a segment that is not UTF-8 with `400` `invalid_path`.
///
/// An annotation that already lists one of these statuses keeps its own entry.
struct SharedErrors;

impl utoipa::Modify for SharedErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let guarded = path.starts_with("/api/");
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                add_shared_errors(operation, guarded);
            }
        }
    }
}

fn add_shared_errors(operation: &mut Operation, guarded: bool) {
    let mut statuses = Vec::new();
    if guarded {
        statuses.push(("401", "no API token, or a wrong one"));
        operation
            .security
            .get_or_insert_with(Vec::new)
            .push(SecurityRequirement::new("bearer", Vec::<String>::new()));
    }
    if operation.request_body.is_some() {
        statuses.extend([
            ("400", "the body is not JSON, or could not be read"),
            ("413", "the body is larger than `--max-body-bytes`"),
            ("415", "a body without `Content-Type: application/json`"),
            (
                "422",
                "JSON of the wrong shape (the message names the field)",
            ),
        ]);
    }
    // `PathParam`: a path segment that does not decode (not UTF-8) is `400` `invalid_path`.
    let has_path = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Path);
    if has_path {
        statuses.push(("400", "a path segment that does not decode"));
    }
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Query);
    if has_query {
        statuses.push(("400", "a malformed query string"));
    }
    for (status, description) in statuses {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    }
}

fn error_response(description: &str) -> Response {
    Response::builder()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build()
}

/// The document as JSON text.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[cfg(test)]
mod tests {
    /// What the modifiers promise, on the document the server serves (`tests/fuzz/run.sh` checks
    /// the answers against it).
    #[test]
    fn parameters_bodies_and_shared_errors_are_described_as_served() {
        let doc = serde_json::to_value(super::document()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let route = format!("{method} {path}");
                for param in op["parameters"].as_array().into_iter().flatten() {
                    let name = param["name"].as_str().unwrap();
                    if param["in"] == "path" {
                        assert!(path.contains(&format!("{{{name}}}")), "{route}: {param}");
                    }
                }
                let responses = op["responses"].as_object().unwrap();
                if path.starts_with("/api/") {
                    assert!(responses.contains_key("401"), "{route}");
                }
                if let Some(body) = op.get("requestBody") {
                    assert!(!body.to_string().contains(r#""null""#), "{route}: {body}");
                    for status in ["400", "413", "415", "422"] {
                        assert!(responses.contains_key(status), "{route}: {status}");
                    }
                }
            }
        }
    }
}
