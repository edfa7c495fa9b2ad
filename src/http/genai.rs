//! `/genai/v1beta/*` handlers: the Google GenAI SDK's `generateContent`,
//! `streamGenerateContent`, `countTokens`, `embedContent`, `batchEmbedContents` and model
//! routes, answered in Google's shapes and errors, for any provider.
//!
//! The model is the path segment before `:method`; it may carry a provider prefix with a
//! literal or an encoded slash (`models/openai/gpt-4o-mini:generateContent`). A bare model goes
//! to the provider named by the `x-model-provider` header, else to `gemini`, as in Bifrost.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::dropin::{event_stream, json, limit_mb, request_options, with_default_provider};
use super::request::parse_json;
use super::AppState;
use crate::engine::routing;
use crate::error::{Error, Result};
use crate::ingress::estimate_chat_tokens;
use crate::ingress::genai::{
    self as ingress, split_model_method, to_chat_request, GenerateStream, Method,
};
use crate::schemas::genai as wire;

/// Google's error response for an error.
pub fn error(e: Error) -> Response {
    let body = serde_json::to_vec(&ingress::error_body(&e)).unwrap_or_default();
    super::error::respond(&e, body)
}

/// The query of a model action.
#[derive(Debug, Default, Deserialize)]
pub struct ActionQuery {
    /// `sse` for server-sent events; otherwise a stream is answered as a JSON array.
    #[serde(default)]
    alt: Option<String>,
}

fn resolve_model(state: &AppState, headers: &HeaderMap, model: &str) -> Result<String> {
    let provider = headers
        .get("x-model-provider")
        .and_then(|v| v.to_str().ok())
        .filter(|p| !p.is_empty())
        .unwrap_or("gemini");
    with_default_provider(state, model, provider)
}

/// `POST /genai/v1beta/models/{model}:{method}`.
pub async fn model_action(
    State(state): State<Arc<AppState>>,
    Path(rest): Path<String>,
    Query(query): Query<ActionQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some((model, method)) = split_model_method(&rest) else {
        return error(Error::RouteNotFound(format!("/v1beta/models/{rest}")));
    };
    let model = match resolve_model(&state, &headers, model) {
        Ok(m) => m,
        Err(e) => return error(e),
    };
    let result = match method {
        Method::Generate => generate(&state, &headers, model, body, Answer::Json).await,
        Method::StreamGenerate => {
            let answer = if query.alt.as_deref() == Some("sse") {
                Answer::Sse
            } else {
                Answer::Array
            };
            generate(&state, &headers, model, body, answer).await
        }
        Method::CountTokens => count_tokens(&state, model, body),
        Method::Embed | Method::BatchEmbed => {
            embed(&state, &headers, model, body, method == Method::BatchEmbed).await
        }
    };
    result.unwrap_or_else(error)
}

/// How a generation is answered.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    /// `generateContent`: one JSON object.
    Json,
    /// `streamGenerateContent?alt=sse`: server-sent events.
    Sse,
    /// `streamGenerateContent` without `alt=sse`: a JSON array of chunks, here one chunk
    /// holding the whole answer.
    Array,
}

/// `generateContent` and `streamGenerateContent`.
async fn generate(
    state: &AppState,
    headers: &HeaderMap,
    model: String,
    body: Result<Bytes, BytesRejection>,
    answer: Answer,
) -> Result<Response> {
    let req: wire::GenerateContentRequest = parse_json(body, limit_mb(state))?;
    let mut chat = to_chat_request(model, req)?;
    if chat.messages.is_empty() {
        return Err(Error::BadRequest(
            "contents is required and must not be empty".into(),
        ));
    }
    let opts = request_options(state, headers);
    if answer == Answer::Sse {
        chat.stream = Some(true);
        let (stream, _) = state.gateway.chat_stream(&chat, &opts).await?;
        return Ok(event_stream(stream, GenerateStream::new()));
    }
    let (resp, _) = state.gateway.chat(&chat, &opts).await?;
    let native = ingress::to_generate_response(resp);
    Ok(if answer == Answer::Array {
        json(StatusCode::OK, &[native])
    } else {
        json(StatusCode::OK, &native)
    })
}

/// `countTokens`: an estimate (see [`crate::ingress::estimate_tokens`]) for a routable model.
fn count_tokens(
    state: &AppState,
    model: String,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let req: wire::CountTokensRequest = parse_json(body, limit_mb(state))?;
    let inner = match req.generate_content_request {
        Some(inner) => inner,
        None => wire::GenerateContentRequest {
            contents: req.contents,
            ..wire::GenerateContentRequest::default()
        },
    };
    let chat = to_chat_request(model, inner)?;
    routing::target(&state.gateway.current(), &chat.model)?;
    Ok(json(
        StatusCode::OK,
        &wire::CountTokensResponse {
            total_tokens: estimate_chat_tokens(&chat),
        },
    ))
}

/// `embedContent` and `batchEmbedContents`, through the embeddings API.
async fn embed(
    state: &AppState,
    headers: &HeaderMap,
    model: String,
    body: Result<Bytes, BytesRejection>,
    batch: bool,
) -> Result<Response> {
    let entries = if batch {
        let req: wire::BatchEmbedContentsRequest = parse_json(body, limit_mb(state))?;
        req.requests
    } else {
        vec![parse_json::<wire::EmbedContentRequest>(
            body,
            limit_mb(state),
        )?]
    };
    if entries.is_empty() {
        return Err(Error::BadRequest("requests must not be empty".into()));
    }
    let req = ingress::to_embedding_request(model, &entries);
    let opts = request_options(state, headers);
    let (resp, _) = state.gateway.embed(&req, &opts).await?;
    let mut out = ingress::to_batch_embed_response(resp);
    if batch {
        return Ok(json(StatusCode::OK, &out));
    }
    let embedding = out
        .embeddings
        .pop()
        .ok_or_else(|| Error::BadUpstreamResponse {
            provider: String::new(),
            message: "the embeddings answer is empty".into(),
        })?;
    Ok(json(
        StatusCode::OK,
        &wire::EmbedContentResponse { embedding },
    ))
}

/// `GET /genai/v1beta/models`: every provider's models as `models/<provider/model>`.
pub async fn list_models(State(state): State<Arc<AppState>>) -> Response {
    match state.gateway.list_models(None).await {
        Ok(list) => json(StatusCode::OK, &ingress::to_model_list(list)),
        Err(e) => error(e),
    }
}

/// `GET /genai/v1beta/models/{model}`: one model of the list.
pub async fn get_model(State(state): State<Arc<AppState>>, Path(rest): Path<String>) -> Response {
    let wanted = rest.strip_prefix("models/").unwrap_or(&rest);
    let list = match state.gateway.list_models(None).await {
        Ok(list) => ingress::to_model_list(list),
        Err(e) => return error(e),
    };
    let name = format!("models/{wanted}");
    match list.models.into_iter().find(|m| m.name == name) {
        Some(m) => json(StatusCode::OK, &m),
        None => error(Error::NotFound(format!("model {wanted} is not found"))),
    }
}
