//! The Anthropic Messages API as an ingress (`/anthropic/v1/messages`): Anthropic requests to
//! canonical chat requests, canonical answers and chunk streams back to Anthropic's message and
//! its SSE event sequence, errors to Anthropic's error body, the model list to Anthropic's page.
//!
//! This is the other direction of `providers::anthropic`, on the same wire types
//! (`schemas::anthropic`), so that an Anthropic SDK can reach any provider.

mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::error::Error;
use crate::schemas::anthropic as wire;
use crate::schemas::openai::ModelList;
use crate::store::timefmt;

pub use request::to_chat_request;
pub use response::{stop_reason, to_messages_response};
pub use stream::MessagesStream;

/// Anthropic's error types, which an upstream Anthropic error keeps as it is.
const ERROR_TYPES: &[&str] = &[
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "timeout_error",
    "api_error",
    "overloaded_error",
];

/// Anthropic's `error.type` for an error: the upstream's own type when it is one of
/// Anthropic's, else the type Anthropic documents for the HTTP status.
pub fn error_type(e: &Error) -> &'static str {
    if let Error::Upstream(u) = e {
        if let Some(t) = u.error_type.as_deref() {
            if let Some(known) = ERROR_TYPES.iter().find(|k| **k == t) {
                return known;
            }
        }
    }
    match e.status() {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

/// Anthropic's error body: `{"type":"error","error":{"type","message"}}`.
pub fn error_body(e: &Error) -> wire::ErrorResponse {
    wire::ErrorResponse {
        kind: "error".into(),
        error: wire::ErrorDetail {
            kind: error_type(e).into(),
            message: e.to_string(),
        },
    }
}

/// `GET /v1/models` page, as Anthropic writes it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelPage {
    /// The models.
    pub data: Vec<ModelEntry>,
    /// Always false: the gateway lists everything in one page.
    pub has_more: bool,
    /// First id.
    pub first_id: Option<String>,
    /// Last id.
    pub last_id: Option<String>,
}

/// One model of the page.
#[derive(Debug, Clone, Serialize)]
pub struct ModelEntry {
    /// Always `model`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `provider/model`, usable as the `model` of a request.
    pub id: String,
    /// The same id.
    pub display_name: String,
    /// RFC 3339.
    pub created_at: String,
}

/// The gateway's model list as Anthropic's page.
pub fn to_model_page(list: ModelList) -> ModelPage {
    let data: Vec<ModelEntry> = list
        .data
        .into_iter()
        .map(|m| ModelEntry {
            kind: "model",
            display_name: m.id.clone(),
            id: m.id,
            created_at: timefmt::format_ms(
                i64::try_from(m.created.saturating_mul(1000)).unwrap_or(0),
            ),
        })
        .collect();
    ModelPage {
        has_more: false,
        first_id: data.first().map(|m| m.id.clone()),
        last_id: data.last().map(|m| m.id.clone()),
        data,
    }
}

/// `POST /v1/messages/count_tokens` answer.
#[derive(Debug, Clone, Serialize)]
pub struct TokenCount {
    /// Estimated input tokens.
    pub input_tokens: u64,
}
