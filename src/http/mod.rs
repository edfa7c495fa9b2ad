//! The HTTP server: routes, layers, and the handlers' shared state.

pub mod admin;
pub mod anthropic;
pub mod auth;
pub mod config;
pub mod dropin;
pub mod error;
pub mod event_stream;
pub mod genai;
pub mod governance;
pub mod inference;
pub mod logs;
pub mod metrics;
pub mod passthrough;
pub mod request;
pub mod responses;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use crate::engine::Gateway;
use crate::error::Error;
use crate::plugins::logging::Logging;

/// What every handler sees.
#[derive(Debug)]
pub struct AppState {
    /// The engine.
    pub gateway: Arc<Gateway>,
    /// The request log, when `client.enable_logging` is on.
    pub logs: Option<Arc<Logging>>,
    /// The Prometheus registry behind `/metrics`, unless the telemetry plugin is off.
    pub telemetry: Option<Arc<crate::plugins::telemetry::Telemetry>>,
    /// Governance (virtual keys, budgets, admin auth), when the server runs it.
    pub governance: Option<Arc<crate::plugins::governance::Governance>>,
}

/// The whole HTTP application: [`router`] inside CORS, which answers preflights before
/// anything else runs (origins from the current `client.allowed_origins`).
///
/// CORS and the body-limit marker wrap the router once rather than each route
/// (`Router::layer`): a route's layers are cloned for every request it serves, and these two
/// need nothing the router decides.
pub fn app(
    state: Arc<AppState>,
) -> impl tower_service::Service<
    Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone
       + Send
       + 'static {
    use tower_layer::Layer;
    let cors = cors(Arc::clone(&state.gateway));
    // The limit is the middleware's, read per request, so that a change applies at once.
    cors.layer(DefaultBodyLimit::disable().layer(router(state)))
}

/// Builds the router.
///
/// Every route goes through [`front`]: the body limit from the current
/// `client.max_request_body_size_mb`, the `http_*` metrics around each route (these and
/// `/metrics` itself only when the telemetry plugin is on: off, `/metrics` answers the JSON 404
/// as in Bifrost) and admin auth.
/// Unknown routes and wrong methods answer in Bifrost's error JSON, but for the dashboard's
/// files and pages (`GET`, see [`crate::dashboard`]).
pub fn router(state: Arc<AppState>) -> Router {
    let inference = Router::new()
        .route("/chat/completions", post(inference::chat_completions))
        .route("/completions", post(inference::completions))
        .route("/embeddings", post(inference::embeddings))
        .route("/rerank", post(inference::rerank))
        .route("/models", get(inference::models))
        .route("/responses", post(responses::create));
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
        .route("/config", get(config::get).put(config::update))
        .route("/logs", get(logs::search).delete(logs::delete))
        .route("/logs/stats", get(logs::stats))
        .route("/logs/filterdata", get(logs::filter_data))
        .route("/logs/dropped", get(logs::dropped))
        .route("/logs/histogram", get(logs::histogram))
        .route("/logs/histogram/tokens", get(logs::histogram_tokens))
        .route(
            "/logs/histogram/tokens/by-provider",
            get(logs::histogram_tokens_by_provider),
        )
        .route("/logs/histogram/cost", get(logs::histogram_cost))
        .route(
            "/logs/histogram/cost/by-provider",
            get(logs::histogram_cost_by_provider),
        )
        .route("/logs/histogram/models", get(logs::histogram_models))
        .route("/logs/histogram/latency", get(logs::histogram_latency))
        .route(
            "/logs/histogram/latency/by-provider",
            get(logs::histogram_latency_by_provider),
        )
        .route("/logs/{id}", get(logs::get))
        .merge(governance::routes());
    let mut app = Router::new().route("/health", get(admin::health));
    if let Some(telemetry) = &state.telemetry {
        app = app.route(
            "/metrics",
            get(metrics::metrics).with_state(Arc::clone(telemetry)),
        );
    }
    let app = app
        .route("/ws", get(logs::ws))
        .nest("/v1", inference.clone())
        // The OpenAI SDK drop-in prefix: base_url may end in /openai or /openai/v1.
        .nest("/openai/v1", inference.clone())
        .nest("/openai", inference.clone())
        // The Anthropic and GenAI SDK prefixes and the composites (/litellm, ...).
        .merge(dropin::routes(&inference))
        // Native requests forwarded unchanged, still admitted, logged and measured.
        .merge(passthrough::routes())
        .nest("/api", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    // Per route, so that `MatchedPath` is known for the metrics.
    app.layer(axum::middleware::from_fn_with_state(
        Arc::clone(&state),
        front,
    ))
    .with_state(state)
}

/// The middleware every route goes through, in this order: the body limit, the `http_*`
/// metrics (when the telemetry plugin is on), admin auth (`auth_config`, inside the metrics so
/// that 401s are counted). One layer rather than three: each axum `from_fn` layer costs every
/// request a copy of the route's service and a boxed future.
async fn front(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let req = match limit_body(&state.gateway, req) {
        Ok(req) => req,
        Err(too_large) => return axum::response::IntoResponse::into_response(too_large),
    };
    match &state.telemetry {
        Some(telemetry) => {
            metrics::track(telemetry, req, |req| auth::require_admin(&state, req, next)).await
        }
        None => auth::require_admin(&state, req, next).await,
    }
}

/// Caps the request body at the current `client.max_request_body_size_mb`: a declared length
/// over it is answered 413 at once; a body that grows past it fails its extractor, which
/// answers 413 too ([`request::read_body`]).
fn limit_body(gateway: &Gateway, req: Request) -> Result<Request, Error> {
    let limit_mb = gateway.current().client.max_request_body_size_mb;
    let limit = usize::try_from(limit_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Error::PayloadTooLarge { limit_mb });
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    Ok(Request::from_parts(parts, body))
}

/// The dashboard's files and pages (GET), else Bifrost's 404.
async fn not_found(req: Request) -> axum::response::Response {
    crate::dashboard::respond(&req).unwrap_or_else(|| {
        axum::response::IntoResponse::into_response(Error::RouteNotFound(
            req.uri().path().to_owned(),
        ))
    })
}

async fn method_not_allowed(req: Request) -> Error {
    Error::MethodNotAllowed {
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
    }
}

/// CORS by the current `client.allowed_origins` (empty or `*`: any origin).
fn cors(gateway: Arc<Gateway>) -> CorsLayer {
    let origins = AllowOrigin::predicate(move |origin: &http::HeaderValue, _| {
        let allowed = &gateway.current().client.allowed_origins;
        allowed.is_empty()
            || allowed
                .iter()
                .any(|o| o == "*" || o.as_bytes() == origin.as_bytes())
    });
    CorsLayer::new()
        .allow_methods(Any)
        .allow_headers(Any)
        .allow_origin(origins)
}
