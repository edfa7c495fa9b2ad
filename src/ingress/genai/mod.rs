//! Google's GenAI (Gemini `v1beta`) API as an ingress (`/genai/v1beta/models/...`):
//! `generateContent` requests to canonical chat requests and the answers back, chat chunk
//! streams to `streamGenerateContent` chunks, `embedContent` / `batchEmbedContents` to
//! embeddings, the model list, and errors in Google's shape.

mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

use crate::error::Error;
use crate::schemas::genai as wire;
use crate::schemas::openai::{EmbeddingRequest, EmbeddingResponse, ModelList};

pub use request::{json_schema, to_chat_request};
pub use response::{finish_reason, to_generate_response};
pub use stream::GenerateStream;

/// The methods of a path's `models/{model}:{method}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `:generateContent`.
    Generate,
    /// `:streamGenerateContent`.
    StreamGenerate,
    /// `:countTokens`.
    CountTokens,
    /// `:embedContent`.
    Embed,
    /// `:batchEmbedContents`.
    BatchEmbed,
}

/// Splits the part of the path after `models/` into the model and the method. The model may
/// contain slashes (`openai/gpt-4o-mini`); a leading `models/` is dropped.
pub fn split_model_method(path: &str) -> Option<(&str, Method)> {
    let (model, method) = path.rsplit_once(':')?;
    let method = match method {
        "generateContent" => Method::Generate,
        "streamGenerateContent" => Method::StreamGenerate,
        "countTokens" => Method::CountTokens,
        "embedContent" => Method::Embed,
        "batchEmbedContents" => Method::BatchEmbed,
        _ => return None,
    };
    let model = model.strip_prefix("models/").unwrap_or(model);
    (!model.is_empty()).then_some((model, method))
}

/// The gRPC status name Google pairs with an HTTP status.
pub fn status_name(status: u16) -> &'static str {
    match status {
        400 | 405 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        402 => "FAILED_PRECONDITION",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    }
}

/// Google's error body: `{"error":{"code","message","status"}}`.
pub fn error_body(e: &Error) -> wire::ErrorResponse {
    let code = e.status();
    wire::ErrorResponse {
        error: wire::ErrorDetail {
            code,
            message: e.to_string(),
            status: status_name(code).to_owned(),
        },
    }
}

/// The text of a content's parts, joined by newlines.
fn content_text(content: &wire::Content) -> String {
    let texts: Vec<&str> = content
        .parts
        .iter()
        .filter_map(|p| p.text.as_deref())
        .collect();
    texts.join("\n")
}

/// `embedContent` / `batchEmbedContents` entries as one embeddings request: one input per
/// entry, the first entry's `outputDimensionality` as `dimensions`.
pub fn to_embedding_request(
    model: String,
    entries: &[wire::EmbedContentRequest],
) -> EmbeddingRequest {
    let inputs: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| serde_json::Value::String(content_text(&e.content)))
        .collect();
    let input = match <[serde_json::Value; 1]>::try_from(inputs) {
        Ok([one]) => one,
        Err(many) => serde_json::Value::Array(many),
    };
    EmbeddingRequest {
        model,
        input,
        dimensions: entries.first().and_then(|e| e.output_dimensionality),
        ..EmbeddingRequest::default()
    }
}

/// Embeddings as `batchEmbedContents`' answer, in input order.
pub fn to_batch_embed_response(resp: EmbeddingResponse) -> wire::BatchEmbedContentsResponse {
    let mut data = resp.data;
    data.sort_by_key(|e| e.index);
    wire::BatchEmbedContentsResponse {
        embeddings: data
            .into_iter()
            .map(|e| wire::ContentEmbedding {
                values: e.embedding,
            })
            .collect(),
    }
}

/// The gateway's model list as Google's: `models/<provider/model>` names.
pub fn to_model_list(list: ModelList) -> wire::ModelList {
    const METHODS: [&str; 5] = [
        "generateContent",
        "streamGenerateContent",
        "countTokens",
        "embedContent",
        "batchEmbedContents",
    ];
    wire::ModelList {
        models: list
            .data
            .into_iter()
            .map(|m| wire::ModelInfo {
                name: format!("models/{}", m.id),
                display_name: m.id,
                supported_generation_methods: METHODS.iter().map(|s| (*s).to_owned()).collect(),
            })
            .collect(),
        next_page_token: None,
    }
}
