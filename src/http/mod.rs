//! The HTTP server: routes, layers, and the handlers' shared state.

pub mod admin;
pub mod error;
pub mod inference;
pub mod request;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use crate::engine::Gateway;
use crate::error::Error;

/// What every handler sees.
#[derive(Debug)]
pub struct AppState {
    /// The engine.
    pub gateway: Arc<Gateway>,
}

/// Builds the router.
///
/// Layers, outermost first: CORS (answers preflights before anything else runs), then the
/// body limit from `client.max_request_body_size_mb` (read once at start; a change needs a
/// restart). Unknown routes and wrong methods answer in Bifrost's error JSON.
pub fn router(state: Arc<AppState>) -> Router {
    let client = state.gateway.snapshot().client.clone();
    let limit = usize::try_from(client.max_request_body_size_mb.saturating_mul(1024 * 1024))
        .unwrap_or(usize::MAX);
    let inference = Router::new()
        .route("/chat/completions", post(inference::chat_completions))
        .route("/completions", post(inference::completions))
        .route("/embeddings", post(inference::embeddings))
        .route("/models", get(inference::models));
    let api = Router::new()
        .route(
            "/providers",
            get(admin::list_providers).post(admin::create_provider),
        )
        .route(
            "/providers/{name}",
            get(admin::get_provider)
                .put(admin::update_provider)
                .delete(admin::delete_provider),
        )
        .route(
            "/providers/{name}/keys",
            get(admin::list_keys).post(admin::add_key),
        )
        .route(
            "/providers/{name}/keys/{key_id}",
            get(admin::get_key)
                .put(admin::update_key)
                .delete(admin::delete_key),
        )
        .route("/keys", get(admin::all_keys))
        .route("/version", get(admin::version))
        .route("/config", get(admin::get_config));
    Router::new()
        .route("/health", get(admin::health))
        .nest("/v1", inference.clone())
        // The OpenAI SDK drop-in prefix: base_url may end in /openai or /openai/v1.
        .nest("/openai/v1", inference.clone())
        .nest("/openai", inference)
        .nest("/api", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(cors(&client.allowed_origins))
        .with_state(state)
}

async fn not_found(req: Request) -> Error {
    Error::RouteNotFound(req.uri().path().to_owned())
}

async fn method_not_allowed(req: Request) -> Error {
    Error::MethodNotAllowed {
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new().allow_methods(Any).allow_headers(Any);
    if origins.is_empty() || origins.iter().any(|o| o == "*") {
        return layer.allow_origin(Any);
    }
    let list: Vec<http::HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    layer.allow_origin(AllowOrigin::list(list))
}
