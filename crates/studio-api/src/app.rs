//! The router, its layers, and serving it with graceful shutdown.
//!
//! The top of the crate: it wires the handler modules (`routes`, `ws`) and the
//! OpenAPI document into one router, behind the front door (`front_door`), which lets only
//! requests for an API host reach it. Nothing imports this module but `lib.rs`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::middleware;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use studio_sandbox::Manager;
use tokio::net::TcpListener;

use crate::auth::{Guard, require_token};
use crate::cors::{self, AllowedOrigins};
use crate::error::ApiError;
use crate::front_door::{self, Door};
use crate::state::{ApiConfig, AppState};
use crate::ws_origin::{self, SocketOrigins};
use crate::{access_routes, component_routes, file_routes, openapi, routes, ws};

/// Builds the whole router: the API behind the front door.
pub fn router(manager: Manager, config: &ApiConfig) -> Router {
    let state = AppState {
        manager,
        ws: config.ws,
    };
    let door = Door::new(state.clone(), &config.preview);
    let openapi_json: Arc<str> = openapi::document().to_json().unwrap_or_default().into();
    let api = Router::new()
        .route("/sandboxes", post(routes::create).get(routes::list))
        .route("/sandboxes/{id}", get(routes::get).delete(routes::delete))
        .route("/sandboxes/{id}/execute", post(routes::execute))
        .route("/sandboxes/{id}/rollback", post(routes::rollback))
        .route("/sandboxes/{id}/finalize", post(routes::finalize))
        .route("/sandboxes/{id}/restart", post(routes::restart))
        .route("/sandboxes/{id}/stop", post(routes::stop))
        .route("/sandboxes/{id}/start", post(routes::start))
        .route("/sandboxes/{id}/logs", get(routes::logs))
        .route(
            "/sandboxes/{id}/components",
            get(component_routes::components),
        )
        .route("/sandboxes/{id}/files", get(file_routes::list_files))
        .route("/sandboxes/{id}/files/{*path}", get(file_routes::read_file))
        .route(
            "/sandboxes/{id}/ws",
            get(ws::upgrade).layer(middleware::from_fn_with_state(
                SocketOrigins::new(
                    front_door::Hosts::new(&config.preview.domain, &config.preview.api_hosts),
                    AllowedOrigins::new(&config.cors_origins),
                ),
                ws_origin::check,
            )),
        )
        .route(
            "/sandboxes/{id}/preview-link",
            post(access_routes::preview_link),
        )
        .route(
            "/sandboxes/{id}/tokens",
            post(access_routes::create_token).get(access_routes::list_tokens),
        )
        .route(
            "/sandboxes/{id}/tokens/{token_id}",
            axum::routing::delete(access_routes::delete_token),
        )
        .route(
            "/openapi.json",
            get(move || {
                let doc = openapi_json.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        doc.to_string(),
                    )
                }
            }),
        )
        .route_layer(middleware::from_fn_with_state(
            Guard::new(config.token.clone(), state.manager.clone()),
            require_token,
        ));
    Router::new()
        .nest("/api/v1", api)
        // The dashboard's page and files: no token (they hold no data; the page asks for it).
        .merge(crate::dashboard::router(&config.preview.domain))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(routes::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.body_limit))
        // `--cors-origin`, for `/api/` paths only. Outside the token guard (a preflight carries
        // no token) and inside the door (previews are origins of their own).
        .layer(middleware::from_fn_with_state(
            AllowedOrigins::new(&config.cors_origins),
            cors::handle,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        // Outermost: previews and strangers never reach the API's routes or limits.
        .layer(middleware::from_fn_with_state(door, front_door::route))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "route_not_found",
        format!("no route for {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Kernel send buffer of every accepted connection.
///
/// Left alone, Linux grows a connection's send buffer up to `tcp_wmem`'s maximum (4 MiB here)
/// while the peer does not read. For a WebSocket client that stopped reading, that is thousands
/// of events held in the kernel before the pump's write blocks, the hub's bounded queue fills and
/// the client is dropped as too slow: the bound the hub promises would not hold, and a few
/// hundred stalled clients could pin gigabytes. 256 KiB (the kernel doubles the value) is still far
/// more than any REST answer or burst of events needs on its way out.
const SEND_BUFFER_BYTES: usize = 128 * 1024;

/// Serves until `shutdown` resolves, then stops accepting and lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    manager: Manager,
    config: &ApiConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(manager, config);
    let listener = listener.tap_io(|connection| {
        if let Err(e) = socket2::SockRef::from(&*connection).set_send_buffer_size(SEND_BUFFER_BYTES)
        {
            tracing::debug!("could not bound a connection's send buffer: {e}");
        }
    });
    // The peer address feeds the previews' `X-Forwarded-For`.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
