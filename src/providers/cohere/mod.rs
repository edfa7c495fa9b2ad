//! Cohere's v2 API wire format: canonical (OpenAI-shaped) chat to `/v2/chat` and its answers,
//! JSON and streamed, back; embeddings through `/v2/embed`; rerank through `/v2/rerank`; the
//! model list from `/v1/models`.
//!
//! Translation is pure (`to_chat_request`, `to_chat_response`, [`translate_events`], ...); the
//! async entry points only add HTTP. What Cohere cannot express (several choices, token-array
//! inputs) is refused with a 400 rather than silently changed.

use futures_util::{Stream, StreamExt};

use crate::error::{Error, Result, UpstreamError};
use crate::providers::client::{Client, Response};
use crate::providers::http::{self, percent_encode, Auth, Outgoing};
use crate::providers::sse::SseEvent;
use crate::providers::{unix_now, Call, ChatStream};
use crate::schemas::cohere as wire;
use crate::schemas::openai::{
    ChatChoice, ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChunkChoice, ChunkDelta,
    ChunkFunctionCall, ChunkToolCall, ContentPart, Embedding, EmbeddingRequest, EmbeddingResponse,
    FunctionCall, MessageContent, Model, ToolCall, Usage,
};
use crate::schemas::rerank::{RerankRequest, RerankResponse, RerankResult};

mod embed;
mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

pub use embed::{to_embed_request, to_embedding_response};
pub use request::to_chat_request;
pub use response::{finish_reason, to_chat_response, to_usage};
pub use stream::translate_events;

/// Page size of `GET /v1/models`.
const MODELS_PAGE_SIZE: u32 = 1000;
/// Upper bound on model-list pages, so a misbehaving upstream cannot loop us forever.
const MODELS_MAX_PAGES: usize = 20;

/// `POST /v2/chat`.
pub async fn chat(client: &Client, call: &Call<'_>, req: &ChatRequest) -> Result<ChatResponse> {
    let body = to_chat_request(call.model, req)?;
    let resp = post(
        client,
        call,
        "/v2/chat",
        Outgoing::new(body, &req.extra, call.passthrough_extra)?,
    )
    .await?;
    let answer: wire::ChatResponse = http::read_json(call, resp).await?;
    Ok(to_chat_response(answer, call.model, unix_now()))
}

/// `POST /v2/chat` with `stream: true`; resolves once Cohere accepted the request.
pub async fn chat_stream(
    client: &Client,
    call: &Call<'_>,
    req: &ChatRequest,
) -> Result<ChatStream> {
    let mut body = to_chat_request(call.model, req)?;
    body.stream = Some(true);
    let resp = post(
        client,
        call,
        "/v2/chat",
        Outgoing::new(body, &req.extra, call.passthrough_extra)?,
    )
    .await?;
    Ok(translate_events(
        call.provider,
        call.model,
        http::sse_events(call, resp),
    ))
}

/// `POST /v2/embed`.
pub async fn embed(
    client: &Client,
    call: &Call<'_>,
    req: &EmbeddingRequest,
) -> Result<EmbeddingResponse> {
    let body = to_embed_request(call.model, req)?;
    let kind = body.embedding_types[0].clone();
    let resp = post(
        client,
        call,
        "/v2/embed",
        Outgoing::new(body, &req.extra, call.passthrough_extra)?,
    )
    .await?;
    let answer: wire::EmbedResponse = http::read_json(call, resp).await?;
    to_embedding_response(call.provider, answer, &kind, call.model)
}

/// `POST /v2/rerank`.
pub async fn rerank(
    client: &Client,
    call: &Call<'_>,
    req: &RerankRequest,
) -> Result<RerankResponse> {
    let body = wire::RerankRequest {
        model: call.model,
        query: &req.query,
        documents: req.documents.iter().map(|d| d.text.as_str()).collect(),
        top_n: req.top_n,
        max_tokens_per_doc: req.max_tokens_per_doc,
        priority: req.priority,
    };
    let resp = post(
        client,
        call,
        "/v2/rerank",
        Outgoing::new(body, &req.extra, call.passthrough_extra)?,
    )
    .await?;
    let answer: wire::RerankResponse = http::read_json(call, resp).await?;
    let mut out = RerankResponse {
        id: answer.id,
        results: answer
            .results
            .into_iter()
            .map(|r| RerankResult {
                index: r.index,
                relevance_score: r.relevance_score,
                document: None,
            })
            .collect(),
        model: call.model.to_owned(),
        usage: answer
            .meta
            .and_then(|m| to_usage(m.tokens.or(m.billed_units), None)),
        extra_fields: None,
    };
    out.finish(req);
    Ok(out)
}

/// `GET /v1/models`, following Cohere's page tokens.
pub async fn list_models(client: &Client, call: &Call<'_>) -> Result<Vec<Model>> {
    let base = call.url("/v1/models");
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut models = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MODELS_MAX_PAGES {
        let mut url = format!("{base}{sep}page_size={MODELS_PAGE_SIZE}");
        if let Some(t) = &token {
            url.push_str("&page_token=");
            url.push_str(&percent_encode(t));
        }
        let resp = http::get(client, call, &url, Auth::Bearer, &[], parse_error).await?;
        let page: wire::ModelList = http::read_json(call, resp).await?;
        models.extend(page.models.into_iter().map(|m| Model {
            id: m.name,
            object: "model".to_owned(),
            created: 0,
            owned_by: "cohere".to_owned(),
        }));
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    Ok(models)
}

async fn post<T: serde::Serialize>(
    client: &Client,
    call: &Call<'_>,
    path: &str,
    body: Outgoing<T>,
) -> Result<Response> {
    let url = call.url(path);
    http::post_json(client, call, &url, Auth::Bearer, &[], &body, parse_error).await
}

/// Parses Cohere's error body (`{"message": ...}`), falling back to the raw text.
pub fn parse_error(provider: &str, status: u16, body: &[u8]) -> UpstreamError {
    match serde_json::from_slice::<wire::ErrorBody>(body) {
        Ok(b) if !b.message.is_empty() => UpstreamError {
            provider: provider.to_owned(),
            status,
            message: b.message,
            error_type: b.kind,
            code: b.code,
            param: None,
        },
        _ => http::raw_error(provider, status, body),
    }
}
