//! Inference handlers for `/v1/*` and `/openai/*`: parse, call the engine, answer JSON or SSE.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use super::dropin::json;
use super::error::ApiError;
use super::request::{options, parse_body, parse_json, read_body};
use super::AppState;
use crate::engine::routing;
use crate::error::{Error, Result};
use crate::schemas::openai::{ChatRequest, EmbeddingRequest, TextRequest};
use crate::schemas::rerank::RerankRequest;
use crate::schemas::RequestType;

/// Attaches the request's provider, model and type to an error.
fn failed(state: &AppState, model: &str, request_type: RequestType, error: Error) -> ApiError {
    in_context(state, model, Some(request_type), error)
}

/// An error with the provider and model the request's `model` names, and its type if known.
pub(super) fn in_context(
    state: &AppState,
    model: &str,
    request_type: Option<RequestType>,
    error: Error,
) -> ApiError {
    let snap = state.gateway.current();
    let (provider, model) = match routing::split(&snap, model) {
        Some((p, m)) => (Some(p.to_owned()), Some(m.to_owned())),
        None => (None, (!model.is_empty()).then(|| model.to_owned())),
    };
    ApiError {
        error,
        request_type,
        provider,
        model,
    }
}

fn limit_mb(state: &AppState) -> u64 {
    state.gateway.current().client.max_request_body_size_mb
}

fn request_options(state: &AppState, headers: &HeaderMap) -> crate::engine::RequestOptions {
    options(headers, &state.gateway.current().client)
}

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (req, raw): (ChatRequest, Bytes) =
        match read_body(body, limit_mb(&state)).and_then(|raw| Ok((parse_body(&raw)?, raw))) {
            Ok(r) => r,
            Err(e) => return failed(&state, "", RequestType::ChatCompletion, e).into_response(),
        };
    let stream = req.stream.unwrap_or(false);
    let request_type = if stream {
        RequestType::ChatCompletionStream
    } else {
        RequestType::ChatCompletion
    };
    if req.messages.is_empty() {
        let e = Error::BadRequest("messages is required and must not be empty".into());
        return failed(&state, &req.model, request_type, e).into_response();
    }
    let mut opts = request_options(&state, &headers);
    opts.raw_body = Some(raw);
    if stream {
        match state.gateway.chat_stream(&req, &opts).await {
            Ok((s, _)) => sse(s, state.clone(), req.model.clone(), request_type),
            Err(e) => failed(&state, &req.model, request_type, e).into_response(),
        }
    } else {
        match state.gateway.chat(&req, &opts).await {
            Ok((r, _)) => json(StatusCode::OK, &r),
            Err(e) => failed(&state, &req.model, request_type, e).into_response(),
        }
    }
}

/// `POST /v1/completions`.
pub async fn completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (req, raw): (TextRequest, Bytes) =
        match read_body(body, limit_mb(&state)).and_then(|raw| Ok((parse_body(&raw)?, raw))) {
            Ok(r) => r,
            Err(e) => return failed(&state, "", RequestType::TextCompletion, e).into_response(),
        };
    let stream = req.stream.unwrap_or(false);
    let request_type = if stream {
        RequestType::TextCompletionStream
    } else {
        RequestType::TextCompletion
    };
    if req.prompt.is_null() {
        let e = Error::BadRequest("prompt is required".into());
        return failed(&state, &req.model, request_type, e).into_response();
    }
    let mut opts = request_options(&state, &headers);
    opts.raw_body = Some(raw);
    if stream {
        match state.gateway.text_stream(&req, &opts).await {
            Ok((s, _)) => sse(s, state.clone(), req.model.clone(), request_type),
            Err(e) => failed(&state, &req.model, request_type, e).into_response(),
        }
    } else {
        match state.gateway.text(&req, &opts).await {
            Ok((r, _)) => json(StatusCode::OK, &r),
            Err(e) => failed(&state, &req.model, request_type, e).into_response(),
        }
    }
}

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (req, raw): (EmbeddingRequest, Bytes) =
        match read_body(body, limit_mb(&state)).and_then(|raw| Ok((parse_body(&raw)?, raw))) {
            Ok(r) => r,
            Err(e) => return failed(&state, "", RequestType::Embedding, e).into_response(),
        };
    if req.input.is_null() {
        let e = Error::BadRequest("input is required".into());
        return failed(&state, &req.model, RequestType::Embedding, e).into_response();
    }
    let mut opts = request_options(&state, &headers);
    opts.raw_body = Some(raw);
    match state.gateway.embed(&req, &opts).await {
        Ok((r, _)) => json(StatusCode::OK, &r),
        Err(e) => failed(&state, &req.model, RequestType::Embedding, e).into_response(),
    }
}

/// `POST /v1/rerank`: Bifrost's rerank shape (`{model, query, documents, top_n,
/// return_documents, ...}` in, `{results: [{index, relevance_score, document}], ...}` out).
pub async fn rerank(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req: RerankRequest = match parse_json(body, limit_mb(&state)) {
        Ok(r) => r,
        Err(e) => return failed(&state, "", RequestType::Rerank, e).into_response(),
    };
    let invalid = if req.query.trim().is_empty() {
        Some("query is required")
    } else if req.documents.is_empty() {
        Some("documents is required and must not be empty")
    } else if req.top_n == Some(0) {
        Some("top_n must be at least 1")
    } else {
        None
    };
    if let Some(message) = invalid {
        let e = Error::BadRequest(message.into());
        return failed(&state, &req.model, RequestType::Rerank, e).into_response();
    }
    let opts = request_options(&state, &headers);
    match state.gateway.rerank(&req, &opts).await {
        Ok((r, _)) => json(StatusCode::OK, &r),
        Err(e) => failed(&state, &req.model, RequestType::Rerank, e).into_response(),
    }
}

/// `GET /v1/models` query.
#[derive(Debug, serde::Deserialize)]
pub struct ModelsQuery {
    provider: Option<String>,
}

/// `GET /v1/models`.
pub async fn models(State(state): State<Arc<AppState>>, Query(q): Query<ModelsQuery>) -> Response {
    match state
        .gateway
        .list_models(q.provider.as_deref().filter(|p| !p.is_empty()))
        .await
    {
        Ok(list) => json(StatusCode::OK, &list),
        Err(e) => ApiError {
            error: e,
            request_type: Some(RequestType::ListModels),
            provider: q.provider,
            model: None,
        }
        .into_response(),
    }
}

/// An SSE response: one `data:` event per chunk, flushed as it comes, then `data: [DONE]`.
/// An error after the first chunk is sent as a `data:` event with Bifrost's error JSON (the
/// OpenAI SDKs raise it as an API error) and ends the stream. Dropping the body (the client
/// went away) drops the provider stream, which cancels the upstream request.
fn sse<T, S>(stream: S, state: Arc<AppState>, model: String, request_type: RequestType) -> Response
where
    T: Serialize + Send + 'static,
    S: Stream<Item = Result<T>> + Send + 'static,
{
    super::event_stream::response(SseEvents {
        inner: Box::pin(stream),
        state,
        model,
        request_type,
        finished: false,
    })
}

/// The events of [`sse`]: one per chunk, an error event, then `data: [DONE]`. Written out
/// rather than built with `unfold`, which moves its whole state through a new future per chunk.
struct SseEvents<S> {
    inner: std::pin::Pin<Box<S>>,
    state: Arc<AppState>,
    model: String,
    request_type: RequestType,
    finished: bool,
}

impl<T, S> Stream for SseEvents<S>
where
    T: Serialize,
    S: Stream<Item = Result<T>>,
{
    type Item = Bytes;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Bytes>> {
        let this = self.get_mut();
        if this.finished {
            return std::task::Poll::Ready(None);
        }
        let bytes = match std::task::ready!(this.inner.as_mut().poll_next(cx)) {
            Some(Ok(chunk)) => chunk_event(&chunk),
            Some(Err(e)) => {
                this.finished = true;
                data_event(&failed(&this.state, &this.model, this.request_type, e).body())
            }
            None => {
                this.finished = true;
                Bytes::from_static(b"data: [DONE]\n\n")
            }
        };
        std::task::Poll::Ready(Some(bytes))
    }
}

/// `data: <chunk as JSON>\n\n`, serialized straight into the event's buffer.
fn chunk_event<T: Serialize>(chunk: &T) -> Bytes {
    let mut buf = Vec::with_capacity(512);
    buf.extend_from_slice(b"data: ");
    if crate::json::append(&mut buf, chunk).is_err() {
        // Our own chunk types always serialize; an empty object keeps the stream well formed.
        buf.truncate(6);
        buf.extend_from_slice(b"{}");
    }
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}

fn data_event(json: &[u8]) -> Bytes {
    let mut buf = Vec::with_capacity(json.len() + 8);
    buf.extend_from_slice(b"data: ");
    buf.extend_from_slice(json);
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}
