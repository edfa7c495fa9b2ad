//! The Anthropic Messages API wire format: canonical (OpenAI-shaped) requests to `/v1/messages`,
//! its answers, JSON and streamed, back to canonical types.
//!
//! Translation is pure (`to_messages_request`, `to_chat_response`, [`translate_events`]); the
//! async entry points only add HTTP. Anything the Messages API cannot express is rejected with a
//! 400 rather than silently changed, except the sampling knobs Anthropic lacks (penalties,
//! seed, logprobs, logit bias), which are dropped as Bifrost does.

use ::http::header::{HeaderName, HeaderValue};
use futures_util::Stream;
use serde_json::Value;

use crate::error::{Error, Result, UpstreamError};
use crate::providers::client::{Client, Response};
use crate::providers::http::{self, Auth, Outgoing};
use crate::providers::sse::SseEvent;
use crate::providers::{unix_now, Call, ChatStream};
use crate::schemas::anthropic as wire;
use crate::schemas::openai::{
    ChatChoice, ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChunkDelta, ContentPart,
    FunctionCall, JsonObject, MessageContent, Model, TextChoice, TextRequest, TextResponse, Tool,
    ToolCall, Usage,
};

mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

pub(crate) use request::{json_instruction, media_source, stop_sequences, thinking_budget};
pub use request::{text_to_messages_request, to_messages_request};
use response::to_model;
pub(crate) use response::to_usage;
pub use response::{finish_reason, to_chat_response, to_text_response};
pub use stream::translate_events;

/// The API version every request pins; a client may override it with an extra header.
const API_VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; OpenAI clients usually leave it out.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
/// Page size of `GET /v1/models` (Anthropic's maximum).
const MODELS_PAGE_SIZE: u32 = 1000;
/// Upper bound on model-list pages, so a misbehaving upstream cannot loop us forever.
const MODELS_MAX_PAGES: usize = 20;

/// `POST /v1/messages`.
pub async fn chat(http: &Client, call: &Call<'_>, req: &ChatRequest) -> Result<ChatResponse> {
    let body = to_messages_request(call.model, req)?;
    let resp = post_messages(http, call, body, &req.extra).await?;
    let msg: wire::MessagesResponse = http::read_json(call, resp).await?;
    Ok(to_chat_response(msg, unix_now()))
}

/// `POST /v1/messages` with `stream: true`; resolves once Anthropic accepted the request.
pub async fn chat_stream(http: &Client, call: &Call<'_>, req: &ChatRequest) -> Result<ChatStream> {
    let mut body = to_messages_request(call.model, req)?;
    body.stream = Some(true);
    let resp = post_messages(http, call, body, &req.extra).await?;
    Ok(translate_events(
        call.provider,
        http::sse_events(call, resp),
    ))
}

/// A text completion through the Messages API: the prompt becomes one user message and the
/// answer's text the completion.
pub async fn text(http: &Client, call: &Call<'_>, req: &TextRequest) -> Result<TextResponse> {
    let body = text_to_messages_request(call.model, req)?;
    let resp = post_messages(http, call, body, &req.extra).await?;
    let msg: wire::MessagesResponse = http::read_json(call, resp).await?;
    Ok(to_text_response(msg, unix_now()))
}

/// Sends a Messages API request with Anthropic's auth and version headers.
async fn post_messages(
    http: &Client,
    call: &Call<'_>,
    body: wire::MessagesRequest,
    extra: &JsonObject,
) -> Result<Response> {
    let body = Outgoing::new(body, extra, call.passthrough_extra)?;
    let url = call.url("/messages");
    let headers = fixed_headers(call);
    http::post_json(
        http,
        call,
        &url,
        Auth::XApiKey,
        &headers,
        &body,
        parse_error,
    )
    .await
}

/// `GET /v1/models`, following Anthropic's pagination.
pub async fn list_models(http: &Client, call: &Call<'_>) -> Result<Vec<Model>> {
    let base = call.url("/models");
    let sep = if base.contains('?') { '&' } else { '?' };
    let headers = fixed_headers(call);
    let mut models = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MODELS_MAX_PAGES {
        let mut url = format!("{base}{sep}limit={MODELS_PAGE_SIZE}");
        if let Some(id) = &after {
            url.push_str("&after_id=");
            // Model ids are `[a-z0-9-.]`, but the query must stay well-formed whatever the
            // upstream sends.
            url.push_str(&http::percent_encode(id));
        }
        let resp = http::get(http, call, &url, Auth::XApiKey, &headers, parse_error).await?;
        let page: wire::ModelList = http::read_json(call, resp).await?;
        models.extend(page.data.into_iter().map(to_model));
        match page.last_id {
            Some(last) if page.has_more => after = Some(last),
            _ => break,
        }
    }
    Ok(models)
}

/// Parses Anthropic's error body (`{"type":"error","error":{"type","message"}}`), falling back to
/// the raw text for anything else (proxies' HTML pages, empty bodies).
pub fn parse_error(provider: &str, status: u16, body: &[u8]) -> UpstreamError {
    match serde_json::from_slice::<wire::ErrorResponse>(body) {
        Ok(b) if !b.error.message.is_empty() || !b.error.kind.is_empty() => UpstreamError {
            provider: provider.to_owned(),
            status,
            message: b.error.message,
            error_type: (!b.error.kind.is_empty()).then_some(b.error.kind),
            code: None,
            param: None,
        },
        _ => http::raw_error(provider, status, body),
    }
}

/// `anthropic-version`, unless the client pinned another version through an extra header
/// (sending both would make the header ambiguous).
fn fixed_headers(call: &Call<'_>) -> Vec<(HeaderName, HeaderValue)> {
    let name = HeaderName::from_static("anthropic-version");
    if call.extra_headers.iter().any(|(n, _)| *n == name) {
        return Vec::new();
    }
    vec![(name, HeaderValue::from_static(API_VERSION))]
}

/// Parses an RFC 3339 timestamp (`2025-02-19T00:00:00Z`, optional fraction and offset) into
/// unix seconds. `None` for anything malformed or before 1970.
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let h = num(s.len() - 5, s.len() - 3)?;
            let m = num(s.len() - 2, s.len())?;
            let secs = h * 3600 + m * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years, March-based years
/// so that the leap day falls at the end).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
