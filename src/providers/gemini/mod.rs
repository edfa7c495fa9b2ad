//! Google's Generative Language API (Gemini, `v1beta`) as a wire format: canonical
//! (OpenAI-shaped) chat requests to `models/{model}:generateContent` and
//! `:streamGenerateContent?alt=sse`, embeddings to `:embedContent` / `:batchEmbedContents`, the
//! model list, and Google's error body. The wire types are the ones the `/genai` ingress uses
//! (`schemas::genai`).
//!
//! Translation is pure (`to_generate_request`, `to_chat_response`, [`translate_events`]);
//! [`generate`] and [`generate_stream`] add HTTP for any URL and auth, so the `vertex` wire
//! format sends Gemini models through the same code.

use futures_util::Stream;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result, UpstreamError};
use crate::providers::client::Client;
use crate::providers::http::{self, Auth, Outgoing};
use crate::providers::sse::SseEvent;
use crate::providers::{unix_now, Call, ChatStream};
use crate::schemas::genai as wire;
use crate::schemas::openai::{
    ChatChoice, ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChunkDelta, ChunkFunctionCall,
    ChunkToolCall, ContentPart, Embedding, EmbeddingRequest, EmbeddingResponse, FunctionCall,
    JsonObject, MessageContent, Model, Tool, ToolCall, Usage,
};

mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

pub use request::{to_embed_entries, to_generate_request};
pub use response::{finish_reason, to_chat_response, to_embedding_response, to_model, to_usage};
pub use stream::translate_events;

/// Page size of `GET /v1beta/models` (the API's maximum).
const MODELS_PAGE_SIZE: u32 = 1000;
/// Upper bound on model-list pages, so a misbehaving upstream cannot loop us forever.
const MODELS_MAX_PAGES: usize = 20;

/// `POST .../models/{model}:generateContent` with the key in `x-goog-api-key`.
pub async fn chat(http: &Client, call: &Call<'_>, req: &ChatRequest) -> Result<ChatResponse> {
    let url = call.url(&model_path(call.model, "generateContent"));
    generate(http, call, &url, Auth::Header("x-goog-api-key"), req).await
}

/// `POST .../models/{model}:streamGenerateContent?alt=sse`; resolves once Gemini accepted the
/// request.
pub async fn chat_stream(http: &Client, call: &Call<'_>, req: &ChatRequest) -> Result<ChatStream> {
    let url = sse_url(call.url(&model_path(call.model, "streamGenerateContent")));
    generate_stream(http, call, &url, Auth::Header("x-goog-api-key"), req).await
}

/// A `generateContent` call at `url`, for Gemini and Vertex alike.
pub async fn generate(
    http: &Client,
    call: &Call<'_>,
    url: &str,
    auth: Auth,
    req: &ChatRequest,
) -> Result<ChatResponse> {
    let body = Outgoing::new(
        to_generate_request(req)?,
        &req.extra,
        call.passthrough_extra,
    )?;
    let resp = http::post_json(http, call, url, auth, &[], &body, parse_error).await?;
    let answer: wire::GenerateContentResponse = http::read_json(call, resp).await?;
    Ok(to_chat_response(answer, call.model, unix_now()))
}

/// A `streamGenerateContent?alt=sse` call at `url`, for Gemini and Vertex alike.
pub async fn generate_stream(
    http: &Client,
    call: &Call<'_>,
    url: &str,
    auth: Auth,
    req: &ChatRequest,
) -> Result<ChatStream> {
    let body = Outgoing::new(
        to_generate_request(req)?,
        &req.extra,
        call.passthrough_extra,
    )?;
    let resp = http::post_json(http, call, url, auth, &[], &body, parse_error).await?;
    Ok(translate_events(
        call.provider,
        call.model,
        http::sse_events(call, resp),
    ))
}

/// Embeddings: one input through `:embedContent`, several through `:batchEmbedContents`.
pub async fn embed(
    http: &Client,
    call: &Call<'_>,
    req: &EmbeddingRequest,
) -> Result<EmbeddingResponse> {
    let mut entries = to_embed_entries(call.model, req)?;
    let embeddings = if entries.len() == 1 && req.input.is_string() {
        let mut one = entries.remove(0);
        // The model is in the URL; the single-call body does not repeat it.
        one.model = None;
        let url = call.url(&model_path(call.model, "embedContent"));
        let resp = http::post_json(
            http,
            call,
            &url,
            Auth::Header("x-goog-api-key"),
            &[],
            &one,
            parse_error,
        )
        .await?;
        let answer: wire::EmbedContentResponse = http::read_json(call, resp).await?;
        vec![answer.embedding]
    } else {
        let url = call.url(&model_path(call.model, "batchEmbedContents"));
        let body = wire::BatchEmbedContentsRequest { requests: entries };
        let resp = http::post_json(
            http,
            call,
            &url,
            Auth::Header("x-goog-api-key"),
            &[],
            &body,
            parse_error,
        )
        .await?;
        let answer: wire::BatchEmbedContentsResponse = http::read_json(call, resp).await?;
        answer.embeddings
    };
    to_embedding_response(embeddings, call.model, req.encoding_format.as_deref())
}

/// `GET .../models`, following Google's page tokens.
pub async fn list_models(http: &Client, call: &Call<'_>) -> Result<Vec<Model>> {
    let base = call.url("/models");
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut models = Vec::new();
    let mut page_token: Option<String> = None;
    for _ in 0..MODELS_MAX_PAGES {
        let mut url = format!("{base}{sep}pageSize={MODELS_PAGE_SIZE}");
        if let Some(token) = &page_token {
            url.push_str("&pageToken=");
            url.push_str(&http::percent_encode(token));
        }
        let resp = http::get(
            http,
            call,
            &url,
            Auth::Header("x-goog-api-key"),
            &[],
            parse_error,
        )
        .await?;
        let page: wire::ModelList = http::read_json(call, resp).await?;
        models.extend(page.models.into_iter().map(to_model));
        match page.next_page_token {
            Some(token) if !token.is_empty() => page_token = Some(token),
            _ => break,
        }
    }
    Ok(models)
}

/// `models/{model}:{method}`; a model that already names its collection (`tunedModels/x`,
/// `models/x`) is used as it is.
fn model_path(model: &str, method: &str) -> String {
    if model.contains('/') {
        format!("/{model}:{method}")
    } else {
        format!("/models/{model}:{method}")
    }
}

/// Adds `alt=sse`, which makes Gemini stream server-sent events instead of one JSON array.
pub fn sse_url(url: String) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}alt=sse")
}

/// Parses Google's error body (`{"error":{"code","message","status"}}`, also sent wrapped in an
/// array by streaming endpoints), falling back to the raw text.
pub fn parse_error(provider: &str, status: u16, body: &[u8]) -> UpstreamError {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Body {
        // First: a derived struct would also accept an array, as a tuple.
        Many(Vec<wire::ErrorResponse>),
        One(wire::ErrorResponse),
    }
    let detail = match serde_json::from_slice::<Body>(body) {
        Ok(Body::One(b)) => Some(b.error),
        Ok(Body::Many(list)) => list.into_iter().next().map(|b| b.error),
        Err(_) => None,
    };
    match detail {
        Some(d) if !d.message.is_empty() => upstream_error(provider, status, d),
        _ => http::raw_error(provider, status, body),
    }
}

fn upstream_error(provider: &str, status: u16, d: wire::ErrorDetail) -> UpstreamError {
    UpstreamError {
        provider: provider.to_owned(),
        status,
        message: d.message,
        error_type: (!d.status.is_empty()).then_some(d.status),
        code: (d.code != 0).then(|| d.code.to_string()),
        param: None,
    }
}
