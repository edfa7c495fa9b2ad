//! The drop-in SDK route sets (Bifrost §1.2) and what their handlers share.
//!
//! `/anthropic` serves the Anthropic SDK, `/genai` the Google GenAI SDK (`v1beta` and `v1`);
//! `/litellm`, `/langchain` and `/pydanticai` each mount the OpenAI, Anthropic and GenAI route
//! sets directly under their prefix, as Bifrost's composite integrations do
//! (`/litellm/v1/chat/completions`, `/litellm/v1/messages`,
//! `/litellm/v1beta/models/{m}:generateContent`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::StreamExt;
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use super::request::options;
use super::{anthropic, genai, AppState};
use crate::engine::{routing, RequestOptions};
use crate::error::{Error, Result};
use crate::ingress::StreamEncoder;
use crate::providers::{ChatStream, WireFormat};

/// The composite prefixes.
const COMPOSITES: [&str; 3] = ["/litellm", "/langchain", "/pydanticai"];

/// The `/anthropic`, `/genai` and composite route sets. `inference` is the OpenAI route set
/// (`/chat/completions`, `/responses`, ...), mounted under each composite prefix with and
/// without `/v1`.
pub fn routes(inference: &Router<Arc<AppState>>) -> Router<Arc<AppState>> {
    let messages = Router::new()
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/messages/count_tokens", post(anthropic::count_tokens));
    let genai_models = Router::new()
        .route("/", get(genai::list_models))
        .route("/{*rest}", post(genai::model_action).get(genai::get_model));
    let genai = Router::new().nest("/v1beta/models", genai_models.clone());
    let mut router = Router::new()
        .nest(
            "/anthropic",
            messages
                .clone()
                .route("/v1/models", get(anthropic::list_models)),
        )
        // Recent google-genai SDKs default to the `v1` API version; its shapes are the same.
        .nest("/genai", genai.clone().nest("/v1/models", genai_models));
    for prefix in COMPOSITES {
        // Like Bifrost, a composite's `/v1/models` is OpenAI's list.
        let composite = Router::new()
            .nest("/v1", inference.clone())
            .merge(inference.clone())
            .merge(messages.clone())
            .merge(genai.clone());
        router = router.nest(prefix, composite);
    }
    router
}

/// `client.max_request_body_size_mb`.
pub fn limit_mb(state: &AppState) -> u64 {
    state.gateway.current().client.max_request_body_size_mb
}

/// The engine's options from the headers.
pub fn request_options(state: &AppState, headers: &HeaderMap) -> RequestOptions {
    options(headers, &state.gateway.current().client)
}

/// A bare model goes to the route's own provider (`claude-...` on `/anthropic` is
/// `anthropic/claude-...`); `provider/model` goes where it says. An empty model stays empty
/// for the engine to refuse; a default provider the gateway does not know is named in the
/// error rather than reported as a malformed model.
pub fn with_default_provider(state: &AppState, model: &str, provider: &str) -> Result<String> {
    let snap = state.gateway.current();
    if model.is_empty() || routing::split(&snap, model).is_some() {
        return Ok(model.to_owned());
    }
    let full = format!("{provider}/{model}");
    match routing::split(&snap, &full) {
        Some(_) => Ok(full),
        None => Err(Error::ProviderNotConfigured(provider.to_owned())),
    }
}

/// The wire format of the provider a `provider/model` string names, when it is configured.
pub fn wire_of(state: &AppState, model: &str) -> Option<WireFormat> {
    let snap = state.gateway.current();
    let (provider, _) = routing::split(&snap, model)?;
    snap.providers.get(provider).map(|p| p.client.wire)
}

/// A JSON response with a status.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match crate::json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(http::header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// An SSE response: the encoder's frames for each chunk, flushed as they come. Dropping the
/// body (the client went away) drops the chunk stream, which cancels the upstream request.
pub fn event_stream<E: StreamEncoder>(stream: ChatStream, encoder: E) -> Response {
    let state = (stream, encoder, false);
    let body = futures_util::stream::unfold(state, |(mut stream, mut enc, done)| async move {
        if done {
            return None;
        }
        let mut buf = Vec::new();
        loop {
            match stream.next().await {
                Some(Ok(chunk)) => {
                    enc.chunk(chunk, &mut buf);
                    if !buf.is_empty() {
                        return Some((Bytes::from(buf), (stream, enc, false)));
                    }
                }
                Some(Err(e)) => {
                    enc.fail(&e, &mut buf);
                    return Some((Bytes::from(buf), (stream, enc, true)));
                }
                None => {
                    enc.finish(&mut buf);
                    return Some((Bytes::from(buf), (stream, enc, true)));
                }
            }
        }
    });
    super::event_stream::response(body)
}
