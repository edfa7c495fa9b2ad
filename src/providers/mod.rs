//! Upstream providers: one module per wire format, and the vendor table.
//!
//! The engine decides *which* provider, key, base URL and upstream model to use and describes
//! one upstream call as a [`Call`]; a wire-format module turns a canonical request into that
//! provider's HTTP request and its answer back into canonical types.

pub mod anthropic;
pub mod azure;
pub mod bedrock;
pub mod chunk_frame;
pub mod client;
pub mod cohere;
pub mod gemini;
pub mod http;
pub mod openai_compat;
pub mod passthrough;
pub mod sse;
mod translated;
pub mod vendors;
pub mod vertex;

use std::pin::Pin;
use std::time::Duration;

use ::http::header::{HeaderName, HeaderValue};
use futures_util::Stream;

use crate::config::secret::Secret;
use crate::config::KeyConfig;
use crate::error::Result;
use crate::providers::client::Client;
use crate::schemas::openai::{
    ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, JsonObject, Model,
    TextRequest, TextResponse, ToolCall,
};
use crate::schemas::rerank::{RerankRequest, RerankResponse};
use crate::schemas::RequestType;
pub use vendors::WireFormat;

/// Seconds since the Unix epoch, for `created` fields.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A tool call's JSON-encoded arguments as the JSON object the Anthropic, Bedrock and Gemini
/// wire formats carry. Clients send `""` for tools without parameters: that is `{}`.
pub(crate) fn tool_call_arguments(call: &ToolCall) -> Result<serde_json::Value> {
    let args = call.function.arguments.trim();
    if args.is_empty() {
        return Ok(serde_json::Value::Object(JsonObject::new()));
    }
    match serde_json::from_str::<serde_json::Value>(args) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err(crate::Error::BadRequest(format!(
            "tool call {} ({}): arguments must be a JSON object",
            call.id, call.function.name
        ))),
        Err(e) => Err(crate::Error::BadRequest(format!(
            "tool call {} ({}) has invalid JSON arguments: {e}",
            call.id, call.function.name
        ))),
    }
}

/// A stream of canonical chat chunks.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatChunk>> + Send>>;
/// A stream of text-completion chunks.
pub type TextStream = Pin<Box<dyn Stream<Item = Result<TextResponse>> + Send>>;

/// Everything one upstream call needs besides the request body.
#[derive(Debug)]
pub struct Call<'a> {
    /// The configured provider name, for errors.
    pub provider: &'a str,
    /// Base URL without a trailing slash (the key's vLLM URL when it has one).
    pub base_url: &'a str,
    /// Prepended to the wire format's default paths (`/v1`).
    pub path_prefix: &'a str,
    /// The resolved key, if the provider uses one.
    pub api_key: Option<&'a Secret>,
    /// The chosen key's configuration, for wire formats that need more than its value.
    pub key_config: Option<&'a KeyConfig>,
    /// The model name the upstream expects.
    pub model: &'a str,
    /// Headers from `network_config.extra_headers` and `x-bf-eh-*`.
    pub extra_headers: &'a [(HeaderName, HeaderValue)],
    /// Forward unknown body fields (`x-bf-passthrough-extra-params: true`).
    pub passthrough_extra: bool,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// `request_path_overrides` entry for this request type: a path or a full URL.
    pub path_override: Option<&'a str>,
}

impl Call<'_> {
    /// The URL for a request: the override when there is one, else base + prefix + path.
    pub fn url(&self, default_path: &str) -> String {
        match self.path_override {
            Some(o) if o.starts_with("http://") || o.starts_with("https://") => o.to_owned(),
            Some(o) => format!("{}{}", self.base_url, o),
            None => {
                // Tolerate a base URL that already ends with the prefix (`.../v1`), a common
                // way to write an OpenAI-compatible server's address.
                let prefix =
                    if !self.path_prefix.is_empty() && self.base_url.ends_with(self.path_prefix) {
                        ""
                    } else {
                        self.path_prefix
                    };
                format!("{}{}{}", self.base_url, prefix, default_path)
            }
        }
    }
}

/// A provider's HTTP client and wire format. One per provider config, pooled.
#[derive(Debug, Clone)]
pub struct ProviderClient {
    /// The wire format.
    pub wire: WireFormat,
    /// The pooled HTTP client.
    pub http: Client,
    /// Google OAuth access tokens of this provider's keys (Vertex AI), fetched on first use
    /// and refreshed before they expire.
    pub google_tokens: vertex::auth::TokenCache,
}

impl ProviderClient {
    /// A client for a wire format over a pooled HTTP client.
    pub fn new(wire: WireFormat, http: Client) -> Self {
        Self {
            wire,
            http,
            google_tokens: vertex::auth::TokenCache::default(),
        }
    }
}

impl ProviderClient {
    /// Chat, JSON.
    pub async fn chat(&self, call: &Call<'_>, req: &ChatRequest) -> Result<ChatResponse> {
        match self.wire {
            WireFormat::OpenAi => openai_compat::chat(&self.http, call, req).await,
            WireFormat::Anthropic => anthropic::chat(&self.http, call, req).await,
            WireFormat::Gemini => gemini::chat(&self.http, call, req).await,
            WireFormat::Vertex => vertex::chat(&self.http, &self.google_tokens, call, req).await,
            WireFormat::Bedrock => bedrock::chat(&self.http, call, req).await,
            WireFormat::Cohere => cohere::chat(&self.http, call, req).await,
            WireFormat::Azure => azure::chat(&self.http, call, req).await,
        }
    }

    /// Chat, streamed. Resolves once the upstream accepted the request.
    pub async fn chat_stream(&self, call: &Call<'_>, req: &ChatRequest) -> Result<ChatStream> {
        match self.wire {
            WireFormat::OpenAi => openai_compat::chat_stream(&self.http, call, req).await,
            WireFormat::Anthropic => anthropic::chat_stream(&self.http, call, req).await,
            WireFormat::Gemini => gemini::chat_stream(&self.http, call, req).await,
            WireFormat::Vertex => {
                vertex::chat_stream(&self.http, &self.google_tokens, call, req).await
            }
            WireFormat::Bedrock => bedrock::chat_stream(&self.http, call, req).await,
            WireFormat::Cohere => cohere::chat_stream(&self.http, call, req).await,
            WireFormat::Azure => azure::chat_stream(&self.http, call, req).await,
        }
    }

    /// Text completion, JSON.
    pub async fn text(&self, call: &Call<'_>, req: &TextRequest) -> Result<TextResponse> {
        match self.wire {
            WireFormat::OpenAi => openai_compat::text(&self.http, call, req).await,
            WireFormat::Anthropic => anthropic::text(&self.http, call, req).await,
            WireFormat::Bedrock => bedrock::text(&self.http, call, req).await,
            WireFormat::Azure => azure::text(&self.http, call, req).await,
            WireFormat::Gemini | WireFormat::Vertex | WireFormat::Cohere => {
                Err(unsupported(call, RequestType::TextCompletion))
            }
        }
    }

    /// Text completion, streamed.
    pub async fn text_stream(&self, call: &Call<'_>, req: &TextRequest) -> Result<TextStream> {
        match self.wire {
            WireFormat::OpenAi => openai_compat::text_stream(&self.http, call, req).await,
            WireFormat::Azure => azure::text_stream(&self.http, call, req).await,
            WireFormat::Anthropic
            | WireFormat::Gemini
            | WireFormat::Vertex
            | WireFormat::Bedrock
            | WireFormat::Cohere => Err(unsupported(call, RequestType::TextCompletionStream)),
        }
    }

    /// Embeddings.
    pub async fn embed(
        &self,
        call: &Call<'_>,
        req: &EmbeddingRequest,
    ) -> Result<EmbeddingResponse> {
        match self.wire {
            WireFormat::OpenAi => openai_compat::embed(&self.http, call, req).await,
            WireFormat::Gemini => gemini::embed(&self.http, call, req).await,
            WireFormat::Vertex => vertex::embed(&self.http, &self.google_tokens, call, req).await,
            WireFormat::Bedrock => bedrock::embed(&self.http, call, req).await,
            WireFormat::Cohere => cohere::embed(&self.http, call, req).await,
            WireFormat::Azure => azure::embed(&self.http, call, req).await,
            WireFormat::Anthropic => Err(unsupported(call, RequestType::Embedding)),
        }
    }

    /// Rerank (Cohere, and vLLM's `/v1/rerank` on the OpenAI wire format).
    pub async fn rerank(&self, call: &Call<'_>, req: &RerankRequest) -> Result<RerankResponse> {
        match self.wire {
            WireFormat::Cohere => cohere::rerank(&self.http, call, req).await,
            WireFormat::OpenAi => openai_compat::rerank(&self.http, call, req).await,
            WireFormat::Anthropic
            | WireFormat::Gemini
            | WireFormat::Vertex
            | WireFormat::Bedrock
            | WireFormat::Azure => Err(unsupported(call, RequestType::Rerank)),
        }
    }

    /// A native request forwarded unchanged; the answer comes back whatever its status.
    pub async fn passthrough(
        &self,
        call: &Call<'_>,
        req: &passthrough::PassthroughRequest,
    ) -> Result<passthrough::PassthroughResponse> {
        match self.wire {
            // Azure keys carry their endpoint and auth.
            WireFormat::Azure => azure::passthrough(&self.http, call, req).await,
            WireFormat::OpenAi
            | WireFormat::Anthropic
            | WireFormat::Gemini
            | WireFormat::Cohere => passthrough::forward(&self.http, call, req).await,
            // Forwarding would need Vertex's OAuth tokens or Bedrock's SigV4 signature.
            WireFormat::Vertex | WireFormat::Bedrock => {
                let request_type = if req.stream {
                    RequestType::PassthroughStream
                } else {
                    RequestType::Passthrough
                };
                Err(unsupported(call, request_type))
            }
        }
    }

    /// The upstream's model list (bare ids).
    pub async fn list_models(&self, call: &Call<'_>) -> Result<Vec<Model>> {
        match self.wire {
            WireFormat::OpenAi => openai_compat::list_models(&self.http, call).await,
            WireFormat::Anthropic => anthropic::list_models(&self.http, call).await,
            WireFormat::Gemini => gemini::list_models(&self.http, call).await,
            WireFormat::Vertex => Ok(vertex::list_models(call)),
            // Bedrock lists models on its control plane; the vendor row disables the call.
            WireFormat::Bedrock => Err(unsupported(call, RequestType::ListModels)),
            WireFormat::Cohere => cohere::list_models(&self.http, call).await,
            // Deployments are per key; `/v1/models` lists them from the keys instead.
            WireFormat::Azure => Err(unsupported(call, RequestType::ListModels)),
        }
    }
}

/// The error for a request type a wire format cannot serve.
fn unsupported(call: &Call<'_>, request_type: RequestType) -> crate::Error {
    crate::Error::UnsupportedOperation {
        provider: call.provider.to_owned(),
        request_type: request_type.as_str(),
    }
}
