//! What Bifrost adds to the OpenAI shapes: request types and the `extra_fields` object.

use serde::{Deserialize, Serialize};

/// The kind of inference request, as Bifrost names it in `extra_fields.request_type`, in
/// `custom_provider_config.allowed_requests` and in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    /// `GET /v1/models`
    ListModels,
    /// `POST /v1/completions`
    TextCompletion,
    /// `POST /v1/completions` with `stream: true`
    TextCompletionStream,
    /// `POST /v1/chat/completions`
    ChatCompletion,
    /// `POST /v1/chat/completions` with `stream: true`
    ChatCompletionStream,
    /// `POST /v1/embeddings`
    Embedding,
    /// `POST /v1/rerank`
    Rerank,
    /// A native request forwarded unchanged (`/openai_passthrough/*`, ...).
    Passthrough,
    /// A passthrough request whose answer streams.
    PassthroughStream,
}

impl RequestType {
    /// Bifrost's snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::ListModels => "list_models",
            RequestType::TextCompletion => "text_completion",
            RequestType::TextCompletionStream => "text_completion_stream",
            RequestType::ChatCompletion => "chat_completion",
            RequestType::ChatCompletionStream => "chat_completion_stream",
            RequestType::Embedding => "embedding",
            RequestType::Rerank => "rerank",
            RequestType::Passthrough => "passthrough",
            RequestType::PassthroughStream => "passthrough_stream",
        }
    }
}

impl std::fmt::Display for RequestType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bifrost's `extra_fields` on every response and stream chunk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtraFields {
    /// The request type served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_type: Option<RequestType>,
    /// The provider that answered (after fallbacks).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub provider: String,
    /// The model asked of that provider, without the provider prefix.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model_requested: String,
    /// The upstream model or deployment name, when an alias mapped it to another name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_deployment: Option<String>,
    /// Milliseconds: the whole call for JSON responses; since the previous chunk for stream
    /// chunks, and the total on the last chunk.
    #[serde(default)]
    pub latency: u64,
    /// Position of a stream chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_index: Option<u64>,
    /// Set when the text-to-chat compatibility fallback served a text completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub litellm_compat: Option<bool>,
}
